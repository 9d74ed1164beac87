/**
 * Headers from a plain record (Node's `IncomingHttpHeaders`, a cassette's `response.headers`), as the `Headers`
 * that protocol readers and the openai error classes take. On Node the global `Headers` class is undici's, and its
 * first use loads all of Node's `fetch`: tens of milliseconds the command's live and replay paths do not otherwise
 * pay. Names are case-insensitive; a list of values is kept joined with ", ", as `Headers` does.
 */
export class PlainHeaders implements Headers {
  readonly #values = new Map<string, string>();

  constructor(headers: Readonly<Record<string, string | readonly string[] | undefined>> = {}) {
    for (const [name, value] of Object.entries(headers)) {
      if (value !== undefined) this.#values.set(name.toLowerCase(), typeof value === "string" ? value : value.join(", "));
    }
  }

  append(name: string, value: string): void {
    const key = name.toLowerCase();
    const before = this.#values.get(key);
    this.#values.set(key, before === undefined ? value : `${before}, ${value}`);
  }
  delete(name: string): void {
    this.#values.delete(name.toLowerCase());
  }
  get(name: string): string | null {
    return this.#values.get(name.toLowerCase()) ?? null;
  }
  getSetCookie(): string[] {
    const value = this.#values.get("set-cookie");
    return value === undefined ? [] : [value];
  }
  has(name: string): boolean {
    return this.#values.has(name.toLowerCase());
  }
  set(name: string, value: string): void {
    this.#values.set(name.toLowerCase(), value);
  }
  forEach(callback: (value: string, key: string, parent: Headers) => void): void {
    for (const [key, value] of this.entries()) callback(value, key, this);
  }
  *entries(): HeadersIterator<[string, string]> {
    yield* [...this.#values.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
  *keys(): HeadersIterator<string> {
    for (const [key] of this.entries()) yield key;
  }
  *values(): HeadersIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }
  [Symbol.iterator](): HeadersIterator<[string, string]> {
    return this.entries();
  }
}

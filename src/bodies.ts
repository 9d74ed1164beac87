/**
 * Bodies read whole, with a bound: what a server sends is untrusted, and an endless body (a broken server, or whatever
 * a proxy put in front) must not be read into memory. Shared by the command (its node:http client, and the `fetch` it
 * gives the openai client) and the relay (its upstream's whole answers); runs anywhere (no Node built-in).
 */

/**
 * The most of an error response's body that is read, in bytes: far above any error document, far below what would
 * exhaust memory when a server sends an endless one.
 */
export const ERROR_BODY_LIMIT = 1024 * 1024;

/** A body as far as it was read. */
export interface BodyRead {
  /** The bytes read, as UTF-8 text (at most `limit` of them). */
  readonly text: string;
  /** The body went on past `limit`: the rest was neither read nor waited for, and the connection was closed. */
  readonly cut: boolean;
  /** Why the body broke off before its end (a connection lost), when it did; `text` is what had arrived. */
  readonly broken?: Error;
}

/**
 * Reads a body (a Node stream, a fetch Response's, anything iterable of bytes) up to `limit` bytes. Beyond them it
 * stops: leaving the loop destroys a Node stream, and a web stream is cancelled, which closes the connection. A body
 * that breaks off gives what had arrived and `broken`, unless `signal` was aborted: then the error is thrown.
 */
export async function readAtMost(body: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>, limit: number, signal?: AbortSignal): Promise<BodyRead> {
  const parts: Uint8Array[] = [];
  let length = 0;
  try {
    for await (const part of chunksOf(body)) {
      parts.push(part);
      length += part.length;
      if (length > limit) return { text: utf8(parts, limit), cut: true };
    }
  } catch (error) {
    if (signal?.aborted === true) throw error;
    return { text: utf8(parts, limit), cut: false, broken: error instanceof Error ? error : new Error(String(error)) };
  }
  return { text: utf8(parts, limit), cut: false };
}

/**
 * `response` with a body that ends after its first `limit` bytes: past them the rest is cancelled (the connection is
 * closed) and the body simply ends, so that a reader of the whole (the openai client's `response.text()` for an
 * error) gets the beginning and nothing more. Status, headers and `url` are kept.
 */
export function withBodyLimit(response: Response, limit: number): Response {
  const source = response.body;
  // The Response constructor takes statuses 200 to 599 only.
  if (source === null || response.status < 200 || response.status > 599) return response;
  const reader = source.getReader();
  let length = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) return controller.close();
      length += value.length;
      if (length <= limit) return controller.enqueue(value);
      const room = value.length - (length - limit);
      if (room > 0) controller.enqueue(value.subarray(0, room));
      controller.close();
      await reader.cancel();
    },
    cancel: (reason) => reader.cancel(reason),
  });
  const bounded = new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  Object.defineProperty(bounded, "url", { value: response.url });
  return bounded;
}

/** A web stream's chunks through its reader (not every runtime iterates one), cancelled when the loop is left early. */
async function* chunksOf(body: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  if (!("getReader" in body)) {
    yield* body;
    return;
  }
  const reader = body.getReader();
  let done = false;
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) {
        done = true;
        return;
      }
      yield next.value;
    }
  } finally {
    if (!done) await reader.cancel().catch(() => undefined);
  }
}

function utf8(parts: readonly Uint8Array[], limit: number): string {
  const bytes = new Uint8Array(Math.min(limit, parts.reduce((sum, part) => sum + part.length, 0)));
  let offset = 0;
  for (const part of parts) {
    if (offset >= bytes.length) break;
    const piece = part.subarray(0, bytes.length - offset);
    bytes.set(piece, offset);
    offset += piece.length;
  }
  return new TextDecoder().decode(bytes);
}

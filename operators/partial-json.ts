import { type OperatorFunction, concat, defer, filter, map, of } from "rxjs";

/** The text is not JSON: it cannot become JSON however it goes on, or the stream ended before it was whole. */
export class InvalidJsonError extends Error {
  override readonly name = "InvalidJsonError";
  constructor(
    message: string,
    /** The whole text received. */
    readonly text: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const NOTHING: unique symbol = Symbol("nothing parsed yet");

/**
 * Parses the running text of a JSON answer into progressively more complete
 * values.
 *
 * For JSON mode and structured outputs (`response_format`): give it the
 * accumulated text (`extractDelta()`, `accumulate()`) and it emits the value
 * parsed so far, with unfinished strings, arrays and objects closed and an
 * unfinished `true`, `false` or `null` completed (a key without its value is
 * left out). Numbers are shown only once complete: inside an
 * object or an array once a delimiter follows, and a number alone once
 * whitespace follows it or the source completes. A value is
 * emitted only when it differs (deeply) from the one before, so a delta that
 * adds only whitespace or half a key emits nothing. A Markdown code fence
 * around the JSON (` ```json `) is ignored, as models add it unasked.
 *
 * When the source completes, the whole text must parse strictly with
 * `JSON.parse`, else the stream errors with `InvalidJsonError` holding the
 * text; the strict value is emitted if it differs from the last partial one. The stream errors early, too, as soon as the text cannot be the start
 * of JSON by JSON's grammar (the model answered in prose, or wrote `NaN`,
 * `Infinity`, a trailing comma or text after the value), and on a source that
 * completes without any text: every value it emits is one `JSON.parse` gives.
 *
 * ## Examples
 * ```ts
 * import { of } from "rxjs";
 * import { accumulate, partialJson } from "g4f-rx/operators";
 *
 * of('{"name": "Ad', 'a", "langs": ["en"', ', "fr"]', "}")
 *   .pipe(accumulate(), partialJson())
 *   .subscribe((value) => console.log(JSON.stringify(value)));
 * // {"name":"Ad"}
 * // {"name":"Ada","langs":["en"]}
 * // {"name":"Ada","langs":["en","fr"]}
 * ```
 */
export function partialJson(): OperatorFunction<string, unknown> {
  return (source) =>
    defer(() => {
      let text: string | undefined;
      let previous: unknown = NOTHING;
      const prefix = new JsonPrefix();
      const changed = (value: unknown): boolean => {
        if (value === NOTHING || deepEqual(value, previous)) return false;
        previous = value;
        return true;
      };
      return concat(
        source.pipe(
          map((received) => {
            text = received;
            return parsePartial(received, prefix);
          }),
          filter(changed),
        ),
        defer(() => {
          const value = parseStrict(text);
          return changed(value) ? of(value) : of();
        }),
      );
    });
}

function parsePartial(text: string, prefix: JsonPrefix): unknown {
  const json = withoutFence(text);
  const at = prefix.scan(json);
  if (at >= 0) throw new InvalidJsonError(`Received text that is not JSON (${JSON.stringify(json.charAt(at))} at position ${at} cannot follow what came before): ${preview(text)}`, text);
  if (json.trim() === "") return NOTHING;
  // A number alone may still grow (`4` of `42`): it is whole once whitespace follows it, or the stream completes.
  if (prefix.numberAlone) return NOTHING;
  if (prefix.whole) return JSON.parse(json);
  const closed = prefix.closed();
  // JSON.parse of the text cut and closed: a "__proto__" key stays an own key, as in the whole text.
  return closed === undefined ? NOTHING : JSON.parse(closed);
}

function parseStrict(text: string | undefined): unknown {
  if (text === undefined) throw new InvalidJsonError("The stream completed without any JSON text", "");
  try {
    const value: unknown = JSON.parse(withoutFence(text));
    return value;
  } catch (cause) {
    const reason = cause instanceof Error ? ` (${cause.message})` : "";
    throw new InvalidJsonError(`The stream completed but its text is not valid JSON${reason}: ${preview(text)}`, text, { cause });
  }
}

/** The text without a Markdown code fence around it; `""` while an opening fence is still arriving. */
function withoutFence(text: string): string {
  let json = text.trimStart();
  if (json.startsWith("`")) {
    const newline = json.indexOf("\n");
    if (!json.startsWith("```") || newline < 0) return "";
    json = json.slice(newline + 1);
    const end = json.lastIndexOf("```");
    // A closing fence still arriving (one or two backticks so far) is not part of the JSON either.
    json = end >= 0 ? json.slice(0, end) : json.replace(/`{1,2}$/, "");
  }
  return json;
}

function preview(text: string): string {
  return text.length > 200 ? `${JSON.stringify(text.slice(0, 200))}… (${text.length} characters)` : JSON.stringify(text);
}

/** Structural equality of JSON values. */
function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  if (Array.isArray(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  return keysA.length === keysB.length && keysA.every((key) => Object.hasOwn(b, key) && deepEqual(Reflect.get(a, key), Reflect.get(b, key)));
}

type Expected = "value" | "value or ]" | "key or }" | "key" | ":" | ", or a closer" | "string" | "number" | "literal";
type NumberPart = "-" | "0" | "integer" | "." | "fraction" | "e" | "exponent sign" | "exponent";

/** An open object or array, and where its last whole member (or its opening bracket) ends in the text. */
interface Open {
  readonly bracket: "{" | "[";
  kept: number;
}

/**
 * Whether a text can be the start of a JSON text, by JSON's grammar (RFC 8259: no `NaN`, `Infinity`, comments,
 * single quotes or trailing commas). It goes on from where it stopped when the next text extends the last one,
 * as the running text of a stream does, so each delta is scanned once. It also knows how to close the text so far
 * into the JSON text of the value it has shown (`closed()`).
 */
class JsonPrefix {
  #scanned = "";
  /** The offset of the character being read. */
  #scanning = 0;
  /** The open objects and arrays, innermost last. */
  #open: Open[] = [];
  #expected: Expected = "value";
  #key = false;
  #escaped = false;
  #hexDigits = 0;
  #number: NumberPart = "-";
  #literal = "";

  /** A number with nothing around it is being read: it may still grow. */
  get numberAlone(): boolean {
    return this.#expected === "number" && this.#open.length === 0;
  }

  /** The text so far is one whole JSON value (whitespace may follow). */
  get whole(): boolean {
    return this.#expected === ", or a closer" && this.#open.length === 0;
  }

  /**
   * The text scanned so far made a whole JSON text, for `JSON.parse`: an unfinished string is closed (without a
   * half-written escape), an unfinished `true`, `false` or `null` completed, and an unfinished member (a number
   * that may still grow, a key without its value) left out; then every open array and object is closed.
   * Undefined when there is no value to show yet.
   */
  closed(): string | undefined {
    const text = this.#scanned;
    const innermost = this.#open.at(-1);
    let kept: string;
    if (this.#expected === "string" && !this.#key) {
      // A backslash, or "\u" and some of its four hex digits, cannot be shown yet.
      const escape = this.#escaped ? 1 : this.#hexDigits > 0 ? 6 - this.#hexDigits : 0;
      kept = `${text.slice(0, text.length - escape)}"`;
    } else if (this.#expected === "literal") {
      kept = text + this.#literal;
    } else if (innermost === undefined) {
      return this.#expected === ", or a closer" ? text : undefined;
    } else if (this.#expected === ", or a closer") {
      kept = text;
    } else {
      kept = text.slice(0, innermost.kept);
    }
    return kept + this.#open.map((open) => (open.bracket === "{" ? "}" : "]")).reverse().join("");
  }

  /** The offset of the first character of `text` that JSON cannot have there, or -1 when it can be the start of JSON. */
  scan(text: string): number {
    if (!text.startsWith(this.#scanned)) this.#reset();
    for (let at = this.#scanned.length; at < text.length; at += 1) {
      this.#scanning = at;
      if (!this.#step(text.charAt(at))) {
        this.#reset();
        return at;
      }
    }
    this.#scanned = text;
    return -1;
  }

  #reset(): void {
    this.#scanned = "";
    this.#open = [];
    this.#expected = "value";
    this.#escaped = false;
    this.#hexDigits = 0;
  }

  /** Reads one character: false when JSON cannot have it here. */
  #step(char: string): boolean {
    switch (this.#expected) {
      case "string":
        return this.#stringCharacter(char);
      case "literal":
        if (!this.#literal.startsWith(char)) return false;
        this.#literal = this.#literal.slice(1);
        if (this.#literal === "") this.#ended(this.#scanning + 1);
        return true;
      case "number":
        if (this.#numberCharacter(char)) return true;
        if (this.#number !== "0" && this.#number !== "integer" && this.#number !== "fraction" && this.#number !== "exponent") return false;
        this.#ended(this.#scanning);
        break;
    }
    if (char === " " || char === "\n" || char === "\r" || char === "\t") return true;
    switch (this.#expected) {
      case "value":
        return this.#value(char);
      case "value or ]":
        return char === "]" ? this.#close() : this.#value(char);
      case "key or }":
        if (char === "}") return this.#close();
        return this.#startKey(char);
      case "key":
        return this.#startKey(char);
      case ":":
        if (char !== ":") return false;
        this.#expected = "value";
        return true;
      default: {
        const innermost = this.#open.at(-1);
        if (innermost === undefined) return false;
        if (char === ",") {
          this.#expected = innermost.bracket === "{" ? "key" : "value";
          return true;
        }
        return char === (innermost.bracket === "{" ? "}" : "]") && this.#close();
      }
    }
  }

  #value(char: string): boolean {
    if (char === "{" || char === "[") {
      this.#open.push({ bracket: char, kept: this.#scanning + 1 });
      this.#expected = char === "{" ? "key or }" : "value or ]";
    } else if (char === '"') {
      this.#expected = "string";
      this.#key = false;
    } else if (char === "-" || (char >= "0" && char <= "9")) {
      this.#expected = "number";
      this.#number = char === "-" ? "-" : char === "0" ? "0" : "integer";
    } else if (char === "t" || char === "f" || char === "n") {
      this.#expected = "literal";
      this.#literal = char === "t" ? "rue" : char === "f" ? "alse" : "ull";
    } else {
      return false;
    }
    return true;
  }

  #startKey(char: string): boolean {
    if (char !== '"') return false;
    this.#expected = "string";
    this.#key = true;
    return true;
  }

  #close(): true {
    this.#open.pop();
    this.#ended(this.#scanning + 1);
    return true;
  }

  /** A value ended just before offset `end`: its container, if any, is whole up to there. */
  #ended(end: number): void {
    this.#expected = ", or a closer";
    const innermost = this.#open.at(-1);
    if (innermost !== undefined) innermost.kept = end;
  }

  #stringCharacter(char: string): boolean {
    if (this.#hexDigits > 0) {
      this.#hexDigits -= 1;
      return /^[0-9a-fA-F]$/.test(char);
    }
    if (this.#escaped) {
      this.#escaped = false;
      if (char === "u") this.#hexDigits = 4;
      return char === "u" || '"\\/bfnrt'.includes(char);
    }
    if (char === "\\") {
      this.#escaped = true;
    } else if (char === '"') {
      if (this.#key) this.#expected = ":";
      else this.#ended(this.#scanning + 1);
    } else if (char < " ") {
      return false;
    }
    return true;
  }

  /** Reads a character of a number: false when it is not one (the number may have ended before it). */
  #numberCharacter(char: string): boolean {
    const digit = char >= "0" && char <= "9";
    const part = this.#number;
    if (part === "-") {
      if (digit) this.#number = char === "0" ? "0" : "integer";
      return digit;
    }
    if (digit && (part === "integer" || part === "fraction" || part === "exponent")) return true;
    if (digit && (part === "." || part === "e" || part === "exponent sign")) {
      this.#number = part === "." ? "fraction" : "exponent";
      return true;
    }
    if (char === "." && (part === "0" || part === "integer")) {
      this.#number = ".";
      return true;
    }
    if ((char === "e" || char === "E") && (part === "0" || part === "integer" || part === "fraction")) {
      this.#number = "e";
      return true;
    }
    if ((char === "+" || char === "-") && part === "e") {
      this.#number = "exponent sign";
      return true;
    }
    return false;
  }
}

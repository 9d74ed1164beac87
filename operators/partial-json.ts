import { Allow, MalformedJSON, parse } from "partial-json";
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

/** Every kind of value may be partial but numbers: `12` of `123` would be a wrong value, not a shorter one. */
const ALLOW = Allow.ALL & ~Allow.NUM;
const NOTHING: unique symbol = Symbol("nothing parsed yet");
/** Text whose value is a number, not an object or an array holding one. */
const TOP_LEVEL_NUMBER = /^\s*[-\d]/;

/**
 * Parses the running text of a JSON answer into progressively more complete
 * values.
 *
 * For JSON mode and structured outputs (`response_format`): give it the
 * accumulated text (`extractDelta()`, `accumulate()`) and it emits the value
 * parsed so far, with unfinished strings, arrays and objects closed, by the
 * `partial-json` parser. Numbers are shown only once complete: inside an
 * object or an array once a delimiter follows, and a number alone once
 * whitespace follows it or the source completes. A value is
 * emitted only when it differs (deeply) from the one before, so a delta that
 * adds only whitespace or half a key emits nothing. A Markdown code fence
 * around the JSON (` ```json `) is ignored, as models add it unasked.
 *
 * When the source completes, the whole text must parse strictly with
 * `JSON.parse`; the strict value is emitted if it differs from the last
 * partial one, else the stream errors with `InvalidJsonError` holding the
 * text. The stream errors early, too, as soon as the text cannot be the start
 * of JSON (the model answered in prose), and on a source that completes
 * without any text.
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
      const changed = (value: unknown): boolean => {
        if (value === NOTHING || deepEqual(value, previous)) return false;
        previous = value;
        return true;
      };
      return concat(
        source.pipe(
          map((received) => {
            text = received;
            return parsePartial(received);
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

function parsePartial(text: string): unknown {
  const json = withoutFence(text);
  if (json.trim() === "") return NOTHING;
  // A number alone may still grow (`4` of `42`): it is whole once whitespace follows it, or the stream completes.
  if (TOP_LEVEL_NUMBER.test(json) && !/\s$/.test(json)) return NOTHING;
  try {
    const value: unknown = parse(json, ALLOW);
    return value;
  } catch (error) {
    if (error instanceof MalformedJSON) {
      throw new InvalidJsonError(`Received text that is not JSON: ${preview(text)}`, text, { cause: error });
    }
    // PartialJSON: not enough text yet to give any value.
    return NOTHING;
  }
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
    if (end >= 0) json = json.slice(0, end);
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

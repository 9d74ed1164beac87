import { type MonoTypeOperatorFunction, tap } from "rxjs";

/** Anything with a `write(text)` method: `process.stdout`, a file stream, a test double. */
export interface TextWritable {
  write(text: string): unknown;
}

/**
 * Writes each value to `out` as it passes, and passes it on unchanged.
 *
 * Built on `tap`: the text is written before it reaches the next operator, so
 * what was written stays written when a later error arrives. An exception
 * thrown by `out.write` errors the stream.
 *
 * ## Examples
 * ```ts
 * import { of } from "rxjs";
 * import { printTo } from "g4f-rx/operators";
 *
 * of("Hello", " there!").pipe(printTo(process.stdout)).subscribe();
 * // Hello there!
 * ```
 */
export function printTo(out: TextWritable): MonoTypeOperatorFunction<string> {
  if (typeof out?.write !== "function") {
    throw new TypeError("printTo: out must have a write(text) method, such as process.stdout");
  }
  return tap((text) => {
    out.write(text);
  });
}

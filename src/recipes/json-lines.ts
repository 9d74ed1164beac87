import { type MonoTypeOperatorFunction, tap } from "rxjs";
import type { TextWritable } from "../../operators/index.js";

/**
 * Writes each value to `out` as one line of JSON (JSON Lines), and passes it on.
 *
 * For a chunk stream this is the chunks as received, one per line, which
 * `jq` and any JSON Lines reader can consume while the answer streams.
 *
 * ## Example
 * ```ts
 * import { of } from "rxjs";
 * import { printJsonLines } from "g4f-rx";
 *
 * of({ a: 1 }, { b: [2] }).pipe(printJsonLines(process.stdout)).subscribe();
 * // {"a":1}
 * // {"b":[2]}
 * ```
 */
export function printJsonLines<T>(out: TextWritable): MonoTypeOperatorFunction<T> {
  if (typeof out?.write !== "function") {
    throw new TypeError("printJsonLines: out must have a write(text) method, such as process.stdout");
  }
  return tap((value) => {
    out.write(`${JSON.stringify(value)}\n`);
  });
}

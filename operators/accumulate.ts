import { type OperatorFunction, scan } from "rxjs";

/**
 * Emits the running text: every value so far, concatenated.
 *
 * Built on `scan`, so it emits once per incoming string, starting from `""`.
 * Use it after `extractDelta()` to turn deltas into the answer as it grows;
 * `last()` after it gives the final text.
 *
 * ## Examples
 * ```ts
 * import { of } from "rxjs";
 * import { accumulate } from "g4f-rx/operators";
 *
 * of("Hello", " there", "!").pipe(accumulate()).subscribe(console.log);
 * // Hello
 * // Hello there
 * // Hello there!
 * ```
 */
export function accumulate(): OperatorFunction<string, string> {
  return scan((text: string, delta: string) => text + delta, "");
}

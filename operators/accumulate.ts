import { type OperatorFunction, defer, scan } from "rxjs";

/** Appended characters after which the running text is flattened, at least. */
const FLATTEN_AFTER = 64 * 1024;

/**
 * Emits the running text: every value so far, concatenated.
 *
 * Built on `scan`, so it emits once per incoming string, starting from `""`.
 * Use it after `extractDelta()` to turn deltas into the answer as it grows;
 * `last()` after it gives the final text.
 *
 * Memory stays close to the text's own size: V8 keeps `a + b` as a tree of
 * pieces (about 50 bytes per delta), so now and then — after 64 Ki characters
 * or a sixteenth of the text, whichever is more — the text is flattened into
 * one string, in place. The emitted strings are the same either way.
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
  return (source) =>
    defer(() => {
      let flatLength = 0;
      return source.pipe(
        scan((text: string, delta: string) => {
          const next = text + delta;
          if (next.length - flatLength > Math.max(FLATTEN_AFTER, next.length / 16)) {
            // Reading a character makes V8 flatten the string in place, which frees the tree of pieces.
            next.charCodeAt(0);
            flatLength = next.length;
          }
          return next;
        }, ""),
      );
    });
}

import { type OperatorFunction, concat, defer, from, mergeMap } from "rxjs";

/** A piece of text with what it is: the model's thinking, or the answer. */
export interface ThinkingPart {
  kind: "reasoning" | "content";
  text: string;
}

const OPEN = "<think>";
const CLOSE = "</think>";

/**
 * Splits text deltas into reasoning and content parts at `<think>` and
 * `</think>` tags.
 *
 * Models served without a reasoning parser (DeepSeek R1 and Qwen 3 through
 * many GPT4Free providers, Ollama, llama.cpp) write their thinking inline as
 * `<think>…</think>` before the answer. Text outside the tags is emitted as
 * `{ kind: "content" }`, text inside as `{ kind: "reasoning" }`; the tags
 * themselves are dropped. A tag split across deltas (`"<thi"`, `"nk>"`) is
 * still found: the only text held back is a delta's tail that could be the
 * start of the next tag, and it is released as soon as the next delta shows
 * it is not (or when the source completes). Text is passed on unchanged,
 * whitespace included, and empty parts are never emitted.
 *
 * ## Examples
 * ```ts
 * import { of } from "rxjs";
 * import { splitThinking } from "g4f-rx/operators";
 *
 * of("<thi", "nk>Two r's? No,", " three.</th", "ink>There are 3.")
 *   .pipe(splitThinking())
 *   .subscribe(console.log);
 * // { kind: 'reasoning', text: "Two r's? No," }
 * // { kind: 'reasoning', text: ' three.' }
 * // { kind: 'content', text: 'There are 3.' }
 * ```
 */
export function splitThinking(): OperatorFunction<string, ThinkingPart> {
  return (source) =>
    defer(() => {
      let kind: ThinkingPart["kind"] = "content";
      // Text that may be the start of the next tag, waiting for the next delta to decide.
      let pending = "";

      const split = (delta: string): ThinkingPart[] => {
        const parts: ThinkingPart[] = [];
        let text = pending + delta;
        for (;;) {
          const tag = kind === "content" ? OPEN : CLOSE;
          const at = text.indexOf(tag);
          if (at < 0) {
            const held = partialTagLength(text, tag);
            if (text.length > held) parts.push({ kind, text: text.slice(0, text.length - held) });
            pending = text.slice(text.length - held);
            return parts;
          }
          if (at > 0) parts.push({ kind, text: text.slice(0, at) });
          text = text.slice(at + tag.length);
          kind = kind === "content" ? "reasoning" : "content";
        }
      };

      return concat(
        source.pipe(mergeMap((delta) => split(delta))),
        defer(() => from(pending === "" ? [] : [{ kind, text: pending }])),
      );
    });
}

/** The length of the longest end of `text` that is a beginning of `tag` (and not all of it). */
function partialTagLength(text: string, tag: string): number {
  for (let length = Math.min(tag.length - 1, text.length); length > 0; length -= 1) {
    if (text.endsWith(tag.slice(0, length))) return length;
  }
  return 0;
}

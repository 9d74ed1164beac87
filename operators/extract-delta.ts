import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { Observable, type OperatorFunction } from "rxjs";
import { choiceOf, choiceOption, contentOf, deltaOf } from "./chunk-reader.js";

export interface ExtractDeltaOptions {
  /** The `index` of the choice to read (for `n > 1`). Default `0`. */
  choice?: number;
}

/**
 * Emits the text of each chunk's delta for one choice.
 *
 * Maps every `ChatCompletionChunk` to `choices[i].delta.content` of the choice
 * whose `index` field equals `options.choice` (default `0`), matched by that
 * field and not by position in the array, since providers interleave choices
 * (a choice without `index` counts as choice 0).
 * Chunks without that choice (a usage chunk, Azure's prompt-filter chunk), and
 * deltas whose content is `null`, missing or empty (the role chunk, tool-call
 * and reasoning deltas), emit nothing. Errors and completion pass through.
 *
 * ## Examples
 * ```ts
 * import { of } from "rxjs";
 * import { extractDelta } from "g4f-rx/operators";
 *
 * const chunk = (content: string | null) => ({
 *   id: "c1", object: "chat.completion.chunk" as const, created: 0, model: "gpt-4",
 *   choices: [{ index: 0, delta: { content }, finish_reason: null }],
 * });
 * of(chunk(null), chunk("Hello"), chunk(" there!")).pipe(extractDelta()).subscribe(console.log);
 * // Hello
 * //  there!
 * ```
 */
export function extractDelta(options: ExtractDeltaOptions = {}): OperatorFunction<ChatCompletionChunk, string> {
  const choice = choiceOption("extractDelta", options.choice ?? 0);
  // One subscriber rather than `map` + `filter`: this runs once per token, and the second hop cost a measurable
  // share of the whole pipeline's time (see bench/).
  return (source) =>
    new Observable<string>((subscriber) =>
      source.subscribe({
        next: (chunk) => {
          const text = contentOf(deltaOf(choiceOf(chunk, choice)));
          if (text !== undefined) subscriber.next(text);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      }),
    );
}

import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import type { CompletionUsage } from "openai/resources/completions";
import { type OperatorFunction, filter, map, pipe } from "rxjs";
import { usageOf } from "./chunk-reader.js";

/**
 * Emits the token usage when a chunk carries it.
 *
 * OpenAI, Azure and xAI send usage in a last chunk with empty `choices` (with
 * `stream_options: { include_usage: true }` for OpenAI); DeepSeek, Groq and
 * Mistral put it on the chunk with the `finish_reason`; most send
 * `usage: null` on every other chunk, which emits nothing. A server that
 * reports usage on many chunks (vLLM's continuous usage stats) emits each
 * report; add `last()` to keep only the final one.
 *
 * ## Examples
 * ```ts
 * import type { CompletionUsage } from "openai/resources/completions";
 * import { of } from "rxjs";
 * import { usage } from "g4f-rx/operators";
 *
 * const chunk = (usage: CompletionUsage | null) => ({
 *   id: "c1", object: "chat.completion.chunk" as const, created: 0, model: "gpt-4", choices: [], usage,
 * });
 * of(chunk(null), chunk({ prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 }))
 *   .pipe(usage())
 *   .subscribe(console.log);
 * // { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 }
 * ```
 */
export function usage(): OperatorFunction<ChatCompletionChunk, CompletionUsage> {
  return pipe(
    map(usageOf),
    filter((value): value is CompletionUsage => value !== undefined),
  );
}

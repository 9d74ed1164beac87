import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { type OperatorFunction, filter, map, pipe } from "rxjs";
import { choiceOf, choiceOption, deltaOf, reasoningOf } from "./chunk-reader.js";

export interface ExtractReasoningOptions {
  /** The `index` of the choice to read (for `n > 1`). Default `0`. */
  choice?: number;
}

/**
 * Emits the reasoning text of each chunk's delta for one choice.
 *
 * Reasoning models stream their thinking beside the answer, in
 * `delta.reasoning_content` (DeepSeek, vLLM, xAI) or `delta.reasoning`
 * (GPT4Free, OpenRouter, Groq, Ollama); this reads either (the first
 * non-empty one, so a server that sends both does not double it) from the
 * choice whose `index` equals `options.choice` (default `0`). Chunks without
 * reasoning emit nothing. Reasoning written inline as `<think>…</think>` in
 * the content is `splitThinking()`'s job.
 *
 * ## Examples
 * ```ts
 * import { of } from "rxjs";
 * import { extractReasoning } from "g4f-rx/operators";
 *
 * const chunk = (delta: object) => ({
 *   id: "c1", object: "chat.completion.chunk" as const, created: 0, model: "deepseek-reasoner",
 *   choices: [{ index: 0, delta, finish_reason: null }],
 * });
 * of(chunk({ reasoning_content: "Count" }), chunk({ reasoning: " the r's." }), chunk({ content: "3" }))
 *   .pipe(extractReasoning())
 *   .subscribe(console.log);
 * // Count
 * //  the r's.
 * ```
 */
export function extractReasoning(options: ExtractReasoningOptions = {}): OperatorFunction<ChatCompletionChunk, string> {
  const choice = choiceOption("extractReasoning", options.choice ?? 0);
  return pipe(
    map((chunk) => reasoningOf(deltaOf(choiceOf(chunk, choice)))),
    filter((text): text is string => text !== undefined),
  );
}

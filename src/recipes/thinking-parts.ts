import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { type Observable, connect, map, merge } from "rxjs";
import { type ThinkingPart, extractDelta, extractReasoning, splitThinking } from "../../operators/index.js";

/**
 * Every part of choice 0's answer in order, each marked as the model's
 * reasoning or as the answer itself.
 *
 * Reasoning comes from either wire field (`delta.reasoning_content` as
 * DeepSeek, vLLM and xAI send it, `delta.reasoning` as GPT4Free and
 * OpenRouter do; see `extractReasoning`) and from `<think>…</think>` written
 * inline in the text (see `splitThinking`). The source is subscribed once,
 * also when it emits synchronously.
 *
 * ## Example
 * ```ts
 * import { of } from "rxjs";
 * import { thinkingParts } from "g4f-rx";
 *
 * const chunk = (delta: object) => ({
 *   id: "c1", object: "chat.completion.chunk" as const, created: 0, model: "deepseek-r1",
 *   choices: [{ index: 0, delta, finish_reason: null }],
 * });
 * thinkingParts(of(chunk({ reasoning_content: "17 * 23 = 391." }), chunk({ content: "<think>Check.</think>391" })))
 *   .subscribe(console.log);
 * // { kind: "reasoning", text: "17 * 23 = 391." }
 * // { kind: "reasoning", text: "Check." }
 * // { kind: "content", text: "391" }
 * ```
 */
export function thinkingParts(chunks: Observable<ChatCompletionChunk>): Observable<ThinkingPart> {
  // `connect` subscribes both branches before the source, so even a synchronous source is read once, and both
  // branches read each chunk in turn: the parts keep the order of the stream.
  return chunks.pipe(
    connect((shared) =>
      merge(
        shared.pipe(
          extractReasoning(),
          map((text): ThinkingPart => ({ kind: "reasoning", text })),
        ),
        shared.pipe(extractDelta(), splitThinking()),
      ),
    ),
  );
}

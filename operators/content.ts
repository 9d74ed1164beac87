import type { ChatCompletionChunk } from "openai/resources/chat/completions";

/** A delta with the reasoning fields some providers add (`reasoning_content`: DeepSeek, xAI; `reasoning`: Groq, Ollama). */
type DeltaWithReasoning = ChatCompletionChunk.Choice.Delta & { reasoning?: unknown; reasoning_content?: unknown };

/**
 * Tells whether a chunk carries content: something a consumer may already have
 * shown or acted on, so that starting the answer again would duplicate it.
 *
 * A chunk has content when the delta of any of its choices has a non-empty
 * `content`, `refusal`, `reasoning_content` or `reasoning` string, or at least
 * one tool-call delta. A role-only chunk (`{ role: "assistant", content: "" }`),
 * a finish-reason chunk with an empty delta, a usage chunk and Azure's
 * content-filter chunks have none. `retryBeforeContent`, `fallback` and
 * `streamStats` all draw the line here.
 *
 * ## Examples
 * ```ts
 * import { isContentChunk } from "g4f-rx/operators";
 *
 * const chunk = (delta: object) => ({
 *   id: "c1", object: "chat.completion.chunk" as const, created: 0, model: "gpt-4",
 *   choices: [{ index: 0, delta, finish_reason: null }],
 * });
 * console.log(isContentChunk(chunk({ role: "assistant", content: "" }))); // false
 * console.log(isContentChunk(chunk({ content: "Hi" })));                   // true
 * console.log(isContentChunk(chunk({ reasoning_content: "Let me think" }))); // true
 * ```
 */
export function isContentChunk(chunk: ChatCompletionChunk): boolean {
  // Azure's content-filter chunks carry choices without a delta, whatever the types say.
  const choices: readonly Partial<ChatCompletionChunk.Choice>[] | undefined = chunk.choices;
  if (choices === undefined) return false;
  return choices.some((choice) => {
    const delta: DeltaWithReasoning | undefined = choice.delta;
    if (delta === undefined) return false;
    return (
      nonEmpty(delta.content) ||
      nonEmpty(delta.refusal) ||
      nonEmpty(delta.reasoning_content) ||
      nonEmpty(delta.reasoning) ||
      (Array.isArray(delta.tool_calls) && delta.tool_calls.length > 0)
    );
  });
}

/** The `delta.content` text of the choice whose `index` is `choice`, or `""`. */
export function contentText(chunk: ChatCompletionChunk, choice = 0): string {
  const choices: readonly Partial<ChatCompletionChunk.Choice>[] | undefined = chunk.choices;
  const content = choices?.find((candidate) => candidate.index === choice)?.delta?.content;
  return typeof content === "string" ? content : "";
}

function nonEmpty(value: unknown): boolean {
  return typeof value === "string" && value !== "";
}

import type { ChatCompletionChunk } from "openai/resources/chat/completions";

/** A chunk with the given choices, for marble values. */
export function chunkWith(choices: ChatCompletionChunk.Choice[], extra: Partial<ChatCompletionChunk> = {}): ChatCompletionChunk {
  return { id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model: "gpt-4", choices, ...extra };
}

/** A one-choice chunk whose delta has `content` (and the given finish reason). */
export function contentChunk(
  content: string | null | undefined,
  index = 0,
  finishReason: ChatCompletionChunk.Choice["finish_reason"] = null,
): ChatCompletionChunk {
  const delta: ChatCompletionChunk.Choice.Delta = content === undefined ? {} : { content };
  return chunkWith([{ index, delta, finish_reason: finishReason }]);
}

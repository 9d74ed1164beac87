import type { ChatCompletionChunk } from "openai/resources/chat/completions";

/**
 * A chunk as a provider puts it on the wire, with the fields the `openai`
 * types do not know (`reasoning_content`, `provider`, `obfuscation`, choices
 * without `delta`…). Checked at run time instead of cast, so a test value that
 * is not a chunk at all fails loudly.
 */
export function asChunk(value: unknown): ChatCompletionChunk {
  if (!isChunk(value)) throw new TypeError(`not a chat.completion.chunk: ${JSON.stringify(value)}`);
  return value;
}

function isChunk(value: unknown): value is ChatCompletionChunk {
  return typeof value === "object" && value !== null && "choices" in value && Array.isArray(value.choices);
}

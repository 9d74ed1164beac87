import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { DONE_EVENT } from "../../operators/to-server-sent-events.js";
import type { ReplyStep, ScriptedReply } from "./test-server.js";

/** The frame that ends an OpenAI-format stream, the same constant as `g4f-rx`'s. */
export { DONE_EVENT };

/** One SSE data frame: a string is sent as is, anything else as JSON. */
export function sseFrame(data: unknown): string {
  return `data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`;
}

/**
 * An in-stream error frame: `data: {"error":{"message":…}}` as GPT4Free's API
 * and OpenAI send it, or with `{ event: true }` an `event: error` frame.
 */
export function errorFrame(message: string, options: { event?: boolean; type?: string } = {}): string {
  const payload = JSON.stringify({ error: { message, type: options.type ?? "server_error" } });
  return options.event ? `event: error\ndata: ${payload}\n\n` : `data: ${payload}\n\n`;
}

export interface StreamReplyOptions {
  /** Pause after each chunk, in milliseconds. Default 0. */
  delayMs?: number;
  /** End with `data: [DONE]`. Default true. */
  done?: boolean;
  /** Steps written after the chunks (and before `[DONE]`): an error frame, a stall, `{ destroy: true }`… */
  then?: readonly ReplyStep[];
  /** Write the body in pieces of this many bytes. */
  pieceSize?: number;
}

/** A 200 `text/event-stream` reply that sends `chunks` as data frames. */
export function streamReply(chunks: readonly ChatCompletionChunk[], options: StreamReplyOptions = {}): ScriptedReply {
  const { delayMs = 0, done = true, then = [], pieceSize } = options;
  const body: ReplyStep[] = [];
  for (const chunk of chunks) {
    body.push(sseFrame(chunk));
    if (delayMs > 0) body.push({ wait: delayMs });
  }
  body.push(...then);
  if (done) body.push(DONE_EVENT);
  return pieceSize === undefined ? { body } : { body, pieceSize };
}

export interface TextChunksOptions {
  id?: string;
  model?: string;
  created?: number;
  /** The final chunk's `finish_reason`; `null` leaves the answer unfinished. Default `"stop"`. */
  finishReason?: ChatCompletionChunk.Choice["finish_reason"];
  /** Choice index. Default 0. */
  index?: number;
}

/**
 * The chunks a provider sends for `pieces` of text: a role chunk with empty
 * content, one chunk per piece, and a last chunk with an empty delta and the
 * `finish_reason`.
 */
export function textChunks(pieces: readonly string[], options: TextChunksOptions = {}): ChatCompletionChunk[] {
  const { id = "chatcmpl-test", model = "gpt-4", created = 1_700_000_000, finishReason = "stop", index = 0 } = options;
  const chunk = (delta: ChatCompletionChunk.Choice.Delta, finish: ChatCompletionChunk.Choice["finish_reason"] = null): ChatCompletionChunk => ({
    id,
    object: "chat.completion.chunk",
    created,
    model,
    choices: [{ index, delta, finish_reason: finish, logprobs: null }],
  });
  const chunks = [chunk({ role: "assistant", content: "" }), ...pieces.map((content) => chunk({ content }))];
  if (finishReason !== null) chunks.push(chunk({}, finishReason));
  return chunks;
}

import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { IncompleteStreamError, MalformedChunkError } from "../errors.js";
import { errorFromFrame, isObject, parseFrameData } from "./frames.js";
import { type FrameOutcome, type ProtocolReader, type Shortfall, type StreamProtocol, counted, reasonOf } from "./protocol.js";

/**
 * The chat-completion protocol: each unnamed (or `event: message`) frame's data
 * is a `ChatCompletionChunk`.
 *
 * End-of-stream rule:
 * - `data: [DONE]` ends the stream: reading stops and it completes;
 * - a body that ends (or a connection that breaks) after a chunk with a
 *   `finish_reason` completes too, since several servers never send `[DONE]`;
 * - a body that ends any other way errors with `IncompleteStreamError`, also
 *   when it ends in the middle of a frame;
 * - `data: {"error": …}` and `event: error` frames error with `StreamErrorFrameError`;
 * - other named events (pings, provider extras), empty data and comments are skipped;
 * - data that is not JSON, or JSON that is not a chunk, errors with `MalformedChunkError`.
 */
export const chatCompletionProtocol: StreamProtocol<ChatCompletionChunk> = {
  api: "chat",
  items: "chunks",
  reader: (headers) => new ChatCompletionReader(headers),
};

class ChatCompletionReader implements ProtocolReader<ChatCompletionChunk> {
  count = 0;
  #finished = false;
  readonly #headers: Headers | undefined;

  constructor(headers: Headers | undefined) {
    this.#headers = headers;
  }

  frame(event: string | undefined, data: string, emit: (item: ChatCompletionChunk) => void, terminated = true): FrameOutcome {
    if (event !== "error") {
      if (event !== undefined && event !== "message") return "more";
      if (data === "[DONE]") return "end";
      if (data === "") return "more";
    }
    const parsed = parseFrameData(data);
    // The common frame, a chunk, takes the shortest path: this runs once per token.
    if (parsed.json && event === undefined && isPlainChunk(parsed.value)) return this.#accept(parsed.value, emit);
    if (!parsed.json && event !== "error") {
      if (data.trim() === "") return "more";
      if (!terminated) {
        return new IncompleteStreamError(`The stream ended in the middle of a frame after ${counted(this.count, "chunk")}: ${JSON.stringify(data.slice(0, 200))}`, this.count);
      }
      return new MalformedChunkError(data);
    }
    return this.#meaning(event, parsed.value, () => data, emit);
  }

  parsed(event: string | undefined, value: unknown, emit: (item: ChatCompletionChunk) => void): FrameOutcome {
    if (event !== "error" && (event === undefined || event === "message") && value === "[DONE]") return "end";
    if (typeof value === "string" && event !== "error") {
      if (event !== undefined && event !== "message") return "more";
      return value.trim() === "" ? "more" : new MalformedChunkError(value);
    }
    return this.#meaning(event, value, () => JSON.stringify(value), emit);
  }

  #meaning(event: string | undefined, value: unknown, raw: () => string, emit: (item: ChatCompletionChunk) => void): FrameOutcome {
    if (event === "error") return errorFromFrame(value, raw(), "error", this.#headers);
    if (event !== undefined && event !== "message") return "more";
    if (isObject(value) && value.error !== undefined && value.error !== null) return errorFromFrame(value, raw(), undefined, this.#headers);
    if (isPlainChunk(value)) return this.#accept(value, emit);
    return new MalformedChunkError(raw(), { expected: 'a chat-completion chunk (an object with a "choices" array of objects)' });
  }

  #accept(chunk: ChatCompletionChunk, emit: (item: ChatCompletionChunk) => void): "more" {
    this.count += 1;
    if (!this.#finished) {
      const choices = chunk.choices;
      for (let i = 0; i < choices.length; i += 1) if (choices[i]?.finish_reason != null) this.#finished = true;
    }
    emit(chunk);
    return "more";
  }

  ended(how: Shortfall): IncompleteStreamError | undefined {
    if (this.#finished) return undefined;
    const chunks = this.count;
    if (how === "body") {
      return new IncompleteStreamError(`The stream ended after ${counted(chunks, "chunk")} without "data: [DONE]" or a finish_reason: the answer is incomplete`, chunks);
    }
    if (how === "recording") {
      return new IncompleteStreamError(`The recording ends after ${counted(chunks, "chunk")} without "data: [DONE]" or a finish_reason: the answer is incomplete`, chunks);
    }
    return new IncompleteStreamError(`The connection closed after ${counted(chunks, "chunk")}, before the stream ended (${reasonOf(how.broken)})`, chunks, { cause: how.broken });
  }
}

/** A chunk with no error field and an array of object choices: the frame nearly every event is. */
export function isPlainChunk(value: unknown): value is ChatCompletionChunk {
  if (typeof value !== "object" || value === null || !("choices" in value)) return false;
  const choices = value.choices;
  if (!Array.isArray(choices)) return false;
  // A loop rather than `every`: this runs once per token. Every choice must at least be an object, so that reading its fields cannot throw downstream.
  for (let i = 0; i < choices.length; i += 1) {
    const choice: unknown = choices[i];
    if (typeof choice !== "object" || choice === null) return false;
  }
  return !("error" in value && value.error !== null && value.error !== undefined);
}

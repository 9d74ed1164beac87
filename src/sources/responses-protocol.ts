import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import { endsResponsesStream } from "../../operators/chunk-reader.js";
import { IncompleteStreamError, MalformedChunkError, StreamErrorFrameError } from "../errors.js";
import { errorFromFrame, isObject, parseFrameData } from "./frames.js";
import { type FrameOutcome, type ProtocolReader, type Shortfall, type StreamProtocol, counted, reasonOf } from "./protocol.js";

/**
 * The Responses API protocol (`POST /v1/responses` with `stream: true`): each
 * frame's data is a `ResponseStreamEvent`, an object whose `type` names it
 * (the frame's `event:` field repeats that name and is not needed).
 *
 * End-of-stream rule:
 * - `response.completed` and `response.incomplete` end the stream: the event
 *   is emitted, reading stops, and it completes;
 * - `response.failed` is emitted, then errors with `StreamErrorFrameError`
 *   carrying the response's `error`;
 * - an `error` event (`type: "error"`, an `event: error` frame, or a
 *   `{"error": …}` data frame) errors with `StreamErrorFrameError`;
 * - a body that ends, breaks, or sends `data: [DONE]` before one of those
 *   three events errors with `IncompleteStreamError`;
 * - other named frames without a `type`, empty data and comments are skipped;
 * - data that is not JSON, or JSON that is not an event, errors with
 *   `MalformedChunkError` (a chat-completion chunk is named as such: GPT4Free's
 *   own `/v1/responses` streams those).
 */
export const responsesProtocol: StreamProtocol<ResponseStreamEvent> = {
  api: "responses",
  items: "events",
  reader: (headers) => new ResponsesReader(headers),
};

class ResponsesReader implements ProtocolReader<ResponseStreamEvent> {
  count = 0;
  readonly #headers: Headers | undefined;

  constructor(headers: Headers | undefined) {
    this.#headers = headers;
  }

  frame(event: string | undefined, data: string, emit: (item: ResponseStreamEvent) => void, terminated = true): FrameOutcome {
    if (data === "[DONE]" && event !== "error") return this.#doneTooSoon();
    if (data === "" && event !== "error") return "more";
    const parsed = parseFrameData(data);
    if (!parsed.json && event !== "error") {
      if (data.trim() === "") return "more";
      if (!terminated) {
        return new IncompleteStreamError(`The stream ended in the middle of a frame after ${counted(this.count, "event")}: ${JSON.stringify(data.slice(0, 200))}`, this.count);
      }
      return new MalformedChunkError(data);
    }
    return this.#meaning(event, parsed.value, () => data, emit);
  }

  parsed(event: string | undefined, value: unknown, emit: (item: ResponseStreamEvent) => void): FrameOutcome {
    if (typeof value === "string" && event !== "error") {
      if (value === "[DONE]") return this.#doneTooSoon();
      return value.trim() === "" ? "more" : new MalformedChunkError(value);
    }
    return this.#meaning(event, value, () => JSON.stringify(value), emit);
  }

  #meaning(event: string | undefined, value: unknown, raw: () => string, emit: (item: ResponseStreamEvent) => void): FrameOutcome {
    if (event === "error" || (isObject(value) && value.type === "error")) return errorFromFrame(value, raw(), event, this.#headers);
    if (!isResponseEvent(value)) {
      if (isObject(value) && value.error !== undefined && value.error !== null) return errorFromFrame(value, raw(), event, this.#headers);
      if (event !== undefined && event !== "message") return "more";
      return new MalformedChunkError(raw(), {
        expected: isChatCompletionChunk(value)
          ? "a Responses API event: it is a chat-completion chunk (this server streams chat completions from /v1/responses; read it with fromChatCompletion)"
          : 'a Responses API event (an object with a string "type")',
      });
    }
    this.count += 1;
    emit(value);
    if (!endsResponsesStream(value.type)) return "more";
    if (value.type !== "response.failed") return "end";
    return this.#failed(value, raw);
  }

  #failed(value: ResponseStreamEvent, raw: () => string): StreamErrorFrameError {
    const response = isObject(value) && "response" in value && isObject(value.response) ? value.response : undefined;
    const error = response !== undefined && isObject(response.error) ? response.error : undefined;
    const message = typeof error?.message === "string" ? error.message : "The response failed (response.failed without an error message)";
    return new StreamErrorFrameError(error, message, raw(), "response.failed", this.#headers);
  }

  #doneTooSoon(): IncompleteStreamError {
    return new IncompleteStreamError(`The stream sent "data: [DONE]" after ${counted(this.count, "event")} without response.completed, response.incomplete or response.failed: the answer is incomplete`, this.count);
  }

  ended(how: Shortfall): IncompleteStreamError | undefined {
    const events = this.count;
    const missing = "without response.completed, response.incomplete or response.failed: the answer is incomplete";
    if (how === "body") return new IncompleteStreamError(`The stream ended after ${counted(events, "event")} ${missing}`, events);
    if (how === "recording") return new IncompleteStreamError(`The recording ends after ${counted(events, "event")} ${missing}`, events);
    return new IncompleteStreamError(`The connection closed after ${counted(events, "event")}, before the stream ended (${reasonOf(how.broken)})`, events, { cause: how.broken });
  }
}

/** An object with a string `type`: the shape every Responses stream event has. */
function isResponseEvent(value: unknown): value is ResponseStreamEvent {
  return isObject(value) && typeof value.type === "string";
}

/** Whether a frame's value is a chat-completion chunk (a server streaming chat completions where Responses events were asked for). */
export function isChatCompletionChunk(value: unknown): boolean {
  return isObject(value) && Array.isArray(value.choices);
}

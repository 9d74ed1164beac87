import { APIError, OpenAIError } from "openai/core/error";

/**
 * The body ended before the answer did: neither `data: [DONE]` nor a
 * `finish_reason` arrived, or the connection broke mid-body. Every chunk
 * before the break has already been delivered; `chunks` says how many.
 */
export class IncompleteStreamError extends OpenAIError {
  override readonly name = "IncompleteStreamError";
  constructor(
    message: string,
    readonly chunks: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The server sent an error inside the stream, either as a data frame
 * (`data: {"error": {...}}`, as GPT4Free's API and OpenAI do) or as an
 * `event: error` frame. It is an `APIError` like the SDK's own, so one
 * `instanceof APIError` catches HTTP and in-stream failures alike.
 */
export class StreamErrorFrameError extends APIError<undefined, undefined, object | undefined> {
  override readonly name = "StreamErrorFrameError";
  constructor(
    error: object | undefined,
    message: string,
    /** The frame's raw `data` field, as received. */
    readonly data: string,
    /** The frame's `event` name: `"error"` for an `event: error` frame, `undefined` for a data frame. */
    readonly event?: string,
  ) {
    super(undefined, error, message, undefined);
  }
}

/** A frame's `data` is not JSON (and not `[DONE]`). */
export class MalformedChunkError extends OpenAIError {
  override readonly name = "MalformedChunkError";
  constructor(
    /** The frame's raw `data` field, as received. */
    readonly data: string,
    options?: { cause?: unknown },
  ) {
    super(`Received a stream frame that is not valid JSON: ${preview(data)}`, options);
  }
}

/** The response body is not Server-Sent Events (an HTML page from a proxy, a JSON document…). */
export class NotEventStreamError extends OpenAIError {
  override readonly name = "NotEventStreamError";
  constructor(
    /** The response's `content-type` header, or `null` when it had none. */
    readonly contentType: string | null,
    /** The start of the body, as received. */
    readonly received: string,
  ) {
    super(
      `Expected a text/event-stream body but received ${contentType ?? "a body with no content-type"}: ${preview(received)}`,
    );
  }
}

/** The response body is not valid UTF-8. */
export class InvalidEncodingError extends OpenAIError {
  override readonly name = "InvalidEncodingError";
  constructor(
    /** Offset of the first invalid byte in the whole body. */
    readonly offset: number,
    /** Up to 8 bytes from `offset`, as hexadecimal. */
    readonly bytes: string,
  ) {
    super(`Response body is not valid UTF-8: invalid byte sequence at offset ${offset} (${bytes})`);
  }
}

const PREVIEW_LENGTH = 200;

/** Shortens received text for an error message, keeping it on one line. */
function preview(text: string): string {
  const oneLine = JSON.stringify(text.length > PREVIEW_LENGTH ? text.slice(0, PREVIEW_LENGTH) : text);
  return text.length > PREVIEW_LENGTH ? `${oneLine}… (${text.length} characters)` : oneLine;
}

/**
 * A relay has no stream with this id: it never existed, or it finished more
 * than its time-to-live ago and was dropped. HTTP handlers answer 404.
 */
export class UnknownStreamError extends Error {
  override readonly name = "UnknownStreamError";
  constructor(readonly streamId: string) {
    super(`No stream ${JSON.stringify(streamId)}: it never existed, or it finished and its time-to-live ran out`);
  }
}

/** A relay was asked to start a stream under an id that is already in use. HTTP handlers answer 409. */
export class StreamExistsError extends Error {
  override readonly name = "StreamExistsError";
  constructor(readonly streamId: string) {
    super(`A stream with id ${JSON.stringify(streamId)} already exists; resume it with GET, or choose another id`);
  }
}

/**
 * A relay's memory is full of live streams (finished ones are dropped first),
 * so it refuses a new one rather than grow. HTTP handlers answer 503.
 */
export class RelayCapacityError extends Error {
  override readonly name = "RelayCapacityError";
  constructor(readonly limitBytes: number) {
    super(`The relay holds ${limitBytes} bytes of live streams, its limit; try again when some have finished`);
  }
}

/**
 * What ends a stream that a relay could not carry on: a live stream that
 * outgrew its cap (`reason: "too-large"`), a process that stopped renewing
 * its lease, killed or cut off from Redis (`"owner-lost"`), or a relay that
 * shut down while it ran (`"shutdown"`). Readers receive it as the stream's
 * last frame, an `event: error` frame, never as a hang.
 */
export class RelayStreamError extends Error {
  override readonly name = "RelayStreamError";
  constructor(
    readonly streamId: string,
    readonly reason: "too-large" | "owner-lost" | "shutdown",
    message: string,
  ) {
    super(message);
  }
}

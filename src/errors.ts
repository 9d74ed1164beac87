import { APIError, OpenAIError } from "openai/core/error";

/**
 * Marks one of this file's `OpenAIError` classes made as a subclass of an app's own `OpenAIError` (src/sources/client.ts
 * makes those); its value is the class's `name`. `Symbol.for`, so no module exports it.
 */
const CLIENT_ERROR = Symbol.for("g4f-rx.client-error");

/** Whether `value` is the error named `name` made as the app's own `OpenAIError` class. */
function madeForClient(value: unknown, name: string): boolean {
  return typeof value === "object" && value !== null && Reflect.get(value, CLIENT_ERROR) === name;
}

/**
 * The body ended before the answer did: neither `data: [DONE]` nor a
 * `finish_reason` arrived, or the connection broke mid-body. Every chunk
 * before the break has already been delivered; `chunks` says how many.
 */
export class IncompleteStreamError extends OpenAIError {
  override readonly name = "IncompleteStreamError";
  /** Also true for the same error made as the app's own `OpenAIError` class (src/sources/client.ts makes those). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(this, value) || (this === IncompleteStreamError && madeForClient(value, "IncompleteStreamError"));
  }
  constructor(
    message: string,
    readonly chunks: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Marks a `StreamErrorFrameError` made as an app's own `APIError` class; `Symbol.for`, so no module exports it. */
const CLIENT_STREAM_ERROR = Symbol.for("g4f-rx.client-stream-error");

/**
 * The server sent an error inside the stream, either as a data frame
 * (`data: {"error": {...}}`, as GPT4Free's API and OpenAI do), as an
 * `event: error` frame, or as a Responses API `error` / `response.failed`
 * event. It is an `APIError` like the SDK's own, so one `instanceof APIError`
 * catches HTTP and in-stream failures alike; like the SDK's in-stream errors it
 * carries the response's `headers` and `requestID` when they are known.
 */
export class StreamErrorFrameError extends APIError<undefined, Headers | undefined, object | undefined> {
  override readonly name = "StreamErrorFrameError";
  // Set after `super`, whose message would otherwise be the JSON of an error without a string `message`.
  override readonly error: object | undefined;
  override readonly code: string | null | undefined;
  override readonly param: string | null | undefined;
  override readonly type: string | undefined;
  constructor(
    error: object | undefined,
    message: string,
    /** The frame's raw `data` field, as received. */
    readonly data: string,
    /** The frame's `event` name: `"error"` for an `event: error` frame, `undefined` for a data frame. */
    readonly event?: string,
    headers?: Headers,
  ) {
    super(undefined, undefined, message, headers);
    this.error = error;
    const fields: Record<string, unknown> = error === undefined ? {} : { ...error };
    this.code = typeof fields.code === "string" || fields.code === null ? fields.code : undefined;
    this.param = typeof fields.param === "string" || fields.param === null ? fields.param : undefined;
    this.type = typeof fields.type === "string" ? fields.type : undefined;
  }

  /** Also true for the same error made as the app's own `APIError` class (src/sources/client.ts marks those). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    return this === StreamErrorFrameError && typeof value === "object" && value !== null && Reflect.get(value, CLIENT_STREAM_ERROR) === true;
  }
}

/**
 * A frame's `data` is not what the protocol sends: not JSON (and not
 * `[DONE]`), or JSON that is not a chunk / event (`expected` says what was).
 */
export class MalformedChunkError extends OpenAIError {
  override readonly name = "MalformedChunkError";
  /** Also true for the same error made as the app's own `OpenAIError` class (src/sources/client.ts makes those). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(this, value) || (this === MalformedChunkError && madeForClient(value, "MalformedChunkError"));
  }
  constructor(
    /** The frame's raw `data` field, as received. */
    readonly data: string,
    options?: { cause?: unknown; expected?: string },
  ) {
    super(
      options?.expected === undefined
        ? `Received a stream frame that is not valid JSON: ${preview(data)}`
        : `Received a stream frame that is JSON but not ${options.expected}: ${preview(data)}`,
      options,
    );
  }
}

/** The response body is not Server-Sent Events (an HTML page from a proxy, a JSON document…). */
export class NotEventStreamError extends OpenAIError {
  override readonly name = "NotEventStreamError";
  /** Also true for the same error made as the app's own `OpenAIError` class (src/sources/client.ts makes those). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(this, value) || (this === NotEventStreamError && madeForClient(value, "NotEventStreamError"));
  }
  constructor(
    /** The response's `content-type` header, or `null` when it had none. */
    readonly contentType: string | null,
    /** The start of the body, as received. */
    readonly received: string,
    /** What was asked for instead of a stream (a whole completion, `stream: false`): it names what was expected. */
    options?: { expected?: string },
  ) {
    super(
      options?.expected !== undefined
        ? `Expected ${options.expected} but received ${contentType ?? "a body with no content-type"}: ${preview(received)}`
        : contentType?.toLowerCase().includes("text/event-stream") === true
          ? `The ${contentType} body holds no Server-Sent Events: ${preview(received)}`
          : `Expected a text/event-stream body but received ${contentType ?? "a body with no content-type"}: ${preview(received)}`,
    );
  }
}

/** The response body is not valid UTF-8. */
export class InvalidEncodingError extends OpenAIError {
  override readonly name = "InvalidEncodingError";
  /** Also true for the same error made as the app's own `OpenAIError` class (src/sources/client.ts makes those). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(this, value) || (this === InvalidEncodingError && madeForClient(value, "InvalidEncodingError"));
  }
  constructor(
    /** Offset of the first invalid byte in the whole body. */
    readonly offset: number,
    /** The invalid sequence, as hexadecimal: the bytes from `offset` through the one that broke it (the same however the body was split into reads). */
    readonly bytes: string,
  ) {
    super(`Response body is not valid UTF-8: invalid byte sequence at offset ${offset} (${bytes})`);
  }
}

/**
 * A line or a frame's data grew past the decoder's `maxFrameLength` before it
 * ended: the server never ends the line, or sends far more than an answer.
 * The frames before it were delivered.
 */
export class FrameTooLargeError extends OpenAIError {
  override readonly name = "FrameTooLargeError";
  /** Also true for the same error made as the app's own `OpenAIError` class (src/sources/client.ts makes those). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(this, value) || (this === FrameTooLargeError && madeForClient(value, "FrameTooLargeError"));
  }
  constructor(
    /** The limit, in characters. */
    readonly limit: number,
    /** How long the line or data had grown when the decoder gave up. */
    readonly length: number,
  ) {
    super(`Received a stream line or frame longer than ${limit} characters (${length} so far) without its end; stopped reading`);
  }
}

const PREVIEW_LENGTH = 200;

/** Shortens received text for an error message, keeping it on one line. */
function preview(text: string): string {
  const oneLine = JSON.stringify(text.length > PREVIEW_LENGTH ? text.slice(0, PREVIEW_LENGTH) : text);
  return text.length > PREVIEW_LENGTH ? `${oneLine}… (${text.length} characters)` : oneLine;
}

/**
 * The reader of a stream stopped reading for so long that more than `maxQueuedBytes` waited for it (RxJS cannot pause
 * a source). Every edge that serves frames to a reader has this rule: `pipeToResponse` closes the Node response,
 * `toReadableStream`, `toResponse` and `createRelayFetchHandler` error the web stream; each unsubscribes its source,
 * which for `fromChatCompletion` aborts the upstream request.
 */
export class SlowClientError extends Error {
  override readonly name = "SlowClientError";
  constructor(readonly queuedBytes: number) {
    // Unsubscribing aborts a fromChatCompletion request, but never a relay's generation: the message claims neither.
    super(`The client stopped reading: ${queuedBytes} bytes were waiting for it, so it was cut off and its source unsubscribed`);
  }
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
 * A relay's store failed: Redis cannot be reached, or refused a command (out
 * of memory, say). HTTP handlers answer 503; a reader already streaming gets it
 * as a last error frame without an `id:`, so it may come back with its
 * `Last-Event-ID` once the store is back.
 */
export class RelayStoreError extends Error {
  override readonly name = "RelayStoreError";
}

/**
 * What ends a stream that a relay could not carry on: a live stream that
 * outgrew its cap (`reason: "too-large"`), a process that stopped renewing
 * its lease, killed or cut off from Redis (`"owner-lost"`), a relay that
 * shut down while it ran (`"shutdown"`), one whose store refused its frames
 * (`"store-failed"`: Redis out of memory, say), or one whose upstream went
 * silent past the relay's `upstreamTimeout` (`"upstream-stalled"`). Readers
 * receive it as the stream's last frame, an error frame in the stream's
 * format, never as a hang.
 */
export class RelayStreamError extends Error {
  override readonly name = "RelayStreamError";
  constructor(
    readonly streamId: string,
    readonly reason: "too-large" | "owner-lost" | "shutdown" | "store-failed" | "upstream-stalled",
    message: string,
  ) {
    super(message);
  }
}

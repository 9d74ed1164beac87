import { APIError } from "openai/core/error";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import { Observable, type SchedulerAction, type SchedulerLike, type Subscriber, asyncScheduler } from "rxjs";
import { chatCompletionProtocol } from "../sources/chat-completion-protocol.js";
import { isObject } from "../sources/frames.js";
import { PlainHeaders } from "../sources/plain-headers.js";
import type { StreamProtocol } from "../sources/protocol.js";
import { responsesProtocol } from "../sources/responses-protocol.js";
import { MalformedChunkError } from "../errors.js";
import { type Cassette, CassetteError, type CassetteFrame, lineOfFrame, readCassette } from "./cassette.js";

export interface FromCassetteOptions {
  /** Replay speed: 2 plays twice as fast, `Infinity` without pauses. Default 1, the recorded timing. */
  speed?: number;
  /** Where the pauses are scheduled. Default `asyncScheduler`; marble tests get virtual time. */
  scheduler?: SchedulerLike;
}

/**
 * Replays a recorded stream as an `Observable<ChatCompletionChunk>`, each
 * chunk at its recorded offset from the subscription (divided by `speed`).
 *
 * It ends as the live stream did: completes on `[DONE]` (or after a
 * `finish_reason`), errors with `StreamErrorFrameError` on an error frame,
 * with the `openai` package's `APIError` subclass for an error status, and
 * with `IncompleteStreamError` when the recording stops early. A file that is
 * not a cassette errors with `CassetteError` naming the file and line.
 *
 * ## Example
 * ```ts
 * import { extractDelta } from "g4f-rx";
 * import { fromCassette } from "g4f-rx/node";
 *
 * fromCassette("examples/cassettes/say-hello-there.cassette.jsonl", { speed: 2 })
 *   .pipe(extractDelta())
 *   .subscribe((text) => process.stdout.write(text));
 * // Hello there! How can I help you today?
 * ```
 */
export function fromCassette(cassette: string | Cassette, options: FromCassetteOptions = {}): Observable<ChatCompletionChunk> {
  return replay(cassette, chatCompletionProtocol, options);
}

/**
 * Replays a recorded Responses API stream as an `Observable<ResponseStreamEvent>`,
 * each event at its recorded offset, ending as the live `fromResponses` did
 * (the same end-of-stream rule). A cassette of a chat-completion stream errors
 * with `CassetteError`, and `fromCassette` likewise refuses a Responses one.
 *
 * ## Example
 * ```ts
 * import { extractOutputText } from "g4f-rx";
 * import { fromResponsesCassette } from "g4f-rx/node";
 *
 * fromResponsesCassette("hello.responses.cassette.jsonl", { speed: Infinity })
 *   .pipe(extractOutputText())
 *   .subscribe((text) => process.stdout.write(text));
 * ```
 */
export function fromResponsesCassette(cassette: string | Cassette, options: FromCassetteOptions = {}): Observable<ResponseStreamEvent> {
  return replay(cassette, responsesProtocol, options);
}

/** The protocol a cassette was recorded in. */
export function protocolOf(cassette: Cassette): StreamProtocol<ChatCompletionChunk> | StreamProtocol<ResponseStreamEvent> {
  return cassette.api === "responses" ? responsesProtocol : chatCompletionProtocol;
}

function replay<T>(cassette: string | Cassette, protocol: StreamProtocol<T>, options: FromCassetteOptions): Observable<T> {
  checkSpeed(options.speed);
  return new Observable<T>((subscriber) => {
    const recorded = loadOrError(cassette, subscriber);
    if (recorded === undefined) return;
    if ((recorded.api ?? "chat") !== protocol.api) {
      const reader = protocol.api === "responses" ? "fromCassette" : "fromResponsesCassette";
      const held = recorded.api === "responses" ? "a Responses API stream" : "a chat-completion stream";
      subscriber.error(new CassetteError(recorded.file ?? "<cassette>", 1, `this cassette holds ${held}: read it with ${reader}`));
      return;
    }
    // The live decoder's end-of-stream rule, read from the same protocol.
    const reader = protocol.reader(new PlainHeaders(recorded.response.headers));
    const emit = (item: T): void => subscriber.next(item);
    return playFrames(recorded, options).subscribe({
      next: (frame) => {
        const outcome = reader.parsed(frame.event, frame.data, emit);
        if (outcome === "end") subscriber.complete();
        else if (outcome !== "more") subscriber.error(located(outcome, recorded, frame));
      },
      error: (error: unknown) => subscriber.error(error),
      complete: () => {
        const error = reader.ended("recording");
        if (error === undefined) subscriber.complete();
        else subscriber.error(error);
      },
    });
  });
}

/**
 * A frame that is not a chunk (or event) of its protocol was written by hand, since a recording keeps only what the
 * decoder passed: it is a damaged cassette, named by file and line, with the decoder's error as the cause.
 */
function located(error: Error, cassette: Cassette, frame: CassetteFrame): Error {
  const line = lineOfFrame(frame);
  if (!(error instanceof MalformedChunkError) || cassette.file === undefined || line === undefined) return error;
  return new CassetteError(cassette.file, line, error.message, { cause: error });
}

/**
 * The raw frames of a cassette up to the end of its stream by its protocol's
 * end-of-stream rule (the frame that ends it, or stands for an error, is the
 * last), each at its recorded offset. The replay server sends these.
 */
export function playStreamFrames(cassette: Cassette, options: FromCassetteOptions = {}): Observable<CassetteFrame> {
  return new Observable<CassetteFrame>((subscriber) => {
    const reader = protocolOf(cassette).reader();
    const ignore = (): void => undefined;
    return playFrames(cassette, options).subscribe({
      next: (frame) => {
        subscriber.next(frame);
        if (reader.parsed(frame.event, frame.data, ignore) !== "more") subscriber.complete();
      },
      error: (error: unknown) => subscriber.error(error),
      complete: () => subscriber.complete(),
    });
  });
}

/**
 * The raw frames of a cassette, each at its offset from the subscription
 * divided by `speed`. Errors at once with the `APIError` subclass for a
 * recorded error status, or `CassetteError` for a file that is not a cassette.
 */
export function playFrames(cassette: string | Cassette, options: FromCassetteOptions = {}): Observable<CassetteFrame> {
  const { speed = 1, scheduler = asyncScheduler } = options;
  checkSpeed(speed);
  return new Observable<CassetteFrame>((subscriber) => {
    const recorded = loadOrError(cassette, subscriber);
    if (recorded === undefined) return;
    const { response, frames } = recorded;
    if (response.status >= 400) {
      const body = isObject(response.body) ? response.body : undefined;
      subscriber.error(APIError.generate(response.status, body, undefined, new PlainHeaders(response.headers)));
      return;
    }
    // Offsets are measured from the subscription, not from the previous frame, so lateness never adds up.
    const offset = (frame: CassetteFrame): number => (Number.isFinite(speed) ? frame.at / speed : 0);
    const start = scheduler.now();
    let index = 0;
    // Emits every frame that is due, then returns how long until the next one (undefined when done).
    const emitDue = (): number | undefined => {
      const elapsed = scheduler.now() - start;
      for (let frame = frames[index]; frame !== undefined && offset(frame) <= elapsed; frame = frames[index]) {
        if (subscriber.closed) return undefined;
        subscriber.next(frame);
        index += 1;
      }
      const next = frames[index];
      if (next === undefined) {
        subscriber.complete();
        return undefined;
      }
      return offset(next) - elapsed;
    };
    const wait = emitDue();
    if (wait === undefined || subscriber.closed) return;
    // One action, rescheduled frame after frame, rather than one kept per frame until the replay ends.
    subscriber.add(
      scheduler.schedule(function (this: SchedulerAction<undefined>) {
        const next = emitDue();
        if (next !== undefined && !subscriber.closed) this.schedule(undefined, next);
      }, wait),
    );
  });
}

/** Rejects a replay speed that is not above 0, eagerly (before anything subscribes). */
function checkSpeed(speed = 1): void {
  if (!(speed > 0)) throw new TypeError(`speed must be a number above 0, got ${String(speed)}`);
}

/** The cassette itself, or the one read from `path` on subscription; a file that cannot be read errors the subscriber. */
function loadOrError(cassette: string | Cassette, subscriber: Subscriber<unknown>): Cassette | undefined {
  try {
    return typeof cassette === "string" ? readCassette(cassette) : cassette;
  } catch (error) {
    subscriber.error(error);
    return undefined;
  }
}

import { APIError } from "openai/core/error";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { Observable, type SchedulerAction, type SchedulerLike, asyncScheduler } from "rxjs";
import { chatCompletionProtocol } from "../sources/chat-completion-protocol.js";
import { isObject } from "../sources/frames.js";
import { type Cassette, type CassetteFrame, readCassette } from "./cassette.js";

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
  const frames$ = playFrames(cassette, options);
  return new Observable<ChatCompletionChunk>((subscriber) => {
    // The live decoder's end-of-stream rule, read from the same protocol.
    const reader = chatCompletionProtocol.reader(new Headers(cassetteHeaders(cassette)));
    const emit = (chunk: ChatCompletionChunk): void => subscriber.next(chunk);
    return frames$.subscribe({
      next: (frame) => {
        const outcome = reader.parsed(frame.event, frame.data, emit);
        if (outcome === "end") subscriber.complete();
        else if (outcome !== "more") subscriber.error(outcome);
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

/** The recorded response headers, when the cassette is already read. */
function cassetteHeaders(cassette: string | Cassette): Record<string, string> {
  return typeof cassette === "string" ? {} : cassette.response.headers;
}

/**
 * The raw frames of a cassette, each at its offset from the subscription
 * divided by `speed`. Errors at once with the `APIError` subclass for a
 * recorded error status, or `CassetteError` for a file that is not a cassette.
 */
export function playFrames(cassette: string | Cassette, options: FromCassetteOptions = {}): Observable<CassetteFrame> {
  const { speed = 1, scheduler = asyncScheduler } = options;
  if (!(speed > 0)) throw new TypeError(`speed must be a number above 0, got ${String(speed)}`);
  return new Observable<CassetteFrame>((subscriber) => {
    let recorded: Cassette;
    try {
      recorded = typeof cassette === "string" ? readCassette(cassette) : cassette;
    } catch (error) {
      subscriber.error(error);
      return;
    }
    const { response, frames } = recorded;
    if (response.status >= 400) {
      const body = isObject(response.body) ? response.body : undefined;
      subscriber.error(APIError.generate(response.status, body, undefined, new Headers(response.headers)));
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

import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { type MonoTypeOperatorFunction, type Observable, type SchedulerLike, type TimeoutInfo, TimeoutError, asyncScheduler, defer, tap, throwError, timeout } from "rxjs";
import type { StreamItem } from "./chunk-reader.js";
import { contentText } from "./content.js";

/** The longest delay a timer takes (2^31 − 1 ms, about 24.8 days); Node fires a longer one at once, with a TimeoutOverflowWarning. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface StreamTimeoutOptions {
  /** Milliseconds to wait for the first chunk after subscribing, at most `MAX_TIMER_MS`. Default: `idle`. */
  first?: number;
  /** Milliseconds allowed between two chunks, at most `MAX_TIMER_MS`. Without `first`, it bounds the first chunk too. */
  idle?: number;
  /** Scheduler for the timers. Default `asyncScheduler`. */
  scheduler?: SchedulerLike;
}

/** Which wait ran out: for the first chunk, or between two chunks. */
export type StreamTimeoutPhase = "first" | "idle";

/**
 * A stream stalled. It is an RxJS `TimeoutError` (so `instanceof TimeoutError`
 * still holds and `info` is there) that also says which wait ran out and what
 * text had arrived before it.
 */
export class StreamTimeoutError extends TimeoutError<StreamItem, undefined> {
  override readonly name = "StreamTimeoutError";
  /** `"first"` when no chunk arrived at all, `"idle"` when the stream stopped mid-way. */
  readonly phase: StreamTimeoutPhase;
  /** The limit that ran out, in milliseconds. */
  readonly limitMs: number;
  /** The text (choice 0's `delta.content`) delivered before the stall. */
  readonly text: string;
  /** How many chunks arrived before the stall. */
  readonly chunks: number;

  constructor(phase: StreamTimeoutPhase, limitMs: number, text: string, info: TimeoutInfo<StreamItem, undefined>) {
    super(info);
    this.phase = phase;
    this.limitMs = limitMs;
    this.text = text;
    this.chunks = info.seen;
    this.message =
      phase === "first"
        ? `No chunk arrived within ${limitMs} ms`
        : `The stream stalled: no chunk for ${limitMs} ms after ${info.seen} chunks and ${text.length} characters of text`;
    // RxJS's TimeoutError records its stack before any message is set; record it again with ours.
    if (typeof Error.captureStackTrace === "function") Error.captureStackTrace(this, StreamTimeoutError);
  }
}

/**
 * Errors with a `StreamTimeoutError` when a chat-completion stream stalls.
 *
 * Built on RxJS's `timeout({ first, each })`, so when a limit runs out it
 * unsubscribes from the source, and for `fromChatCompletion` that aborts the
 * HTTP request (the server sees the connection close). What it adds is the
 * error: `phase` says whether the first chunk never came (`"first"`) or the
 * stream went quiet mid-answer (`"idle"`), and `text` carries the partial
 * answer, so a handler can show or resume it. Any chunk (the role chunk too)
 * counts as a sign of life. As with `timeout`'s `each`, `idle` alone bounds the
 * wait for the first chunk as well; give `first` to allow a different wait.
 *
 * When you need neither the phase nor the text, RxJS's own
 * `timeout({ first, each })` does the same job on our streams.
 *
 * ## Examples
 * ```ts
 * import OpenAI from "openai";
 * import { catchError, EMPTY } from "rxjs";
 * import { extractDelta, fromChatCompletion, streamTimeout, StreamTimeoutError } from "g4f-rx";
 *
 * const client = new OpenAI({ baseURL: "http://localhost:1337/v1", apiKey: "none" });
 * fromChatCompletion(client, { model: "gpt-4", messages: [{ role: "user", content: "Tell a story" }] })
 *   .pipe(
 *     streamTimeout({ first: 15_000, idle: 5_000 }),
 *     catchError((error: unknown) => {
 *       if (error instanceof StreamTimeoutError) console.error(`\n[${error.phase} timeout after ${error.text.length} chars]`);
 *       return EMPTY;
 *     }),
 *     extractDelta(),
 *   )
 *   .subscribe((text) => process.stdout.write(text));
 * // A live provider's answer, for instance (the second line on stderr, if the provider went quiet):
 * // Once upon a time…
 * // [idle timeout after 17 chars]
 * ```
 */
export function streamTimeout<T extends StreamItem = ChatCompletionChunk>(options: StreamTimeoutOptions): MonoTypeOperatorFunction<T> {
  const { first, idle, scheduler = asyncScheduler } = options;
  for (const [name, value] of [["first", first], ["idle", idle]] as const) {
    // A longer wait would not be a long one: the timer would fire at once.
    if (value !== undefined && (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > MAX_TIMER_MS)) {
      throw new TypeError(`streamTimeout: ${name} must be a number of milliseconds from 0 to ${MAX_TIMER_MS}, got ${String(value)}`);
    }
  }
  if (first === undefined && idle === undefined) {
    throw new TypeError("streamTimeout: give first, idle or both");
  }
  return (source) =>
    defer(() => {
      let text = "";
      return source.pipe(
        tap((chunk) => {
          text += contentText(chunk);
        }),
        timeout<T, Observable<never>, undefined>({
          ...(first === undefined ? {} : { first }),
          ...(idle === undefined ? {} : { each: idle }),
          scheduler,
          with: (info) => {
            const phase = info.seen === 0 ? "first" : "idle";
            const limitMs = phase === "first" ? (first ?? idle ?? 0) : (idle ?? 0);
            return throwError(() => new StreamTimeoutError(phase, limitMs, text, info));
          },
        }),
      );
    });
}

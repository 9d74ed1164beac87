import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import { EMPTY, type MonoTypeOperatorFunction, Observable, Subject, type Subscription, catchError, filter, takeUntil, throwError } from "rxjs";
import type { StreamItem } from "../../../operators/chunk-reader.js";
import { MAX_TIMER_MS, StreamTimeoutError, type StreamTimeoutOptions, streamTimeout } from "../../../operators/stream-timeout.js";
import { RelayStreamError } from "../../errors.js";
import { type RelayFormat, encoderFor, failureFrames } from "./formats.js";
import { MemoryRelayStore } from "./memory-store.js";
import type { RelayEnd, RelayFrame, RelayStore, RelayStreamInfo } from "./store.js";
import { DEFAULT_UPSTREAM_TIMEOUT } from "./upstream-timeout.js";

export interface RelayOptions {
  /** Where frames are kept. Default a new `MemoryRelayStore` (one process); `RedisRelayStore` shares streams between processes. */
  store?: RelayStore;
  /**
   * The most frame text one stream may hold, in UTF-16 code units (a byte per
   * ASCII character). A live stream that passes it is cut: its upstream is
   * unsubscribed and its readers get an error frame saying so. Default 4 Mi.
   * The relay's routes also read an upstream's whole answer (a request
   * without `stream`, the model list) up to this many bytes, and answer a
   * longer one with a 502.
   */
  maxStreamLength?: number;
  /**
   * How long a generation's source may stay silent, as `streamTimeout`'s options: `first`, milliseconds until its
   * first chunk; `idle`, between two chunks (alone, it bounds the first chunk too, as in `streamTimeout`); each above
   * 0 and at most 2^31 − 1; `scheduler` for tests. When one runs out, the source is unsubscribed (for
   * `fromChatCompletion`, its request is aborted) and the stream ends, after every frame it had, with an error frame
   * saying the upstream stalled and for how long (`code: "upstream-stalled"`), as when a `StreamTimeoutError` comes
   * from the source itself. An object replaces the default, `DEFAULT_UPSTREAM_TIMEOUT` (10 minutes for the first
   * chunk, 5 between chunks); `false` sets no limit.
   */
  upstreamTimeout?: StreamTimeoutOptions | false;
  /** Told when a generation cannot write to the store (Redis gone…). Default: one line with `console.error`. */
  onError?: (error: unknown, streamId: string) => void;
}

export interface StartOptions {
  /** The stream's id: letters, digits and `._~-`, up to 128. Default a random UUID. */
  id?: string;
  /**
   * The frames' wire format. Default `"openai"` (chat completion chunks); a Responses API stream (`fromResponses`)
   * needs `"responses"`: the store keeps the format from the start, to frame the stream's end in it whatever happens.
   * `"ui-message"` (the AI SDK's UI message stream) takes either: chat chunks or Responses events.
   */
  format?: RelayFormat;
  /**
   * A Responses stream's model, as its request named it: stopped before the upstream's first event, the stream opens
   * with a `response.created` of the relay's own (readers such as the `openai` client's `responses.stream()` require
   * one), which names it. `POST /v1/responses` passes the request's. Default `""`.
   */
  model?: string;
}

export interface CloseOptions {
  /**
   * How long readers in this process may go on after the generations ended, to receive the frames that end their
   * streams (written here, or by another process shutting down too), before the store closes under them. Default 2000.
   */
  graceMs?: number;
}

export interface ReadOptions {
  /** Resume after this frame (the `Last-Event-ID`); 0 or absent reads from the start. */
  after?: number;
}

interface Generation {
  readonly stop: Subject<void>;
  stopped: boolean;
  /** Set once the generation's last frame is written. */
  readonly ended: Promise<void>;
  cut(reason: RelayStreamError): void;
}

const STREAM_ID = /^[A-Za-z0-9._~-]{1,128}$/;

/** Throws a `TypeError` unless `id` is a usable stream id. */
export function checkStreamId(id: string): string {
  if (!STREAM_ID.test(id)) throw new TypeError(`A stream id is 1 to 128 letters, digits or ._~- characters, got ${JSON.stringify(id)}`);
  return id;
}

/**
 * Runs generations independently of the connections that read them.
 *
 * `start()` subscribes to a chunk Observable once, under a stream id, and
 * writes its frames (every one numbered) to the store; any number of readers
 * `read()` the stream from the start or after a frame they already have,
 * while it runs or after it ended (for the store's time-to-live). A reader
 * leaving changes nothing upstream. `stop()` ends a generation early on
 * request: it unsubscribes the upstream (aborting its request), and the
 * readers see the stream end cleanly with the text so far (a Responses stream
 * with `response.incomplete`). The relay's own
 * limits end one too, its readers told why in an error frame: a stream past
 * `maxStreamLength`, and an upstream silent past `upstreamTimeout`, so that a
 * stall never keeps a stream live. With a
 * `RedisRelayStore`, any process can read or stop a stream another runs.
 *
 * ## Example
 * ```ts
 * import OpenAI from "openai";
 * import { Relay, fromChatCompletion } from "g4f-rx";
 *
 * const client = new OpenAI({ baseURL: "http://localhost:1337/v1", apiKey: "none" });
 * const relay = new Relay();
 * const id = await relay.start(fromChatCompletion(client, { model: "gpt-4", messages: [{ role: "user", content: "Hi" }] }));
 * relay.read(id, { after: 0 }).subscribe((frame) => process.stdout.write(`id: ${frame.id}\n${frame.frame}`));
 * // later, from any request: await relay.stop(id);
 * ```
 */
export class Relay {
  readonly store: RelayStore;
  readonly #maxStreamLength: number;
  readonly #onError: (error: unknown, streamId: string) => void;
  /** `upstreamTimeout` as an operator; none when it is `false`. */
  readonly #stallLimit: MonoTypeOperatorFunction<StreamItem> | undefined;
  readonly #generations = new Map<string, Generation>();
  readonly #stopRequests: Subscription;
  /** Generations that have ended but whose last frames may still be on their way to the store. */
  readonly #ending = new Set<Promise<void>>();
  /** The readers in this process: each settles when its reading ends. */
  readonly #readers = new Set<Promise<void>>();
  #closing: Promise<void> | undefined;

  constructor(options: RelayOptions = {}) {
    const { store = new MemoryRelayStore(), maxStreamLength = 4 * 1024 * 1024, upstreamTimeout = DEFAULT_UPSTREAM_TIMEOUT, onError = logError } = options;
    if (!(maxStreamLength > 0)) throw new TypeError(`Relay: maxStreamLength must be above 0, got ${String(maxStreamLength)}`);
    this.#stallLimit = stallLimit(upstreamTimeout);
    this.store = store;
    this.#maxStreamLength = maxStreamLength;
    this.#onError = onError;
    this.#stopRequests = store.stopRequests.subscribe((id) => this.#generations.get(id)?.stop.next());
  }

  /** The most one answer may hold: `RelayOptions.maxStreamLength`. */
  get maxStreamLength(): number {
    return this.#maxStreamLength;
  }

  /** Generations this relay runs now. */
  get running(): number {
    return this.#generations.size;
  }

  /**
   * Starts a generation: subscribes to `source` once and keeps its frames
   * under the stream id, which it resolves with. Rejects with
   * `StreamExistsError` when the id is taken, `RelayCapacityError` when the
   * store is full, `TypeError` for a malformed id. With a store that answers
   * synchronously (the memory store), `source` is subscribed before this
   * returns. A Responses API stream is started with `{ format: "responses" }`
   * (its readers get OpenAI's Responses frames; a stop ends it with
   * `response.incomplete`); the types ask for it.
   */
  start(source: Observable<ResponseStreamEvent>, options: StartOptions & { format: "responses" | "ui-message" }): Promise<string>;
  start(source: Observable<ChatCompletionChunk>, options?: Omit<StartOptions, "model"> & { format?: "openai" | "ui-message" }): Promise<string>;
  async start(source: Observable<StreamItem>, options: StartOptions = {}): Promise<string> {
    const { format = "openai" } = options;
    const id = checkStreamId(options.id ?? crypto.randomUUID());
    const created = this.store.create(id, format);
    // Only a store that answers with a promise is awaited, so that over the memory store everything up to here is synchronous.
    const remote = created instanceof Promise;
    if (remote) await created;
    this.#run(id, format, source, remote, options.model);
    return id;
  }

  /** The frames of stream `id` after `options.after`, then the live ones; completes with the stream. Errors with `UnknownStreamError`. */
  read(id: string, options: ReadOptions = {}): Observable<RelayFrame> {
    return new Observable<RelayFrame>((subscriber) => {
      let ended = (): void => undefined;
      const reading = new Promise<void>((resolve) => (ended = resolve));
      this.#readers.add(reading);
      const subscription = this.store.read(id, options.after ?? 0).subscribe(subscriber);
      return () => {
        subscription.unsubscribe();
        this.#readers.delete(reading);
        ended();
      };
    });
  }

  /** The stream's format and state, or `undefined` when there is no such stream. */
  info(id: string): Promise<RelayStreamInfo | undefined> {
    return Promise.resolve(this.store.info(id));
  }

  /**
   * Stops stream `id`, wherever it runs: its upstream is unsubscribed and its
   * readers see it end cleanly with what was generated. Resolves true when it
   * was live, false when it had already ended; rejects with
   * `UnknownStreamError` when there is no such stream.
   */
  stop(id: string): Promise<boolean> {
    const generation = this.#generations.get(id);
    if (generation === undefined) return this.store.requestStop(id);
    generation.stop.next();
    return Promise.resolve(true);
  }

  /**
   * Ends the generations this relay runs (their readers get an error frame
   * saying the relay shut down), waits for their last frames to be written
   * and for this process's readers to receive them (up to `graceMs`), then
   * closes the store. Calling it again returns the same promise.
   */
  close(options: CloseOptions = {}): Promise<void> {
    this.#closing ??= this.#close(options.graceMs ?? 2000);
    return this.#closing;
  }

  async #close(graceMs: number): Promise<void> {
    this.#stopRequests.unsubscribe();
    const ending = [...this.#generations].map(([id, generation]) => {
      generation.cut(new RelayStreamError(id, "shutdown", "The relay shut down while this stream ran"));
      return generation.ended;
    });
    // Those that ended just before, too: the store closed under their last write lost their end (with Redis, the stream
    // stayed live until its lease ran out, and its readers were told its owner was lost).
    await Promise.all([...ending, ...this.#ending]);
    if (this.#readers.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([Promise.all(this.#readers), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
    }
    await this.store.close();
  }

  /**
   * Runs one generation. Frames go to the store in order, one batch at a time. With a store that answers at once
   * (memory) each frame is appended as it comes, so readers see it at once, in virtual time too. With a remote one
   * (Redis), the frames that come together (one upstream read) are appended together at the end of the microtask:
   * one round trip for them, and one wake-up of each reader rather than one per frame.
   */
  #run(id: string, format: RelayFormat, source: Observable<StreamItem>, remote: boolean, model: string | undefined): void {
    const stop = new Subject<void>();
    let count = 0;
    let length = 0;
    let pending: RelayFrame[] = [];
    let writing = false;
    let flushScheduled = false;
    let finished = false;
    const upstream: { subscription?: Subscription } = {};
    let resolveEnded!: () => void;
    const ended = new Promise<void>((resolve) => (resolveEnded = resolve));

    const flush = (): void => {
      if (writing || pending.length === 0) return;
      const batch = pending;
      pending = [];
      const last = batch.at(-1);
      const done = (): void => {
        if (last?.end !== undefined) resolveEnded();
        else flush();
      };
      const failed = (error: unknown): void => {
        // The store is gone for this stream: nothing more can reach its readers, so stop generating.
        upstream.subscription?.unsubscribe();
        this.#generations.delete(id);
        this.#onError(error, id);
        resolveEnded();
      };
      let written: void | Promise<void>;
      try {
        written = this.store.append(id, batch);
      } catch (error) {
        failed(error);
        return;
      }
      if (written instanceof Promise) {
        writing = true;
        written.then(() => {
          writing = false;
          done();
        }, failed);
      } else done();
    };
    const scheduleFlush = (): void => {
      if (!remote) return flush();
      if (flushScheduled) return;
      flushScheduled = true;
      queueMicrotask(() => {
        flushScheduled = false;
        flush();
      });
    };
    const write = (frame: string): void => {
      pending.push({ id: ++count, frame });
      scheduleFlush();
    };
    const finish = (end: RelayEnd, frames: readonly string[] = []): void => {
      if (finished) return;
      finished = true;
      this.#generations.delete(id);
      this.#ending.add(ended);
      void ended.then(() => this.#ending.delete(ended));
      for (const frame of frames) write(frame);
      pending.push({ id: ++count, frame: "", end });
      scheduleFlush();
    };
    const cut = (reason: RelayStreamError): void => {
      if (finished) return;
      upstream.subscription?.unsubscribe();
      finish("failed", failureFrames(format, reason.message, reason.reason));
    };

    const generation: Generation = { stop, stopped: false, ended, cut };
    this.#generations.set(id, generation);
    stop.subscribe(() => (generation.stopped = true));
    const limited = this.#stallLimit === undefined ? source : source.pipe(this.#stallLimit);
    upstream.subscription = limited
      .pipe(
        // A stall ends the stream as the relay's other limits do (streamTimeout has already unsubscribed the source).
        catchError((error: unknown) => {
          if (!(error instanceof StreamTimeoutError)) return throwError(() => error);
          cut(stalled(id, error));
          return EMPTY;
        }),
        // The encoder comes after takeUntil on purpose: a stop completes the chunks, and the encoder then closes the stream in its format.
        // eslint-disable-next-line rxjs-x/no-unsafe-takeuntil
        takeUntil(stop),
        encoderFor(format, () => generation.stopped, model),
        filter(() => !finished),
      )
      .subscribe({
        next: (frame) => {
          length += frame.length;
          if (length > this.#maxStreamLength) {
            cut(new RelayStreamError(id, "too-large", `The stream passed the relay's limit of ${this.#maxStreamLength} characters, so it was cut`));
            return;
          }
          write(frame);
        },
        // The encoders turn upstream errors into frames, so this is a fault of the encoder itself.
        error: (error: unknown) => finish("failed", failureFrames(format, error instanceof Error ? error.message : String(error), "relay_error")),
        complete: () => finish(generation.stopped ? "stopped" : "done"),
      });
    // A synchronous source may have finished before `subscription` was assigned.
    if (finished) upstream.subscription.unsubscribe();
  }
}

/** `upstreamTimeout` checked, as an operator; `undefined` for no limit. Throws a `TypeError` for nonsense. */
function stallLimit(options: StreamTimeoutOptions | false): MonoTypeOperatorFunction<StreamItem> | undefined {
  if (options === false) return undefined;
  if (typeof options !== "object" || options === null) throw new TypeError(`Relay: upstreamTimeout must be { first, idle } or false, got ${String(options)}`);
  for (const name of ["first", "idle"] as const) {
    const value = options[name];
    // A wait of 0 would end every stream at once; past 2^31 − 1 ms a timer fires at once.
    if (value !== undefined && !(typeof value === "number" && value > 0 && value <= MAX_TIMER_MS)) {
      throw new TypeError(`Relay: upstreamTimeout.${name} must be a number of milliseconds above 0 up to ${MAX_TIMER_MS} (or upstreamTimeout: false for no limit), got ${String(value)}`);
    }
  }
  if (options.first === undefined && options.idle === undefined) throw new TypeError("Relay: upstreamTimeout needs first, idle or both (or upstreamTimeout: false for no limit)");
  return streamTimeout<StreamItem>(options);
}

/** What the readers of a stream whose upstream stalled are told. */
function stalled(id: string, error: StreamTimeoutError): RelayStreamError {
  const silence = error.phase === "first" ? `no first chunk within ${error.limitMs} ms` : `no chunk for ${error.limitMs} ms after ${error.chunks} chunk${error.chunks === 1 ? "" : "s"}`;
  return new RelayStreamError(id, "upstream-stalled", `The upstream stalled: ${silence}, so the relay aborted its request`);
}

function logError(error: unknown, streamId: string): void {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  console.error(`g4f-rx relay: stream ${streamId} failed: ${message}`);
}

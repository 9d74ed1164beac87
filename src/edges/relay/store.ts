import type { Observable } from "rxjs";

/** How a stream ended: it ran to its end, it was stopped on request, or it failed (an upstream error, a lost owner…). */
export type RelayEnd = "done" | "stopped" | "failed";

/** One SSE frame of a relayed stream, numbered from 1; the last one carries how the stream ended. */
export interface RelayFrame {
  /** The frame's number, sent as its SSE `id:`; `Last-Event-ID: n` resumes after it. */
  readonly id: number;
  /** The frame's text, without its `id:` line, ending with a blank line. */
  readonly frame: string;
  /** Present on the stream's last frame only. */
  readonly end?: RelayEnd;
}

/** What a store knows of a stream. */
export interface RelayStreamInfo {
  readonly id: string;
  /** The wire format its frames are in: `"openai"` (chat completion chunks), `"ui-message"` (the AI SDK's UI message stream) or `"responses"` (Responses API events). */
  readonly format: string;
  readonly status: "live" | RelayEnd;
  /** Frames stored so far. */
  readonly frames: number;
}

/**
 * Where a relay keeps its streams' frames, so readers can join at any point.
 * `MemoryRelayStore` serves one process; `RedisRelayStore` (from
 * `g4f-rx/node`) lets any of many processes serve any stream.
 *
 * Methods may answer synchronously or with a promise: the memory store
 * answers synchronously, which keeps a relay over it in virtual time.
 */
export interface RelayStore {
  /**
   * Registers a new live stream owned by the caller. Throws (or rejects with)
   * `StreamExistsError` when the id is taken, `RelayCapacityError` when the
   * store is full of live streams.
   */
  create(id: string, format: string): void | Promise<void>;
  /** Appends the owner's next frames, numbered in order; a frame with `end` finishes the stream. */
  append(id: string, frames: readonly RelayFrame[]): void | Promise<void>;
  /** The stream's format and state, or `undefined` when the store has no such stream. */
  info(id: string): RelayStreamInfo | undefined | Promise<RelayStreamInfo | undefined>;
  /**
   * The frames numbered above `after`, those stored and then the live ones,
   * completing after the last frame. Errors with `UnknownStreamError` when
   * there is no such stream.
   */
  read(id: string, after: number): Observable<RelayFrame>;
  /**
   * Asks the stream's owner, wherever it runs, to stop it. Resolves true when
   * the stream was live, false when it had ended; rejects with
   * `UnknownStreamError` when there is no such stream.
   */
  requestStop(id: string): Promise<boolean>;
  /** The ids of streams whose stop was requested, for their owner to act on. */
  readonly stopRequests: Observable<string>;
  /** Releases what the store holds open (connections, timers). */
  close(): Promise<void>;
}

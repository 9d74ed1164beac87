import { Observable, Subject } from "rxjs";
import { RelayCapacityError, StreamExistsError, UnknownStreamError } from "../../errors.js";
import type { RelayFrame, RelayStore, RelayStreamInfo } from "./store.js";

export interface MemoryRelayStoreOptions {
  /** How long a finished stream stays readable, in milliseconds. Default 5 minutes. */
  ttlMs?: number;
  /**
   * The most frame text held in all, counted in UTF-16 code units (a byte per
   * ASCII character). When a new stream would pass it, the oldest finished
   * streams are dropped first; when live streams alone fill it, the new stream
   * is refused with `RelayCapacityError`. Default 64 Mi.
   */
  maxTotalLength?: number;
}

interface StoredStream {
  readonly format: string;
  /** A live stream's frames' text, in order (frame n is at n - 1). */
  frames: string[];
  /**
   * A finished stream's frames, compacted: all their text in one string, frame n from `offsets[n - 1]` to
   * `offsets[n]`. One flat string and one typed array hold a finished stream in about the size of its text,
   * rather than an object and a string per frame.
   */
  text?: string;
  offsets?: Uint32Array;
  /** Frames stored, the end mark included. */
  count: number;
  length: number;
  status: RelayStreamInfo["status"];
  /** Told after each append, so live readers wake. */
  readonly appended: Subject<void>;
  expiry?: ReturnType<typeof setTimeout>;
}

/**
 * A relay store in this process's memory: the default, for one process.
 * Answers synchronously, so a relay over it runs in virtual time too.
 * Finished streams are dropped after `ttlMs`, and the oldest finished ones
 * first when memory is short.
 *
 * ## Example
 * ```ts
 * import { MemoryRelayStore, createRelay } from "g4f-rx";
 *
 * const relay = createRelay({ store: new MemoryRelayStore({ ttlMs: 60_000 }) });
 * ```
 */
export class MemoryRelayStore implements RelayStore {
  readonly #streams = new Map<string, StoredStream>();
  readonly #stopRequests = new Subject<string>();
  readonly #ttlMs: number;
  readonly #maxTotalLength: number;
  #totalLength = 0;

  readonly stopRequests: Observable<string> = this.#stopRequests.asObservable();

  constructor(options: MemoryRelayStoreOptions = {}) {
    const { ttlMs = 5 * 60_000, maxTotalLength = 64 * 1024 * 1024 } = options;
    if (!(ttlMs >= 0)) throw new TypeError(`MemoryRelayStore: ttlMs must be 0 or more, got ${String(ttlMs)}`);
    if (!(maxTotalLength > 0)) throw new TypeError(`MemoryRelayStore: maxTotalLength must be above 0, got ${String(maxTotalLength)}`);
    this.#ttlMs = ttlMs;
    this.#maxTotalLength = maxTotalLength;
  }

  /** Streams held, live and finished. */
  get size(): number {
    return this.#streams.size;
  }

  /** Frame text held in all, in UTF-16 code units. */
  get totalLength(): number {
    return this.#totalLength;
  }

  create(id: string, format: string): void {
    if (this.#streams.has(id)) throw new StreamExistsError(id);
    if (this.#totalLength >= this.#maxTotalLength) this.#dropFinished();
    if (this.#totalLength >= this.#maxTotalLength) throw new RelayCapacityError(this.#maxTotalLength);
    this.#streams.set(id, { format, frames: [], count: 0, length: 0, status: "live", appended: new Subject<void>() });
  }

  append(id: string, frames: readonly RelayFrame[]): void {
    const stream = this.#streams.get(id);
    if (stream === undefined) throw new UnknownStreamError(id);
    if (stream.status !== "live") throw new Error(`Stream ${JSON.stringify(id)} has ended; nothing can be appended to it`);
    for (const frame of frames) {
      if (frame.id !== stream.count + 1) throw new Error(`Stream ${JSON.stringify(id)} expected frame ${stream.count + 1}, got ${frame.id}`);
      stream.count++;
      if (frame.end === undefined) stream.frames.push(frame.frame);
      stream.length += frame.frame.length;
      this.#totalLength += frame.frame.length;
      if (frame.end !== undefined) {
        stream.status = frame.end;
        stream.expiry = setTimeout(() => this.#drop(id), this.#ttlMs);
        stream.expiry.unref?.();
        break;
      }
    }
    stream.appended.next();
    if (stream.status !== "live") {
      stream.appended.complete();
      compact(stream);
    }
  }

  info(id: string): RelayStreamInfo | undefined {
    const stream = this.#streams.get(id);
    return stream === undefined ? undefined : { id, format: stream.format, status: stream.status, frames: stream.count };
  }

  read(id: string, after: number): Observable<RelayFrame> {
    return new Observable<RelayFrame>((subscriber) => {
      const stream = this.#streams.get(id);
      if (stream === undefined) {
        subscriber.error(new UnknownStreamError(id));
        return;
      }
      let next = Math.max(0, after);
      // The end mark only ends the stream; it is not a frame to send.
      const catchUp = (): void => {
        const { offsets, text = "" } = stream;
        if (offsets === undefined) {
          while (next < stream.frames.length && !subscriber.closed) subscriber.next({ id: next + 1, frame: stream.frames[next++] ?? "" });
        } else {
          const sent = offsets.length - 1;
          while (next < sent && !subscriber.closed) subscriber.next({ id: next + 1, frame: text.slice(offsets[next], offsets[++next]) });
        }
        if (stream.status !== "live") subscriber.complete();
      };
      catchUp();
      if (subscriber.closed) return;
      return stream.appended.subscribe(catchUp);
    });
  }

  requestStop(id: string): Promise<boolean> {
    const stream = this.#streams.get(id);
    if (stream === undefined) return Promise.reject(new UnknownStreamError(id));
    if (stream.status !== "live") return Promise.resolve(false);
    this.#stopRequests.next(id);
    return Promise.resolve(true);
  }

  close(): Promise<void> {
    for (const stream of this.#streams.values()) clearTimeout(stream.expiry);
    this.#streams.clear();
    this.#totalLength = 0;
    this.#stopRequests.complete();
    return Promise.resolve();
  }

  #drop(id: string): void {
    const stream = this.#streams.get(id);
    if (stream === undefined) return;
    clearTimeout(stream.expiry);
    this.#totalLength -= stream.length;
    this.#streams.delete(id);
  }

  /** Drops finished streams, oldest first (a Map keeps insertion order), until under the limit. */
  #dropFinished(): void {
    for (const [id, stream] of this.#streams) {
      if (this.#totalLength < this.#maxTotalLength) return;
      if (stream.status !== "live") this.#drop(id);
    }
  }
}

/** Turns a finished stream's frames into one string and their offsets (see `StoredStream.text`). */
function compact(stream: StoredStream): void {
  const offsets = new Uint32Array(stream.frames.length + 1);
  let at = 0;
  stream.frames.forEach((frame, index) => {
    at += frame.length;
    offsets[index + 1] = at;
  });
  stream.text = stream.frames.join("");
  stream.offsets = offsets;
  stream.frames = [];
}

import { randomUUID } from "node:crypto";
import { Observable, Subject } from "rxjs";
import { RelayStoreError, RelayStreamError, StreamExistsError, UnknownStreamError } from "../../errors.js";
import { withoutPassword } from "../../endpoints.js";
import { failureFrames } from "./formats.js";
import type { RelayEnd, RelayFrame, RelayStore, RelayStreamInfo } from "./store.js";

export interface RedisRelayStoreOptions {
  /** Prefix of every key and channel. Default `"g4f-rx:relay:"`. */
  prefix?: string;
  /** How long a finished stream stays readable, in milliseconds. Default 5 minutes. */
  ttlMs?: number;
  /**
   * How long a stream's owner may go without renewing its lease before its
   * readers give up on it: they then get an error frame saying the process
   * running the stream was lost, within about 1.5× this. The owner renews
   * every third of it. Default 5 seconds.
   */
  leaseMs?: number;
  /** Most blocking connections kept idle for readers. Default 16. */
  idleReaders?: number;
}

/**
 * The Redis client a `RedisRelayStore` needs: the few methods it calls, which
 * an `ioredis` client has. Named structurally so that the store's types need
 * no Redis package installed, and any client with these methods fits.
 */
export interface RedisConnection {
  /** Sends one command (`"XADD"`, `"EVAL"`…) and resolves with its reply. */
  call(command: string, ...args: Array<string | number>): Promise<unknown>;
  /** A new connection to the same server, with the same options. */
  duplicate(): RedisConnection;
  /** Subscribes this connection to pub/sub channels. */
  subscribe(...channels: string[]): Promise<unknown>;
  /** Told each pub/sub message received, after `subscribe`. */
  on(event: "message", listener: (channel: string, message: string) => void): unknown;
  /** Told when the connection fails (it then reconnects); the command that needed it fails too. */
  on(event: "error", listener: (error: Error) => void): unknown;
  /** Closes the connection at once. */
  disconnect(): void;
  /** Closes the connection after the replies still due. */
  quit(): Promise<unknown>;
}

const END_FIELD = "e";
/** How long `close()` waits for Redis to take its QUIT before closing the connection anyway. */
const QUIT_WAIT_MS = 1000;
const FRAME_FIELD = "f";

// KEYS: meta, lease. ARGV: format, owner token, lease ms, live ttl ms.
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'format', ARGV[1], 'status', 'live', 'frames', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1`;

// The end of a stream, atomically: its last frames, its end mark, its status, and the expiry of what is left.
// KEYS: meta, frames, lease. ARGV: ttl ms, status, then id and frame of each frame (the end mark last, with its id and '').
const FINISH = `
for i = 3, #ARGV - 2, 2 do
  redis.call('XADD', KEYS[2], '0-' .. ARGV[i], '${FRAME_FIELD}', ARGV[i + 1])
end
redis.call('XADD', KEYS[2], '0-' .. ARGV[#ARGV - 1], '${FRAME_FIELD}', '', '${END_FIELD}', ARGV[2])
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'frames', ARGV[#ARGV - 1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[3])
return 1`;

// Run by a reader that waited in vain: when the lease has run out on a live stream, ends it with the failure frames.
// KEYS: meta, lease, frames. ARGV: ttl ms, then the failure frames.
const OWNER_LOST = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if redis.call('HGET', KEYS[1], 'status') ~= 'live' then return 0 end
local n = redis.call('XLEN', KEYS[3])
for i = 2, #ARGV do
  n = n + 1
  redis.call('XADD', KEYS[3], '0-' .. n, '${FRAME_FIELD}', ARGV[i])
end
n = n + 1
redis.call('XADD', KEYS[3], '0-' .. n, '${FRAME_FIELD}', '', '${END_FIELD}', 'failed')
redis.call('HSET', KEYS[1], 'status', 'failed', 'frames', n)
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[3], ARGV[1])
return 1`;

/**
 * A relay store in Redis, so that any of many processes serves any stream: a
 * reader that reconnects to another process resumes there, and a stop sent
 * to any process reaches the one running the stream.
 *
 * Each stream is a Redis Stream of its frames (entry ids `0-1`, `0-2`… are
 * the frame numbers, so `Last-Event-ID` maps straight onto `XREAD`), a hash
 * of its format and state, and a lease key its owner renews. Readers block in
 * `XREAD` on connections of their own; stops travel by pub/sub. When the
 * owner dies, its lease runs out and the first reader to notice ends the
 * stream with an error frame, atomically, so every reader sees the same end.
 * Memory is bounded by the per-stream cap of the relay, the time-to-live of
 * finished streams, and Redis's own `maxmemory`.
 *
 * ## Example
 * ```ts
 * import { Relay } from "g4f-rx";
 * import { RedisRelayStore } from "g4f-rx/node";
 *
 * const relay = new Relay({ store: await RedisRelayStore.connect("redis://127.0.0.1:6379") });
 * ```
 */
export class RedisRelayStore implements RelayStore {
  readonly #redis: RedisConnection;
  readonly #subscriber: RedisConnection;
  readonly #idle: RedisConnection[] = [];
  readonly #busy = new Set<RedisConnection>();
  readonly #owned = new Set<string>();
  readonly #stopRequests = new Subject<string>();
  readonly #prefix: string;
  readonly #ttlMs: number;
  readonly #leaseMs: number;
  readonly #idleReaders: number;
  readonly #token = randomUUID();
  readonly #heartbeat: ReturnType<typeof setInterval>;
  readonly #subscribed: Promise<unknown>;
  /** The last connection failure any of the store's connections reported, which says why a command gave up. */
  #lastError: Error | undefined;
  #closed = false;

  readonly stopRequests: Observable<string> = this.#stopRequests.asObservable();

  /** Connects to `url` (`redis://…`) with `ioredis`, which must be installed. */
  static async connect(url: string, options: RedisRelayStoreOptions = {}): Promise<RedisRelayStore> {
    const { Redis: RedisClient } = await import("ioredis");
    // Auto-pipelining sends the commands of one tick (the appends of many streams) in one write.
    // While Redis is unreachable, a command fails after the reconnection attempts it waited for. The client's own
    // backoff grows to 5 s, which made every request then wait about 15 s for its 503; with attempts at most half a
    // second apart it fails within about 1.5 s, and the store serves again within half a second of Redis coming back.
    const redis = new RedisClient(url, { lazyConnect: true, maxRetriesPerRequest: 2, enableAutoPipelining: true, retryStrategy: reconnectDelay });
    // The client reports a lost connection as an event too; without a listener it would print "Unhandled error event"
    // (the store's commands fail with it meanwhile, and the client reconnects).
    let lastError: Error | undefined;
    redis.on("error", (error: Error) => (lastError = error));
    try {
      await redis.connect();
    } catch (error) {
      redis.disconnect();
      // The client's own rejection says only "Connection is closed."; the error event before it says why.
      const why = lastError?.message ?? (error instanceof Error ? error.message : String(error));
      throw new Error(`Could not connect to Redis at ${withoutPassword(url)}: ${why}`, { cause: error });
    }
    const store = new RedisRelayStore(redis, options);
    await store.ready();
    return store;
  }

  /**
   * A store over a connected client (an `ioredis` client, or any with the
   * methods of `RedisConnection`), which it takes over: `close()` quits it.
   */
  constructor(redis: RedisConnection, options: RedisRelayStoreOptions = {}) {
    const { prefix = "g4f-rx:relay:", ttlMs = 5 * 60_000, leaseMs = 5_000, idleReaders = 16 } = options;
    if (!(ttlMs > 0)) throw new TypeError(`RedisRelayStore: ttlMs must be above 0, got ${String(ttlMs)}`);
    if (!(leaseMs >= 100)) throw new TypeError(`RedisRelayStore: leaseMs must be 100 or more, got ${String(leaseMs)}`);
    this.#redis = redis;
    this.#prefix = prefix;
    this.#ttlMs = ttlMs;
    this.#leaseMs = leaseMs;
    this.#idleReaders = idleReaders;
    redis.on("error", (error) => (this.#lastError = error));
    this.#subscriber = this.#quiet(redis.duplicate());
    this.#subscriber.on("message", (_channel, id) => this.#stopRequests.next(id));
    this.#subscribed = this.#subscriber.subscribe(`${prefix}stop`);
    this.#heartbeat = setInterval(() => this.#renewLeases(), Math.floor(leaseMs / 3));
    this.#heartbeat.unref();
  }

  /** Resolves once stop requests are being received. */
  async ready(): Promise<void> {
    await this.#subscribed;
  }

  async create(id: string, format: string): Promise<void> {
    const created = await this.#call(this.#redis, "EVAL", CREATE, 2, this.#key(id, "meta"), this.#key(id, "lease"), format, this.#token, this.#leaseMs, this.#liveTtlMs());
    if (created !== 1) throw new StreamExistsError(id);
    this.#owned.add(id);
  }

  async append(id: string, frames: readonly RelayFrame[]): Promise<void> {
    const last = frames.at(-1);
    if (last === undefined) return;
    const stream = this.#key(id, "frames");
    // A live stream's frames are only XADDs, pipelined (its frame count is the stream's length, as its ids run 0-1, 0-2…);
    // the end is a transaction, so that the frame, the status and the expiry are seen together.
    if (last.end === undefined) {
      // Sent together: the client pipelines the commands of one tick.
      try {
        await Promise.all(frames.map((frame) => this.#call(this.#redis, "XADD", stream, `0-${frame.id}`, FRAME_FIELD, frame.frame)));
      } catch (error) {
        await this.#abandon(id, error);
        throw error;
      }
      return;
    }
    this.#owned.delete(id);
    const args = frames.slice(0, -1).flatMap((frame) => [frame.id, frame.frame]);
    try {
      await this.#call(this.#redis, "EVAL", FINISH, 3, this.#key(id, "meta"), stream, this.#key(id, "lease"), this.#ttlMs, last.end, ...args, last.id, "");
    } catch (error) {
      await this.#abandon(id, error);
      throw error;
    }
  }

  async info(id: string): Promise<RelayStreamInfo | undefined> {
    const [meta, length] = await Promise.all([this.#call(this.#redis, "HMGET", this.#key(id, "meta"), "format", "status", "frames"), this.#call(this.#redis, "XLEN", this.#key(id, "frames"))]);
    const fields: unknown[] = Array.isArray(meta) ? meta : [];
    const [format, status, frames] = fields;
    if (typeof format !== "string" || !isStatus(status) || typeof length !== "number") return undefined;
    // A live stream's count is its length; an ended one's is in its hash, which outlives nothing it counts.
    return { id, format, status, frames: status === "live" || typeof frames !== "string" ? length : Number(frames) };
  }

  read(id: string, after: number): Observable<RelayFrame> {
    return new Observable<RelayFrame>((subscriber) => {
      let cancelled = false;
      let connection: RedisConnection | undefined;
      const run = async (): Promise<void> => {
        const info = await this.info(id);
        if (info === undefined) throw new UnknownStreamError(id);
        if (cancelled) return;
        connection = this.#acquire();
        let cursor = Math.max(0, after);
        const blockMs = Math.max(50, Math.floor(this.#leaseMs / 2));
        while (!cancelled) {
          const reply: unknown = await this.#call(connection, "XREAD", "COUNT", 1000, "BLOCK", blockMs, "STREAMS", this.#key(id, "frames"), `0-${cursor}`);
          if (cancelled) return;
          let entries = streamEntries(reply);
          if (entries.length === 0) {
            await this.#checkOwner(id, info.format);
            if ((await this.#call(connection, "HGET", this.#key(id, "meta"), "status")) === "live") continue;
            // Ended: its end mark may have come since the read, else this reader began past it (a Last-Event-ID
            // beyond the last frame) and is done, as with the memory store.
            entries = streamEntries(await this.#call(connection, "XREAD", "COUNT", 1000, "STREAMS", this.#key(id, "frames"), `0-${cursor}`));
            if (cancelled) return;
            if (entries.length === 0) {
              this.#release(connection);
              connection = undefined;
              subscriber.complete();
              return;
            }
          }
          for (const entry of entries) {
            cursor = entry.id;
            if (entry.end !== undefined) {
              // Back to the pool before completing, since completing runs the teardown.
              this.#release(connection);
              connection = undefined;
              subscriber.complete();
              return;
            }
            subscriber.next(entry);
          }
        }
      };
      run().then(
        () => {
          // Left by a reader that went away: its last command has answered, so the connection is free for the next.
          if (connection !== undefined) this.#release(connection);
          connection = undefined;
        },
        (error: unknown) => {
          if (connection !== undefined) this.#discard(connection);
          connection = undefined;
          if (!cancelled) subscriber.error(error);
        },
      );
      return () => {
        // The connection may be blocked in XREAD for up to half a lease: the loop gives it back to the pool when that
        // answers (at the stream's next frame, mostly). Dropping it made a new connection to Redis for every reader
        // that left mid-stream; nothing waits for it meanwhile, and close() disconnects it as any busy one.
        cancelled = true;
      };
    });
  }

  async requestStop(id: string): Promise<boolean> {
    const status = await this.#call(this.#redis, "HGET", this.#key(id, "meta"), "status");
    if (status === null) throw new UnknownStreamError(id);
    if (status !== "live") return false;
    await this.#call(this.#redis, "PUBLISH", `${this.#prefix}stop`, id);
    return true;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    this.#stopRequests.complete();
    for (const connection of [...this.#idle, ...this.#busy]) connection.disconnect();
    this.#idle.length = 0;
    this.#busy.clear();
    this.#subscriber.disconnect();
    // QUIT lets the replies still due arrive; with Redis unreachable it would wait out the client's retries and then
    // fail, so it gets a moment, and the connection is then closed regardless.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.#redis.quit().catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, QUIT_WAIT_MS)))]);
    clearTimeout(timer);
    this.#redis.disconnect();
  }

  /** Ends a live stream whose lease ran out, once, whichever reader notices first. */
  async #checkOwner(id: string, format: string): Promise<void> {
    const lost = new RelayStreamError(id, "owner-lost", "The process running this stream stopped answering (its lease ran out), so the stream ends here");
    await this.#call(this.#redis, "EVAL", OWNER_LOST, 3, this.#key(id, "meta"), this.#key(id, "lease"), this.#key(id, "frames"), this.#ttlMs, ...failureFrames(format, lost.message, lost.reason));
  }

  /**
   * Gives up a stream whose frames could not be written: its lease is no longer renewed but dropped, and its end
   * written if Redis takes it, so that its readers learn it ended rather than wait on a lease renewed forever, and
   * its keys expire. Whatever still fails here, the lease runs out, and readers end the stream themselves.
   */
  async #abandon(id: string, error: unknown): Promise<void> {
    this.#owned.delete(id);
    // Unreachable, Redis would take nothing more either, after the client's retries again: the lease simply runs out.
    if (error instanceof RelayStoreError && unreachable(error.cause)) return;
    const why = error instanceof Error ? error.message : String(error);
    const failed = new RelayStreamError(id, "store-failed", `The relay could not write this stream to Redis (${why}), so it ends here`);
    try {
      await this.#call(this.#redis, "DEL", this.#key(id, "lease"));
      const format = await this.#call(this.#redis, "HGET", this.#key(id, "meta"), "format");
      const frames = failureFrames(typeof format === "string" ? format : "openai", failed.message, failed.reason);
      await this.#call(this.#redis, "EVAL", OWNER_LOST, 3, this.#key(id, "meta"), this.#key(id, "lease"), this.#key(id, "frames"), this.#ttlMs, ...frames);
    } catch {
      // Redis refuses this too: the readers end the stream when they next look (see #checkOwner), or are told the store failed.
    }
  }

  /** Sends a command, failing with a `RelayStoreError` that says what went wrong with Redis. */
  #call(connection: RedisConnection, command: string, ...args: Array<string | number>): Promise<unknown> {
    return connection.call(command, ...args).catch((error: unknown) => {
      throw this.#storeError(error);
    });
  }

  #storeError(error: unknown): RelayStoreError {
    if (error instanceof RelayStoreError) return error;
    if (unreachable(error)) return new RelayStoreError(`Redis cannot be reached${this.#lastError === undefined ? "" : `: ${this.#lastError.message}`}`, { cause: error });
    return new RelayStoreError(`Redis refused a command: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }

  #renewLeases(): void {
    if (this.#owned.size === 0) return;
    const liveTtl = this.#liveTtlMs();
    const renewals: Array<Promise<unknown>> = [];
    for (const id of this.#owned) {
      renewals.push(
        this.#redis.call("PEXPIRE", this.#key(id, "lease"), this.#leaseMs),
        this.#redis.call("PEXPIRE", this.#key(id, "meta"), liveTtl),
        this.#redis.call("PEXPIRE", this.#key(id, "frames"), liveTtl),
      );
    }
    // A failed renewal is not fatal by itself: the lease runs out and the readers are told.
    Promise.all(renewals).catch(() => undefined);
  }


  /** Keys of a live stream outlive a lost owner long enough for its readers to learn of it. */
  #liveTtlMs(): number {
    return this.#ttlMs + 2 * this.#leaseMs;
  }

  #key(id: string, part: "meta" | "lease" | "frames"): string {
    // The hash tag keeps a stream's keys in one slot on a Redis Cluster.
    return `${this.#prefix}{${id}}:${part}`;
  }

  #acquire(): RedisConnection {
    const connection = this.#idle.pop() ?? this.#quiet(this.#redis.duplicate());
    this.#busy.add(connection);
    return connection;
  }

  #release(connection: RedisConnection): void {
    this.#busy.delete(connection);
    if (!this.#closed && this.#idle.length < this.#idleReaders) this.#idle.push(connection);
    else connection.disconnect();
  }

  #discard(connection: RedisConnection): void {
    this.#busy.delete(connection);
    connection.disconnect();
  }

  /**
   * A connection whose failures surface where its commands fail, and in their errors' messages, not also as an
   * "Unhandled error event" printed by the client (ioredis prints one for an error event nobody listens to).
   */
  #quiet(connection: RedisConnection): RedisConnection {
    connection.on("error", (error) => (this.#lastError = error));
    return connection;
  }
}

/** Milliseconds before the client's next attempt to reconnect: quickly at first, then twice a second. */
function reconnectDelay(attempt: number): number {
  return Math.min(attempt * 100, 500);
}

/** Whether a client's error says that Redis could not be reached: ioredis gave up after its retries, or the connection is closed. */
function unreachable(error: unknown): boolean {
  return error instanceof Error && (error.name === "MaxRetriesPerRequestError" || error.message === "Connection is closed.");
}

function isStatus(value: unknown): value is RelayStreamInfo["status"] {
  return value === "live" || value === "done" || value === "stopped" || value === "failed";
}

function isEnd(value: unknown): value is RelayEnd {
  return value === "done" || value === "stopped" || value === "failed";
}

/** The entries of an XREAD reply on one stream: `[[key, [[id, [field, value, …]], …]]]` (or without the outer array), or null on a timeout. */
function streamEntries(reply: unknown): RelayFrame[] {
  if (!Array.isArray(reply)) return [];
  // Redis answers [[key, entries]]; ioredis's `call` unwraps a one-stream answer to [key, entries].
  const stream: unknown = typeof reply[0] === "string" ? reply : reply[0];
  if (!Array.isArray(stream) || !Array.isArray(stream[1])) return [];
  const frames: RelayFrame[] = [];
  const entries: unknown[] = stream[1];
  for (const entry of entries) {
    if (!Array.isArray(entry) || typeof entry[0] !== "string" || !Array.isArray(entry[1])) continue;
    const fields: unknown[] = entry[1];
    let frame = "";
    let end: RelayEnd | undefined;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const value = fields[i + 1];
      if (fields[i] === FRAME_FIELD && typeof value === "string") frame = value;
      else if (fields[i] === END_FIELD && isEnd(value)) end = value;
    }
    const id = Number(entry[0].slice(entry[0].indexOf("-") + 1));
    frames.push(end === undefined ? { id, frame } : { id, frame, end });
  }
  return frames;
}


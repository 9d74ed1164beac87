import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { type MonoTypeOperatorFunction, type SchedulerLike, asyncScheduler, defer, retry, tap, throwError, timer } from "rxjs";
import type { StreamItem } from "./chunk-reader.js";
import { isContentChunk } from "./content.js";

export interface RetryBeforeContentOptions {
  /** How many times to resubscribe at most (so `count + 1` attempts in all). Default `2`. */
  count?: number;
  /**
   * Milliseconds to wait before each new attempt, or a function of the attempt
   * (1 for the first retry) and the error that returns them. Default: 500 ms,
   * doubled per attempt, at most 8 000 ms. A 429 or 503 error whose `headers`
   * carry `retry-after-ms` or `retry-after` waits what the server asked instead,
   * unless that is more than `maxRetryAfterMs`.
   */
  delay?: number | ((attempt: number, error: unknown) => number);
  /**
   * The longest wait a server's `retry-after-ms` or `retry-after` header is
   * followed for, in milliseconds. A server asking for more is ignored and
   * `delay` applies, so that one header cannot hold the stream for minutes
   * or hours. `Infinity` always follows the server; `0` follows only an ask
   * for no wait. Default `60_000`.
   */
  maxRetryAfterMs?: number;
  /**
   * Whether an error is worth another attempt. Default: errors without an HTTP
   * `status` (connection failures, timeouts, truncated streams, in-stream error
   * frames, malformed chunks) and the statuses 408, 409, 429 and 5xx, as the
   * `openai` client itself decides. Never an abort the caller asked for (the
   * `openai` client's `APIUserAbortError`, recognised by its class, or an
   * `AbortError`), nor what a new request would get again: a body that is not
   * an event stream (`NotEventStreamError`: an HTML page, a wrong URL) or a
   * frame over the size limit (`FrameTooLargeError`), recognised by `name`.
   */
  shouldRetry?: (attempt: number, error: unknown) => boolean;
  /** Scheduler for the waits. Default `asyncScheduler`. */
  scheduler?: SchedulerLike;
}

/**
 * Starts the request again when it fails before the answer has begun.
 *
 * Resubscribes to the source (for `fromChatCompletion`, a new request) when it
 * errors before its first content chunk: a chunk with text, a refusal, a
 * reasoning delta or a tool-call delta (see `isContentChunk`; the role-only
 * chunk is not content). Chunks before content, such as the role chunk, are
 * passed on as they come, so a retried attempt repeats them; they carry no
 * text. Once content has been delivered, an error passes through untouched,
 * because starting over would repeat what the consumer already has; use
 * `fallback(…, { resume: true })` to continue instead.
 *
 * Waits `delay` before each retry on the scheduler, or, for a 429 or 503 error
 * with a `retry-after-ms` or `retry-after` header (seconds or an HTTP date),
 * as long as the server asked, up to `maxRetryAfterMs` (default 60 s; a
 * longer ask is ignored and `delay` applies). The `openai` client's own
 * `maxRetries` still applies to HTTP errors before the stream starts; this operator adds what the
 * client cannot see: stalls cut by `timeout`, truncated bodies and error frames
 * inside a stream. When `count` retries are used up, or `shouldRetry` says no,
 * the last error passes through.
 *
 * `retryBeforeContent(3)` is short for `retryBeforeContent({ count: 3 })`.
 *
 * ## Examples
 * ```ts
 * import OpenAI from "openai";
 * import { timeout } from "rxjs";
 * import { extractDelta, fromChatCompletion, retryBeforeContent } from "g4f-rx";
 *
 * const client = new OpenAI({ baseURL: "http://localhost:1337/v1", apiKey: "none" });
 * fromChatCompletion(client, { model: "gpt-4", messages: [{ role: "user", content: "Say hello there!" }] })
 *   .pipe(
 *     timeout({ first: 10_000 }),                 // a stalled provider counts as a failure…
 *     retryBeforeContent({ count: 2, delay: 1_000 }), // …and gets a fresh request
 *     extractDelta(),
 *   )
 *   .subscribe((text) => process.stdout.write(text));
 * // A live provider's answer, for instance:
 * // Hello there! How can I help you today?
 * ```
 */
export function retryBeforeContent<T extends StreamItem = ChatCompletionChunk>(options: number | RetryBeforeContentOptions = {}): MonoTypeOperatorFunction<T> {
  const config = typeof options === "number" ? { count: options } : options;
  const { count = 2, delay = defaultDelay, maxRetryAfterMs = 60_000, shouldRetry = isRetryable, scheduler = asyncScheduler } = config;
  if (!(Number.isInteger(count) || count === Infinity) || count < 0) {
    throw new TypeError(`retryBeforeContent: count must be a non-negative integer, got ${String(count)}`);
  }
  if (typeof delay === "number") checkDelay(delay);
  else if (typeof delay !== "function") throw new TypeError("retryBeforeContent: delay must be a number or a function");
  if (typeof maxRetryAfterMs !== "number" || Number.isNaN(maxRetryAfterMs) || maxRetryAfterMs < 0) {
    throw new TypeError(`retryBeforeContent: maxRetryAfterMs must be a number of milliseconds >= 0, got ${String(maxRetryAfterMs)}`);
  }
  if (typeof shouldRetry !== "function") throw new TypeError("retryBeforeContent: shouldRetry must be a function");

  const waitFor = (attempt: number, error: unknown): number => {
    const asked = retryAfterMs(error, scheduler.now());
    if (asked !== undefined && asked <= maxRetryAfterMs) return asked;
    return checkDelay(typeof delay === "number" ? delay : delay(attempt, error));
  };

  return (source) =>
    defer(() => {
      let contentSeen = false;
      return source.pipe(
        tap((chunk) => {
          if (!contentSeen && isContentChunk(chunk)) contentSeen = true;
        }),
        retry({
          count,
          delay: (error: unknown, attempt: number) =>
            contentSeen || !shouldRetry(attempt, error) ? throwError(() => error) : timer(waitFor(attempt, error), scheduler),
        }),
      );
    });
}

function defaultDelay(attempt: number): number {
  return Math.min(500 * 2 ** (attempt - 1), 8_000);
}

function checkDelay(ms: number): number {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) {
    throw new TypeError(`retryBeforeContent: delay must be a finite number of milliseconds >= 0, got ${String(ms)}`);
  }
  return ms;
}

/** Errors of the stream decoders that a new request to the same endpoint would meet again. */
const REPEATED_BY_A_NEW_REQUEST = new Set(["NotEventStreamError", "FrameTooLargeError"]);

/**
 * What the `openai` client retries: no status (connection, stream), 408, 409, 429, 5xx; never a caller's abort, nor a
 * body of the wrong kind or size, which the endpoint would send again.
 */
function isRetryable(_attempt: number, error: unknown): boolean {
  if (isAbort(error)) return false;
  if (error instanceof Error && REPEATED_BY_A_NEW_REQUEST.has(error.name)) return false;
  const status = statusOf(error);
  return status === undefined || status === 408 || status === 409 || status === 429 || status >= 500;
}

/**
 * Whether the error is an abort the caller asked for: an `AbortError`, or the
 * `openai` client's `APIUserAbortError` or a subclass. openai 6 leaves that
 * class's `name` at "Error", and operators/ may not import the class itself
 * (types only), so its constructor's name along the prototype chain tells it.
 */
function isAbort(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === "APIUserAbortError" || error.name === "AbortError") return true;
  for (let prototype: unknown = Object.getPrototypeOf(error); typeof prototype === "object" && prototype !== null; prototype = Object.getPrototypeOf(prototype)) {
    const constructor: unknown = Object.getOwnPropertyDescriptor(prototype, "constructor")?.value;
    if (typeof constructor === "function" && constructor.name === "APIUserAbortError") return true;
  }
  return false;
}

function statusOf(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null || !("status" in error)) return undefined;
  return typeof error.status === "number" ? error.status : undefined;
}

/** A `Headers` object, or anything else with its `get`, such as another fetch implementation's headers. */
interface HeaderLookup {
  get(name: string): string | null;
}

function isHeaderLookup(value: object): value is HeaderLookup {
  return "get" in value && typeof value.get === "function";
}

function headerOf(error: object, name: string): string | undefined {
  if (!("headers" in error)) return undefined;
  const headers = error.headers;
  if (typeof headers !== "object" || headers === null) return undefined;
  if (isHeaderLookup(headers)) return headers.get(name) ?? undefined;
  // A plain record, as some other clients attach.
  const entry = Object.entries(headers).find(([key]) => key.toLowerCase() === name);
  return typeof entry?.[1] === "string" ? entry[1] : undefined;
}

/**
 * The wait a 429 or 503 error asks for: `retry-after-ms` (milliseconds, as
 * OpenAI sends it) or `retry-after` (seconds, or an HTTP date, measured
 * against `now`). `undefined` when the error asks for nothing usable.
 */
export function retryAfterMs(error: unknown, now: number): number | undefined {
  const status = statusOf(error);
  if ((status !== 429 && status !== 503) || typeof error !== "object" || error === null) return undefined;
  const milliseconds = Number.parseFloat(headerOf(error, "retry-after-ms") ?? "");
  if (Number.isFinite(milliseconds) && milliseconds >= 0) return milliseconds;
  const value = headerOf(error, "retry-after")?.trim();
  if (value === undefined || value === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number.parseFloat(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

import type { IncomingMessage } from "node:http";
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai/core/error";
import type { ChatCompletion, ChatCompletionChunk } from "openai/resources/chat/completions";
import { VERSION } from "openai/version";
import { Observable } from "rxjs";
import { type ResolvedEndpoint, chatCompletionsURL } from "../endpoints.js";
import { MalformedChunkError, NotEventStreamError } from "../errors.js";
import { completionChunk } from "../recipes/index.js";
import { chatCompletionProtocol } from "../sources/index.js";
import { BodyDecoder } from "../sources/decode-event-stream.js";
import { PlainHeaders } from "../sources/plain-headers.js";
import { errorFromFrame, isObject, parseFrameData } from "../sources/frames.js";

/**
 * The command's live request, sent with `node:http` rather than the openai client's `fetch`: loading undici (fetch)
 * and compiling its WebAssembly HTTP parser made up most of the command's start-up time and memory. What the client
 * does is kept: its headers (User-Agent, X-Stainless-*), its retry rule (connection errors, 408/409/429/5xx, or as
 * `x-should-retry` says; `retry-after-ms`, `retry-after`, else 0.5 s × 2ⁿ up to 8 s with jitter) and its error classes
 * (`APIError.generate`, `APIConnectionError`…). The body is decoded by the library's layers (UTF-8, SSE frames, the
 * chat-completion protocol), so the end-of-stream rule is the library's. Libraries keep using `fromChatCompletion`
 * with their own client.
 */

/** How the command's stdout is keeping up: the source stops reading the socket while a write is pending. */
export interface OutputFlow {
  /** A promise while stdout's buffer is full, resolved when it drains; `undefined` when it can take more. */
  readonly waiting: Promise<void> | undefined;
}

export interface LiveRequestOptions {
  readonly stream: boolean;
  /** Retries for retryable failures before the answer starts. */
  readonly maxRetries: number;
  /** The longest wait before a retry; a server asking for more (`Retry-After: 3600`) makes it give up instead. */
  readonly maxWaitMs: number;
  /** Says on stderr that a retry is coming, or why none is. */
  readonly note: (text: string) => void;
  readonly flow?: OutputFlow | undefined;
}

/** The openai client's timeout for a request (10 minutes), sent as X-Stainless-Timeout and applied until the headers. */
const REQUEST_TIMEOUT_MS = 600_000;

/**
 * A cold Observable of one chat completion's chunks (`--no-stream`: one chunk standing for the whole completion, kept
 * in `wholes`). Unsubscribing aborts the request at once.
 */
export function liveChunks(
  endpoint: ResolvedEndpoint,
  body: Readonly<Record<string, unknown>>,
  options: LiveRequestOptions,
  wholes?: WeakMap<ChatCompletionChunk, ChatCompletion>,
): Observable<ChatCompletionChunk> {
  return new Observable<ChatCompletionChunk>((subscriber) => {
    const controller = new AbortController();
    const { signal } = controller;
    const emit = (chunk: ChatCompletionChunk): void => {
      if (!signal.aborted) subscriber.next(chunk);
    };
    send(endpoint, { ...body, stream: options.stream }, options, signal)
      .then((response) => {
        if (!options.stream) return readWhole(response, emit, signal, wholes);
        // A server that ignores `stream: true` and answers with one JSON completion (or a JSON error) is read as
        // --no-stream reads it, as --no-stream reads a stream: the answer is printed, not lost.
        if (/^\s*application\/json\b/i.test(response.headers["content-type"] ?? "")) {
          options.note("the server sent one whole completion, not a stream");
          return readWhole(response, emit, signal, wholes);
        }
        return readEventStream(response, emit, signal, options.flow);
      })
      .then(
        () => subscriber.complete(),
        (error: unknown) => {
          if (!signal.aborted) subscriber.error(error);
        },
      );
    return () => controller.abort();
  });
}

/** POSTs the request and resolves with a 2xx response; retries as the openai client does; rejects with its error classes. */
async function send(endpoint: ResolvedEndpoint, body: Readonly<Record<string, unknown>>, options: LiveRequestOptions, signal: AbortSignal): Promise<IncomingMessage> {
  const url = chatCompletionsURL(endpoint.baseURL);
  const payload = JSON.stringify(body);
  for (let attempt = 0; ; attempt += 1) {
    let error: Error;
    let retryable: boolean;
    let headers: PlainHeaders | undefined;
    try {
      const response = await post(url, requestHeaders(endpoint.apiKey, attempt), payload, signal);
      const status = response.statusCode ?? 0;
      if (status >= 200 && status < 300) return response;
      headers = new PlainHeaders(response.headers);
      const text = await readAll(response, signal);
      const json = parseJson(text);
      error = APIError.generate(status, isObject(json) ? json : undefined, json === undefined ? text : undefined, headers);
      retryable = shouldRetry(status, headers);
    } catch (cause) {
      if (signal.aborted) throw new APIUserAbortError();
      error = cause instanceof RequestTimeout ? new APIConnectionTimeoutError() : new APIConnectionError({ cause: cause instanceof Error ? cause : new Error(String(cause)) });
      retryable = true;
    }
    if (!retryable || attempt >= options.maxRetries) throw error;
    const delayMs = retryDelayMs(headers, attempt, options.maxRetries);
    const what = retryReason(error, url);
    if (delayMs > options.maxWaitMs) {
      options.note(`${what}; the server asks to wait ${seconds(delayMs)}, more than --max-wait ${seconds(options.maxWaitMs)}: not retrying`);
      throw error;
    }
    options.note(`${what}; retrying in ${seconds(delayMs)} (${attempt + 1}/${options.maxRetries})`);
    await sleep(delayMs, signal);
  }
}

/** "rate-limited by URL (HTTP 429)", "HTTP 503 from URL", "could not connect to URL (ECONNREFUSED)". */
function retryReason(error: Error, url: string): string {
  if (error instanceof APIError && typeof error.status === "number") {
    return error.status === 429 ? `rate-limited by ${url} (HTTP 429)` : `HTTP ${String(error.status)} from ${url}`;
  }
  if (error instanceof APIConnectionTimeoutError) return `${url} timed out`;
  const code = isObject(error.cause) && typeof error.cause.code === "string" ? ` (${error.cause.code})` : "";
  return `could not connect to ${url}${code}`;
}

function seconds(ms: number): string {
  const value = ms / 1000;
  return `${value >= 10 ? Math.round(value) : Number(value.toFixed(1))} s`;
}

/** The openai client's rule: the server's `x-should-retry`, else 408, 409, 429 and 5xx. */
function shouldRetry(status: number, headers: PlainHeaders): boolean {
  const header = headers.get("x-should-retry");
  if (header === "true") return true;
  if (header === "false") return false;
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** The openai client's wait: `retry-after-ms`, else `retry-after` (seconds or an HTTP date), else 0.5 s × 2ⁿ up to 8 s, less up to 25 % jitter. */
export function retryDelayMs(headers: Pick<Headers, "get"> | undefined, attempt: number, maxRetries: number): number {
  const afterMs = Number.parseFloat(headers?.get("retry-after-ms") ?? "");
  if (!Number.isNaN(afterMs)) return Math.max(0, afterMs);
  const after = headers?.get("retry-after");
  if (after !== null && after !== undefined && after !== "") {
    const afterSeconds = Number.parseFloat(after);
    const ms = Number.isNaN(afterSeconds) ? Date.parse(after) - Date.now() : afterSeconds * 1000;
    if (!Number.isNaN(ms)) return Math.max(0, ms);
  }
  const backoff = Math.min(0.5 * 2 ** Math.min(attempt, maxRetries), 8);
  return backoff * (1 - Math.random() * 0.25) * 1000;
}

/** The headers the openai client sends (its User-Agent and X-Stainless-* set), and the key when there is one. */
function requestHeaders(apiKey: string | undefined, retryCount: number): Record<string, string> {
  return {
    Accept: "application/json",
    "Content-Type": "application/json",
    "User-Agent": `OpenAI/JS ${VERSION}`,
    "X-Stainless-Retry-Count": String(retryCount),
    "X-Stainless-Timeout": String(REQUEST_TIMEOUT_MS / 1000),
    "X-Stainless-Lang": "js",
    "X-Stainless-Package-Version": VERSION,
    "X-Stainless-OS": osName(process.platform),
    "X-Stainless-Arch": archName(process.arch),
    "X-Stainless-Runtime": "node",
    "X-Stainless-Runtime-Version": process.version,
    ...(apiKey === undefined ? {} : { Authorization: `Bearer ${apiKey}` }),
  };
}

function osName(platform: string): string {
  const names: Record<string, string> = { darwin: "MacOS", linux: "Linux", win32: "Windows", freebsd: "FreeBSD", openbsd: "OpenBSD", android: "Android", ios: "iOS" };
  return names[platform] ?? (platform === "" ? "Unknown" : `Other:${platform}`);
}

function archName(arch: string): string {
  if (arch === "x64" || arch === "arm64" || arch === "arm" || arch === "x32") return arch;
  return arch === "" ? "unknown" : `other:${arch}`;
}

class RequestTimeout extends Error {}

/** One POST with `node:http` (or `node:https`, loaded only for an https URL); resolves when the headers arrive. */
async function post(url: string, headers: Record<string, string>, payload: string, signal: AbortSignal): Promise<IncomingMessage> {
  const { request } = url.startsWith("https:") ? await import("node:https") : await import("node:http");
  return new Promise<IncomingMessage>((resolve, reject) => {
    // No keep-alive: the command sends one request, and an idle pooled socket must not hold the process open.
    const outgoing = request(url, { method: "POST", headers: { ...headers, "Content-Length": String(Buffer.byteLength(payload)) }, agent: false });
    // Aborted by destroying it, which fails it; `send` sees the signal and says the user aborted.
    const onAbort = (): void => void outgoing.destroy();
    const timer = setTimeout(() => outgoing.destroy(new RequestTimeout("timed out")), REQUEST_TIMEOUT_MS);
    const settled = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    };
    outgoing.once("response", (response) => {
      settled();
      resolve(response);
    });
    outgoing.once("error", (error) => {
      settled();
      reject(error);
    });
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    outgoing.end(payload);
  });
}

async function readAll(response: IncomingMessage, signal: AbortSignal): Promise<string> {
  const parts: Buffer[] = [];
  try {
    for await (const part of response) parts.push(part as Buffer);
  } catch (error) {
    if (signal.aborted) throw error;
  }
  return Buffer.concat(parts).toString("utf8");
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new APIUserAbortError());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

const HEAD_LENGTH = 512;

/**
 * Decodes a streamed body with the library's `BodyDecoder` (the layers and end-of-stream rule of `decodeEventStream`),
 * from a Node stream, and stops reading while stdout is full, so memory stays flat into a slow pipe. Resolves at the
 * protocol's end or at an abort; rejects with the protocol's error.
 */
function readEventStream(response: IncomingMessage, emit: (chunk: ChatCompletionChunk) => void, signal: AbortSignal, flow: OutputFlow | undefined): Promise<void> {
  const decoder = new BodyDecoder(response.headers["content-type"] ?? null, new PlainHeaders(response.headers), emit, signal, chatCompletionProtocol);
  return new Promise<void>((resolve, reject) => {
    let ended = false;
    const finish = (error?: Error): void => {
      if (ended) return;
      ended = true;
      response.off("data", onData);
      response.off("end", onEnd);
      response.off("error", onBroken);
      response.off("close", onClose);
      signal.removeEventListener("abort", onAbort);
      response.destroy();
      if (error === undefined) resolve();
      else reject(error);
    };
    const onData = (part: Buffer): void => {
      const outcome = decoder.feed(part);
      if (outcome === "end" || signal.aborted) finish();
      else if (outcome !== "more") finish(outcome);
      else {
        // Stop reading while stdout cannot take more: the socket then fills and the server waits.
        const waiting = flow?.waiting;
        if (waiting === undefined) return;
        response.pause();
        void waiting.then(() => {
          if (!ended) response.resume();
        });
      }
    };
    const onEnd = (): void => finish(signal.aborted ? undefined : decoder.end());
    // The connection broke: the protocol says whether the answer may end here.
    const onBroken = (cause: Error): void => finish(signal.aborted ? undefined : decoder.broken(cause));
    const onClose = (): void => onBroken(new Error("the connection closed before the body ended"));
    const onAbort = (): void => finish();
    if (signal.aborted) {
      finish();
      return;
    }
    signal.addEventListener("abort", onAbort, { once: true });
    response.on("data", onData);
    response.once("end", onEnd);
    response.once("error", onBroken);
    response.once("close", onClose);
  });
}

/**
 * A `--no-stream` answer: one JSON completion. A body that is not one gets the same errors as a stream: an SSE reply
 * is read as the stream it is, `{"error": …}` is `StreamErrorFrameError` with the server's message, and anything else
 * (an HTML page) says what arrived.
 */
async function readWhole(
  response: IncomingMessage,
  emit: (chunk: ChatCompletionChunk) => void,
  signal: AbortSignal,
  wholes: WeakMap<ChatCompletionChunk, ChatCompletion> | undefined,
): Promise<void> {
  const contentType = response.headers["content-type"] ?? null;
  if (contentType !== null && /^\s*text\/event-stream\b/i.test(contentType)) return readEventStream(response, emit, signal, undefined);
  const text = await readAll(response, signal);
  if (signal.aborted) return;
  const parsed = parseFrameData(text.trim());
  if (!parsed.json) throw new NotEventStreamError(contentType, text.slice(0, HEAD_LENGTH), { expected: "a JSON chat completion or an event stream" });
  const { value } = parsed;
  if (isObject(value) && value.error !== undefined && value.error !== null) throw errorFromFrame(value, text, undefined, new PlainHeaders(response.headers));
  if (!isCompletion(value)) throw new MalformedChunkError(text, { expected: 'a chat completion (no "choices" list)' });
  const chunk = completionChunk(value);
  wholes?.set(chunk, value);
  emit(chunk);
}

function isCompletion(value: unknown): value is ChatCompletion {
  return isObject(value) && Array.isArray(value.choices) && value.choices.every((choice) => isObject(choice));
}


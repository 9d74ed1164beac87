import type { IncomingMessage } from "node:http";
import type { Readable } from "node:stream";
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai/core/error";
import type { ChatCompletion, ChatCompletionChunk } from "openai/resources/chat/completions";
import { VERSION } from "openai/version";
import { Observable } from "rxjs";
import { ERROR_BODY_LIMIT, readAtMost } from "../bodies.js";
import { type ResolvedEndpoint, chatCompletionsURL } from "../endpoints.js";
import { FrameTooLargeError, MalformedChunkError, NotEventStreamError } from "../errors.js";
import { MAX_REDIRECTS, credentialHeaders, redirectNote } from "../redirects.js";
import { completionChunk } from "../recipes/index.js";
import { MAX_FRAME_LENGTH, chatCompletionProtocol } from "../sources/index.js";
import { BodyDecoder } from "../sources/decode-event-stream.js";
import { PlainHeaders } from "../sources/plain-headers.js";
import { errorFromFrame, isObject, parseFrameData } from "../sources/frames.js";

/**
 * The command's live request, sent with `node:http` rather than the openai client's `fetch`: loading undici (fetch)
 * and compiling its WebAssembly HTTP parser made up most of the command's start-up time and memory. What the client
 * does is kept: its headers (User-Agent, X-Stainless-*, `OPENAI_CUSTOM_HEADERS`'s), fetch's handling of redirects
 * (307 and 308 followed with the body, the key not sent to another origin), of compressed bodies and of Node's
 * environment proxy, its retry rule (connection errors, 408/409/429/5xx, or as `x-should-retry` says;
 * `retry-after-ms`, `retry-after`, else 0.5 s × 2ⁿ up to 8 s with jitter) and its error classes
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

/** The openai client's User-Agent. */
export const USER_AGENT = `OpenAI/JS ${VERSION}`;

/** The openai client's timeout for a request (10 minutes), applied until the headers. */
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
      .then((reply) => {
        if (!options.stream) return readWhole(reply, emit, signal, wholes);
        // A server that ignores `stream: true` and answers with one JSON completion (or a JSON error) is read as
        // --no-stream reads it, as --no-stream reads a stream: the answer is printed, not lost.
        if (/^\s*application\/json\b/i.test(reply.response.headers["content-type"] ?? "")) {
          options.note("the server sent one whole completion, not a stream");
          return readWhole(reply, emit, signal, wholes);
        }
        return readEventStream(reply, emit, signal, options.flow);
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

/** A response and its body, decompressed when the server compressed it. */
interface Reply {
  readonly response: IncomingMessage;
  readonly body: Readable;
}

/** POSTs the request and resolves with a 2xx response; retries as the openai client does; rejects with its error classes. */
async function send(endpoint: ResolvedEndpoint, body: Readonly<Record<string, unknown>>, options: LiveRequestOptions, signal: AbortSignal): Promise<Reply> {
  const url = chatCompletionsURL(endpoint.baseURL);
  const payload = JSON.stringify(body);
  for (let attempt = 0; ; attempt += 1) {
    let error: Error;
    let retryable: boolean;
    let headers: PlainHeaders | undefined;
    try {
      const { response, unfollowed } = await postFollowingRedirects(url, requestHeaders(endpoint, attempt), credentialHeaders(endpoint.headers), payload, signal, options.note);
      const reply = await decompressed(response);
      const status = response.statusCode ?? 0;
      if (status >= 200 && status < 300) return reply;
      headers = new PlainHeaders(response.headers);
      // Only its beginning is ever shown (describeError cuts a long message), so nothing that matters is lost if cut.
      const { text } = await readAtMost(reply.body, ERROR_BODY_LIMIT, signal);
      const json = parseJson(text);
      error =
        unfollowed === undefined
          ? APIError.generate(status, isObject(json) ? json : undefined, json === undefined ? text : undefined, headers)
          : APIError.generate(status, undefined, unfollowed, headers);
      retryable = unfollowed === undefined && shouldRetry(status, headers);
    } catch (cause) {
      if (signal.aborted) throw new APIUserAbortError();
      if (cause instanceof UnknownContentEncoding) throw cause;
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

/**
 * The headers the openai client sends (its User-Agent and X-Stainless-* set; X-Stainless-Timeout only goes with a
 * request's own timeout), the key when there is one, then `OPENAI_CUSTOM_HEADERS`'s, which win as the client's
 * `defaultHeaders` do, except over the body's Content-Type.
 */
function requestHeaders(endpoint: ResolvedEndpoint, retryCount: number): Record<string, string> {
  const { apiKey } = endpoint;
  return {
    Accept: "application/json",
    "User-Agent": USER_AGENT,
    "X-Stainless-Retry-Count": String(retryCount),
    "X-Stainless-Lang": "js",
    "X-Stainless-Package-Version": VERSION,
    "X-Stainless-OS": osName(process.platform),
    "X-Stainless-Arch": archName(process.arch),
    "X-Stainless-Runtime": "node",
    "X-Stainless-Runtime-Version": process.version,
    ...(apiKey === undefined ? {} : { Authorization: `Bearer ${apiKey}` }),
    ...endpoint.headers,
    "Content-Type": "application/json",
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

/**
 * POSTs as fetch does with its default `redirect: "follow"`: a 307 or 308 is sent again, body and all, to its
 * `Location`, each said on stderr. When that is another origin, the `credentials` headers are not sent there: fetch
 * drops only Authorization, and would hand an `api-key` header to whatever server a redirect names. A 301, 302 or 303 is not followed: fetch would turn the POST into a GET without the question, which no
 * chat endpoint answers, so the response comes back with `unfollowed` saying where the server points.
 */
async function postFollowingRedirects(
  url: string,
  headers: Record<string, string>,
  credentials: ReadonlySet<string>,
  payload: string,
  signal: AbortSignal,
  note: (text: string) => void,
): Promise<{ response: IncomingMessage; unfollowed?: string }> {
  let target = url;
  let sent = headers;
  for (let redirects = 0; ; redirects += 1) {
    const response = await post(target, sent, payload, signal);
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (status < 300 || status > 399 || location === undefined) return { response };
    let next: URL;
    try {
      next = new URL(location, target);
    } catch {
      return { response, unfollowed: `it redirects to "${location}", which is not a URL` };
    }
    if (status !== 307 && status !== 308) {
      const base = next.href.replace(/\/chat\/completions\/?(?=\?|$)/, "");
      const hint = base === next.href ? "" : `; to ask it there, use --base-url ${base}`;
      return { response, unfollowed: `it redirects to ${next.href}, and a ${String(status)} redirect turns the POST into a GET without the question${hint}` };
    }
    if (next.protocol !== "http:" && next.protocol !== "https:") return { response, unfollowed: `it redirects to ${next.href}, which is not http(s)` };
    if (redirects >= MAX_REDIRECTS) return { response, unfollowed: `more than ${String(MAX_REDIRECTS)} redirects, the last to ${next.href}` };
    // The body of a redirect is not read; the next request goes on its own connection.
    response.resume();
    const crossOrigin = next.origin !== new URL(target).origin;
    const dropped = crossOrigin ? Object.keys(sent).filter((name) => credentials.has(name.toLowerCase())) : [];
    if (dropped.length > 0) sent = Object.fromEntries(Object.entries(sent).filter(([name]) => !credentials.has(name.toLowerCase())));
    note(redirectNote(target, status, next.href, dropped));
    target = next.href;
  }
}

/** A Content-Encoding the command cannot decode; fetch would pass such a body on undecoded, which no reader could read. */
class UnknownContentEncoding extends Error {
  override readonly name = "UnknownContentEncoding";
}

/**
 * The response with its body decompressed when the server sent `Content-Encoding` gzip, deflate or br, as fetch does,
 * even though no Accept-Encoding asked for it. node:zlib is loaded only then. A body cut short ends as an uncompressed
 * one would (the protocol says whether that is allowed), not with zlib's "unexpected end of file".
 */
async function decompressed(response: IncomingMessage): Promise<Reply> {
  const codings = (response.headers["content-encoding"] ?? "")
    .split(",")
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== "" && coding !== "identity");
  if (codings.length === 0) return { response, body: response };
  const unknown = codings.find((coding) => !["gzip", "x-gzip", "deflate", "br"].includes(coding));
  if (unknown !== undefined) {
    response.destroy();
    throw new UnknownContentEncoding(`the server compressed its answer with Content-Encoding "${unknown}", which the command cannot decode (it decodes gzip, deflate and br)`);
  }
  const zlib = await import("node:zlib");
  const { pipeline } = await import("node:stream");
  const flush = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH };
  const brotliFlush = { flush: zlib.constants.BROTLI_OPERATION_FLUSH, finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH };
  // Codings are listed in the order they were applied: the last is undone first.
  const decoders = codings.reverse().map((coding) =>
    coding === "br" ? zlib.createBrotliDecompress(brotliFlush) : coding === "deflate" ? zlib.createInflate(flush) : zlib.createGunzip(flush),
  );
  const body = decoders.at(-1);
  if (body === undefined) return { response, body: response };
  // pipeline keeps flow control (a paused decoder pauses the socket), passes a broken connection on to the decoders
  // as an error, and destroys them all together; the reader sees the error on `body`.
  pipeline([response, ...decoders], () => undefined);
  return { response, body };
}

/** One POST with `node:http` (or `node:https`, loaded only for an https URL); resolves when the headers arrive. */
async function post(url: string, headers: Record<string, string>, payload: string, signal: AbortSignal): Promise<IncomingMessage> {
  const { request } = url.startsWith("https:") ? await import("node:https") : await import("node:http");
  return new Promise<IncomingMessage>((resolve, reject) => {
    // No keep-alive: the command sends one request, and an idle pooled socket must not hold the process open. Except
    // with Node's environment proxy: only its global agent goes through HTTP_PROXY / HTTPS_PROXY (minus NO_PROXY), as
    // fetch does then, and it unrefs the sockets it keeps.
    const agent = usesEnvironmentProxy() ? undefined : false;
    const outgoing = request(url, { method: "POST", headers: { ...headers, "Content-Length": String(Buffer.byteLength(payload)) }, agent });
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

/**
 * Whether Node (24.5+) may proxy its global agents: `NODE_USE_ENV_PROXY` or `--use-env-proxy`. Node decides the rest
 * (which values count, NO_PROXY), so when it does not proxy, the global agent simply connects directly.
 */
function usesEnvironmentProxy(): boolean {
  if ((process.env.NODE_USE_ENV_PROXY ?? "") !== "") return true;
  return [...process.execArgv, process.env.NODE_OPTIONS ?? ""].some((argument) => argument.includes("--use-env-proxy"));
}

/**
 * A whole answer (`--no-stream`, chat or Responses) as text, as long as the longest frame a stream may have (the
 * decoder's bound, `MAX_FRAME_LENGTH`): an endless body is not read on, its connection is closed, and
 * `FrameTooLargeError` says why.
 */
export async function readWholeAnswer(body: AsyncIterable<Uint8Array>, signal: AbortSignal): Promise<string> {
  const { text, cut } = await readAtMost(body, MAX_FRAME_LENGTH, signal);
  if (cut && !signal.aborted) throw new FrameTooLargeError(MAX_FRAME_LENGTH, MAX_FRAME_LENGTH);
  return text;
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
function readEventStream(
  { response, body }: Reply,
  emit: (chunk: ChatCompletionChunk) => void,
  signal: AbortSignal,
  flow: OutputFlow | undefined,
): Promise<void> {
  const decoder = new BodyDecoder(response.headers["content-type"] ?? null, new PlainHeaders(response.headers), emit, signal, chatCompletionProtocol);
  return new Promise<void>((resolve, reject) => {
    let ended = false;
    const finish = (error?: Error): void => {
      if (ended) return;
      ended = true;
      body.off("data", onData);
      body.off("end", onEnd);
      body.off("error", onBroken);
      body.off("close", onClose);
      signal.removeEventListener("abort", onAbort);
      body.destroy();
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
        body.pause();
        void waiting.then(() => {
          if (!ended) body.resume();
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
    body.on("data", onData);
    body.once("end", onEnd);
    body.once("error", onBroken);
    body.once("close", onClose);
  });
}

/**
 * A `--no-stream` answer: one JSON completion. A body that is not one gets the same errors as a stream: an SSE reply
 * is read as the stream it is, `{"error": …}` is `StreamErrorFrameError` with the server's message, and anything else
 * (an HTML page) says what arrived.
 */
async function readWhole(
  reply: Reply,
  emit: (chunk: ChatCompletionChunk) => void,
  signal: AbortSignal,
  wholes: WeakMap<ChatCompletionChunk, ChatCompletion> | undefined,
): Promise<void> {
  const { response } = reply;
  const contentType = response.headers["content-type"] ?? null;
  if (contentType !== null && /^\s*text\/event-stream\b/i.test(contentType)) return readEventStream(reply, emit, signal, undefined);
  const text = await readWholeAnswer(reply.body, signal);
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


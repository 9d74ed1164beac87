import { APIError } from "openai/core/error";
import type { ChatCompletionCreateParams, ChatCompletionCreateParamsStreaming } from "openai/resources/chat/completions";
import type { ResponseCreateParams } from "openai/resources/responses/responses";
import { type Observable, catchError, from, map, startWith } from "rxjs";
import { readAtMost } from "../../bodies.js";
import { type CorsOrigins, corsPolicy } from "../cors.js";
import { RelayCapacityError, RelayStoreError, StreamExistsError, UnknownStreamError } from "../../errors.js";
import type { ClientRequestOptions } from "../../sources/client.js";
import { fromChatCompletion } from "../../sources/from-chat-completion.js";
import { fromResponses } from "../../sources/from-responses.js";
import { type RelayFormat, failureFrames, formatHeaders } from "./formats.js";
import { type Relay, checkStreamId } from "./relay.js";

/**
 * The upstream client the relay asks: an `openai` client (version 6 or 7, ESM
 * or CommonJS: named structurally, by what the relay calls, as for
 * `fromChatCompletion`).
 */
export interface RelayUpstream {
  readonly chat: {
    readonly completions: {
      create(body: ChatCompletionCreateParams, options?: ClientRequestOptions): { asResponse(): Promise<Response> };
    };
  };
  /** The upstream's Responses API, asked by `POST /v1/responses` (an `openai` client has it); without it that route answers 404. */
  readonly responses?: {
    create(body: ResponseCreateParams, options?: ClientRequestOptions): { asResponse(): Promise<Response> };
  };
  /** The upstream's model list, passed on at `GET /v1/models` (an `openai` client has it). */
  readonly models?: { list(): { asResponse(): Promise<Response> } };
}

/**
 * The largest request body the relay and the replay server accept by default: far above any real prompt (about two
 * million tokens, or a few images), far below what would stall a server.
 */
export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;

export interface RelayRoutesOptions {
  /** The relay that runs and keeps the streams. */
  relay: Relay;
  /** The OpenAI-compatible endpoint asked by `POST /v1/chat/completions` and `POST /v1/responses`. Without it those routes answer 404. */
  upstream?: RelayUpstream;
  /** Largest request body accepted, in bytes; a larger one gets a 413. Default `DEFAULT_MAX_BODY_BYTES` (8 MiB). */
  maxBodyBytes?: number;
  /**
   * Origins whose pages may call the relay from a browser (CORS): exact
   * origins such as `"https://app.example"`, or `"*"` for any. Default:
   * pages served from this machine (`localhost`, `*.localhost`, `127.0.0.1`,
   * `[::1]`, any port). `[]` allows none. The same rule as the replay
   * server's (`CorsOrigins`).
   */
  cors?: CorsOrigins;
  /** The `retry:` (milliseconds) sent first on every stream, telling `EventSource` how soon to reconnect. Default none (the browser's own). */
  retryMs?: number;
}

/** A request as the routes need it, from Node's `http` or a web `Request`. */
export interface RelayRequest {
  readonly method: string;
  /** Path and query. */
  readonly url: string;
  header(name: string): string | undefined;
  /** The body as text; rejects with a `RelayHttpError` (413) past `limit` bytes. */
  body(limit: number): Promise<string>;
}

/** What to answer: a JSON document, nothing, or a stream of SSE text. */
export type RelayAnswer =
  | { readonly status: number; readonly headers: Record<string, string>; readonly json: unknown }
  | { readonly status: number; readonly headers: Record<string, string>; readonly empty: true }
  | { readonly status: number; readonly headers: Record<string, string>; readonly events: Observable<string> };

/** A request the relay refuses, with its HTTP status; answered in OpenAI's error format. */
export class RelayHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = "invalid_request_error",
  ) {
    super(message);
  }
}

const STREAM_ROUTE = /^\/v1\/streams\/([^/]+)(\/stop)?$/;

export const SSE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  connection: "keep-alive",
  "x-accel-buffering": "no",
};

/**
 * Answers the relay's routes, for the Node and web-standard handlers alike:
 *
 * - `POST /v1/chat/completions` (an OpenAI request body): with `stream: true`,
 *   starts a generation upstream and streams it, every frame with an `id:`,
 *   the stream's id in the `x-stream-id` response header (send one in the
 *   request's `x-stream-id` header to choose it); `?format=ui-message` streams
 *   the AI SDK's UI message protocol instead of OpenAI's. Without `stream`,
 *   passes the request through.
 * - `POST /v1/responses` (a Responses API request body), the same way:
 *   with `stream: true`, a resumable stream of Responses events framed as
 *   OpenAI frames them (`client.responses.create({ stream: true })` reads it);
 *   `?format=ui-message` streams the AI SDK's UI message protocol instead.
 *   Without `stream`, passed through.
 * - `GET /v1/streams/{id}` resumes: after the `Last-Event-ID` header (or
 *   `?after=n`), else from the start; 204 when the stream has ended and
 *   nothing is left to send, which also tells `EventSource` to stop
 *   reconnecting; 404 for an unknown or expired id.
 * - `GET /v1/models` passes the upstream's model list on (when the
 *   upstream client has `models`).
 * - `POST /v1/streams/{id}/stop` stops it wherever it runs: 200
 *   `{"id","stopped"}` (`stopped` false when it had already ended), or 404.
 *
 * - `OPTIONS` on these routes answers a browser's CORS preflight, by the
 *   `cors` rule (the replay server's too); the answers carry
 *   `Access-Control-Allow-Origin` for the pages it allows.
 *
 * Anything else resolves `undefined`, for the caller to answer.
 */
export async function answerRelayRequest(options: RelayRoutesOptions, request: RelayRequest): Promise<RelayAnswer | undefined> {
  const policy = corsPolicy(options.cors, { exposeHeaders: ["x-stream-id"] });
  const origin = request.header("origin");
  if (request.method === "OPTIONS") {
    const { pathname } = new URL(request.url, "http://relay.invalid");
    const upstream = options.upstream;
    const ours = STREAM_ROUTE.test(pathname) || ((pathname === "/v1/chat/completions" || pathname === "/v1/models") && upstream !== undefined) || (pathname === "/v1/responses" && upstream?.responses !== undefined);
    if (!ours) return undefined;
    const preflight = policy.preflight(origin, request.header("access-control-request-headers"));
    if (preflight.allowed) return { status: 204, headers: preflight.headers, empty: true };
    return { status: 403, headers: { "content-type": "application/json" }, json: { error: { message: preflight.message, type: "invalid_request_error", code: "cors_origin_not_allowed" } } };
  }
  const cors = policy.headers(origin);
  try {
    const answer = await route(options, request);
    return answer === undefined ? undefined : { ...answer, headers: { ...cors, ...answer.headers } };
  } catch (error) {
    const { status, message, type } = httpError(error);
    return { status, headers: { ...cors, "content-type": "application/json" }, json: { error: { message, type } } };
  }
}

async function route(options: RelayRoutesOptions, request: RelayRequest): Promise<RelayAnswer | undefined> {
  const url = new URL(request.url, "http://relay.invalid");
  const { relay, upstream, maxBodyBytes = DEFAULT_MAX_BODY_BYTES, retryMs } = options;

  if (url.pathname === "/v1/chat/completions") {
    if (upstream === undefined) return undefined;
    if (request.method !== "POST") throw new RelayHttpError(405, `${request.method} /v1/chat/completions is not supported; send POST`);
    const format = url.searchParams.get("format") ?? "openai";
    if (format !== "openai" && format !== "ui-message") throw new RelayHttpError(400, `Unknown format ${JSON.stringify(format)}; use openai or ui-message`);
    const params = parseBody(await request.body(maxBodyBytes));
    if (params.stream !== true) {
      // Nothing to resume in a whole answer: pass it through.
      const whole = await upstream.chat.completions.create({ ...params, stream: false }).asResponse();
      return { status: 200, headers: { "content-type": "application/json" }, json: await wholeAnswer(whole, relay.maxStreamLength) };
    }
    const id = await relay.start(fromChatCompletion(upstream, params), { format, ...requestedId(request) });
    return streamAnswer(relay, id, format, retryMs);
  }

  if (url.pathname === "/v1/responses") {
    const responses = upstream?.responses;
    if (responses === undefined) return undefined;
    if (request.method !== "POST") throw new RelayHttpError(405, `${request.method} /v1/responses is not supported; send POST`);
    const format = url.searchParams.get("format") ?? "responses";
    if (format !== "responses" && format !== "ui-message") throw new RelayHttpError(400, `Unknown format ${JSON.stringify(format)}; use responses or ui-message`);
    const params = parseResponsesBody(await request.body(maxBodyBytes));
    if (params.stream !== true) {
      const whole = await responses.create({ ...params, stream: false }).asResponse();
      return { status: 200, headers: { "content-type": "application/json" }, json: await wholeAnswer(whole, relay.maxStreamLength) };
    }
    const model = typeof params.model === "string" ? { model: params.model } : {};
    const id = await relay.start(fromResponses({ responses }, params), { format, ...model, ...requestedId(request) });
    return streamAnswer(relay, id, format, retryMs);
  }

  if (url.pathname === "/v1/models" && upstream?.models !== undefined) {
    if (request.method !== "GET") throw new RelayHttpError(405, `${request.method} /v1/models is not supported; send GET`);
    // The upstream's list as it is, so any OpenAI client (client.models.list()) works against the relay.
    const list = await upstream.models.list().asResponse();
    return { status: 200, headers: { "content-type": "application/json" }, json: await wholeAnswer(list, relay.maxStreamLength) };
  }

  const match = STREAM_ROUTE.exec(url.pathname);
  if (match === null) return undefined;
  const id = decodeStreamId(match[1] ?? "");
  if (match[2] !== undefined) {
    if (request.method !== "POST") throw new RelayHttpError(405, `${request.method} ${url.pathname} is not supported; send POST`);
    const stopped = await relay.stop(id);
    return { status: 200, headers: { "content-type": "application/json" }, json: { id, stopped } };
  }
  if (request.method !== "GET") throw new RelayHttpError(405, `${request.method} ${url.pathname} is not supported; send GET`);
  const after = parseAfter(request.header("last-event-id") ?? url.searchParams.get("after") ?? undefined);
  const info = await relay.info(id);
  if (info === undefined) throw new UnknownStreamError(id);
  // An ended stream's last stored frame is its end mark, which is never sent: past the frame before it, nothing is left.
  if (info.status !== "live" && after >= info.frames - 1) return { status: 204, headers: { "x-stream-id": id }, empty: true };
  return { status: 200, headers: { ...SSE_HEADERS, ...formatHeaders(info.format), "x-stream-id": id }, events: eventsOf(relay, id, info.format, after, retryMs) };
}

/**
 * An upstream's whole answer (a request without `stream`, the model list), read up to `limit` bytes: the relay's
 * `maxStreamLength`, the bound of what one answer may hold, streamed or not (a whole answer is smaller than its
 * stream). Past it, or broken off, or not JSON, it is a 502 saying so; past it, the upstream connection is closed.
 */
async function wholeAnswer(response: Response, limit: number): Promise<unknown> {
  const { text, cut, broken } = response.body === null ? { text: "", cut: false, broken: undefined } : await readAtMost(response.body, limit);
  if (cut) throw new RelayHttpError(502, `The upstream's answer is longer than the relay's limit of ${String(limit)} bytes (maxStreamLength), so the relay stopped reading it`, "upstream_error");
  if (broken !== undefined) throw new RelayHttpError(502, `The upstream's answer broke off: ${broken.message}`, "upstream_error");
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new RelayHttpError(502, `The upstream's answer is not JSON: ${JSON.stringify(text.slice(0, 200))}`, "upstream_error");
  }
}

/** The `x-stream-id` the request chose, as a start option. */
function requestedId(request: RelayRequest): { id?: string } {
  const id = request.header("x-stream-id");
  return id === undefined ? {} : { id };
}

/** The answer that streams a generation just started, from its first frame. */
function streamAnswer(relay: Relay, id: string, format: RelayFormat, retryMs: number | undefined): RelayAnswer {
  return { status: 200, headers: { ...SSE_HEADERS, ...formatHeaders(format), "x-stream-id": id }, events: eventsOf(relay, id, format, 0, retryMs) };
}

/**
 * The stream's frames as SSE text, each with its `id:` line; the end mark is not sent. When reading fails (the store
 * is gone), the response ends with an error frame saying why, without an `id:`: it is no frame of the stream, and a
 * reader that comes back later resumes after the last frame it had.
 */
function eventsOf(relay: Relay, id: string, format: string, after: number, retryMs: number | undefined): Observable<string> {
  const events = relay.read(id, { after }).pipe(
    map((frame) => `id: ${frame.id}\n${frame.frame}`),
    catchError((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      return from(failureFrames(format, `The relay could not read this stream further: ${message}`, error instanceof RelayStoreError ? "store-failed" : "relay-error"));
    }),
  );
  return retryMs === undefined ? events : events.pipe(startWith(`retry: ${retryMs}\n\n`));
}

type ChatRequest = Omit<ChatCompletionCreateParamsStreaming, "stream"> & { stream?: boolean | null };

/** Checked enough to forward: the upstream validates the rest, and its errors reach the client in-band. */
function isChatRequest(value: object): value is ChatRequest {
  return Array.isArray(Reflect.get(value, "messages")) && typeof Reflect.get(value, "model") === "string";
}

function parseBody(text: string): ChatRequest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RelayHttpError(400, "The request body is not JSON; send a chat completion request");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new RelayHttpError(400, "The request body is not a JSON object; send a chat completion request");
  if (!isChatRequest(value)) throw new RelayHttpError(400, 'The request body needs a "model" string and a "messages" array');
  return value;
}

type ResponsesRequest = Omit<ResponseCreateParams, "stream"> & { stream?: boolean | null };

/** A JSON object, forwarded as it is: the upstream validates it (a Responses request may name a stored prompt rather than a model), and its errors reach the client. */
function parseResponsesBody(text: string): ResponsesRequest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RelayHttpError(400, "The request body is not JSON; send a Responses API request");
  }
  if (!isResponsesRequest(value)) throw new RelayHttpError(400, "The request body is not a JSON object; send a Responses API request");
  return value;
}

function isResponsesRequest(value: unknown): value is ResponsesRequest {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function decodeStreamId(raw: string): string {
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch {
    throw new RelayHttpError(400, `The stream id ${JSON.stringify(raw)} is not valid percent-encoding`);
  }
  try {
    return checkStreamId(id);
  } catch (error) {
    throw new RelayHttpError(400, error instanceof Error ? error.message : String(error));
  }
}

function parseAfter(value: string | undefined): number {
  if (value === undefined || value.trim() === "") return 0;
  if (!/^\d{1,15}$/.test(value.trim())) throw new RelayHttpError(400, `Last-Event-ID (or after) must be a frame number, got ${JSON.stringify(value)}`);
  return Number(value.trim());
}

function httpError(error: unknown): { status: number; message: string; type: string } {
  if (error instanceof RelayHttpError) return { status: error.status, message: error.message, type: error.type };
  if (error instanceof UnknownStreamError) return { status: 404, message: error.message, type: "not_found_error" };
  if (error instanceof StreamExistsError) return { status: 409, message: error.message, type: "conflict_error" };
  if (error instanceof RelayCapacityError) return { status: 503, message: error.message, type: "server_error" };
  if (error instanceof RelayStoreError) return { status: 503, message: `The relay's store failed: ${error.message}`, type: "server_error" };
  if (error instanceof TypeError) return { status: 400, message: error.message, type: "invalid_request_error" };
  if (error instanceof APIError && typeof error.status === "number") return { status: error.status, message: error.message, type: "upstream_error" };
  return { status: 502, message: `The upstream request failed: ${error instanceof Error ? error.message : String(error)}`, type: "upstream_error" };
}

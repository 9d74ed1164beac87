import { type IncomingMessage, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, resolve, sep } from "node:path";
import type { ChatCompletion } from "openai/resources/chat/completions";
import { lastValueFrom, map } from "rxjs";
import { accumulateResponse, serverSentEvent } from "../../operators/index.js";
import { assembleCompletion } from "../recipes/whole-completion.js";
import { IncompleteStreamError, StreamErrorFrameError } from "../errors.js";
import { isObject } from "../sources/frames.js";
import { type CorsOrigins, corsPolicy } from "../edges/cors.js";
import { hostHeaderAllowed, hostRefusal } from "../edges/host-header.js";
import { pipeToResponse } from "../edges/pipe-to-response.js";
import { DEFAULT_MAX_BODY_BYTES } from "../edges/relay/routes.js";
import { type Cassette, type CassetteFrame, messagesOfResponsesRequest, readCassettes } from "./cassette.js";
import { fromCassette, fromResponsesCassette, playStreamFrames } from "./from-cassette.js";
import { type CassetteAnswer, CassettePlays } from "./match.js";

export interface ReplayServerOptions {
  /** A directory of `*.cassette.jsonl` files, or cassettes already read. */
  cassettes: string | readonly Cassette[];
  /** Port to listen on. Default 1337, where GPT4Free's API listens; 0 picks a free one. */
  port?: number;
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Replay speed: 2 is twice as fast as recorded, `Infinity` without pauses. Default 1. */
  speed?: number;
  /** The largest request body accepted, in bytes; a larger one gets HTTP 413 and the rest is discarded. Default 8 MiB. */
  maxBodyBytes?: number;
  /**
   * Origins whose pages may call the server from a browser (CORS): exact
   * origins such as `"http://localhost:5173"` or `"https://app.example"`, or
   * `"*"` for any. Default: pages served from this machine (`localhost`,
   * `*.localhost`, `127.0.0.1`, `[::1]`, any port). `[]` allows none. The
   * relay's option is the same (`CorsOrigins`).
   */
  cors?: CorsOrigins;
  /**
   * Called for every chat-completion or Responses request, with the cassette that answered (or none) and, when one
   * did, which of the recordings of that request it is (`answer.nth` of `answer.recordings`).
   */
  onRequest?: (event: { path: string; cassette: Cassette | undefined; status: number; answer?: Omit<CassetteAnswer, "cassette"> }) => void;
  /** Called when the plays are reset (`reset()`, or `POST /replay/reset`), with how many recordings had played. */
  onReset?: (played: number) => void;
  /**
   * Called when answering a request failed (a damaged cassette, say), with the whole error and the cassette it was
   * answering from, if any. The client's HTTP 500 names the cassette only by its file name, never its folder on this
   * machine: this is where the server's own log learns the full path.
   */
  onError?: (event: { path: string; cassette: Cassette | undefined; error: unknown }) => void;
}

export interface ReplayServer {
  /** `http://host:port` */
  readonly url: string;
  /** `http://host:port/v1`, the base URL for any OpenAI client. */
  readonly baseURL: string;
  readonly cassettes: readonly Cassette[];
  /**
   * Forgets which recordings have answered, so that a request recorded several times gets its first recording again
   * (`POST /replay/reset` does the same over HTTP); returns how many recordings had played.
   */
  reset(): number;
  /** Stops listening and cuts open connections. */
  close(): Promise<void>;
}

/**
 * Starts an OpenAI-compatible HTTP server that answers from cassettes:
 * `POST /v1/chat/completions` (streaming with the recorded timing, or one
 * JSON completion when `stream` is not set), `POST /v1/responses` (the same,
 * from Responses API cassettes: their events, each with its `event:` name, or
 * the whole `Response`) and `GET /v1/models`. A request
 * no cassette matches gets a 404 in OpenAI's error format that lists the
 * nearest cassettes. A request recorded several times (a chat's /retry, a
 * test that asked twice) gets its recordings in the order they were recorded,
 * one per request, then the last again; `reset()` or `POST /replay/reset`
 * starts them over. The real `openai` client, the CLI and `curl` work
 * against it.
 *
 * ## Example
 * ```ts
 * import { startReplayServer } from "g4f-rx/node";
 *
 * const server = await startReplayServer({ cassettes: "examples/cassettes", port: 0 });
 * console.log(server.baseURL); // http://127.0.0.1:40123/v1
 * ```
 */
export async function startReplayServer(options: ReplayServerOptions): Promise<ReplayServer> {
  const { port = 1337, host = "127.0.0.1", speed = 1, maxBodyBytes = DEFAULT_MAX_BODY_BYTES, onRequest, onReset, onError, cors } = options;
  const policy = corsPolicy(cors);
  if (!(speed > 0)) throw new TypeError(`startReplayServer: speed must be above 0, got ${String(speed)}`);
  const cassettes = typeof options.cassettes === "string" ? readCassettes(options.cassettes) : options.cassettes;
  const forClient = withoutFolders(cassettes, typeof options.cassettes === "string" ? options.cassettes : undefined);
  // One session per server: which recordings have answered, until it stops or is reset.
  const plays = new CassettePlays();
  const reset = (): number => {
    const played = plays.reset();
    onReset?.(played);
    return played;
  };

  const server = createServer((req, res) => {
    // The cassette answering this request, once known: named to onError when answering fails.
    const answering: { cassette?: Cassette } = {};
    handle(req, res, answering).catch((error: unknown) => {
      onError?.({ path: (req.url ?? "/").split("?")[0] ?? "/", cassette: answering.cassette, error });
      if (res.headersSent) res.destroy();
      else sendError(res, 500, `replay server failed: ${forClient(error instanceof Error ? error.message : String(error))}`, "server_error");
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse, answering: { cassette?: Cassette }): Promise<void> {
    if (!hostHeaderAllowed(host, req.headers.host)) {
      req.resume();
      return sendJson(res, 403, hostRefusal(req.headers.host));
    }
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const origin = req.headers.origin;
    for (const [name, value] of Object.entries(policy.headers(origin))) res.setHeader(name, value);
    if (req.method === "OPTIONS") {
      const preflight = policy.preflight(origin, req.headers["access-control-request-headers"]);
      if (!preflight.allowed) return sendError(res, 403, preflight.message, "invalid_request_error", "cors_origin_not_allowed");
      res.writeHead(204, preflight.headers);
      res.end();
      return;
    }
    if (req.method === "GET" && path.endsWith("/models")) {
      const models = [...new Set(cassettes.map((cassette) => cassette.request.model ?? "unknown"))];
      return sendJson(res, 200, { object: "list", data: models.map((id) => ({ id, object: "model", created: 0, owned_by: "g4f-rx-replay" })) });
    }
    if (req.method === "POST" && path.endsWith("/replay/reset")) {
      req.resume();
      return sendJson(res, 200, { object: "replay.reset", played: reset() });
    }
    // Chat completions, or the Responses API: each answered from the cassettes recorded in it.
    const api = path.endsWith("/chat/completions") ? "chat" : path.endsWith("/responses") ? "responses" : undefined;
    if (req.method !== "POST" || api === undefined) {
      return sendError(res, 404, `The replay server answers POST /v1/chat/completions, POST /v1/responses, GET /v1/models and POST /replay/reset, not ${req.method ?? "GET"} ${path}`, "invalid_request_error", "unknown_url");
    }
    const body = await readBody(req, maxBodyBytes);
    if (body === undefined) {
      // The rest of the upload is read and discarded as it comes (never kept), for up to LINGER_MS: closing the
      // connection while the client still sends would reset it, and the client could lose this answer before reading it
      // (a request that reads its response only once its body is sent, Node's http among them, fails with EPIPE).
      req.resume();
      const linger = setTimeout(() => req.socket.destroy(), LINGER_MS);
      req.once("end", () => clearTimeout(linger));
      req.socket.once("close", () => clearTimeout(linger));
      return sendError(res, 413, `The request body is larger than ${maxBodyBytes} bytes (g4f-rx serve --max-body to allow more)`, "invalid_request_error", "request_too_large");
    }
    let request: unknown;
    try {
      request = JSON.parse(body);
    } catch {
      return sendError(res, 400, "The request body is not valid JSON", "invalid_request_error");
    }
    // What OpenAI would refuse is refused here too, rather than searched for among the cassettes.
    const problem = requestProblem(api, request);
    if (problem !== undefined) {
      onRequest?.({ path, cassette: undefined, status: 400 });
      return sendError(res, 400, problem, "invalid_request_error", "invalid_request");
    }
    const candidates = cassettes.filter((cassette) => (api === "responses" ? cassette.api === "responses" : cassette.api === undefined));
    const match =
      api === "responses" && isObject(request)
        ? plays.next(candidates, { model: request.model, messages: messagesOfResponsesRequest(request) })
        : plays.next(candidates, request);
    if (match.cassette === undefined) {
      onRequest?.({ path, cassette: undefined, status: 404 });
      const nearest = match.nearest.map((near) => `${near.file} (${JSON.stringify(near.prompt)}${near.difference === undefined ? "" : `: the same question, but ${near.difference}`})`).join(", ");
      const kind = api === "responses" ? "Responses API" : "chat completions";
      const none = candidates.length === 0 ? `none (no ${kind} cassettes among the ${String(cassettes.length)} loaded)` : "none";
      return sendError(res, 404, `No cassette matches this request's messages. Nearest: ${nearest || none}`, "invalid_request_error", "cassette_not_found", { nearest: match.nearest });
    }
    const { cassette, ...answer } = match;
    answering.cassette = cassette;
    onRequest?.({ path, cassette, status: cassette.response.status, answer });
    if (cassette.response.status >= 400) {
      return sendJson(res, cassette.response.status, cassette.response.body ?? { error: { message: "recorded error" } }, cassette.response.headers);
    }
    if (isObject(request) && request.stream === true) {
      const frames = playStreamFrames(cassette, { speed }).pipe(map((frame) => serverSentEvent(frame.data, eventNameOf(frame, api))));
      return new Promise<void>((resolve) => frames.pipe(pipeToResponse(res)).subscribe({ complete: resolve, error: () => resolve() }));
    }
    let whole: unknown;
    try {
      whole = api === "responses" ? await responseOf(cassette) : await completionOf(cassette);
    } catch (error) {
      if (!(error instanceof StreamErrorFrameError || error instanceof IncompleteStreamError)) throw error;
      // The recording's own failure, not the replay server's: answered as a provider answers a failed request, and
      // not to be tried again (the openai client retries a 5xx twice), since a replay fails the same every time.
      const recorded = error instanceof StreamErrorFrameError ? { type: error.type ?? "server_error", code: error.code ?? null } : { type: "server_error", code: "incomplete_stream" };
      return sendJson(res, error instanceof StreamErrorFrameError ? 500 : 502, { error: { message: forClient(error.message), param: null, ...recorded } }, { "x-should-retry": "false" });
    }
    return sendJson(res, 200, whole);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  // A wildcard address is where the server listens, not one to connect to: the URL names this machine's loopback.
  const reachable = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
  const url = `http://${reachable.includes(":") ? `[${reachable}]` : reachable}:${address.port}`;
  return {
    url,
    baseURL: `${url}/v1`,
    cassettes,
    reset,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/**
 * Removes the cassettes' folders from a message for a client (`/srv/cassettes/a.cassette.jsonl:3: …` becomes
 * `a.cassette.jsonl:3: …`): the client learns which cassette, not where the server keeps it.
 */
function withoutFolders(cassettes: readonly Cassette[], directory: string | undefined): (message: string) => string {
  const folders = new Set<string>();
  for (const folder of [directory, ...cassettes.map((cassette) => (cassette.file === undefined ? undefined : dirname(cassette.file)))]) {
    if (folder === undefined) continue;
    folders.add(folder);
    folders.add(resolve(folder));
  }
  // The longest first, so that a folder inside another is removed whole.
  // The root folder says nothing of the layout, and removing every separator would garble the message.
  const prefixes = [...folders].map((folder) => (folder.endsWith(sep) ? folder : folder + sep)).filter((prefix) => prefix !== sep).sort((a, b) => b.length - a.length);
  return (message) => prefixes.reduce((text, prefix) => text.split(prefix).join(""), message);
}

/** The non-streaming answer a cassette stands for: its chunks assembled into one `chat.completion`. */
function completionOf(cassette: Cassette): Promise<ChatCompletion> {
  return lastValueFrom(fromCassette(cassette, { speed: Infinity }).pipe(assembleCompletion()));
}

/** The non-streaming answer of a Responses cassette: the `Response` its events add up to. */
function responseOf(cassette: Cassette): Promise<unknown> {
  return lastValueFrom(fromResponsesCassette(cassette, { speed: Infinity }).pipe(accumulateResponse()));
}

/** A frame's event name on the wire: the recorded one, or for a Responses event its `type`, as OpenAI sends it. */
function eventNameOf(frame: CassetteFrame, api: "chat" | "responses"): string | undefined {
  if (frame.event !== undefined || api === "chat" || !isObject(frame.data)) return frame.event;
  return typeof frame.data.type === "string" ? frame.data.type : undefined;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, message: string, type: string, code: string | null = null, extra: Record<string, unknown> = {}): void {
  sendJson(res, status, { error: { message, type, param: null, code, ...extra } });
}

/** How long the rest of a body too large is read (and discarded) after the 413, so that the client reads the answer; then the connection is cut. */
const LINGER_MS = 30_000;

/** The body as text, or `undefined` once it grows past `limit` bytes (nothing more is kept; the caller answers 413). */
function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const onData = (piece: Buffer): void => {
      size += piece.length;
      if (size > limit) {
        req.off("data", onData);
        req.pause();
        resolve(undefined);
        return;
      }
      parts.push(piece);
    };
    req.on("data", onData);
    req.once("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    req.once("error", reject);
  });
}

/** Why OpenAI would refuse `request` (a body that is JSON), or `undefined` when it has what a request needs. */
function requestProblem(api: "chat" | "responses", request: unknown): string | undefined {
  if (!isObject(request)) return "The request body must be a JSON object";
  if (api === "chat") {
    if (!Array.isArray(request.messages) || request.messages.length === 0) return "'messages' must be a non-empty array of messages";
    if (!request.messages.every((message) => isObject(message) && typeof message.role === "string")) return "Each of 'messages' must be an object with a 'role'";
    return undefined;
  }
  const { input } = request;
  if (typeof input !== "string" && !Array.isArray(input)) return "'input' must be a string or an array of input items";
  return undefined;
}

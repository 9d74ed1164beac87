import { type IncomingMessage, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { ChatCompletion } from "openai/resources/chat/completions";
import { lastValueFrom, map } from "rxjs";
import { accumulateResponse, serverSentEvent } from "../../operators/index.js";
import { assembleCompletion } from "../recipes/whole-completion.js";
import { isObject } from "../sources/frames.js";
import { pipeToResponse } from "../edges/pipe-to-response.js";
import { type Cassette, type CassetteFrame, messagesOfResponsesRequest, readCassettes } from "./cassette.js";
import { fromCassette, fromResponsesCassette, playStreamFrames } from "./from-cassette.js";
import { matchCassette } from "./match.js";

export interface ReplayServerOptions {
  /** A directory of `*.cassette.jsonl` files, or cassettes already read. */
  cassettes: string | readonly Cassette[];
  /** Port to listen on. Default 1337, where GPT4Free's API listens; 0 picks a free one. */
  port?: number;
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Replay speed: 2 is twice as fast as recorded, `Infinity` without pauses. Default 1. */
  speed?: number;
  /**
   * Origins whose pages may call the server from a browser (CORS): exact
   * origins such as `"http://localhost:5173"` or `"https://app.example"`, or
   * `"*"` for any. Default: pages served from this machine (`localhost`,
   * `*.localhost`, `127.0.0.1`, `[::1]`, any port). `[]` allows none.
   */
  cors?: readonly string[];
  /** Called for every chat-completion request, with the cassette that answered (or none). */
  onRequest?: (event: { path: string; cassette: Cassette | undefined; status: number }) => void;
}

export interface ReplayServer {
  /** `http://host:port` */
  readonly url: string;
  /** `http://host:port/v1`, the base URL for any OpenAI client. */
  readonly baseURL: string;
  readonly cassettes: readonly Cassette[];
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
 * nearest cassettes. The real `openai` client, the CLI and `curl` work
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
  const { port = 1337, host = "127.0.0.1", speed = 1, onRequest, cors } = options;
  const allowsOrigin = originRule(cors);
  if (!(speed > 0)) throw new TypeError(`startReplayServer: speed must be above 0, got ${String(speed)}`);
  const cassettes = typeof options.cassettes === "string" ? readCassettes(options.cassettes) : options.cassettes;

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) res.destroy();
      else sendError(res, 500, `replay server failed: ${error instanceof Error ? error.message : String(error)}`, "server_error");
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const origin = req.headers.origin;
    const allowed = origin !== undefined && allowsOrigin(origin);
    if (allowed) {
      res.setHeader("access-control-allow-origin", origin);
      res.setHeader("vary", "origin");
    }
    if (req.method === "OPTIONS") {
      if (!allowed) {
        return sendError(res, 403, `Cross-origin requests from ${origin ?? "a page with no Origin"} are not allowed: start the server with --cors ${origin ?? "ORIGIN"} (option cors) to allow them`, "invalid_request_error", "cors_origin_not_allowed");
      }
      res.writeHead(204, {
        "access-control-allow-methods": "GET, POST, OPTIONS",
        "access-control-allow-headers": req.headers["access-control-request-headers"] ?? "authorization, content-type",
        "access-control-max-age": "600",
      });
      res.end();
      return;
    }
    if (req.method === "GET" && path.endsWith("/models")) {
      const models = [...new Set(cassettes.map((cassette) => cassette.request.model ?? "unknown"))];
      return sendJson(res, 200, { object: "list", data: models.map((id) => ({ id, object: "model", created: 0, owned_by: "g4f-rx-replay" })) });
    }
    // Chat completions, or the Responses API: each answered from the cassettes recorded in it.
    const api = path.endsWith("/chat/completions") ? "chat" : path.endsWith("/responses") ? "responses" : undefined;
    if (req.method !== "POST" || api === undefined) {
      return sendError(res, 404, `The replay server answers POST /v1/chat/completions, POST /v1/responses and GET /v1/models, not ${req.method ?? "GET"} ${path}`, "invalid_request_error", "unknown_url");
    }
    let request: unknown;
    try {
      request = JSON.parse(await readBody(req));
    } catch {
      return sendError(res, 400, "The request body is not valid JSON", "invalid_request_error");
    }
    const match =
      api === "responses"
        ? matchCassette(
            cassettes.filter((cassette) => cassette.api === "responses"),
            isObject(request) ? { model: request.model, messages: messagesOfResponsesRequest(request) } : request,
          )
        : matchCassette(cassettes.filter((cassette) => cassette.api === undefined), request);
    if (match.cassette === undefined) {
      onRequest?.({ path, cassette: undefined, status: 404 });
      const nearest = match.nearest.map((near) => `${near.file} (${JSON.stringify(near.prompt)})`).join(", ");
      return sendError(res, 404, `No cassette matches this request's messages. Nearest: ${nearest || "none (no cassettes loaded)"}`, "invalid_request_error", "cassette_not_found", { nearest: match.nearest });
    }
    const { cassette } = match;
    onRequest?.({ path, cassette, status: cassette.response.status });
    if (cassette.response.status >= 400) {
      return sendJson(res, cassette.response.status, cassette.response.body ?? { error: { message: "recorded error" } }, cassette.response.headers);
    }
    if (isObject(request) && request.stream === true) {
      const frames = playStreamFrames(cassette, { speed }).pipe(map((frame) => serverSentEvent(frame.data, eventNameOf(frame, api))));
      return new Promise<void>((resolve) => frames.pipe(pipeToResponse(res)).subscribe({ complete: resolve, error: () => resolve() }));
    }
    return sendJson(res, 200, api === "responses" ? await responseOf(cassette) : await completionOf(cassette));
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`;
  return {
    url,
    baseURL: `${url}/v1`,
    cassettes,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** Which origins may call the server from a browser; see `ReplayServerOptions.cors`. */
function originRule(cors: readonly string[] | undefined): (origin: string) => boolean {
  if (cors === undefined) return isLocalOrigin;
  if (cors.includes("*")) return () => true;
  const origins = new Set(cors.map((origin) => origin.replace(/\/+$/, "")));
  return (origin) => origins.has(origin);
}

function isLocalOrigin(origin: string): boolean {
  let hostname: string;
  try {
    ({ hostname } = new URL(origin));
  } catch {
    return false;
  }
  return hostname === "localhost" || hostname.endsWith(".localhost") || hostname === "127.0.0.1" || hostname === "[::1]";
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

async function readBody(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return Buffer.concat(parts).toString("utf8");
}


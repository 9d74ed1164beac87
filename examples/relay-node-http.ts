/**
 * A plain `node:http` relay, resumable: the browser asks this server, this
 * server asks an OpenAI-compatible endpoint (GPT4Free's API by default) and
 * relays the answer as it streams, in OpenAI's SSE format, every frame with an
 * `id:`. The browser never sees a key, and any OpenAI client, or `fetch` with
 * an SSE parser, can read the relay.
 *
 *   npx tsx examples/relay-node-http.ts [--base-url URL] [--model NAME] [--port 8080] [--host 127.0.0.1]
 *   curl -N localhost:8080/chat -H 'content-type: application/json' -d '{"prompt":"Say hello there!"}' -D -
 *   curl -N 'localhost:8080/chat?q=Say%20hello%20there!'
 *   curl -N localhost:8080/chat/ID -H 'last-event-id: 3'       # resume (ID from the x-stream-id header)
 *   curl -X POST localhost:8080/chat/ID/stop                   # stop it
 *
 * The upstream is --base-url, else OPENAI_BASE_URL, else GPT4Free's API on
 * http://localhost:1337/v1 (OPENAI_API_KEY is sent when set). The answer runs
 * in a `Relay`, not in the connection: when the browser disconnects the answer
 * goes on, and `GET /chat/{id}` with `Last-Event-ID` (which `EventSource`
 * sends by itself) resumes it; only `POST /chat/{id}/stop` aborts the
 * upstream request. An upstream failure reaches the browser as a
 * `data: {"error":{"message":…}}` frame.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import { parseArgs } from "node:util";
import OpenAI from "openai";
import { map, tap } from "rxjs";
import { Relay, fromChatCompletion } from "g4f-rx";
import { pipeToResponse } from "g4f-rx/node";
import { isEntryModule } from "./support/is-entry-module.js";

export const DEFAULT_BASE_URL = "http://localhost:1337/v1";
export const DEFAULT_MODEL = "gpt-4o-mini";

export interface RelayServerOptions {
  /** The model asked upstream. Default `gpt-4o-mini`. */
  model?: string;
  /** Largest request body accepted, in bytes; a larger one gets a 413. Default 64 KiB. */
  maxBodyBytes?: number;
  /** Bytes held for a browser that stops reading before it is cut off (see `pipeToResponse`). Default 1 MiB. */
  maxQueuedBytes?: number;
  /**
   * Told about each relay that failed: an upstream error (the browser gets it
   * too, as an error frame) or a browser cut off for not reading. Default:
   * one line on stderr.
   */
  onError?: (error: unknown, request: IncomingMessage) => void;
  /** Where answers run and are kept. Default a new `Relay` (in memory; give it a `RedisRelayStore` for several processes). */
  relay?: Relay;
}

/**
 * An HTTP server (not yet listening) that answers `POST /chat` with a JSON
 * body `{"prompt": "…"}` (or the prompt as plain text), and `GET /chat?q=…`
 * for `EventSource`, by starting `client`'s answer in the relay and streaming
 * it as Server-Sent Events, its stream id in the `x-stream-id` header;
 * `GET /chat/{id}` resumes after `Last-Event-ID` (204 once nothing is left,
 * 404 for an unknown id), `POST /chat/{id}/stop` stops it.
 */
export function createRelayServer(client: OpenAI, options: RelayServerOptions = {}): Server {
  const { model = DEFAULT_MODEL, maxBodyBytes = 64 * 1024, maxQueuedBytes, onError = logError } = options;

  const { relay = new Relay() } = options;
  const queue = maxQueuedBytes === undefined ? {} : { maxQueuedBytes };

  /** Streams stream `id` after frame `after`, each frame with its `id:` line. */
  const stream = (id: string, after: number, req: IncomingMessage, res: ServerResponse): void => {
    relay
      .read(id, { after })
      .pipe(
        map(({ id: frameId, frame }) => `id: ${frameId}\n${frame}`),
        pipeToResponse(res, { ...queue, headers: { "x-stream-id": id } }),
      )
      // A browser cut off for not reading loses its connection only; the answer goes on for the next reader.
      .subscribe({ error: (error: unknown) => onError(error, req) });
  };

  const start = (prompt: string, req: IncomingMessage, res: ServerResponse): void => {
    const answer = fromChatCompletion(client, { model, messages: [{ role: "user", content: prompt }] }).pipe(
      // The relay turns an error into a frame for the browser; the server's log hears of it here.
      tap({ error: (error: unknown) => onError(error, req) }),
    );
    relay.start(answer).then(
      (id) => stream(id, 0, req, res),
      (error: unknown) => sendError(res, new RelayRequestError(503, error instanceof Error ? error.message : String(error))),
    );
  };

  const resume = async (id: string, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const info = await relay.info(id);
    if (info === undefined) throw new RelayRequestError(404, `No stream ${JSON.stringify(id)}: it never existed, or it finished long ago`);
    const header = req.headers["last-event-id"];
    const after = Number(Array.isArray(header) ? header[0] : (header ?? "0"));
    if (!Number.isInteger(after) || after < 0) throw new RelayRequestError(400, "Last-Event-ID must be a frame number");
    // An ended stream's last stored frame is its end mark, never sent: past the one before it, nothing is left.
    if (info.status !== "live" && after >= info.frames - 1) {
      res.writeHead(204).end();
      return;
    }
    stream(id, after, req, res);
  };

  const stop = async (id: string, res: ServerResponse): Promise<void> => {
    if ((await relay.info(id)) === undefined) throw new RelayRequestError(404, `No stream ${JSON.stringify(id)}`);
    const stopped = await relay.stop(id);
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id, stopped }));
  };

  const refuse = (res: ServerResponse) => (error: unknown) => {
    if (error instanceof RelayRequestError) sendError(res, error);
    else res.destroy();
  };

  return createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://relay.invalid").pathname;
    const match = /^\/chat\/([A-Za-z0-9._~-]{1,128})(\/stop)?$/.exec(path);
    if (match?.[1] !== undefined) {
      const id = match[1];
      if (match[2] === undefined && req.method === "GET") resume(id, req, res).catch(refuse(res));
      else if (match[2] !== undefined && req.method === "POST") stop(id, res).catch(refuse(res));
      else sendError(res, new RelayRequestError(405, `${req.method ?? "?"} ${path} is not supported`, { allow: match[2] === undefined ? "GET" : "POST" }));
      return;
    }
    readPrompt(req, maxBodyBytes).then((prompt) => {
      // The browser may have left while its body was read: then nobody asked for the answer.
      if (res.destroyed) return;
      start(prompt, req, res);
    }, refuse(res));
  });
}

/** A request the relay refuses, with the HTTP status to answer. */
class RelayRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const USAGE = 'Send POST /chat with {"prompt": "…"}, or GET /chat?q=…';

async function readPrompt(req: IncomingMessage, maxBodyBytes: number): Promise<string> {
  const url = new URL(req.url ?? "/", "http://relay.invalid");
  if (url.pathname !== "/chat") throw new RelayRequestError(404, `Nothing at ${url.pathname}. ${USAGE}`);
  let prompt: string;
  if (req.method === "GET") {
    prompt = url.searchParams.get("q") ?? "";
  } else if (req.method === "POST") {
    const body = await readBody(req, maxBodyBytes);
    prompt = isJson(req) ? promptFromJson(body) : body;
  } else {
    throw new RelayRequestError(405, `${req.method ?? "?"} is not supported. ${USAGE}`, { allow: "GET, POST" });
  }
  if (prompt.trim() === "") throw new RelayRequestError(400, `The prompt is empty. ${USAGE}`);
  return prompt;
}

function readBody(req: IncomingMessage, maxBodyBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const pieces: Buffer[] = [];
    let length = 0;
    // Without setEncoding(), a request's data events carry Buffers.
    const onData = (piece: Buffer): void => {
      length += piece.length;
      if (length <= maxBodyBytes) {
        pieces.push(piece);
        return;
      }
      req.off("data", onData);
      // The rest of the body is not read, so the connection cannot serve another request.
      reject(new RelayRequestError(413, `The request body is larger than ${maxBodyBytes} bytes`, { connection: "close" }));
    };
    req.on("data", onData);
    req.once("end", () => resolve(Buffer.concat(pieces).toString("utf8")));
    req.once("error", reject);
  });
}

function isJson(req: IncomingMessage): boolean {
  return /^application\/([\w.+-]+\+)?json\b/i.test(req.headers["content-type"] ?? "");
}

function promptFromJson(body: string): string {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new RelayRequestError(400, `The body is not JSON. ${USAGE}`);
  }
  const prompt: unknown = typeof value === "object" && value !== null ? Reflect.get(value, "prompt") : undefined;
  if (typeof prompt !== "string") throw new RelayRequestError(400, `The body has no "prompt" string. ${USAGE}`);
  return prompt;
}

/** Answers in OpenAI's error format, so OpenAI clients report the message. */
function sendError(res: ServerResponse, error: RelayRequestError): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify({ error: { message: error.message, type: "invalid_request_error" } });
  res.writeHead(error.status, { ...error.headers, "content-type": "application/json" }).end(body);
}

function logError(error: unknown, request: IncomingMessage): void {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  process.stderr.write(`relay ${request.method ?? "?"} ${request.url ?? "?"} failed: ${message}\n`);
}

function main(): void {
  const { values } = parseArgs({
    options: {
      "base-url": { type: "string" },
      model: { type: "string", default: DEFAULT_MODEL },
      port: { type: "string", default: "8080" },
      host: { type: "string", default: "127.0.0.1" },
    },
  });
  const baseURL = values["base-url"] || process.env.OPENAI_BASE_URL || DEFAULT_BASE_URL;
  const client = new OpenAI({ baseURL, apiKey: process.env.OPENAI_API_KEY || "none" });
  const server = createRelayServer(client, { model: values.model });
  server.listen(Number(values.port), values.host, () => {
    // The bound address, not the flag: --port 0 picks a free port.
    const address = server.address();
    const where = typeof address === "object" && address !== null ? `${address.address}:${address.port}` : String(address);
    process.stderr.write(`Relaying ${baseURL} (${values.model}) on http://${where}/chat\n`);
  });
  const stop = (): void => {
    server.close();
    // Open streams would keep close() waiting; ending them also aborts their upstream requests.
    server.closeAllConnections();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

if (isEntryModule(import.meta.url)) main();

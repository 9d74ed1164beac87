import { type Server, createServer } from "node:http";
import { OpenAI } from "openai";
import { customHeaders, splitBaseURL } from "../../endpoints.js";
import { credentialSafeFetch } from "../../redirects.js";
import type { CorsOrigins } from "../cors.js";
import { MemoryRelayStore } from "./memory-store.js";
import { hostHeaderAllowed, hostRefusal } from "../host-header.js";
import { createRelayRequestHandler } from "./node-handler.js";
import type { RelayUpstream } from "./routes.js";
import { RedisRelayStore } from "./redis-store.js";
import { Relay, type RelayOptions } from "./relay.js";
import type { RelayStore } from "./store.js";

export interface RelayServerOptions {
  /**
   * The OpenAI-compatible endpoint to put in front of: its base URL (`http://localhost:1337/v1`; a query in it, such
   * as Azure's `?api-version=…`, goes on every request), or a client of your own, used as it is. With a URL, a
   * redirect to another origin gets neither the key nor a header of `OPENAI_CUSTOM_HEADERS`.
   */
  upstream: string | RelayUpstream;
  /** The key sent upstream when `upstream` is a URL. Default `OPENAI_API_KEY`, else none. */
  apiKey?: string;
  /**
   * Retries of an upstream request that failed before its answer began, when
   * `upstream` is a URL (the `openai` client's `maxRetries`). Default 2, the
   * client's own: a relay keeps connections to its upstream open between
   * requests, and one the upstream closed as a request went out on it (its
   * keep-alive timeout) is a connection error worth one more try; nothing
   * had streamed yet, so nothing is paid twice.
   */
  maxRetries?: number;
  /** A Redis URL (`redis://host:6379`) to share streams with other processes, or a store. Default a store in memory. */
  redis?: string | RelayStore;
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Origins whose pages may call it from a browser, `"*"` for any. Default: pages served from this machine. See `CorsOrigins`. */
  cors?: CorsOrigins;
  /** How long finished streams stay readable, in milliseconds. Default 5 minutes. */
  ttlMs?: number;
  /** With Redis: how long a dead process's streams wait before their readers are told. Default 5 seconds. */
  leaseMs?: number;
  /** The `retry:` sent to `EventSource` readers, in milliseconds. Default 1000. */
  retryMs?: number;
  /**
   * The most frame text one stream may hold (UTF-16 code units), and the most bytes of an upstream's whole answer
   * passed through (a longer one gets a 502). Default 4 Mi.
   */
  maxStreamLength?: number;
  /**
   * How long the upstream may stay silent: `{ first, idle }` in milliseconds, or `false` for no limit. Default
   * `DEFAULT_UPSTREAM_TIMEOUT` (10 minutes for the first chunk, 5 between chunks). See `RelayOptions.upstreamTimeout`.
   */
  upstreamTimeout?: RelayOptions["upstreamTimeout"];
  /** The largest request body accepted, in bytes; a larger one gets HTTP 413. Default 8 MiB (`DEFAULT_MAX_BODY_BYTES`). */
  maxBodyBytes?: number;
  /**
   * Told, in one line, each redirect the upstream client follows when `upstream` is a URL, and what it kept from
   * another origin (`… redirects (HTTP 307) to …: another origin, so the authorization header is not sent there`).
   * Default: the line on stderr, after `g4f-rx relay: `.
   */
  onNote?: (text: string) => void;
}

export interface RelayServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `http://127.0.0.1:<port>/v1`, the `baseURL` to give an OpenAI client. */
  readonly baseURL: string;
  readonly relay: Relay;
  readonly server: Server;
  /**
   * Stops listening, ends the streams it runs (their readers are told), lets its readers receive their streams' last
   * frames, closes the store and cuts the connections left. Calling it again returns the same promise.
   */
  close(): Promise<void>;
}

/**
 * Starts a resumable, OpenAI-compatible proxy in front of `upstream`:
 * `POST /v1/chat/completions` and `POST /v1/responses` stream as usual (any
 * OpenAI client works) and answer with an `x-stream-id` header; `GET /v1/streams/{id}` resumes, with
 * or without `Last-Event-ID`; `POST /v1/streams/{id}/stop` stops. With
 * `redis`, any number of these processes serve any stream. This is
 * `g4f-rx serve --upstream URL [--redis URL]`.
 *
 * ## Example
 * ```ts
 * import { startRelayServer } from "g4f-rx/node";
 *
 * const relay = await startRelayServer({ upstream: "http://localhost:1337/v1", port: 8080 });
 * console.log(relay.baseURL); // give it to any OpenAI client
 * ```
 */
export async function startRelayServer(options: RelayServerOptions): Promise<RelayServer> {
  const { port = 0, host = "127.0.0.1", cors, ttlMs, leaseMs, retryMs = 1000, maxStreamLength, upstreamTimeout, maxRetries = 2, maxBodyBytes } = options;
  const { onNote = (text: string): void => console.error(`g4f-rx relay: ${text}`) } = options;
  const upstream = typeof options.upstream === "string" ? upstreamClient(options.upstream, options.apiKey, maxRetries, onNote) : options.upstream;
  let store: RelayStore;
  if (typeof options.redis === "string") store = await RedisRelayStore.connect(options.redis, { ...(ttlMs === undefined ? {} : { ttlMs }), ...(leaseMs === undefined ? {} : { leaseMs }) });
  else store = options.redis ?? new MemoryRelayStore(ttlMs === undefined ? {} : { ttlMs });
  let relay: Relay;
  try {
    relay = new Relay({ store, ...(maxStreamLength === undefined ? {} : { maxStreamLength }), ...(upstreamTimeout === undefined ? {} : { upstreamTimeout }) });
  } catch (error) {
    // Options the relay refuses must not leave a Redis connection open behind them.
    await store.close();
    throw error;
  }
  const handler = createRelayRequestHandler({ relay, upstream, retryMs, ...(cors === undefined ? {} : { cors }), ...(maxBodyBytes === undefined ? {} : { maxBodyBytes }) });
  const server = createServer((request, response) => {
    if (hostHeaderAllowed(host, request.headers.host)) return handler(request, response);
    const body = JSON.stringify(hostRefusal(request.headers.host));
    request.resume();
    response.writeHead(403, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    await relay.close();
    throw error;
  }
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error(`The relay server listens on ${String(address)}, not a TCP port`);
  const url = `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`;
  let closing: Promise<void> | undefined;
  return {
    url,
    baseURL: `${url}/v1`,
    relay,
    server,
    close: () =>
      (closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        await relay.close();
        server.closeAllConnections();
        await closed;
      })()),
  };
}

/**
 * The client for an upstream given as a URL. A query in it (Azure's `?api-version=…`) goes on every request, as the
 * command's `--base-url` does: the client would append its paths after it. Redirects are followed as fetch follows
 * them, but neither the key nor a header of `OPENAI_CUSTOM_HEADERS` (which the client sends too) goes to another
 * origin, and each is told to `onNote`. An app that wants another rule passes a client of its own.
 */
function upstreamClient(url: string, apiKey: string | undefined, maxRetries: number, onNote: (text: string) => void): OpenAI {
  const { base, query } = splitBaseURL(url);
  return new OpenAI({
    baseURL: base,
    defaultQuery: query,
    apiKey: apiKey ?? process.env.OPENAI_API_KEY ?? "none",
    maxRetries,
    fetch: credentialSafeFetch(customHeaders(process.env), onNote),
  });
}

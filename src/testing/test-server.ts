import { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";

/**
 * One step of a scripted response body:
 * - a string or bytes: written as one piece (split further by `pieceSize`);
 * - `{ wait: ms }`: a pause (a stall, when long), cut short if the client leaves;
 * - `{ destroy: true }`: the socket is closed mid-body, without ending the response;
 * - a function: called when its turn comes, and what it returns is written (a frame carrying the time it was sent).
 */
export type ReplyStep = string | Uint8Array | { wait: number } | { destroy: true } | (() => string | Uint8Array);

/** What the server answers to one request. */
export interface ScriptedReply {
  /** HTTP status. Default 200. */
  status?: number;
  /** Response headers. Default `content-type: text/event-stream; charset=utf-8`. */
  headers?: Record<string, string>;
  /** Milliseconds to wait before sending the status line and headers. */
  headersAfterMs?: number;
  /** The body, step by step. */
  body?: readonly ReplyStep[];
  /** Writes every text and byte step in pieces of this many bytes (1: a byte at a time), one write per piece. */
  pieceSize?: number;
}

/** A reply, or a function that chooses one from the request. */
export type Reply = ScriptedReply | ((request: RecordedRequest) => ScriptedReply | Promise<ScriptedReply>);

/** A request the server received, with what happened to its connection. */
export interface RecordedRequest {
  readonly method: string;
  /** Path and query, e.g. `/v1/chat/completions`. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The body parsed as JSON, or the raw text when it is not JSON. */
  readonly body: unknown;
  /** `performance.now()` when the request arrived. */
  readonly receivedAt: number;
  /** `performance.now()` when the response finished or the connection closed, whichever came first. */
  closedAt: number | undefined;
  /** True when the client (or a `destroy` step) closed the connection before the response ended. */
  disconnected: boolean;
  /** Resolves with `closedAt` once the exchange is over. */
  readonly closed: Promise<number>;
}

export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `http://127.0.0.1:<port>/v1`, the `baseURL` to give the `openai` client. */
  readonly baseURL: string;
  /** Every request received, in order (none when started with `record: false`). */
  readonly requests: readonly RecordedRequest[];
  /** Counts kept whether or not requests are recorded: received, finished or closed, and closed early by the client. */
  readonly tally: { readonly received: number; readonly closed: number; readonly disconnected: number };
  /** Queues replies for the next chat-completion requests, first in, first out. */
  reply(...replies: Reply[]): void;
  /**
   * The reply used when the queue is empty. Without one, such a request gets a 500 that says which request it was
   * and how many replies were used, with `x-should-retry: false` so that the `openai` client fails at once
   * instead of retrying it.
   */
  setDefaultReply(reply: Reply | undefined): void;
  /** Resolves with the `index`th request (0-based) once it has arrived; rejects if the server closes first. */
  waitForRequest(index: number): Promise<RecordedRequest>;
  /** Stops listening, cuts every open connection, ends pending pauses, and rejects pending `waitForRequest` calls. */
  close(): Promise<void>;
}

export interface TestServerOptions {
  /** Port to listen on. Default 0: an ephemeral port. */
  port?: number;
  /** Model ids listed by `GET /v1/models`. Default `["gpt-4"]`. */
  models?: readonly string[];
  /** Keep every request in `requests`. Default true; false keeps none, for long soak runs. */
  record?: boolean;
}

/**
 * Starts an OpenAI-compatible HTTP server on 127.0.0.1 that answers
 * `POST /v1/chat/completions` and `POST /v1/responses` with scripted replies
 * (`streamReply`, `responsesReply`…) and records every request.
 *
 * ## Example
 * ```ts
 * import OpenAI from "openai";
 * import { startTestServer, streamReply, textChunks } from "g4f-rx/testing";
 *
 * const server = await startTestServer();
 * server.reply(streamReply(textChunks(["Hello", " there!"]), { delayMs: 5 }));
 * const client = new OpenAI({ baseURL: server.baseURL, apiKey: "test" });
 * // … run the code under test, then:
 * console.log(server.requests[0]?.body); // { model: "gpt-4", messages: [...], stream: true }
 * await server.close();
 * ```
 */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const { port = 0, models = ["gpt-4"], record: keep = true } = options;
  const requests: RecordedRequest[] = [];
  const queue: Reply[] = [];
  const waiters = new Map<number, Array<{ resolve: (request: RecordedRequest) => void; reject: (error: Error) => void }>>();
  const timers = new Set<NodeJS.Timeout>();
  let defaultReply: Reply | undefined;
  let scripted = 0;
  let stopped = false;
  const tally = { received: 0, closed: 0, disconnected: 0 };

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) {
        send(res, errorReply(500, `test server failed: ${String(error)}`));
      } else {
        res.destroy();
      }
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await readBody(req);
    let resolveClosed!: (at: number) => void;
    const record: RecordedRequest = {
      method: req.method ?? "GET",
      path: req.url ?? "/",
      headers: req.headers,
      body: parseBody(text),
      receivedAt: performance.now(),
      closedAt: undefined,
      disconnected: false,
      closed: new Promise<number>((resolve) => (resolveClosed = resolve)),
    };
    tally.received += 1;
    res.on("close", () => {
      record.closedAt = performance.now();
      record.disconnected = !res.writableFinished;
      tally.closed += 1;
      if (record.disconnected) tally.disconnected += 1;
      resolveClosed(record.closedAt);
    });
    if (keep) {
      const index = requests.push(record) - 1;
      for (const waiter of waiters.get(index) ?? []) waiter.resolve(record);
      waiters.delete(index);
    }

    const path = record.path.split("?")[0] ?? "";
    if (record.method === "GET" && path.endsWith("/models")) {
      const data = models.map((id) => ({ id, object: "model", created: 0, owned_by: "g4f-rx-test-server" }));
      return play(res, { status: 200, headers: { "content-type": "application/json" }, body: [JSON.stringify({ object: "list", data })] });
    }
    // Chat completions and the Responses API share the queue of scripted replies.
    if (record.method !== "POST" || !(path.endsWith("/chat/completions") || path.endsWith("/responses"))) {
      return play(res, errorReply(404, `test server: no route for ${record.method} ${record.path}`, { type: "invalid_request_error", code: "unknown_url" }));
    }
    const next = queue.shift() ?? defaultReply;
    if (next === undefined) {
      // A missing reply is a mistake in the test: a retry would only hide it behind the client's back-off.
      const used = scripted === 0 ? "none was queued" : scripted === 1 ? "the 1 reply queued was used" : `the ${String(scripted)} replies queued were all used`;
      const message = `test server: no reply was scripted for request #${String(tally.received)} (${record.method} ${path}): ${used}; queue more with server.reply(…) or set one with server.setDefaultReply(…)`;
      return play(res, errorReply(500, message, { headers: { "x-should-retry": "false" } }));
    }
    const reply = typeof next === "function" ? await next(record) : next;
    return play(res, reply);
  }

  function wait(ms: number, res: ServerResponse): Promise<void> {
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        timers.delete(timer);
        res.off("close", finish);
        resolve();
      };
      const timer = setTimeout(finish, ms);
      timers.add(timer);
      res.once("close", finish);
    });
  }

  async function play(res: ServerResponse, reply: ScriptedReply): Promise<void> {
    const { status = 200, headers = { "content-type": "text/event-stream; charset=utf-8" }, headersAfterMs = 0, body = [], pieceSize } = reply;
    if (headersAfterMs > 0) await wait(headersAfterMs, res);
    if (res.destroyed) return;
    res.writeHead(status, { "cache-control": "no-cache", ...headers });
    res.flushHeaders();
    for (const listed of body) {
      if (res.destroyed) return;
      const step = typeof listed === "function" ? listed() : listed;
      if (typeof step === "string" || step instanceof Uint8Array) {
        const bytes = typeof step === "string" ? Buffer.from(step, "utf8") : step;
        if (pieceSize === undefined) {
          res.write(bytes);
        } else {
          for (let at = 0; at < bytes.length && !res.destroyed; at += pieceSize) {
            res.write(bytes.subarray(at, at + pieceSize));
            // A macrotask between pieces lets each leave as its own TCP segment.
            await new Promise((resolve) => setImmediate(resolve));
          }
        }
      } else if ("wait" in step) {
        await wait(step.wait, res);
      } else {
        await new Promise((resolve) => setImmediate(resolve));
        res.destroy();
        return;
      }
    }
    if (!res.destroyed) res.end();
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const notArrived = (index: number): Error =>
    new Error(`test server: closed before the request waitForRequest(${String(index)}) waits for arrived (${keep ? `${String(requests.length)} arrived` : "requests are not recorded: record is false"})`);

  return {
    url,
    baseURL: `${url}/v1`,
    requests,
    tally,
    reply: (...replies) => {
      scripted += replies.length;
      queue.push(...replies);
    },
    setDefaultReply: (reply) => void (defaultReply = reply),
    waitForRequest: (index) => {
      const known = requests[index];
      if (known) return Promise.resolve(known);
      if (stopped || !keep) return Promise.reject(notArrived(index));
      return new Promise((resolve, reject) => {
        const list = waiters.get(index) ?? [];
        list.push({ resolve, reject });
        waiters.set(index, list);
      });
    },
    close: async () => {
      stopped = true;
      // A test waiting for a request that never came fails with a reason rather than hanging until its timeout.
      for (const [index, list] of waiters) for (const waiter of list) waiter.reject(notArrived(index));
      waiters.clear();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

function send(res: ServerResponse, reply: ScriptedReply): void {
  res.writeHead(reply.status ?? 200, reply.headers);
  for (const step of reply.body ?? []) if (typeof step === "string") res.write(step);
  res.end();
}

async function readBody(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return Buffer.concat(parts).toString("utf8");
}

function parseBody(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Options for `errorReply`. */
export interface ErrorReplyOptions {
  type?: string;
  code?: string | null;
  param?: string | null;
  headers?: Record<string, string>;
}

/** An HTTP error status with an OpenAI-format JSON body: `{"error":{"message","type","param","code"}}`. */
export function errorReply(status: number, message: string, options: ErrorReplyOptions = {}): ScriptedReply {
  const { type = status >= 500 ? "server_error" : "invalid_request_error", code = null, param = null, headers = {} } = options;
  return {
    status,
    headers: { "content-type": "application/json", ...headers },
    body: [JSON.stringify({ error: { message, type, param, code } })],
  };
}

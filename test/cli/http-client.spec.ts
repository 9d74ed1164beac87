import { type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse, createServer, request as httpRequest } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type TestServer, responseEvents, responsesReply, startTestServer } from "g4f-rx/testing";
import { type EndlessBodyServer, startEndlessBody } from "../support/endless-body.js";
import { assertFreshBuild, runCli } from "./run-cli.js";

// The command's own HTTP client (src/cli/http-source.ts, node:http) against what the openai client's fetch does with
// real deployments: redirects, a base URL with a query, OPENAI_CUSTOM_HEADERS, credentials in the URL, compressed
// bodies. The BUILT command runs as a real process against node:http servers on 127.0.0.1.

interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

type Handler = (request: IncomingMessage, response: ServerResponse, body: string) => void;

const servers: Server[] = [];
const endless: EndlessBodyServer[] = [];
let home: string;

beforeAll(() => assertFreshBuild());

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), "g4f-rx-http-"));
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  await Promise.all(endless.splice(0).map((server) => server.close()));
  rmSync(home, { recursive: true, force: true });
});

/** A node:http server on 127.0.0.1 that records every request and answers with `handler`. */
async function serve(handler: Handler): Promise<{ origin: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (part: string) => (body += part));
    request.on("end", () => {
      received.push({ method: request.method ?? "", url: request.url ?? "", headers: request.headers, body });
      handler(request, response, body);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return { origin: `http://127.0.0.1:${String(address.port)}`, received };
}

const chunk = (delta: object, finish: string | null = null): string =>
  `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
const STREAM = `${chunk({ role: "assistant", content: "Hello" })}${chunk({ content: " there!" })}${chunk({}, "stop")}data: [DONE]\n\n`;
const WHOLE = JSON.stringify({
  id: "c",
  object: "chat.completion",
  created: 1,
  model: "m",
  choices: [{ index: 0, message: { role: "assistant", content: "Hello there!" }, finish_reason: "stop" }],
});

/** A chat endpoint: the stream, or with `stream: false` the whole completion. */
const answer: Handler = (_request, response, body) => {
  const streamed = (JSON.parse(body) as { stream?: boolean }).stream === true;
  response.writeHead(200, { "content-type": streamed ? "text/event-stream" : "application/json" });
  response.end(streamed ? STREAM : WHOLE);
};

const run = (args: readonly string[], env: Record<string, string> = {}): ReturnType<typeof runCli> =>
  runCli(args, { env: { HOME: home, XDG_DATA_HOME: home, XDG_CACHE_HOME: home, XDG_CONFIG_HOME: home, G4F_RX_NO_LOG: "1", ...env } });

/** An endless-body server (test/support/endless-body.ts), closed after the test. */
async function endlessBody(status: number, prefix: string, suffix: string, megabytes: number, headers: Record<string, string> = {}): Promise<EndlessBodyServer> {
  const server = await startEndlessBody(status, prefix, suffix, megabytes, headers);
  endless.push(server);
  return server;
}

describe("g4f-rx --no-stream and a completion that does not end", () => {
  it("reads it up to the longest frame a stream may have (64 MiB), then closes the connection and says why", async () => {
    const completion = '{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"';
    const { origin, sent } = await endlessBody(200, completion, '"},"finish_reason":"stop"}]}', 80);
    const result = await run(["--base-url", `${origin}/v1`, "--no-stream", "Hi"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("longer than 67108864 characters");
    expect(sent.written).toBeLessThan(80);
    expect(sent.cut).toBe(true);
  });

  it("with --api responses, reads a whole response the same way: up to 64 MiB, then closes the connection and says why", async () => {
    const response = '{"id":"resp_1","object":"response","status":"completed","model":"m","output":[{"type":"message","role":"assistant","content":[{"type":"output_text","text":"';
    const { origin, sent } = await endlessBody(200, response, '"}]}]}', 80);
    const result = await run(["--base-url", `${origin}/v1`, "--api", "responses", "--no-stream", "Hi"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("longer than 67108864 characters");
    expect(sent.written).toBeLessThan(80);
    expect(sent.cut).toBe(true);
  });
});

describe("g4f-rx and an error body that does not end", () => {
  it("reads at most 1 MiB of it and closes the connection rather than reading on, and says the status", async () => {
    const { origin, sent } = await endlessBody(500, '{"error":{"message":"', '"}}', 64);
    const result = await run(["--base-url", `${origin}/v1`, "--retries", "0", "Hi"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${origin}/v1/chat/completions answered HTTP 500: `);
    expect(result.stderr).toContain("aaaa");
    expect(sent.written).toBeLessThan(64);
    expect(sent.cut).toBe(true);
  });

  // The openai client reads an error body whole (response.text()); the fetch the command gives it stops after 1 MiB.
  it.each([
    ["--api responses", ["--api", "responses", "Hi"]],
    ["models", ["models"]],
  ])("on the openai client's path (%s) too: 1 MiB of it, the connection closed, the status and the message's beginning said", async (_name, args) => {
    const { origin, sent } = await endlessBody(500, '{"error":{"message":"Overloaded: ', '"}}', 64);
    const result = await run([...args, "--base-url", `${origin}/v1`, "--retries", "0"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("500");
    expect(result.stderr).toContain("Overloaded: aaaa");
    expect(sent.requests).toBe(1);
    expect(sent.written).toBeLessThan(64);
    expect(sent.cut).toBe(true);
  });
});

describe("g4f-rx and redirects", () => {
  it.each([307, 308])("follows a %i to another server with the method and the body, as fetch does, without the key there", async (status) => {
    const target = await serve(answer);
    const moved = await serve((request, response) => {
      response.writeHead(status, { location: `${target.origin}${request.url ?? ""}` });
      response.end();
    });
    const result = await run(["--base-url", `${moved.origin}/v1`, "--api-key", "sk-secret", "Say hello"]);
    expect(result.stdout).toBe("Hello there!\n");
    expect(result.code).toBe(0);
    expect(moved.received).toHaveLength(1);
    expect(target.received).toMatchObject([{ method: "POST", url: "/v1/chat/completions" }]);
    expect(target.received[0]?.body).toBe(moved.received[0]?.body);
    expect(target.received[0]?.body).toContain("Say hello");
    // fetch drops Authorization on a redirect to another origin (a port is one); the note says so.
    expect(moved.received[0]?.headers.authorization).toBe("Bearer sk-secret");
    expect(target.received[0]?.headers.authorization).toBeUndefined();
    expect(result.stderr).toContain(`redirects (HTTP ${String(status)}) to ${target.origin}/v1/chat/completions`);
    expect(result.stderr).toContain("the Authorization header is not sent there");
  });

  it("sends no OPENAI_CUSTOM_HEADERS header to another origin either (Azure's api-key, Basic auth), where fetch would", async () => {
    const target = await serve(answer);
    const moved = await serve((request, response) => {
      response.writeHead(307, { location: `${target.origin}${request.url ?? ""}` });
      response.end();
    });
    const headers = "api-key: azure-secret\nX-Gateway-Token: gw-secret";
    const result = await run(["--base-url", `${moved.origin}/v1`, "--api-key", "sk-secret", "Say hello"], { OPENAI_CUSTOM_HEADERS: headers });
    expect(result).toMatchObject({ code: 0, stdout: "Hello there!\n" });
    expect(moved.received[0]?.headers).toMatchObject({ authorization: "Bearer sk-secret", "api-key": "azure-secret", "x-gateway-token": "gw-secret" });
    const sentThere = target.received[0]?.headers ?? {};
    expect([sentThere.authorization, sentThere["api-key"], sentThere["x-gateway-token"]]).toEqual([undefined, undefined, undefined]);
    expect(result.stderr).toContain("another origin, so the Authorization, api-key, X-Gateway-Token headers are not sent there");
    expect(result.stderr).not.toContain("secret");
  });

  it("keeps OPENAI_CUSTOM_HEADERS on a redirect within the same origin", async () => {
    const server = await serve((request, response, body) => {
      if (request.url === "/v1/chat/completions") {
        response.writeHead(307, { location: "/v2/chat/completions" });
        response.end();
      } else answer(request, response, body);
    });
    const result = await run(["--base-url", `${server.origin}/v1`, "Say hello"], { OPENAI_CUSTOM_HEADERS: "api-key: azure-secret" });
    expect(result).toMatchObject({ code: 0, stdout: "Hello there!\n" });
    expect(server.received.map((request) => [request.url, request.headers["api-key"]])).toEqual([
      ["/v1/chat/completions", "azure-secret"],
      ["/v2/chat/completions", "azure-secret"],
    ]);
  });

  it("keeps the key on a redirect within the same origin (a trailing slash), and reads --no-stream's answer there", async () => {
    const server = await serve((request, response, body) => {
      if (request.url === "/v1/chat/completions") {
        response.writeHead(308, { location: "/v1/chat/completions/" });
        response.end();
      } else answer(request, response, body);
    });
    const result = await run(["--base-url", `${server.origin}/v1`, "--api-key", "sk-secret", "--no-stream", "Say hello"]);
    expect(result.stdout).toBe("Hello there!\n");
    expect(server.received.map((request) => [request.url, request.headers.authorization])).toEqual([
      ["/v1/chat/completions", "Bearer sk-secret"],
      ["/v1/chat/completions/", "Bearer sk-secret"],
    ]);
  });

  it.each([301, 302, 303])("says where a %i points instead of losing the question in a GET", async (status) => {
    const target = await serve(answer);
    const moved = await serve((request, response) => {
      response.writeHead(status, { location: `${target.origin}/api${request.url ?? ""}` });
      response.end();
    });
    const result = await run(["--base-url", `${moved.origin}/v1`, "Say hello"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(`${moved.origin}/v1/chat/completions answered HTTP ${String(status)}: it redirects to ${target.origin}/api/v1/chat/completions`);
    expect(result.stderr).toContain(`use --base-url ${target.origin}/api/v1`);
    expect(target.received).toEqual([]);
  });

  it("stops after 20 redirects, saying so", async () => {
    const loop = await serve((request, response) => {
      const count = Number(new URL(request.url ?? "", "http://x").searchParams.get("n") ?? "0");
      response.writeHead(307, { location: `/v1/chat/completions?n=${String(count + 1)}` });
      response.end();
    });
    const result = await run(["--base-url", `${loop.origin}/v1`, "Say hello"]);
    expect(result.code).toBe(1);
    expect(loop.received).toHaveLength(21);
    expect(result.stderr).toContain("answered HTTP 307: more than 20 redirects");
  });
});

describe("g4f-rx and a base URL with a query (Azure-style api-version)", () => {
  const base = "/openai/deployments/gpt-4o?api-version=2024-10-21";

  it("posts the chat request to the path under the base URL, with the query after it", async () => {
    const server = await serve(answer);
    const result = await run(["--base-url", `${server.origin}${base}`, "Say hello"]);
    expect(result.stdout).toBe("Hello there!\n");
    expect(server.received.map((request) => request.url)).toEqual(["/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"]);
  });

  it("does the same for --api responses and models, which go through the openai client", async () => {
    const server = await serve((request, response) => {
      response.writeHead(404, { "content-type": "application/json" });
      response.end(JSON.stringify({ error: { message: `no ${request.url ?? ""}` } }));
    });
    await run(["--base-url", `${server.origin}${base}`, "--api", "responses", "Say hello"]);
    await run(["models", "--base-url", `${server.origin}${base}`]);
    expect(server.received.map((request) => `${request.method} ${request.url}`)).toEqual([
      "POST /openai/deployments/gpt-4o/responses?api-version=2024-10-21",
      "GET /openai/deployments/gpt-4o/models?api-version=2024-10-21",
    ]);
  });
});

describe("g4f-rx's request headers", () => {
  it("sends OPENAI_CUSTOM_HEADERS and the openai client's User-Agent on the chat path as on the client's paths", async () => {
    const server = await serve((request, response, body) => {
      if (request.url === "/v1/chat/completions") return answer(request, response, body);
      response.writeHead(404, { "content-type": "application/json" });
      response.end("{}");
    });
    const env = { OPENAI_CUSTOM_HEADERS: "X-Gateway-Tenant: team-a\nOpenAI-Project: proj_1" };
    const chat = await run(["--base-url", `${server.origin}/v1`, "Say hello"], env);
    expect(chat.stdout).toBe("Hello there!\n");
    await run(["--base-url", `${server.origin}/v1`, "--api", "responses", "Say hello"], env);
    const [viaHttp, viaClient] = server.received;
    for (const headers of [viaHttp?.headers, viaClient?.headers]) {
      expect(headers).toMatchObject({ "x-gateway-tenant": "team-a", "openai-project": "proj_1", "content-type": "application/json" });
      expect(headers?.["user-agent"]).toMatch(/^OpenAI\/JS \d/);
      expect(headers?.authorization).toBeUndefined();
    }
    // The client sends X-Stainless-Timeout only with a request's own timeout.
    expect(viaHttp?.headers["x-stainless-timeout"]).toBeUndefined();
  });

  it("lets OPENAI_CUSTOM_HEADERS send an Authorization of its own, with no key, on every path", async () => {
    const server = await serve((request, response, body) => {
      if (request.url === "/v1/chat/completions") return answer(request, response, body);
      response.writeHead(404, { "content-type": "application/json" });
      response.end("{}");
    });
    const env = { OPENAI_CUSTOM_HEADERS: "Authorization: Basic dXNlcjpwYXNz" };
    await run(["--base-url", `${server.origin}/v1`, "Say hello"], env);
    await run(["--base-url", `${server.origin}/v1`, "--api", "responses", "Say hello"], env);
    expect(server.received.map((request) => request.headers.authorization)).toEqual(["Basic dXNlcjpwYXNz", "Basic dXNlcjpwYXNz"]);
  });
});

describe("g4f-rx and credentials in the base URL", () => {
  it("is a usage error, on every path, that does not repeat the password and sends nothing", async () => {
    const server = await serve(answer);
    const url = `http://user:hunter2@${server.origin.slice("http://".length)}/v1`;
    for (const args of [["Say hello"], ["--api", "responses", "Say hello"], ["models"]]) {
      const result = await run(args, { OPENAI_BASE_URL: url });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`OPENAI_BASE_URL must not hold a user name or password`);
      expect(result.stderr).toContain(`give ${server.origin}/v1`);
      expect(result.stderr).not.toContain("hunter2");
    }
    expect(server.received).toEqual([]);
  });
});

describe("g4f-rx and a compressed body", () => {
  const gzipped = (text: string, contentType: string): Handler => (_request, response) => {
    response.writeHead(200, { "content-type": contentType, "content-encoding": "gzip" });
    response.end(gzipSync(text));
  };

  it("decodes a gzip-compressed stream, as fetch does, though it asked for none", async () => {
    const server = await serve(gzipped(STREAM, "text/event-stream"));
    const result = await run(["--base-url", `${server.origin}/v1`, "Say hello"]);
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe("Hello there!\n");
    expect(server.received[0]?.headers["accept-encoding"]).toBeUndefined();
  });

  it("decodes a gzip-compressed --no-stream completion and error body", async () => {
    const server = await serve(gzipped(WHOLE, "application/json"));
    const result = await run(["--base-url", `${server.origin}/v1`, "--no-stream", "Say hello"]);
    expect(result.stdout).toBe("Hello there!\n");
    const failing = await serve((_request, response) => {
      response.writeHead(400, { "content-type": "application/json", "content-encoding": "gzip" });
      response.end(gzipSync(JSON.stringify({ error: { message: "The model does not exist" } })));
    });
    const failed = await run(["--base-url", `${failing.origin}/v1`, "Say hello"]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain("answered HTTP 400: The model does not exist");
  });

  it("ends a compressed stream cut short by the protocol's rule, keeping what arrived", async () => {
    const whole = gzipSync(STREAM);
    const server = await serve((_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream", "content-encoding": "gzip" });
      // Everything but the gzip trailer and the last frames: the connection then closes.
      response.end(whole.subarray(0, whole.length - 30));
    });
    const result = await run(["--base-url", `${server.origin}/v1`, "Say hello"]);
    expect(result.stdout).toMatch(/^Hello/);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("was cut off");
    expect(result.stderr).not.toContain("unexpected end of file");
  });

  it("says which Content-Encoding it cannot decode", async () => {
    const server = await serve((_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream", "content-encoding": "zstd" });
      response.end(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]));
    });
    const result = await run(["--base-url", `${server.origin}/v1`, "Say hello"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Content-Encoding "zstd", which the command cannot decode');
  });
});

/** Node 24.5 gave node:http's global agents NODE_USE_ENV_PROXY, which fetch (the openai client) honours from 24.0. */
const [nodeMajor = 0, nodeMinor = 0] = process.versions.node.split(".").map(Number);
const httpEnvProxy = nodeMajor > 24 || (nodeMajor === 24 && nodeMinor >= 5);

describe("g4f-rx behind Node's environment proxy (NODE_USE_ENV_PROXY=1)", () => {
  it.runIf(httpEnvProxy)("sends the chat request through HTTP_PROXY, as the openai client's fetch does, and not when NO_PROXY names the host", async () => {
    const target = await serve(answer);
    // A forward proxy: it passes each absolute-URL request on to the target.
    const proxy = await serve((request, response, body) => {
      const url = new URL(request.url ?? "");
      const upstream = httpRequest(url, { method: request.method, headers: { "content-type": "application/json" } }, (reply) => {
        response.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(response);
      });
      upstream.end(body);
    });
    const env = { NODE_USE_ENV_PROXY: "1", HTTP_PROXY: proxy.origin };
    const proxied = await run(["--base-url", `${target.origin}/v1`, "Say hello"], env);
    expect(proxied.stdout).toBe("Hello there!\n");
    expect(proxy.received.map((request) => `${request.method} ${request.url}`)).toEqual([`POST ${target.origin}/v1/chat/completions`]);
    const direct = await run(["--base-url", `${target.origin}/v1`, "Say hello"], { ...env, NO_PROXY: "127.0.0.1" });
    expect(direct.stdout).toBe("Hello there!\n");
    expect(proxy.received).toHaveLength(1);
    expect(target.received).toHaveLength(2);
  });
});

describe("g4f-rx's openai client paths (--api responses, models) and redirects", () => {
  let target: TestServer | undefined;
  afterEach(async () => {
    await target?.close();
    target = undefined;
  });

  it("follow a 307 to another origin with neither the key nor OPENAI_CUSTOM_HEADERS' headers, where fetch sends the latter", async () => {
    const there = await startTestServer({ models: ["m-a"] });
    target = there;
    there.reply(responsesReply(responseEvents(["Hello"])));
    const origin = new URL(there.baseURL).origin;
    const moved = await serve((request, response) => {
      response.writeHead(307, { location: `${origin}${request.url ?? ""}` });
      response.end();
    });
    const env = { OPENAI_CUSTOM_HEADERS: "api-key: azure-secret" };
    const asked = await run(["--api", "responses", "--base-url", `${moved.origin}/v1`, "--api-key", "sk-secret", "Say hello"], env);
    expect(asked).toMatchObject({ code: 0, stdout: "Hello\n" });
    expect(asked.stderr).toContain(`redirects (HTTP 307) to ${origin}/v1/responses: another origin, so the api-key, authorization headers are not sent there`);
    const listed = await run(["models", "--base-url", `${moved.origin}/v1`, "--api-key", "sk-secret"], env);
    expect(listed).toMatchObject({ code: 0, stdout: "m-a\n" });
    expect(moved.received.map((request) => [request.url, request.headers.authorization, request.headers["api-key"]])).toEqual([
      ["/v1/responses", "Bearer sk-secret", "azure-secret"],
      ["/v1/models", "Bearer sk-secret", "azure-secret"],
    ]);
    expect(there.requests.map((request) => [request.path, request.headers.authorization, request.headers["api-key"]])).toEqual([
      ["/v1/responses", undefined, undefined],
      ["/v1/models", undefined, undefined],
    ]);
    expect(`${asked.stderr}${listed.stderr}`).not.toContain("secret");
  });
});

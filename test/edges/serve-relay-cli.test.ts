import { type ChildProcess, spawn } from "node:child_process";
import { type IncomingHttpHeaders, type Server, createServer } from "node:http";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import OpenAI from "openai";
import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import { firstValueFrom, toArray } from "rxjs";
import { fromResponsesEventStream } from "g4f-rx";
import { type TestServer, responseEvents, responsesReply, startTestServer, streamReply, textChunks } from "g4f-rx/testing";
import { type TestRedis, redisServerAvailable, startRedis } from "../support/redis.js";
import { type EndlessBodyServer, startEndlessBody } from "../support/endless-body.js";
import { closedPort } from "../cli/run-cli.js";
import { chatBody, eventually, readEvents, textOf } from "./support.js";

const BIN = fileURLToPath(new URL("../../dist/bin/g4f-rx.js", import.meta.url));
const PIECES = ["Two", " processes", ",", " one", " port", "."];
const RESPONSE_EVENTS = responseEvents(PIECES);
/** No HOME: the command then writes nothing under the real home directory (its code cache, conversations). */
const MINIMAL_ENV = { PATH: process.env.PATH ?? "" };

/** The error frame that ends a stream whose upstream went silent past serve's --idle-timeout 300, after three chunks. */
const STALLED = {
  error: { message: "The upstream stalled: no chunk for 300 ms after 3 chunks, so the relay aborted its request", type: "relay_error", code: "upstream-stalled" },
};

/** An upstream answer that sends a role chunk and two pieces of text, then stalls for a minute. */
const stallingReply = () => streamReply(textChunks(["Hello", " there"], { finishReason: null }), { then: [{ wait: 60_000 }] });

/** Runs the built command until it exits; resolves with its exit code and stderr. */
function run(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "ignore", "pipe"], env: MINIMAL_ENV });
  let stderr = "";
  child.stderr.on("data", (piece: Buffer) => (stderr += piece.toString()));
  return new Promise((resolve) => child.once("exit", (code) => resolve({ code, stderr })));
}

/** Starts `g4f-rx serve ARGS --port 0` (with `env` beside PATH); resolves once it listens, with its URL and the stderr so far. */
async function startServe(args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(process.execPath, [BIN, "serve", ...args, "--port", "0"], { stdio: ["ignore", "ignore", "pipe"], env: { ...MINIMAL_ENV, ...env } });
  let stderr = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on("data", (piece: Buffer) => {
      stderr += piece.toString();
      const match = / at (http:\/\/\S+)\/v1/.exec(stderr);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    child.once("exit", (code) => reject(new Error(`serve exited with ${String(code)}: ${stderr}`)));
  });
  return { child, url, stderr: () => stderr };
}

/** Sends SIGTERM and resolves with the exit code. */
function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.kill("SIGTERM");
  return exited;
}

describe("g4f-rx serve --upstream: request bodies", () => {
  let upstream: TestServer;
  beforeAll(async () => {
    upstream = await startTestServer();
    upstream.setDefaultReply(streamReply(textChunks(["Seen."])));
  });
  afterAll(async () => {
    await upstream.close();
  });

  it("takes --max-body, and by default the replay server's 8 MiB (a prompt with an image, say)", async () => {
    // 2 MB: more than the relay's old, undocumented 1 MiB.
    const big = chatBody("x".repeat(2_000_000));
    const relay = await startServe(["--upstream", upstream.baseURL]);
    try {
      const response = await fetch(`${relay.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: big });
      expect(response.status).toBe(200);
      expect(textOf(await readEvents(response))).toBe("Seen.");
    } finally {
      expect(await stop(relay.child)).toBe(0);
    }
    const small = await startServe(["--upstream", upstream.baseURL, "--max-body", "1000"]);
    try {
      const response = await fetch(`${small.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: chatBody("x".repeat(2000)) });
      expect(response.status).toBe(413);
      expect(await response.json()).toMatchObject({ error: { message: "The request body is larger than 1000 bytes" } });
    } finally {
      expect(await stop(small.child)).toBe(0);
    }
    expect(upstream.requests).toHaveLength(1);
  });
});

describe("g4f-rx serve --upstream URL?query (Azure's api-version)", () => {
  let upstream: TestServer;
  beforeAll(async () => {
    upstream = await startTestServer();
  });
  afterAll(async () => {
    await upstream.close();
  });

  it("keeps the query on every upstream request: streamed and whole chat, the Responses API, the model list", async () => {
    const whole = { id: "c", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: "Whole." }, finish_reason: "stop" }] };
    upstream.reply(streamReply(textChunks(["Seen."])), { headers: { "content-type": "application/json" }, body: [JSON.stringify(whole)] }, responsesReply(RESPONSE_EVENTS));
    const relay = await startServe(["--upstream", `${upstream.baseURL}?api-version=2024-10-21`]);
    try {
      const client = new OpenAI({ baseURL: `${relay.url}/v1`, apiKey: "none", maxRetries: 0 });
      const streamed = await fetch(`${relay.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: chatBody() });
      expect(textOf(await readEvents(streamed))).toBe("Seen.");
      const completion = await client.chat.completions.create({ model: "m", messages: [{ role: "user", content: "Hi" }] });
      expect(completion.choices[0]?.message.content).toBe("Whole.");
      const events: ResponseStreamEvent[] = [];
      for await (const event of await client.responses.create({ model: "gpt-5-mini", input: "Hi", stream: true })) events.push(event);
      expect(events).toEqual(RESPONSE_EVENTS);
      expect((await client.models.list()).data.map((model) => model.id)).toEqual(["gpt-4"]);
      expect(upstream.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
        "POST /v1/chat/completions?api-version=2024-10-21",
        "POST /v1/chat/completions?api-version=2024-10-21",
        "POST /v1/responses?api-version=2024-10-21",
        "GET /v1/models?api-version=2024-10-21",
      ]);
    } finally {
      expect(await stop(relay.child)).toBe(0);
    }
  });
});

describe("g4f-rx serve --upstream and a redirect to another origin", () => {
  let target: TestServer;
  let moved: Server;
  const toMoved: IncomingHttpHeaders[] = [];
  beforeAll(async () => {
    target = await startTestServer();
    // The upstream named by --upstream answers every request with a 307 to the same path on another port.
    moved = createServer((request, response) => {
      toMoved.push(request.headers);
      request.resume();
      request.on("end", () => response.writeHead(307, { location: `${target.url}${request.url ?? ""}` }).end());
    });
    await new Promise<void>((resolve) => moved.listen(0, "127.0.0.1", resolve));
  });
  afterAll(async () => {
    await target.close();
    await new Promise<void>((resolve) => moved.close(() => resolve()));
  });

  it("follows it without --upstream-key's Authorization or an OPENAI_CUSTOM_HEADERS header there, and says so on stderr", async () => {
    target.setDefaultReply(streamReply(textChunks(["Moved."])));
    const address = moved.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    const origin = `http://127.0.0.1:${String(address.port)}`;
    const relay = await startServe(["--upstream", `${origin}/v1`, "--upstream-key", "sk-secret"], { OPENAI_CUSTOM_HEADERS: "api-key: azure-secret\nX-Gateway-Token: gw-secret" });
    try {
      const streamed = await fetch(`${relay.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: chatBody() });
      expect(textOf(await readEvents(streamed))).toBe("Moved.");
      const client = new OpenAI({ baseURL: `${relay.url}/v1`, apiKey: "none", maxRetries: 0 });
      expect((await client.models.list()).data.map((model) => model.id)).toEqual(["gpt-4"]);
      expect(toMoved).toHaveLength(2);
      for (const headers of toMoved) expect(headers).toMatchObject({ authorization: "Bearer sk-secret", "api-key": "azure-secret", "x-gateway-token": "gw-secret" });
      expect(target.requests.map((request) => `${request.method} ${request.path}`)).toEqual(["POST /v1/chat/completions", "GET /v1/models"]);
      for (const { headers } of target.requests) {
        expect(headers.authorization).toBeUndefined();
        expect(headers["api-key"]).toBeUndefined();
        expect(headers["x-gateway-token"]).toBeUndefined();
      }
      await eventually(() => relay.stderr().includes("/v1/models redirects"), "the second note");
      expect(relay.stderr()).toContain(
        `g4f-rx relay: ${origin}/v1/chat/completions redirects (HTTP 307) to ${target.url}/v1/chat/completions: another origin, so the api-key, authorization, x-gateway-token headers are not sent there\n`,
      );
    } finally {
      expect(await stop(relay.child)).toBe(0);
    }
  });
});

describe("g4f-rx serve --upstream: the Responses API", () => {
  let upstream: TestServer;
  beforeAll(async () => {
    upstream = await startTestServer();
  });
  afterAll(async () => {
    await upstream.close();
  });

  it("relays POST /v1/responses to the real openai client's client.responses.create({ stream: true }), resumable by its x-stream-id", async () => {
    upstream.reply(responsesReply(RESPONSE_EVENTS));
    const relay = await startServe(["--upstream", upstream.baseURL]);
    try {
      const client = new OpenAI({ baseURL: `${relay.url}/v1`, apiKey: "none", maxRetries: 0 });
      const { data: stream, response } = await client.responses.create({ model: "gpt-5-mini", input: "Hi", stream: true }).withResponse();
      const events: ResponseStreamEvent[] = [];
      for await (const event of stream) events.push(event);
      expect(events).toEqual(RESPONSE_EVENTS);
      const id = response.headers.get("x-stream-id") ?? "";
      const resumed = await firstValueFrom(fromResponsesEventStream(`${relay.url}/v1/streams/${id}`, { headers: { "last-event-id": "3" } }).pipe(toArray()));
      expect(resumed).toEqual(RESPONSE_EVENTS.slice(3));
      expect(upstream.requests.map((request) => request.path)).toEqual(["/v1/responses"]);
    } finally {
      expect(await stop(relay.child)).toBe(0);
    }
  });
});

describe("g4f-rx serve --upstream and an upstream body that does not end", () => {
  let upstream: EndlessBodyServer | undefined;
  afterAll(async () => {
    await upstream?.close();
  });
  const whole = JSON.stringify({ model: "gpt-4", messages: [{ role: "user", content: "Hi" }] });

  it("passes an upstream error on with its status and the first 1 MiB of its body, and closes the upstream connection", async () => {
    upstream = await startEndlessBody(500, '{"error":{"message":"Overloaded: ', '"}}', 32, { "x-should-retry": "false" });
    const { sent } = upstream;
    const relay = await startServe(["--upstream", `${upstream.origin}/v1`]);
    try {
      const response = await fetch(`${relay.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: whole });
      expect(response.status).toBe(500);
      const { error } = (await response.json()) as { error: { message: string } };
      expect(error.message).toContain("Overloaded: aaaa");
      expect(error.message.length).toBeLessThan(1024 * 1024 + 100);
      await eventually(() => sent.cut, "the upstream connection closed");
      expect(sent.requests).toBe(1);
      expect(sent.written).toBeLessThan(32);
    } finally {
      expect(await stop(relay.child)).toBe(0);
      await upstream.close();
    }
  });

  // A whole answer longer than the relay's maxStreamLength (4 Mi by default): its stream would have been cut too.
  it.each([
    ["chat", "POST", "/v1/chat/completions", '{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"', '"},"finish_reason":"stop"}]}'],
    ["Responses", "POST", "/v1/responses", '{"id":"resp_1","object":"response","status":"completed","model":"m","output":[{"type":"message","role":"assistant","content":[{"type":"output_text","text":"', '"}]}]}'],
    ["models", "GET", "/v1/models", '{"object":"list","data":[{"id":"', '","object":"model"}]}'],
  ])("answers a whole %s answer past the relay's limit with a 502 saying why, and closes the upstream connection", async (_name, method, path, prefix, suffix) => {
    upstream = await startEndlessBody(200, prefix, suffix, 32);
    const { sent } = upstream;
    const relay = await startServe(["--upstream", `${upstream.origin}/v1`]);
    try {
      const body = path === "/v1/responses" ? JSON.stringify({ model: "m", input: "Hi" }) : whole;
      const response = await fetch(`${relay.url}${path}`, { method, headers: { "content-type": "application/json" }, ...(method === "POST" ? { body } : {}) });
      expect(response.status).toBe(502);
      expect(await response.json()).toEqual({
        error: { message: "The upstream's answer is longer than the relay's limit of 4194304 bytes (maxStreamLength), so the relay stopped reading it", type: "upstream_error" },
      });
      await eventually(() => sent.cut, "the upstream connection closed");
      expect(sent.written).toBeLessThan(32);
    } finally {
      expect(await stop(relay.child)).toBe(0);
      await upstream.close();
    }
  });
});

describe("g4f-rx serve --upstream --idle-timeout: an upstream that stalls", () => {
  let upstream: TestServer;
  beforeAll(async () => {
    upstream = await startTestServer();
  });
  afterAll(async () => {
    await upstream.close();
  });

  it("ends the stream for its readers with an upstream-stalled error frame after the text so far, and aborts the upstream request", async () => {
    upstream.reply(stallingReply());
    const relay = await startServe(["--upstream", upstream.baseURL, "--idle-timeout", "300"]);
    try {
      const startedAt = Date.now();
      const started = await fetch(`${relay.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: chatBody() });
      const id = started.headers.get("x-stream-id") ?? "";
      const resumed = readEvents(await fetch(`${relay.url}/v1/streams/${id}`, { headers: { "last-event-id": "1" } }));
      const events = await readEvents(started);
      // 300 ms of silence; the bound is wide because the machine is shared.
      expect(Date.now() - startedAt).toBeLessThan(10_000);
      expect(events.map((event) => event.id)).toEqual(["1", "2", "3", "4"]);
      expect(textOf(events.slice(0, -1))).toBe("Hello there");
      expect(JSON.parse(events.at(-1)?.data ?? "null")).toEqual(STALLED);
      expect(await resumed).toEqual(events.slice(1));
      await upstream.requests.at(-1)?.closed;
      expect(upstream.requests.at(-1)?.disconnected).toBe(true);
    } finally {
      expect(await stop(relay.child)).toBe(0);
    }
    expect(relay.stderr()).not.toContain("failed");
  });
});

describe("g4f-rx serve --upstream: listening beyond this machine", () => {
  it("warns that anyone who reaches it can spend the upstream's key and read streams, with --host 0.0.0.0", async () => {
    const relay = await startServe(["--upstream", "http://127.0.0.1:9/v1", "--upstream-key", "sk-test", "--host", "0.0.0.0"]);
    try {
      await eventually(() => relay.stderr().includes("Use --host 127.0.0.1"), "the warning");
      const port = new URL(relay.url).port;
      expect(relay.stderr()).toContain(
        `g4f-rx serve: listening on 0.0.0.0, beyond this machine: anyone who can reach it on port ${port} can send requests to http://127.0.0.1:9/v1 through it with your API key and read any stream whose id they know. Use --host 127.0.0.1 to keep it local.\n`,
      );
    } finally {
      expect(await stop(relay.child)).toBe(0);
    }
  });
});

describe("g4f-rx serve --upstream: usage errors", () => {
  it("refuses --workers above 1 without --redis, and relay flags without --upstream, with exit 2", async () => {
    const noRedis = await run(["serve", "--upstream", "http://127.0.0.1:9/v1", "--workers", "2", "--port", "0"]);
    expect(noRedis.code).toBe(2);
    expect(noRedis.stderr).toContain("--workers above 1 needs --redis URL");
    const noUpstream = await run(["serve", "--redis", "redis://127.0.0.1:9"]);
    expect(noUpstream.code).toBe(2);
    expect(noUpstream.stderr).toContain("--redis works only with --upstream URL");
    const badUrl = await run(["serve", "--upstream", "localhost:1337"]);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toContain("--upstream must be an http(s) URL");
  });

  it("refuses an --idle-timeout or --timeout a timer cannot hold, and either without --upstream, with exit 2", async () => {
    const [overflow, negative, noUpstream] = await Promise.all([
      run(["serve", "--upstream", "http://127.0.0.1:9/v1", "--idle-timeout", "1e99", "--port", "0"]),
      run(["serve", "--upstream", "http://127.0.0.1:9/v1", "--timeout", "-5", "--port", "0"]),
      run(["serve", "--timeout", "5000"]),
    ]);
    expect(overflow.code).toBe(2);
    expect(overflow.stderr).toBe('g4f-rx serve: --idle-timeout must be a number of milliseconds from 0 to 2147483647, got "1e99"\nRun g4f-rx serve --help for usage.\n');
    expect(negative.code).toBe(2);
    expect(negative.stderr).toContain('--timeout must be a number of milliseconds from 0 to 2147483647, got "-5"');
    expect(noUpstream.code).toBe(2);
    expect(noUpstream.stderr).toContain("--timeout works only with --upstream URL (a relay)");
  });

  it("says why when Redis cannot be reached, in one line, with exit 1", async () => {
    const port = await closedPort();
    const result = await run(["serve", "--upstream", "http://127.0.0.1:9/v1", "--redis", `redis://127.0.0.1:${port}`, "--port", "0"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`g4f-rx serve: could not start the relay: Could not connect to Redis at redis://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`);
  });

  it("refuses an --upstream with a user name or password with exit 2, without repeating the password", async () => {
    const result = await run(["serve", "--upstream", "http://user:pw-secret@127.0.0.1:9/v1", "--port", "0"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--upstream must not hold a user name or password (user:password@), which the openai client refuses: give http://127.0.0.1:9/v1 and the key with --upstream-key");
    expect(result.stderr).not.toContain("pw-secret");
  });

  it("never shows a Redis URL's password when Redis cannot be reached", async () => {
    const port = await closedPort();
    const unreachable = await run(["serve", "--upstream", "http://127.0.0.1:9/v1", "--redis", `redis://:pw-secret@127.0.0.1:${port}`, "--port", "0"]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toBe(`g4f-rx serve: could not start the relay: Could not connect to Redis at redis://:***@127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`);
  });

  it("says it once, not once per worker, when the workers cannot start", async () => {
    const port = await closedPort();
    const result = await run(["serve", "--upstream", "http://127.0.0.1:9/v1", "--redis", `redis://127.0.0.1:${port}`, "--workers", "2", "--port", "0"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`g4f-rx serve: could not start the relay: Could not connect to Redis at redis://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`);
  });
});

describe.runIf(redisServerAvailable())("g4f-rx serve --upstream URL --redis URL --workers 2", () => {
  let redis: TestRedis;
  let upstream: TestServer;

  beforeAll(async () => {
    redis = await startRedis();
    upstream = await startTestServer();
  });
  afterAll(async () => {
    await upstream.close();
    await redis.stop();
  });

  it("does not show the password of a Redis URL it serves through", async () => {
    const guarded = await startRedis("pw-secret");
    try {
      const relay = await startServe(["--upstream", upstream.baseURL, "--redis", guarded.url]);
      expect(relay.stderr()).toContain(`(streams shared through redis://:***@127.0.0.1:${String(guarded.port)})`);
      expect(relay.stderr()).not.toContain("pw-secret");
      expect(await stop(relay.child)).toBe(0);
    } finally {
      await guarded.stop();
    }
  });

  it("serves any stream from either worker on one port, and exits 0 on SIGTERM", async () => {
    upstream.setDefaultReply(streamReply(textChunks(PIECES), { delayMs: 10 }));
    const child = spawn(process.execPath, [BIN, "serve", "--upstream", upstream.baseURL, "--redis", redis.url, "--workers", "2", "--port", "0"], { stdio: ["ignore", "ignore", "pipe"], env: MINIMAL_ENV });
    let stderr = "";
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on("data", (piece: Buffer) => {
        stderr += piece.toString();
        const match = /at (http:\/\/\S+)\/v1 in 2 processes/.exec(stderr);
        if (match?.[1] !== undefined) resolve(match[1]);
      });
      child.once("exit", (code) => reject(new Error(`serve exited with ${String(code)}: ${stderr}`)));
    });
    // Each request is a new connection, which the cluster hands to the workers in turn: resumes cross processes.
    for (let round = 0; round < 4; round++) {
      const started = await fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: chatBody() });
      const id = started.headers.get("x-stream-id") ?? "";
      const before = await readEvents(started, 2);
      const after = await readEvents(await fetch(`${url}/v1/streams/${id}`, { headers: { "last-event-id": "2", connection: "close" } }));
      expect(textOf([...before, ...after])).toBe(PIECES.join(""));
      expect(after.at(-1)?.data).toBe("[DONE]");
    }
    expect(upstream.requests).toHaveLength(4);
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(stderr).toContain("g4f-rx serve: stopped.");
  });

  it("serves a Responses stream from either worker: a resume on the other process gets exactly the missed events, names and all", async () => {
    upstream.reply(responsesReply(RESPONSE_EVENTS, { delayMs: 20 }));
    const relay = await startServe(["--upstream", upstream.baseURL, "--redis", redis.url, "--workers", "2"]);
    try {
      const started = await fetch(`${relay.url}/v1/responses`, { method: "POST", headers: { "content-type": "application/json", connection: "close" }, body: JSON.stringify({ model: "gpt-5-mini", input: "Hi", stream: true }) });
      const id = started.headers.get("x-stream-id") ?? "";
      const before = await readEvents(started, 4);
      const after = await firstValueFrom(
        fromResponsesEventStream(`${relay.url}/v1/streams/${id}`, { headers: { "last-event-id": "4", connection: "close" } }).pipe(toArray()),
      );
      expect([...before.map((event) => JSON.parse(event.data) as unknown), ...after]).toEqual(RESPONSE_EVENTS);
    } finally {
      expect(await stop(relay.child)).toBe(0);
    }
  });

  it("tells the readers on every worker that the upstream stalled, with --idle-timeout", async () => {
    upstream.reply(stallingReply());
    const relay = await startServe(["--upstream", upstream.baseURL, "--redis", redis.url, "--workers", "2", "--idle-timeout", "300"]);
    try {
      // One reader where the stream runs, one resuming on the other worker (each request is a new connection).
      const started = await fetch(`${relay.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", connection: "close" }, body: chatBody() });
      const id = started.headers.get("x-stream-id") ?? "";
      const resumed = readEvents(await fetch(`${relay.url}/v1/streams/${id}`, { headers: { "last-event-id": "2", connection: "close" } }));
      const events = await readEvents(started);
      expect(textOf(events.slice(0, -1))).toBe("Hello there");
      expect(JSON.parse(events.at(-1)?.data ?? "null")).toEqual(STALLED);
      expect(await resumed).toEqual(events.slice(2));
      await upstream.requests.at(-1)?.closed;
      expect(upstream.requests.at(-1)?.disconnected).toBe(true);
    } finally {
      expect(await stop(relay.child)).toBe(0);
    }
  });

  it("tells the readers on every worker that the relay shut down, on SIGTERM, and ends their responses cleanly", async () => {
    upstream.setDefaultReply(streamReply(textChunks(PIECES), { delayMs: 2000 }));
    const relay = await startServe(["--upstream", upstream.baseURL, "--redis", redis.url, "--workers", "2"]);
    // One reader where the stream runs, one resuming on the other worker (each request is a new connection).
    const started = await fetch(`${relay.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", connection: "close" }, body: chatBody() });
    const id = started.headers.get("x-stream-id") ?? "";
    const resumed = await fetch(`${relay.url}/v1/streams/${id}`, { headers: { connection: "close" } });
    const readers = [readEvents(started), readEvents(resumed)];
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await stop(relay.child)).toBe(0);
    for (const events of await Promise.all(readers)) {
      expect(JSON.parse(events.at(-1)?.data ?? "{}")).toMatchObject({ error: { code: "shutdown" } });
    }
    expect(relay.stderr()).not.toContain("failed");
  });
});

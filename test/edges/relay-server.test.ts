import { createServer } from "node:http";
import type { Socket } from "node:net";
import OpenAI from "openai";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Relay, createRelayFetchHandler } from "g4f-rx";
import { type RelayServer, startRelayServer } from "g4f-rx/node";
import { type TestServer, startTestServer, streamReply, textChunks } from "g4f-rx/testing";
import { postWithHost } from "../support/host-header.js";
import { chatBody, eventually, readEvents, textOf } from "./support.js";

const PIECES = ["Hello", " there", "!", " How", " can", " I", " help", "?"];
const FULL = PIECES.join("");

let upstream: TestServer;
let relay: RelayServer;

beforeEach(async () => {
  upstream = await startTestServer();
  relay = await startRelayServer({ upstream: upstream.baseURL });
});

afterEach(async () => {
  await relay.close();
  await upstream.close();
});

const post = (headers: Record<string, string> = {}, body = chatBody()): Promise<Response> =>
  fetch(`${relay.baseURL}/chat/completions`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });

describe("startRelayServer (memory store)", () => {
  it("streams to the real openai client as any OpenAI endpoint would, naming the stream in x-stream-id", async () => {
    upstream.reply(streamReply(textChunks(PIECES)));
    const client = new OpenAI({ baseURL: relay.baseURL, apiKey: "none", maxRetries: 0 });
    const { data: stream, response } = await client.chat.completions.create({ model: "gpt-4", messages: [{ role: "user", content: "Hi" }], stream: true }).withResponse();
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toBe(FULL);
    expect(response.headers.get("x-stream-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(upstream.requests).toHaveLength(1);
  });

  it("numbers every frame, and a reader who disconnects resumes with Last-Event-ID: exactly the frames it missed, with no second upstream request", async () => {
    upstream.reply(streamReply(textChunks(PIECES), { delayMs: 40 }));
    const first = await post();
    const id = first.headers.get("x-stream-id") ?? "";
    const before = await readEvents(first, 3);
    expect(before.map((event) => event.id)).toEqual(["1", "2", "3"]);

    const resumed = await fetch(`${relay.baseURL}/streams/${id}`, { headers: { "last-event-id": "3" } });
    expect(resumed.status).toBe(200);
    expect(resumed.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const after = await readEvents(resumed);
    const ids = [...before, ...after].map((event) => Number(event.id));
    expect(ids).toEqual(Array.from({ length: ids.length }, (_, index) => index + 1));
    expect(after.at(-1)?.data).toBe("[DONE]");
    expect(textOf([...before, ...after])).toBe(FULL);
    // The reader's disconnect did not reach upstream: one request, answered to its end.
    expect(upstream.requests).toHaveLength(1);
    await upstream.requests[0]?.closed;
    expect(upstream.requests[0]?.disconnected).toBe(false);
  });

  it("replays from the start without Last-Event-ID, to several readers at once", async () => {
    upstream.reply(streamReply(textChunks(PIECES), { delayMs: 20 }));
    const first = await post({ "x-stream-id": "chosen-id" });
    expect(first.headers.get("x-stream-id")).toBe("chosen-id");
    const [a, b, c] = await Promise.all([readEvents(first), fetch(`${relay.baseURL}/streams/chosen-id`).then((r) => readEvents(r)), fetch(`${relay.baseURL}/streams/chosen-id?after=2`).then((r) => readEvents(r))]);
    expect(textOf(a)).toBe(FULL);
    expect(b).toEqual(a);
    expect(c).toEqual(a.slice(2));
    expect(upstream.requests).toHaveLength(1);
  });

  it("stops through its route: the upstream request is aborted and readers see a clean end with the text so far", async () => {
    upstream.reply(streamReply(textChunks(["Hello", " there"], { finishReason: null }), { then: [{ wait: 60_000 }] }));
    const reading = await post({ "x-stream-id": "to-stop" });
    const events = readEvents(reading);
    await eventually(() => upstream.requests.length === 1, "the upstream request");
    const stop = await fetch(`${relay.baseURL}/streams/to-stop/stop`, { method: "POST" });
    expect(await stop.json()).toEqual({ id: "to-stop", stopped: true });
    const read = await events;
    expect(read.at(-1)?.data).toBe("[DONE]");
    await upstream.requests[0]?.closed;
    expect(upstream.requests[0]?.disconnected).toBe(true);
    // A late reader gets the same stopped stream; stopping again says it had ended.
    expect(await fetch(`${relay.baseURL}/streams/to-stop`).then((r) => readEvents(r))).toEqual(read);
    expect(await fetch(`${relay.baseURL}/streams/to-stop/stop`, { method: "POST" }).then((r) => r.json())).toEqual({ id: "to-stop", stopped: false });
  });

  it("answers 204 once an ended stream has nothing left, which stops EventSource reconnecting", async () => {
    upstream.reply(streamReply(textChunks(["Hi"])));
    const events = await readEvents(await post({ "x-stream-id": "ended" }));
    const last = events.at(-1)?.id ?? "";
    const again = await fetch(`${relay.baseURL}/streams/ended`, { headers: { "last-event-id": last } });
    expect(again.status).toBe(204);
  });

  it("gives clear errors: unknown stream 404, taken id 409, bad Last-Event-ID or body 400, wrong method 405", async () => {
    upstream.setDefaultReply(streamReply(textChunks(["Hi"])));
    const unknown = await fetch(`${relay.baseURL}/streams/nope`);
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain('No stream \\"nope\\"');
    expect((await fetch(`${relay.baseURL}/streams/nope/stop`, { method: "POST" })).status).toBe(404);
    await readEvents(await post({ "x-stream-id": "taken" }));
    const taken = await post({ "x-stream-id": "taken" });
    expect(taken.status).toBe(409);
    expect((await fetch(`${relay.baseURL}/streams/taken`, { headers: { "last-event-id": "abc" } })).status).toBe(400);
    const notJson = await post({}, "{nope");
    expect(notJson.status).toBe(400);
    expect(await notJson.text()).toContain("not JSON");
    expect((await post({}, JSON.stringify({ model: "gpt-4" }))).status).toBe(400);
    expect((await post({ "x-stream-id": "bad id!" })).status).toBe(400);
    expect((await fetch(`${relay.baseURL}/streams/taken`, { method: "DELETE" })).status).toBe(405);
    expect((await fetch(`${relay.url}/elsewhere`)).status).toBe(404);
  });

  it("passes a request without stream: true through", async () => {
    const completion = { id: "c1", object: "chat.completion", created: 1, model: "gpt-4", choices: [{ index: 0, message: { role: "assistant", content: "Whole" }, finish_reason: "stop", logprobs: null }] };
    upstream.reply({ headers: { "content-type": "application/json" }, body: [JSON.stringify(completion)] });
    const response = await post({}, chatBody("Hi", { stream: false }));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(completion);
  });

  it("passes the upstream's model list on at GET /v1/models, so client.models.list() works against the relay", async () => {
    const client = new OpenAI({ baseURL: relay.baseURL, apiKey: "none", maxRetries: 0 });
    const models = [];
    for await (const model of client.models.list()) models.push(model.id);
    expect(models).toStrictEqual(["gpt-4"]);
    expect((await fetch(`${relay.baseURL}/models`, { method: "POST" })).status).toBe(405);
  });
});

describe("startRelayServer with an upstream that stalls (memory store)", () => {
  // A short limit, bounds wide enough for a loaded machine: the stall must end in seconds, not never.
  const STALLED = "The upstream stalled: no chunk for 300 ms after 3 chunks, so the relay aborted its request";

  it("ends the stream for every reader with an upstream-stalled error frame, keeps what came before, aborts the upstream request and frees the stream", async () => {
    const limited = await startRelayServer({ upstream: upstream.baseURL, upstreamTimeout: { first: 10_000, idle: 300 } });
    try {
      upstream.reply(streamReply(textChunks(["Hello", " there"], { finishReason: null }), { then: [{ wait: 60_000 }] }));
      const startedAt = Date.now();
      const started = await fetch(`${limited.baseURL}/chat/completions`, { method: "POST", headers: { "content-type": "application/json", "x-stream-id": "stalls" }, body: chatBody() });
      const fromStart = readEvents(started);
      const resumed = readEvents(await fetch(`${limited.baseURL}/streams/stalls`, { headers: { "last-event-id": "1" } }));
      const events = await fromStart;
      expect(Date.now() - startedAt).toBeLessThan(10_000);
      // The role chunk and two pieces, numbered, then the error frame that ends the stream.
      expect(events.map((event) => event.id)).toEqual(["1", "2", "3", "4"]);
      expect(textOf(events.slice(0, -1))).toBe("Hello there");
      expect(JSON.parse(events.at(-1)?.data ?? "null")).toEqual({ error: { message: STALLED, type: "relay_error", code: "upstream-stalled" } });
      expect(await resumed).toEqual(events.slice(1));
      await upstream.requests[0]?.closed;
      expect(upstream.requests[0]?.disconnected).toBe(true);
      expect(await limited.relay.info("stalls")).toMatchObject({ status: "failed" });
      expect(limited.relay.running).toBe(0);
      // Later, the same end; a stop says it had ended.
      expect(await fetch(`${limited.baseURL}/streams/stalls`).then((r) => readEvents(r))).toEqual(events);
      expect(await fetch(`${limited.baseURL}/streams/stalls/stop`, { method: "POST" }).then((r) => r.json())).toEqual({ id: "stalls", stopped: false });
    } finally {
      await limited.close();
    }
  });

  it("gives up on an upstream that sends nothing at all within the first-chunk limit", async () => {
    const limited = await startRelayServer({ upstream: upstream.baseURL, upstreamTimeout: { first: 300 } });
    try {
      upstream.reply({ ...streamReply(textChunks(["Too late"])), headersAfterMs: 60_000 });
      const events = await readEvents(await fetch(`${limited.baseURL}/chat/completions?format=ui-message`, { method: "POST", headers: { "content-type": "application/json" }, body: chatBody() }));
      expect(events.map((event) => event.data)).toEqual([JSON.stringify({ type: "error", errorText: "The upstream stalled: no first chunk within 300 ms, so the relay aborted its request" }), "[DONE]"]);
      await upstream.requests[0]?.closed;
      expect(upstream.requests[0]?.disconnected).toBe(true);
    } finally {
      await limited.close();
    }
  });

  it("refuses an upstreamTimeout a timer cannot hold, before it listens", async () => {
    await expect(startRelayServer({ upstream: upstream.baseURL, upstreamTimeout: { idle: 2 ** 31 } })).rejects.toThrow(/upstreamTimeout.idle must be a number of milliseconds above 0 up to 2147483647/);
  });
});

describe("startRelayServer and DNS rebinding", () => {
  it("on a loopback address, refuses a request addressed to another name with a 403, sending nothing upstream; answers localhost and 127.0.0.1", async () => {
    const port = new URL(relay.url).port;
    const refused = await postWithHost(`${relay.baseURL}/chat/completions`, `attacker.example:${port}`, chatBody());
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: "host_not_allowed" } });
    expect(refused.body).toContain("DNS rebinding");
    expect(upstream.requests).toHaveLength(0);
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`]) {
      upstream.reply(streamReply(textChunks(PIECES)));
      const answered = await postWithHost(`${relay.baseURL}/chat/completions`, host, chatBody());
      expect([host, answered.status]).toEqual([host, 200]);
      expect(answered.body).toContain("data: [DONE]");
    }
  });

  it("listening beyond this machine (0.0.0.0), answers any name it is reached by", async () => {
    const open = await startRelayServer({ upstream: upstream.baseURL, host: "0.0.0.0" });
    try {
      upstream.reply(streamReply(textChunks(PIECES)));
      const answered = await postWithHost(`${open.baseURL}/chat/completions`, "relay.example", chatBody());
      expect(answered.status).toBe(200);
    } finally {
      await open.close();
    }
  });
});

describe("startRelayServer's CORS, the replay server's rule", () => {
  const preflight = (base: string, path: string, origin: string): Promise<Response> =>
    fetch(`${base}${path}`, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type, x-stream-id, last-event-id" } });

  it("lets pages served from this machine call it by default, and exposes x-stream-id to them", async () => {
    const allowed = await preflight(relay.baseURL, "/chat/completions", "http://localhost:5173");
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    expect(allowed.headers.get("access-control-allow-headers")).toBe("content-type, x-stream-id, last-event-id");
    expect((await preflight(relay.baseURL, "/streams/any-id", "http://127.0.0.1:3000")).status).toBe(204);

    upstream.reply(streamReply(textChunks(PIECES)));
    const answer = await post({ origin: "http://localhost:5173" });
    expect(answer.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    expect(answer.headers.get("access-control-expose-headers")).toBe("x-stream-id");
    expect(textOf(await readEvents(answer))).toBe(FULL);
  });

  it("refuses other origins' preflights with a 403 that names the option, and sends them no CORS header", async () => {
    const refused = await preflight(relay.baseURL, "/chat/completions", "https://evil.example");
    expect(refused.status).toBe(403);
    expect(refused.headers.get("access-control-allow-origin")).toBeNull();
    const body = (await refused.json()) as { error: { message: string; code: string } };
    expect(body.error.message).toContain("--cors https://evil.example");
    expect(body.error.code).toBe("cors_origin_not_allowed");
  });

  it("allows exactly the origins given, or any with *, and answers OPTIONS only on its own routes", async () => {
    const listed = await startRelayServer({ upstream: upstream.baseURL, cors: ["https://app.example/"] });
    const any = await startRelayServer({ upstream: upstream.baseURL, cors: ["*"] });
    try {
      expect((await preflight(listed.baseURL, "/chat/completions", "https://app.example")).status).toBe(204);
      expect((await preflight(listed.baseURL, "/chat/completions", "http://localhost:5173")).status).toBe(403);
      const anywhere = await preflight(any.baseURL, "/streams/x/stop", "https://anywhere.example");
      expect(anywhere.status).toBe(204);
      expect(anywhere.headers.get("access-control-allow-origin")).toBe("https://anywhere.example");
      expect((await preflight(any.baseURL, "/not-the-relay", "https://anywhere.example")).status).toBe(404);
    } finally {
      await listed.close();
      await any.close();
    }
  });
});

describe("startRelayServer against an upstream that closes idle connections", () => {
  it("sends a request again when the pooled connection it went out on was closed under it, so no stream fails for it", async () => {
    // Each connection answers one request; a second one arriving on it finds it closed, as when the upstream's
    // keep-alive timeout fires just as the relay reuses the connection (seen as "Connection error." under load).
    const served = new WeakSet<Socket>();
    let closedUnderRequest = 0;
    const closing = createServer((req, res) => {
      if (served.has(req.socket)) {
        closedUnderRequest++;
        req.socket.destroy();
        return;
      }
      served.add(req.socket);
      res.writeHead(200, { "content-type": "text/event-stream" });
      for (const chunk of textChunks(PIECES)) res.write(`data: ${JSON.stringify(chunk)}\n\n`);
      res.end("data: [DONE]\n\n");
    });
    await new Promise<void>((resolve) => closing.listen(0, "127.0.0.1", resolve));
    const address = closing.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    const proxy = await startRelayServer({ upstream: `http://127.0.0.1:${address.port}/v1` });
    try {
      for (let i = 0; i < 2; i++) {
        const response = await fetch(`${proxy.baseURL}/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: chatBody() });
        expect(textOf(await readEvents(response))).toBe(FULL);
      }
      expect(closedUnderRequest).toBe(1);
    } finally {
      await proxy.close();
      closing.closeAllConnections();
      await new Promise((resolve) => closing.close(resolve));
    }
  });
});

describe("createRelayFetchHandler (web-standard Request/Response)", () => {
  it("starts, resumes after Last-Event-ID and stops, as the Node handler does", async () => {
    upstream.reply(streamReply(textChunks(PIECES), { delayMs: 20 }));
    const client = new OpenAI({ baseURL: upstream.baseURL, apiKey: "none", maxRetries: 0 });
    const handle = createRelayFetchHandler({ relay: new Relay(), upstream: client });
    const started = await handle(new Request("http://relay.test/v1/chat/completions", { method: "POST", headers: { "x-stream-id": "web" }, body: chatBody() }));
    expect(started.headers.get("x-stream-id")).toBe("web");
    const before = await readEvents(started, 2);
    const resumed = await handle(new Request("http://relay.test/v1/streams/web", { headers: { "last-event-id": "2" } }));
    const after = await readEvents(resumed);
    expect(textOf([...before, ...after])).toBe(FULL);
    expect([...before, ...after].map((event) => event.id)).toEqual([...before, ...after].map((_, index) => String(index + 1)));
    expect((await handle(new Request("http://relay.test/v1/streams/missing"))).status).toBe(404);
    expect(await (await handle(new Request("http://relay.test/v1/streams/web/stop", { method: "POST" }))).json()).toEqual({ id: "web", stopped: false });
    expect(upstream.requests).toHaveLength(1);
  });

  it("refuses a body past maxBodyBytes with 413 as soon as it passes the limit, without reading the rest", async () => {
    // A 64 MiB upload, 64 KiB a pull: request.text() used to take all of it into memory before the limit was checked.
    let pulls = 0;
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulls += 1;
        if (pulls > 1024) controller.close();
        else controller.enqueue(new Uint8Array(64 * 1024).fill(32));
      },
      cancel() {
        cancelled = true;
      },
    });
    const client = new OpenAI({ baseURL: upstream.baseURL, apiKey: "none", maxRetries: 0 });
    const handle = createRelayFetchHandler({ relay: new Relay(), upstream: client, maxBodyBytes: 100_000 });
    // Node asks a streamed body to say it is sent half-duplex; TypeScript's RequestInit does not know the option yet.
    const init: RequestInit & { duplex: "half" } = { method: "POST", body, duplex: "half" };
    const answer = await handle(new Request("http://relay.test/v1/chat/completions", init));
    expect(answer.status).toBe(413);
    expect(await answer.json()).toMatchObject({ error: { message: "The request body is larger than 100000 bytes" } });
    expect(cancelled).toBe(true);
    // The pieces up to the limit, and the few the stream queued ahead of the reads.
    expect(pulls).toBeLessThan(10);
    expect(upstream.requests).toHaveLength(0);
  });
});

describe("startRelayServer's notes on redirects", () => {
  it("tells onNote, not stderr, each redirect the upstream client follows and what it kept from another origin", async () => {
    // An upstream that answers with a 307 to the same path on the test server (another origin: another port).
    const moved = createServer((request, response) => {
      request.resume();
      request.on("end", () => response.writeHead(307, { location: `${upstream.url}${request.url ?? ""}` }).end());
    });
    await new Promise<void>((resolve) => moved.listen(0, "127.0.0.1", resolve));
    const address = moved.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    const origin = `http://127.0.0.1:${String(address.port)}`;
    const notes: string[] = [];
    const written: unknown[] = [];
    const { error } = console;
    console.error = (...args: unknown[]) => written.push(args);
    const noted = await startRelayServer({ upstream: `${origin}/v1`, apiKey: "sk-secret", onNote: (text) => notes.push(text) });
    try {
      upstream.setDefaultReply(streamReply(textChunks(["Moved."])));
      const answer = await fetch(`${noted.baseURL}/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: chatBody() });
      expect(textOf(await readEvents(answer))).toBe("Moved.");
      expect(notes).toStrictEqual([`${origin}/v1/chat/completions redirects (HTTP 307) to ${upstream.url}/v1/chat/completions: another origin, so the authorization header is not sent there`]);
      expect(upstream.requests[0]?.headers.authorization).toBeUndefined();
      expect(written).toStrictEqual([]);
    } finally {
      console.error = error;
      await noted.close();
      await new Promise<void>((resolve) => moved.close(() => resolve()));
    }
  });
});

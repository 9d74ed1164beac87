import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { Subject, firstValueFrom } from "rxjs";
import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import { Relay, StreamErrorFrameError, fromResponsesEventStream } from "g4f-rx";
import { Redis } from "ioredis";
import { type RelayServer, RedisRelayStore, startRelayServer } from "g4f-rx/node";
import { type TestServer, responseEvents, responsesReply, startTestServer, streamReply, textChunks } from "g4f-rx/testing";
import { type TestRedis, redisServerAvailable, startRedis } from "../support/redis.js";
import { chatBody, eventually, readEvents, textOf } from "./support.js";

const PIECES = ["One", " two", " three", " four", " five", " six", " seven", " eight"];
const RELAY_PROCESS = fileURLToPath(new URL("./fixtures/relay-process.ts", import.meta.url));

interface RelayProcess {
  readonly url: string;
  readonly child: ChildProcess;
}

/** Starts a relay in a process of its own, sharing `redis`, and resolves with its URL. */
function spawnRelay(upstream: string, redis: string): Promise<RelayProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", RELAY_PROCESS], {
    env: { ...process.env, UPSTREAM: upstream, REDIS: redis, LEASE_MS: "1000" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let output = "";
    child.stdout?.on("data", (piece: Buffer) => {
      output += piece.toString();
      const line = output.split("\n")[0];
      if (output.includes("\n") && line !== undefined) resolve({ url: line, child });
    });
    child.once("exit", (code) => reject(new Error(`the relay process exited with code ${String(code)}`)));
  });
}

function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

describe.runIf(redisServerAvailable())("relays sharing a real redis-server", () => {
  let redis: TestRedis;
  let upstream: TestServer;
  let relays: RelayProcess[] = [];

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });
  beforeEach(async () => {
    upstream = await startTestServer();
    relays = await Promise.all([spawnRelay(upstream.baseURL, redis.url), spawnRelay(upstream.baseURL, redis.url)]);
  });
  afterEach(async () => {
    await Promise.all(relays.map((relay) => stopProcess(relay.child)));
    await upstream.close();
  });

  const start = (relay: RelayProcess, id: string): Promise<Response> =>
    fetch(`${relay.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", "x-stream-id": id }, body: chatBody() });

  it("resumes on the other process: a reader that reconnects there with Last-Event-ID gets exactly the frames it missed", async () => {
    const [first, second] = relays;
    if (first === undefined || second === undefined) throw new Error("two relays expected");
    upstream.reply(streamReply(textChunks(PIECES), { delayMs: 40 }));
    const before = await readEvents(await start(first, "cross"), 3);
    const resumed = await fetch(`${second.url}/v1/streams/cross`, { headers: { "last-event-id": "3" } });
    expect(resumed.status).toBe(200);
    const after = await readEvents(resumed);
    const all = [...before, ...after];
    expect(all.map((event) => event.id)).toEqual(all.map((_, index) => String(index + 1)));
    expect(after.at(-1)?.data).toBe("[DONE]");
    expect(textOf(all)).toBe(PIECES.join(""));
    expect(upstream.requests).toHaveLength(1);
    // Both processes serve the finished stream whole, and say so with 204 once nothing is left.
    expect(await fetch(`${first.url}/v1/streams/cross`).then((r) => readEvents(r))).toEqual(all);
    expect((await fetch(`${second.url}/v1/streams/cross`, { headers: { "last-event-id": String(all.length) } })).status).toBe(204);
  });

  it("ends a reader that resumed past the last frame when the stream ends, as the memory store does", async () => {
    const [first, second] = relays;
    if (first === undefined || second === undefined) throw new Error("two relays expected");
    upstream.reply(streamReply(textChunks(PIECES), { delayMs: 40 }));
    const started = await start(first, "ahead");
    const resumed = await fetch(`${second.url}/v1/streams/ahead`, { headers: { "last-event-id": "50" } });
    expect(resumed.status).toBe(200);
    // Nothing after frame 50, and the response ends with the stream (it waited for more until then).
    expect(await readEvents(resumed)).toEqual([]);
    expect(textOf(await readEvents(started))).toBe(PIECES.join(""));
  });

  it("stops through the other process: the owner aborts the upstream request and every reader ends cleanly", async () => {
    const [first, second] = relays;
    if (first === undefined || second === undefined) throw new Error("two relays expected");
    upstream.reply(streamReply(textChunks(["Hello", " there"], { finishReason: null }), { then: [{ wait: 60_000 }] }));
    const onOwner = readEvents(await start(first, "stop-me"));
    await eventually(() => upstream.requests.length === 1, "the upstream request");
    const onOther = readEvents(await fetch(`${second.url}/v1/streams/stop-me`));
    const stop = await fetch(`${second.url}/v1/streams/stop-me/stop`, { method: "POST" });
    expect(await stop.json()).toEqual({ id: "stop-me", stopped: true });
    const [a, b] = await Promise.all([onOwner, onOther]);
    expect(a.at(-1)?.data).toBe("[DONE]");
    expect(b).toEqual(a);
    await upstream.requests[0]?.closed;
    expect(upstream.requests[0]?.disconnected).toBe(true);
  });

  it("ends the stream with a clear error frame, within a bounded time, when its owner is killed with SIGKILL", async () => {
    const [first, second] = relays;
    if (first === undefined || second === undefined) throw new Error("two relays expected");
    upstream.reply(streamReply(textChunks(["Hello", " there"], { finishReason: null }), { then: [{ wait: 60_000 }] }));
    await readEvents(await start(first, "orphan"), 2);
    const onOther = readEvents(await fetch(`${second.url}/v1/streams/orphan`));
    const killedAt = Date.now();
    first.child.kill("SIGKILL");
    const events = await onOther;
    // Lease 1 s: readers learn within about 1.5 s; the bound here is wide because the machine is shared.
    expect(Date.now() - killedAt).toBeLessThan(15_000);
    const last = events.at(-1);
    expect(JSON.parse(last?.data ?? "null")).toEqual({
      error: { message: "The process running this stream stopped answering (its lease ran out), so the stream ends here", type: "relay_error", code: "owner-lost" },
    });
    expect(textOf(events.slice(0, -1))).toBe("Hello there");
    expect(events.map((event) => event.id)).toEqual(events.map((_, index) => String(index + 1)));
    // A later reader sees the same end, and a stop is answered as for an ended stream.
    const later = await fetch(`${second.url}/v1/streams/orphan`);
    expect(later.status).toBe(200);
    expect(await readEvents(later)).toEqual(events);
    expect(await fetch(`${second.url}/v1/streams/orphan/stop`, { method: "POST" }).then((r) => r.json())).toEqual({ id: "orphan", stopped: false });
  });

  it("ends a Responses stream whose owner is killed with an event: error frame (owner-lost) that fromResponsesEventStream raises, after the events before it", async () => {
    const [first, second] = relays;
    if (first === undefined || second === undefined) throw new Error("two relays expected");
    const events = responseEvents(["Hello", " there"], { end: null });
    upstream.reply(responsesReply(events, { then: [{ wait: 60_000 }] }));
    const started = await fetch(`${first.url}/v1/responses`, { method: "POST", headers: { "content-type": "application/json", "x-stream-id": "orphan-responses" }, body: JSON.stringify({ model: "gpt-5-mini", input: "Hi", stream: true }) });
    await readEvents(started, events.length);
    const seen: ResponseStreamEvent[] = [];
    const ended = new Promise<unknown>((resolve) =>
      fromResponsesEventStream(`${second.url}/v1/streams/orphan-responses`).subscribe({ next: (event) => seen.push(event), error: resolve, complete: () => resolve(undefined) }),
    );
    first.child.kill("SIGKILL");
    const error = await ended;
    expect(seen).toEqual(events);
    expect(error).toBeInstanceOf(StreamErrorFrameError);
    expect(error instanceof StreamErrorFrameError ? error.error : undefined).toMatchObject({ type: "relay_error", code: "owner-lost" });
    expect(error instanceof Error ? error.message : "").toContain("The process running this stream stopped answering");
  });

  it("gives the connection of a reader that leaves mid-stream back to the pool, rather than connecting anew for the next", async () => {
    // A server whose clients come and go: each reader that left used to cost a new connection to Redis.
    const store = await RedisRelayStore.connect(redis.url, { prefix: "churn-test:" });
    const relay = new Relay({ store });
    const admin = new Redis(redis.url);
    const connections = async (): Promise<number> => Number(/total_connections_received:(\d+)/.exec(await admin.info("stats"))?.[1]);
    const blocked = async (): Promise<number> => Number(/blocked_clients:(\d+)/.exec(await admin.info("clients"))?.[1]);
    const source = new Subject<ChatCompletionChunk>();
    const chunks = textChunks(Array.from({ length: 30 }, (_, index) => `w${index} `));
    try {
      const id = await relay.start(source);
      source.next(chunks[0]!);
      const before = await connections();
      for (let reader = 1; reader <= 20; reader += 1) {
        await firstValueFrom(relay.read(id));
        // Gone while its connection waits in XREAD; the next frame answers that.
        source.next(chunks[reader]!);
        await eventually(async () => (await blocked()) === 0, "the left reader's XREAD to answer");
      }
      // A connection for the first reader, and a few more at most should a reader come before one was given back.
      expect((await connections()) - before).toBeLessThanOrEqual(4);
      source.complete();
      await eventually(async () => (await relay.info(id))?.status === "done", "the stream to end");
    } finally {
      admin.disconnect();
      await relay.close();
    }
  });

  it("writes the end of a stream that finished just before close(), before the store closes", async () => {
    const relay = new Relay({ store: await RedisRelayStore.connect(redis.url, { prefix: "end-test:" }) });
    const source = new Subject<ChatCompletionChunk>();
    const id = await relay.start(source);
    for (const chunk of textChunks(["Last", " words"])) source.next(chunk);
    source.complete();
    await relay.close();
    const check = await RedisRelayStore.connect(redis.url, { prefix: "end-test:" });
    try {
      expect(await check.info(id)).toMatchObject({ status: "done" });
    } finally {
      await check.close();
    }
  });

  it("drops a finished stream after its time-to-live", async () => {
    const store = await RedisRelayStore.connect(redis.url, { ttlMs: 200, prefix: "ttl-test:" });
    const relay = new Relay({ store });
    try {
      upstream.reply(streamReply(textChunks(["Hi"])));
      const { default: OpenAI } = await import("openai");
      const { fromChatCompletion } = await import("g4f-rx");
      const id = await relay.start(fromChatCompletion(new OpenAI({ baseURL: upstream.baseURL, apiKey: "none" }), { model: "gpt-4", messages: [{ role: "user", content: "Hi" }] }));
      await eventually(async () => (await relay.info(id))?.status === "done", "the stream to finish");
      await eventually(async () => (await relay.info(id)) === undefined, "the stream to expire", 5_000);
    } finally {
      await relay.close();
    }
  });
});

describe.runIf(redisServerAvailable())("a relay whose redis-server fails under it", () => {
  let redis: TestRedis;
  let upstream: TestServer;
  let relay: RelayServer;

  beforeEach(async () => {
    redis = await startRedis();
    upstream = await startTestServer();
    relay = await startRelayServer({ upstream: upstream.baseURL, redis: redis.url, leaseMs: 1000 });
  });
  afterEach(async () => {
    await relay.close();
    await upstream.close();
    await redis.stop();
  });

  const start = (): Promise<Response> => fetch(`${relay.baseURL}/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: chatBody() });

  it("tells a reader that Redis went away in a last frame without an id, answers 503 naming Redis, and still shuts down cleanly", async () => {
    upstream.reply(streamReply(textChunks(["Hello", " there"], { finishReason: null }), { then: [{ wait: 60_000 }] }));
    const started = await start();
    const id = started.headers.get("x-stream-id") ?? "";
    const reading = readEvents(started);
    // The role chunk and two pieces of text, all in Redis.
    const received = readEvents(await fetch(`${relay.baseURL}/streams/${id}`), 3);
    expect(textOf(await received)).toBe("Hello there");
    await redis.stop();
    const events = await reading;
    // What arrived is kept; the last frame says why the stream stops here, and has no id, so a reader may resume later.
    expect(events.slice(0, -1).map((event) => event.id)).toEqual(["1", "2", "3"]);
    expect(textOf(events.slice(0, -1))).toBe("Hello there");
    expect(events.at(-1)?.id).toBeUndefined();
    const unreachable = `Redis cannot be reached: connect ECONNREFUSED 127.0.0.1:${redis.port}`;
    expect(JSON.parse(events.at(-1)?.data ?? "null")).toEqual({
      error: { message: `The relay could not read this stream further: ${unreachable}`, type: "relay_error", code: "store-failed" },
    });
    const refused = await start();
    expect(refused.status).toBe(503);
    expect(await refused.json()).toEqual({ error: { message: `The relay's store failed: ${unreachable}`, type: "server_error" } });
    // Closing with Redis gone neither fails nor waits for it.
    await relay.close();
  });

  it("ends a stream whose frames Redis refuses (out of memory) for its readers, rather than renew its lease forever", async () => {
    upstream.reply(streamReply(textChunks(Array.from({ length: 200 }, (_, index) => ` ${index}`)), { delayMs: 20 }));
    const started = await start();
    const id = started.headers.get("x-stream-id") ?? "";
    const reading = readEvents(started);
    await eventually(async () => ((await relay.relay.info(id))?.frames ?? 0) >= 2, "the first frames in Redis");
    const admin = new Redis(redis.url);
    try {
      await admin.config("SET", "maxmemory", "1");
      const events = await reading;
      expect(events.slice(0, -1).map((event) => event.id)).toEqual(events.slice(0, -1).map((_, index) => String(index + 1)));
      const last: unknown = JSON.parse(events.at(-1)?.data ?? "null");
      expect(last).toMatchObject({ error: { type: "relay_error", code: "store-failed" } });
      expect(JSON.stringify(last)).toContain("Redis refused a command: OOM command not allowed");
      await upstream.requests[0]?.closed;
      expect(upstream.requests[0]?.disconnected).toBe(true);
      await admin.config("SET", "maxmemory", "0");
      // Nobody renews the stream any more: its lease is gone and its keys expire.
      expect(await admin.exists(`g4f-rx:relay:{${id}}:lease`)).toBe(0);
      expect(await admin.pttl(`g4f-rx:relay:{${id}}:meta`)).toBeGreaterThan(0);
    } finally {
      admin.disconnect();
    }
  });
});

describe.runIf(redisServerAvailable())("relays sharing a real redis-server, under an upstream that stalls", () => {
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

  it("tells the readers on both relays that the upstream stalled, aborts its request, and lets the stream's keys expire", async () => {
    // The owner gives up after 300 ms of silence; the other relay only reads. Bounds are wide: the machine is shared.
    const owner = await startRelayServer({ upstream: upstream.baseURL, redis: redis.url, leaseMs: 1000, upstreamTimeout: { first: 10_000, idle: 300 } });
    const other = await startRelayServer({ upstream: upstream.baseURL, redis: redis.url, leaseMs: 1000 });
    const admin = new Redis(redis.url);
    try {
      upstream.reply(streamReply(textChunks(["Hello", " there"], { finishReason: null }), { then: [{ wait: 60_000 }] }));
      const startedAt = Date.now();
      const started = await fetch(`${owner.baseURL}/chat/completions`, { method: "POST", headers: { "content-type": "application/json", "x-stream-id": "stalls" }, body: chatBody() });
      const onOwner = readEvents(started);
      const onOther = readEvents(await fetch(`${other.baseURL}/streams/stalls`));
      const resumedOnOther = readEvents(await fetch(`${other.baseURL}/streams/stalls`, { headers: { "last-event-id": "2" } }));
      const events = await onOwner;
      expect(Date.now() - startedAt).toBeLessThan(10_000);
      expect(events.map((event) => event.id)).toEqual(["1", "2", "3", "4"]);
      expect(textOf(events.slice(0, -1))).toBe("Hello there");
      expect(JSON.parse(events.at(-1)?.data ?? "null")).toEqual({
        error: { message: "The upstream stalled: no chunk for 300 ms after 3 chunks, so the relay aborted its request", type: "relay_error", code: "upstream-stalled" },
      });
      expect(await onOther).toEqual(events);
      expect(await resumedOnOther).toEqual(events.slice(2));
      await upstream.requests.at(-1)?.closed;
      expect(upstream.requests.at(-1)?.disconnected).toBe(true);
      // Ended, so nobody renews it: no lease, and its keys carry an expiry.
      expect(await other.relay.info("stalls")).toMatchObject({ status: "failed", frames: 5 });
      expect(await admin.exists("g4f-rx:relay:{stalls}:lease")).toBe(0);
      expect(await admin.pttl("g4f-rx:relay:{stalls}:meta")).toBeGreaterThan(0);
      expect(await admin.pttl("g4f-rx:relay:{stalls}:frames")).toBeGreaterThan(0);
      expect(await fetch(`${other.baseURL}/streams/stalls`).then((r) => readEvents(r))).toEqual(events);
    } finally {
      admin.disconnect();
      await owner.close();
      await other.close();
    }
  });
});

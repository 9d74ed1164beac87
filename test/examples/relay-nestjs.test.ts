import type { INestApplication } from "@nestjs/common";
import OpenAI from "openai";
import { firstValueFrom, take } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StreamErrorFrameError, extractDelta } from "g4f-rx";
import { type TestServer, errorFrame, errorReply, startTestServer, streamReply, textChunks } from "g4f-rx/testing";
import { bootstrap } from "../../examples/relay-nestjs.js";
import { collect } from "../support/collect.js";
import { readEvents, textOf } from "../edges/support.js";
import { readEventStream } from "../support/read-event-stream.js";

describe("examples/relay-nestjs.ts", () => {
  let upstream: TestServer;
  let app: INestApplication;
  let chatURL: (prompt: string) => string;

  beforeEach(async () => {
    upstream = await startTestServer();
    const client = new OpenAI({ baseURL: upstream.baseURL, apiKey: "test", maxRetries: 0 });
    app = await bootstrap({ client, model: "relay-model" }, { port: 0, logger: false });
    const url = await app.getUrl();
    chatURL = (prompt) => `${url}/chat?q=${encodeURIComponent(prompt)}`;
  });
  afterEach(async () => {
    await app.close();
    await upstream.close();
  });

  it("relays the upstream chunks intact, asking upstream with the prompt and the relay's model", async () => {
    const sent = textChunks(["Hello", " there", "!"]);
    upstream.reply(streamReply(sent, { delayMs: 5 }));
    const outcome = await collect(readEventStream(chatURL("Say hello there!")));
    expect(outcome).toStrictEqual({ values: sent, error: undefined, completed: true });
    expect(upstream.requests[0]?.body).toStrictEqual({
      model: "relay-model",
      messages: [{ role: "user", content: "Say hello there!" }],
      stream: true,
    });
  });

  it("sends Nest's SSE frames with the chunks as JSON data, and ends with data: [DONE]", async () => {
    const sent = textChunks(["Hi"]);
    upstream.reply(streamReply(sent));
    const response = await fetch(chatURL("Say hi"));
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const text = await response.text();
    const frames = text.split("\n\n").filter((frame) => frame.trim() !== "");
    const data = frames.map((frame) => frame.split("\n").find((line) => line.startsWith("data: "))?.slice("data: ".length));
    expect(data).toStrictEqual([...sent.map((chunk) => JSON.stringify(chunk)), "[DONE]"]);
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
  });

  it("aborts the upstream request when the reader closes the stream", async () => {
    // Upstream sends one piece of text and then stays silent, as a slow model does.
    upstream.reply(streamReply(textChunks(["Hello"], { finishReason: null }), { done: false, then: [{ wait: 10_000 }] }));
    const first = await firstValueFrom(readEventStream(chatURL("Say hello")).pipe(extractDelta(), take(1)));
    expect(first).toBe("Hello");
    const upstreamRequest = await upstream.waitForRequest(0);
    const closedAt = await upstreamRequest.closed;
    expect(upstreamRequest.disconnected).toBe(true);
    expect(closedAt - upstreamRequest.receivedAt).toBeLessThan(5_000);
  });

  it("turns an upstream error frame into event: error, which the reader sees as StreamErrorFrameError with the message", async () => {
    upstream.reply(streamReply(textChunks(["Hel"], { finishReason: null }), { done: false, then: [errorFrame("The provider is overloaded")] }));
    const outcome = await collect(readEventStream(chatURL("Say hello")).pipe(extractDelta()));
    expect(outcome.values).toStrictEqual(["Hel"]);
    expect(outcome.error).toBeInstanceOf(StreamErrorFrameError);
    expect((outcome.error as Error).message).toContain("The provider is overloaded");
  });

  it("turns an upstream HTTP error into event: error with its message", async () => {
    upstream.reply(errorReply(503, "No provider is available"));
    const response = await fetch(chatURL("Say hello"));
    const text = await response.text();
    expect(text).toMatch(/event: error\n(id: \d+\n)?data: \{"error":\{"message":"[^"]*No provider is available[^"]*","type":"server_error"\}\}\n\n$/);
    upstream.reply(errorReply(503, "No provider is available"));
    const outcome = await collect(readEventStream(chatURL("Say hello")));
    expect(outcome.error).toBeInstanceOf(StreamErrorFrameError);
    expect((outcome.error as Error).message).toContain("No provider is available");
  });

  it("answers a request without a prompt with a 400 and does not ask upstream", async () => {
    const missing = await fetch(`${await app.getUrl()}/chat`);
    const blank = await fetch(chatURL("   "));
    expect([missing.status, blank.status]).toStrictEqual([400, 400]);
    expect(await missing.json()).toMatchObject({ statusCode: 400, message: "Give a prompt: GET /chat?q=…" });
    expect(upstream.requests).toHaveLength(0);
  });
});

describe("examples/relay-nestjs.ts: GET /chat/resumable", () => {
  let upstream: TestServer;
  let app: INestApplication;
  let url: string;

  beforeEach(async () => {
    upstream = await startTestServer();
    const client = new OpenAI({ baseURL: upstream.baseURL, apiKey: "test", maxRetries: 0 });
    app = await bootstrap({ client, model: "relay-model" }, { port: 0, logger: false });
    url = await app.getUrl();
  });
  afterEach(async () => {
    await app.close();
    await upstream.close();
  });

  it("resumes after Last-Event-ID <stream>:<n> on the same URL, as EventSource reconnects, with no second upstream request", async () => {
    const pieces = ["Hello", " there", "!", " Bye."];
    upstream.reply(streamReply(textChunks(pieces), { delayMs: 40 }));
    const first = await fetch(`${url}/chat/resumable?q=hi`);
    const before = await readEvents(first, 2);
    const [streamId, frame] = (before.at(-1)?.id ?? "").split(":");
    expect(frame).toBe("2");
    const after = await readEvents(await fetch(`${url}/chat/resumable?q=hi`, { headers: { "last-event-id": `${streamId ?? ""}:2` } }));
    const all = [...before, ...after];
    expect(all.map((event) => event.id)).toStrictEqual(all.map((_, index) => `${streamId ?? ""}:${index + 1}`));
    expect(textOf(all)).toBe(pieces.join(""));
    expect(upstream.requests).toHaveLength(1);
  });

  it("stops through POST /chat/{id}/stop: the upstream request is aborted, the reader ends with [DONE]", async () => {
    upstream.reply(streamReply(textChunks(["Hello"], { finishReason: null }), { done: false, then: [{ wait: 10_000 }] }));
    const [first] = await readEvents(await fetch(`${url}/chat/resumable?q=hi`), 1);
    const streamId = (first?.id ?? "").split(":")[0] ?? "";
    const request = await upstream.waitForRequest(0);
    const reading = readEvents(await fetch(`${url}/chat/resumable?q=hi`, { headers: { "last-event-id": `${streamId}:1` } }));
    const stop = await fetch(`${url}/chat/${streamId}/stop`, { method: "POST" });
    expect(stop.status).toBe(200);
    expect(await stop.json()).toStrictEqual({ id: streamId, stopped: true });
    expect((await reading).at(-1)?.data).toBe("[DONE]");
    await request.closed;
    expect(request.disconnected).toBe(true);
    expect((await fetch(`${url}/chat/nope/stop`, { method: "POST" })).status).toBe(404);
  });
});

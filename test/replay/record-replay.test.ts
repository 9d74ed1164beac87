import { readFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import OpenAI, { RateLimitError } from "openai";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { Observable, VirtualTimeScheduler, take } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { IncompleteStreamError, StreamErrorFrameError, fromChatCompletion } from "g4f-rx";
import { fromCassette, readCassette, recordCassette } from "g4f-rx/node";
import { type TestServer, errorFrame, errorReply, startTestServer, streamReply, textChunks } from "g4f-rx/testing";
import { collect } from "../support/collect.js";
import { temporaryFolder } from "../support/temporary-folder.js";

const params = { model: "gpt-4", messages: [{ role: "user" as const, content: "Say hello there!" }], temperature: 0.3 };

/** Subscribes and notes when each value arrived, in milliseconds since the subscription. */
function timed<T>(source: Observable<T>): Promise<{ values: T[]; times: number[]; error: unknown }> {
  return new Promise((resolve) => {
    const start = performance.now();
    const values: T[] = [];
    const times: number[] = [];
    source.subscribe({
      next: (value) => (values.push(value), times.push(performance.now() - start)),
      error: (error: unknown) => resolve({ values, times, error }),
      complete: () => resolve({ values, times, error: undefined }),
    });
  });
}

let server: TestServer;
let client: OpenAI;
let file: string;
beforeEach(async () => {
  server = await startTestServer();
  client = new OpenAI({ baseURL: server.baseURL, apiKey: "k", maxRetries: 0 });
  file = join(temporaryFolder("g4f-rx-record-"), "hello.cassette.jsonl");
});
afterEach(() => server.close());

describe("recordCassette, then fromCassette", () => {
  it("records the chunks with their arrival times, and replays them at those times", async () => {
    const sent = textChunks(["Hello", " there", "!", " How can I help?"]);
    server.reply({ body: sent.flatMap((chunk, i) => [`data: ${JSON.stringify(chunk)}\n\n`, { wait: [60, 40, 80, 30, 50, 10][i] ?? 0 }]).concat("data: [DONE]\n\n") });
    const live = await timed(fromChatCompletion(client, params).pipe(recordCassette(file, params)));
    expect(live.error).toBeUndefined();

    const cassette = readCassette(file);
    expect(cassette.request).toEqual(params);
    expect(cassette.response.status).toBe(200);
    expect(cassette.frames.map((frame) => frame.data)).toEqual([...sent, "[DONE]"]);

    // Frame offsets in the file are the live arrival times (noted in the same synchronous step as the subscriber's).
    cassette.frames.slice(0, sent.length).forEach((frame, i) => expect(Math.abs(frame.at - (live.times[i] ?? NaN))).toBeLessThan(20));
    expect(cassette.frames[3]!.at - cassette.frames[0]!.at).toBeGreaterThanOrEqual(150);

    // The replay, in virtual time: each chunk at its recorded offset (a wall clock would depend on the machine's load).
    const scheduler = new VirtualTimeScheduler();
    const replayed: Array<{ chunk: ChatCompletionChunk; at: number }> = [];
    let completed = false;
    fromCassette(file, { scheduler }).subscribe({ next: (chunk) => replayed.push({ chunk, at: scheduler.now() }), complete: () => (completed = true) });
    scheduler.flush();
    expect(completed).toBe(true);
    expect(replayed.map(({ chunk }) => chunk)).toStrictEqual(sent);
    replayed.forEach(({ at }, i) => expect(at).toBeCloseTo(cassette.frames[i]!.at, 0));
  });

  it("records an error frame and replays it as the same error after the same chunks", async () => {
    const sent = textChunks(["Hel", "lo"]).slice(0, 3);
    server.reply(streamReply(sent, { then: [errorFrame("Provider failed")] }));
    const live = await collect(fromChatCompletion(client, params).pipe(recordCassette(file, params)));
    const replay = await collect(fromCassette(file, { speed: Infinity }));
    expect(replay.values).toStrictEqual(live.values);
    expect(replay.error).toBeInstanceOf(StreamErrorFrameError);
    expect((replay.error as Error).message).toBe((live.error as Error).message);
  });

  it("records an `event: error` frame with its event name, so a plain-text error replays as the same error", async () => {
    server.reply(streamReply(textChunks(["Hel"]).slice(0, 2), { done: false, then: ["event: error\ndata: rate limited upstream\n\n"] }));
    const live = await collect(fromChatCompletion(client, params).pipe(recordCassette(file, params)));
    expect(readCassette(file).frames.at(-1)).toMatchObject({ event: "error", data: "rate limited upstream" });
    const replay = await collect(fromCassette(file, { speed: Infinity }));
    expect(replay.values).toStrictEqual(live.values);
    expect(replay.error).toBeInstanceOf(StreamErrorFrameError);
    expect((replay.error as Error).message).toBe("rate limited upstream");
  });

  it("records an HTTP error status with its body and headers, and replays the same class", async () => {
    server.reply(errorReply(429, "Rate limit reached", { headers: { "retry-after": "3" } }));
    const live = await collect(fromChatCompletion(client, params).pipe(recordCassette(file, params)));
    expect(live.error).toBeInstanceOf(RateLimitError);
    const cassette = readCassette(file);
    expect(cassette.response).toMatchObject({ status: 429, headers: { "retry-after": "3" } });
    const replay = await collect(fromCassette(file));
    expect(replay.error).toBeInstanceOf(RateLimitError);
    expect((replay.error as RateLimitError).headers.get("retry-after")).toBe("3");
    expect((replay.error as Error).message).toBe((live.error as Error).message);
  });

  it("keeps what arrived when the recording is interrupted, which replays as an incomplete stream", async () => {
    server.reply(streamReply(textChunks(["Hello"]).slice(0, 2), { done: false, then: [{ wait: 10_000 }] }));
    await collect(fromChatCompletion(client, params).pipe(recordCassette(file, params), take(2)));
    const lines = readFileSync(file, "utf8").trim().split("\n");
    expect(lines).toHaveLength(3);
    const replay = await collect(fromCassette(file, { speed: Infinity }));
    expect(replay.values).toHaveLength(2);
    expect(replay.error).toBeInstanceOf(IncompleteStreamError);
  });

  it("errors the stream, not the process, when the file cannot be written", async () => {
    server.reply(streamReply(textChunks(["Hello"])));
    const outcome = await collect(fromChatCompletion(client, params).pipe(recordCassette("/nonexistent/dir/x.cassette.jsonl", params)));
    expect(outcome.values).toEqual([]);
    expect((outcome.error as Error).message).toContain("ENOENT");
    const request = await server.waitForRequest(0);
    await request.closed;
  });

  it("records what a chunk carries exactly, whatever the provider adds", async () => {
    const chunk: ChatCompletionChunk & { provider: string } = { ...textChunks(["x"], { finishReason: "stop" })[1]!, provider: "PollinationsAI" };
    server.reply(streamReply([chunk, textChunks([])[1]!]));
    await collect(fromChatCompletion(client, params).pipe(recordCassette(file, params)));
    expect(readCassette(file).frames[0]?.data).toStrictEqual(chunk);
  });
});

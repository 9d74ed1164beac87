import OpenAI from "openai";
import { TimeoutError, timeout } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StreamTimeoutError, extractDelta, fromChatCompletion, streamTimeout } from "g4f-rx";
import { type RecordedRequest, type TestServer, streamReply, textChunks } from "g4f-rx/testing";
import { collect } from "../support/collect.js";
import { serverAndClient } from "../support/server.js";

const params = { model: "gpt-4", messages: [{ role: "user" as const, content: "Say hello there!" }] };
const STALL = { wait: 30_000 };

let server: TestServer;
let client: OpenAI;

beforeEach(async () => ({ server, client } = await serverAndClient()));
afterEach(() => server.close());

/** Waits for the server to see request `index` end, and says how long after its arrival that was. */
async function closedAfter(index: number): Promise<{ request: RecordedRequest; ms: number }> {
  const request = await server.waitForRequest(index);
  const closedAt = await request.closed;
  return { request, ms: closedAt - request.receivedAt };
}

describe("RxJS timeout on fromChatCompletion aborts the request", () => {
  it("timeout({ first }) fires while the server withholds its headers, and the server sees the socket close", async () => {
    server.reply({ headersAfterMs: 30_000, body: [] });
    // 1 s, not less: the request must reach the server before the timeout fires, also on a loaded machine.
    const outcome = await collect(fromChatCompletion(client, params).pipe(timeout({ first: 1_000 })));
    expect(outcome.error).toBeInstanceOf(TimeoutError);
    const { request, ms } = await closedAfter(0);
    expect(request.disconnected).toBe(true);
    expect(ms).toBeLessThan(5_000);
  });

  it("timeout({ each }) fires when the stream goes quiet mid-answer, after the text before it", async () => {
    server.reply(streamReply(textChunks(["Hello"], { finishReason: null }), { done: false, then: [STALL] }));
    const outcome = await collect(fromChatCompletion(client, params).pipe(timeout({ first: 5_000, each: 150 }), extractDelta()));
    expect(outcome.values).toStrictEqual(["Hello"]);
    expect(outcome.error).toBeInstanceOf(TimeoutError);
    const { request, ms } = await closedAfter(0);
    expect(request.disconnected).toBe(true);
    expect(ms).toBeLessThan(5_000);
  });

  it("does not fire, and the request finishes normally, when chunks keep coming in time", async () => {
    server.reply(streamReply(textChunks(["Hello", " there", "!"]), { delayMs: 20 }));
    const outcome = await collect(fromChatCompletion(client, params).pipe(timeout({ first: 2_000, each: 1_000 }), extractDelta()));
    expect(outcome).toStrictEqual({ values: ["Hello", " there", "!"], error: undefined, completed: true });
    const { request } = await closedAfter(0);
    expect(request.disconnected).toBe(false);
  });
});

describe("streamTimeout on fromChatCompletion", () => {
  it("aborts a stalled answer and reports the idle phase with the partial text", async () => {
    server.reply(streamReply(textChunks(["Hello", " wor"], { finishReason: null }), { done: false, then: [STALL] }));
    const outcome = await collect(fromChatCompletion(client, params).pipe(streamTimeout({ first: 5_000, idle: 150 })));
    expect(outcome.error).toBeInstanceOf(StreamTimeoutError);
    expect(outcome.error).toMatchObject({ phase: "idle", limitMs: 150, text: "Hello wor", chunks: 3 });
    const { request, ms } = await closedAfter(0);
    expect(request.disconnected).toBe(true);
    expect(ms).toBeLessThan(5_000);
  });

  it("aborts a request whose first chunk never comes and reports the first phase", async () => {
    server.reply({ body: [STALL] });
    const outcome = await collect(fromChatCompletion(client, params).pipe(streamTimeout({ first: 150, idle: 5_000 })));
    expect(outcome.error).toMatchObject({ name: "StreamTimeoutError", phase: "first", limitMs: 150, text: "", chunks: 0 });
    const { request } = await closedAfter(0);
    expect(request.disconnected).toBe(true);
  });
});

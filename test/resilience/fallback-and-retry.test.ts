import OpenAI, { RateLimitError } from "openai";
import type { ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { take } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  CONTINUE_INSTRUCTION,
  type Continuation,
  PartialResponseError,
  extractDelta,
  fallback,
  fromChatCompletion,
  retryBeforeContent,
  streamTimeout,
  withContinuation,
} from "g4f-rx";
import { type TestServer, errorReply, streamReply, textChunks } from "g4f-rx/testing";
import { collect } from "../support/collect.js";
import { serverAndClient } from "../support/server.js";

const messages: ChatCompletionMessageParam[] = [{ role: "user", content: "Say hello there!" }];
const STALL = { wait: 30_000 };

let server: TestServer;
let client: OpenAI;

beforeEach(async () => ({ server, client } = await serverAndClient()));
afterEach(() => server.close());

/**
 * A fallback source on the test server that continues an answer when asked to. The first chunk may take a
 * second: on a loaded machine a fresh connection alone can take longer than 150 ms.
 */
const provider = (model: string) => (continuation?: Continuation) =>
  fromChatCompletion(client, { model, messages: withContinuation(messages, continuation) }).pipe(streamTimeout({ first: 1_000, idle: 150 }));

describe("fallback against real HTTP", () => {
  it("aborts a stalled provider's request and streams the next provider's answer", async () => {
    server.reply({ headersAfterMs: 30_000, body: [] }, streamReply(textChunks(["Hello", " there!"])));
    const attempts: number[] = [];
    const outcome = await collect(
      fallback([provider("g4f-model"), provider("ollama-model")], { onAttempt: (index) => attempts.push(index) }).pipe(extractDelta()),
    );
    expect(outcome).toStrictEqual({ values: ["Hello", " there!"], error: undefined, completed: true });
    expect(attempts).toStrictEqual([0, 1]);
    const [stalled, answered] = [await server.waitForRequest(0), await server.waitForRequest(1)];
    await stalled.closed;
    expect(stalled.disconnected).toBe(true);
    expect(stalled.body).toMatchObject({ model: "g4f-model" });
    await answered.closed;
    expect(answered.disconnected).toBe(false);
    expect(answered.body).toMatchObject({ model: "ollama-model", messages });
  });

  it("without resume, errors with PartialResponseError once text has arrived, and sends no second request", async () => {
    server.reply(streamReply(textChunks(["Hello", " wor"], { finishReason: null }), { done: false, then: [STALL] }));
    const outcome = await collect(fallback([provider("a"), provider("b")]).pipe(extractDelta()));
    expect(outcome.values).toStrictEqual(["Hello", " wor"]);
    expect(outcome.error).toBeInstanceOf(PartialResponseError);
    expect(outcome.error).toMatchObject({ text: "Hello wor", cause: { name: "StreamTimeoutError", phase: "idle" } });
    await (await server.waitForRequest(0)).closed;
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]?.disconnected).toBe(true);
  });

  it("with resume, sends the partial answer and a continuation instruction to the next provider and emits only the new text", async () => {
    server.reply(
      streamReply(textChunks(["Hello", " wor"], { finishReason: null }), { done: false, then: [{ destroy: true }] }),
      streamReply(textChunks(["ld!"])),
    );
    const outcome = await collect(fallback([provider("a"), provider("b")], { resume: true }).pipe(extractDelta()));
    expect(outcome).toStrictEqual({ values: ["Hello", " wor", "ld!"], error: undefined, completed: true });
    expect((await server.waitForRequest(1)).body).toMatchObject({
      model: "b",
      messages: [...messages, { role: "assistant", content: "Hello wor" }, { role: "user", content: CONTINUE_INSTRUCTION }],
    });
  });

  it("aborts the current provider's request when the subscriber leaves", async () => {
    server.reply(errorReply(503, "provider down"), streamReply(textChunks(["Hello", " there", "!"]), { delayMs: 50, then: [STALL] }));
    const outcome = await collect(fallback([provider("a"), provider("b")]).pipe(extractDelta(), take(1)));
    expect(outcome.values).toStrictEqual(["Hello"]);
    const second = await server.waitForRequest(1);
    await second.closed;
    expect(second.disconnected).toBe(true);
  });
});

describe("retryBeforeContent against real HTTP", () => {
  it("sends a new request after a role-only chunk and a stall, aborting the stalled one", async () => {
    server.reply(streamReply(textChunks([], { finishReason: null }), { done: false, then: [STALL] }), streamReply(textChunks(["Hi!"])));
    const outcome = await collect(
      fromChatCompletion(client, { model: "gpt-4", messages }).pipe(streamTimeout({ idle: 150 }), retryBeforeContent({ count: 1, delay: 10 }), extractDelta()),
    );
    expect(outcome).toStrictEqual({ values: ["Hi!"], error: undefined, completed: true });
    const stalled = await server.waitForRequest(0);
    await stalled.closed;
    expect(stalled.disconnected).toBe(true);
    expect(server.requests).toHaveLength(2);
  });

  it("waits what the openai client's RateLimitError's retry-after-ms header asks", async () => {
    server.reply(errorReply(429, "Rate limit reached", { headers: { "retry-after-ms": "400" } }), streamReply(textChunks(["Hi!"])));
    const errors: unknown[] = [];
    const outcome = await collect(
      fromChatCompletion(client, { model: "gpt-4", messages }).pipe(
        retryBeforeContent({
          count: 1,
          delay: (_attempt, error) => {
            errors.push(error);
            return 5;
          },
        }),
        extractDelta(),
      ),
    );
    expect(outcome.values).toStrictEqual(["Hi!"]);
    const [limited, retried] = [await server.waitForRequest(0), await server.waitForRequest(1)];
    const closedAt = await limited.closed;
    expect(retried.receivedAt - closedAt).toBeGreaterThanOrEqual(350);
    expect(retried.receivedAt - closedAt).toBeLessThan(3_000);
    // The header decided the wait, so the delay function was never asked.
    expect(errors).toStrictEqual([]);
  });

  it("passes the RateLimitError on untouched when the retries are used up", async () => {
    server.reply(errorReply(429, "Rate limit reached", { headers: { "retry-after": "0" } }), errorReply(429, "Still limited", { headers: { "retry-after": "0" } }));
    const outcome = await collect(fromChatCompletion(client, { model: "gpt-4", messages }).pipe(retryBeforeContent({ count: 1 })));
    expect(outcome.error).toBeInstanceOf(RateLimitError);
    expect(outcome.error instanceof RateLimitError && outcome.error.message).toMatch(/Still limited/);
    expect(server.requests).toHaveLength(2);
  });
});

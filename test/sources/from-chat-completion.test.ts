import OpenAI, {
  APIConnectionError,
  APIError,
  APIUserAbortError,
  AuthenticationError,
  InternalServerError,
  NotFoundError,
  RateLimitError,
} from "openai";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { performance } from "node:perf_hooks";
import { createServer } from "node:net";
import { firstValueFrom, take, toArray } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  IncompleteStreamError,
  InvalidEncodingError,
  MalformedChunkError,
  NotEventStreamError,
  StreamErrorFrameError,
  extractDelta,
  fromChatCompletion,
  fromCompletionStream,
} from "g4f-rx";
import { DONE_EVENT, type TestServer, errorFrame, errorReply, sseFrame, streamReply, textChunks } from "g4f-rx/testing";
import { type Outcome, collect } from "../support/collect.js";
import { type BodyCut, startCutServer } from "../support/cut-server.js";
import { serverAndClient } from "../support/server.js";

const params = { model: "gpt-4", messages: [{ role: "user" as const, content: "Say hello there!" }] };

let server: TestServer;
let client: OpenAI;

beforeEach(async () => ({ server, client } = await serverAndClient()));
afterEach(() => server.close());

describe("fromChatCompletion: a cold Observable", () => {
  it("sends nothing until subscribed, then one request per subscription with stream: true", async () => {
    server.setDefaultReply(streamReply(textChunks(["Hi"])));
    const chunks$ = fromChatCompletion(client, { ...params, temperature: 0.5 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(server.requests).toHaveLength(0);

    const [first, second] = await Promise.all([collect(chunks$), collect(chunks$)]);
    expect(server.requests).toHaveLength(2);
    expect(first.values).toEqual(second.values);
    expect(server.requests[0]?.body).toEqual({ ...params, temperature: 0.5, stream: true });
    expect(server.requests[0]?.headers.authorization).toBe("Bearer test");
  });

  it("delivers a single chunk deep-equal to what was sent, then completes", async () => {
    const [only] = textChunks([], { finishReason: "stop" }).slice(-1);
    server.reply(streamReply([only!]));
    const outcome = await collect(fromChatCompletion(client, params));
    expect(outcome).toEqual({ values: [only], error: undefined, completed: true });
  });

  it("delivers 10,000 chunks deep-equal to what was sent, in order", async () => {
    const pieces = Array.from({ length: 9_998 }, (_, i) => `w${i} `);
    const sent = textChunks(pieces);
    expect(sent).toHaveLength(10_000);
    server.reply(streamReply(sent));
    const outcome = await collect(fromChatCompletion(client, params));
    expect(outcome.completed).toBe(true);
    expect(outcome.values).toStrictEqual(sent);
  });

  it("keeps every field a provider adds, such as GPT4Free's provider and OpenAI's obfuscation", async () => {
    const chunk = { ...textChunks(["x"])[1]!, provider: "Copilot", obfuscation: "Qx1", usage: null };
    server.reply({ body: [sseFrame(chunk), sseFrame(textChunks([])[1]!), DONE_EVENT] });
    const outcome = await collect(fromChatCompletion(client, params));
    expect(outcome.values[0]).toStrictEqual(chunk);
  });
});

describe("fromChatCompletion: unsubscribing aborts the request", () => {
  it("closes the socket within 100 ms while the server stalls for 10 seconds", async () => {
    server.reply(streamReply(textChunks(["Hello"]).slice(0, 2), { done: false, then: [{ wait: 10_000 }] }));
    const firstTwo = await firstValueFrom(fromChatCompletion(client, params).pipe(take(2), toArray()));
    // take(2) unsubscribed right after the second chunk, while the server is silent.
    const unsubscribedAt = performance.now();
    expect(firstTwo).toHaveLength(2);
    const request = await server.waitForRequest(0);
    const closedAt = await request.closed;
    expect(request.disconnected).toBe(true);
    expect(closedAt - unsubscribedAt).toBeLessThan(100);
  });

  it("aborts while still waiting for the response headers", async () => {
    server.reply({ headersAfterMs: 10_000, body: [DONE_EVENT] });
    const subscription = fromChatCompletion(client, params).subscribe();
    const request = await server.waitForRequest(0);
    const unsubscribedAt = performance.now();
    subscription.unsubscribe();
    const closedAt = await request.closed;
    expect(request.disconnected).toBe(true);
    expect(closedAt - unsubscribedAt).toBeLessThan(100);
  });

  it("errors with the SDK's APIUserAbortError when the caller's own AbortSignal aborts", async () => {
    server.reply(streamReply(textChunks(["Hello"]).slice(0, 2), { done: false, then: [{ wait: 10_000 }] }));
    const controller = new AbortController();
    const outcome = collect(fromChatCompletion(client, params, { signal: controller.signal }));
    await server.waitForRequest(0);
    controller.abort();
    const { error } = await outcome;
    expect(error).toBeInstanceOf(APIUserAbortError);
  });
});

describe("fromChatCompletion: the caller's abort mid-body", () => {
  it("errors with APIUserAbortError, not IncompleteStreamError, after the chunks before it", async () => {
    server.reply(streamReply(textChunks(["Hello"]).slice(0, 2), { done: false, then: [{ wait: 10_000 }] }));
    const controller = new AbortController();
    const values: unknown[] = [];
    const outcome = new Promise<unknown>((resolve) =>
      fromChatCompletion(client, params, { signal: controller.signal }).subscribe({
        next: (chunk) => {
          values.push(chunk);
          if (values.length === 2) controller.abort();
        },
        error: resolve,
      }),
    );
    expect(await outcome).toBeInstanceOf(APIUserAbortError);
    expect(values).toHaveLength(2);
  });
});

describe("fromChatCompletion: HTTP errors are the openai package's own classes", () => {
  it.each([
    [401, AuthenticationError, "Incorrect API key provided"],
    [404, NotFoundError, "The model `gpt-5` does not exist"],
    [429, RateLimitError, "Rate limit reached for requests"],
    [500, InternalServerError, "The server had an error while processing your request"],
  ] as const)("HTTP %i gives %o with its status and the server's message", async (status, errorClass, message) => {
    server.reply(errorReply(status, message));
    const outcome = await collect(fromChatCompletion(client, params));
    expect(outcome.values).toEqual([]);
    expect(outcome.error).toBeInstanceOf(errorClass);
    expect(outcome.error).toMatchObject({ status, message: `${status} ${message}` });
  });

  it("gives APIConnectionError when nothing listens at the base URL", async () => {
    const port = await closedPort();
    const unreachable = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: "k", maxRetries: 0 });
    const outcome = await collect(fromChatCompletion(unreachable, params));
    expect(outcome.error).toBeInstanceOf(APIConnectionError);
  });

  it("leaves request retries to the client: a 500 then a stream gives the stream", async () => {
    server.reply(errorReply(500, "try again", { headers: { "retry-after-ms": "1" } }), streamReply(textChunks(["ok"])));
    const retrying = new OpenAI({ baseURL: server.baseURL, apiKey: "k", maxRetries: 1 });
    const outcome = await collect(fromChatCompletion(retrying, params).pipe(extractDelta()));
    expect(outcome).toEqual({ values: ["ok"], error: undefined, completed: true });
    expect(server.requests).toHaveLength(2);
  });
});

describe("fromChatCompletion: how a stream ends", () => {
  it("errors with the server's message on a data error frame, after the chunks before it", async () => {
    const sent = textChunks(["Hel", "lo"]).slice(0, 3);
    server.reply(streamReply(sent, { then: [errorFrame("Provider Copilot failed: quota exceeded")] }));
    const outcome = await collect(fromChatCompletion(client, params));
    expect(outcome.values).toStrictEqual(sent);
    expect(outcome.error).toBeInstanceOf(StreamErrorFrameError);
    expect(outcome.error).toBeInstanceOf(APIError);
    expect(outcome.error).toMatchObject({ message: "Provider Copilot failed: quota exceeded", type: "server_error" });
  });

  it("errors on an `event: error` frame the same way", async () => {
    const sent = textChunks(["A", "B"]).slice(0, 3);
    server.reply(streamReply(sent, { done: false, then: [errorFrame("overloaded", { event: true })] }));
    const outcome = await collect(fromChatCompletion(client, params));
    expect(outcome.values).toStrictEqual(sent);
    expect(outcome.error).toBeInstanceOf(StreamErrorFrameError);
    expect((outcome.error as Error).message).toBe("overloaded");
  });

  it("errors on an `event: error` frame whose data is plain text, with that text", async () => {
    server.reply({ body: ["event: error\ndata: upstream went away\n\n"] });
    const outcome = await collect(fromChatCompletion(client, params));
    expect((outcome.error as Error).message).toBe("upstream went away");
  });

  it("errors with IncompleteStreamError when the body ends with neither [DONE] nor a finish_reason", async () => {
    const sent = textChunks(["Hel", "lo"], { finishReason: null });
    server.reply(streamReply(sent, { done: false }));
    const outcome = await collect(fromChatCompletion(client, params));
    expect(outcome.values).toStrictEqual(sent);
    expect(outcome.error).toBeInstanceOf(IncompleteStreamError);
    expect(outcome.error).toMatchObject({ name: "IncompleteStreamError", chunks: 3 });
    expect((outcome.error as Error).message).toMatch(/without "data: \[DONE\]" or a finish_reason/);
  });

  it("completes normally when a finish_reason arrived but [DONE] did not", async () => {
    const sent = textChunks(["Hello"]);
    server.reply(streamReply(sent, { done: false }));
    const outcome = await collect(fromChatCompletion(client, params));
    expect(outcome).toEqual({ values: sent, error: undefined, completed: true });
  });

  it("completes when the last frame lacks its closing blank line", async () => {
    server.reply({ body: [sseFrame(textChunks(["x"])[1]!), "data: [DONE]"] });
    const outcome = await collect(fromChatCompletion(client, params).pipe(extractDelta()));
    expect(outcome).toEqual({ values: ["x"], error: undefined, completed: true });
  });

  it("errors with IncompleteStreamError, after the chunks before it, when the socket closes mid-body", async () => {
    const sent = textChunks(["Hel", "lo"], { finishReason: null });
    server.reply(streamReply(sent, { done: false, then: ['data: {"id":"chatcmpl-test","obj', { destroy: true }] }));
    const outcome = await collect(fromChatCompletion(client, params));
    expect(outcome.values).toStrictEqual(sent);
    expect(outcome.error).toBeInstanceOf(IncompleteStreamError);
    expect((outcome.error as Error).message).toMatch(/^The stream ended in the middle of a frame after 3 chunks: .* \(the connection closed: terminated\)$/);

    server.reply(streamReply(sent, { done: false, then: [{ destroy: true }] }));
    const atFrameEnd = await collect(fromChatCompletion(client, params));
    expect(atFrameEnd.values).toStrictEqual(sent);
    expect((atFrameEnd.error as Error).message).toBe("The connection closed after 3 chunks, before the stream ended (terminated)");
  });

  it("errors with IncompleteStreamError when a clean end of body cuts a frame in half", async () => {
    server.reply({ body: [sseFrame(textChunks(["x"])[1]!), 'data: {"id":"chatcmpl-test","obj'] });
    const outcome = await collect(fromChatCompletion(client, params));
    expect(outcome.values).toHaveLength(1);
    expect(outcome.error).toBeInstanceOf(IncompleteStreamError);
    expect((outcome.error as Error).message).toMatch(/in the middle of a frame after 1 chunk: "\{\\"id\\":\\"chatcmpl-test\\",\\"obj"/);
  });
});

describe("fromChatCompletion: bodies that are not what an endpoint sends", () => {
  it("errors with MalformedChunkError naming the frame when a frame is not JSON", async () => {
    const sent = textChunks(["ok"]).slice(0, 2);
    server.reply(streamReply(sent, { then: ["data: {not json}\n\n"] }));
    const outcome = await collect(fromChatCompletion(client, params));
    expect(outcome.values).toStrictEqual(sent);
    expect(outcome.error).toBeInstanceOf(MalformedChunkError);
    expect((outcome.error as Error).message).toBe('Received a stream frame that is not valid JSON: "{not json}"');
  });

  it.each(['{"object":"chat.completion.chunk"}', '{"id":"c","choices":[null]}'])("errors with MalformedChunkError when a frame is JSON but not a chunk: %s", async (frame) => {
    server.reply({ body: [`data: ${frame}\n\n`, DONE_EVENT] });
    const outcome = await collect(fromChatCompletion(client, params));
    expect(outcome.error).toBeInstanceOf(MalformedChunkError);
  });

  it("errors with NotEventStreamError naming the content type and the start of an HTML page", async () => {
    const html = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>\n";
    server.reply({ headers: { "content-type": "text/html" }, body: [html] });
    const outcome = await collect(fromChatCompletion(client, params));
    expect(outcome.error).toBeInstanceOf(NotEventStreamError);
    expect((outcome.error as Error).message).toContain("Expected a text/event-stream body but received text/html: ");
    expect((outcome.error as Error).message).toContain("502 Bad Gateway");
  });

  it("errors with NotEventStreamError when the server ignored stream: true and sent one JSON document", async () => {
    const completion = { id: "c", object: "chat.completion", choices: [{ index: 0, message: { role: "assistant", content: "Hi" } }] };
    server.reply({ headers: { "content-type": "application/json" }, body: [JSON.stringify(completion)] });
    const outcome = await collect(fromChatCompletion(client, params));
    expect(outcome.error).toBeInstanceOf(NotEventStreamError);
    expect((outcome.error as Error).message).toContain('received application/json: "{\\"id\\":\\"c\\"');
  });

  it("errors with InvalidEncodingError giving the offset and bytes of invalid UTF-8", async () => {
    const good = sseFrame(textChunks(["ok"])[1]!);
    const bad = Buffer.concat([Buffer.from('data: {"x":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n\n')]);
    server.reply({ body: [good, bad] });
    const outcome = await collect(fromChatCompletion(client, params));
    expect(outcome.values).toHaveLength(1);
    expect(outcome.error).toBeInstanceOf(InvalidEncodingError);
    const offset = Buffer.byteLength(good) + 'data: {"x":"'.length;
    expect((outcome.error as Error).message).toBe(`Response body is not valid UTF-8: invalid byte sequence at offset ${offset} (0xff)`);
  });
});

describe("fromChatCompletion: invalid UTF-8 the bit patterns alone do not show", () => {
  it.each([
    ["a surrogate", [0xed, 0xa0, 0x80]],
    ["an overlong form", [0xe0, 0x80, 0x80]],
    ["a code point above U+10FFFF", [0xf4, 0x90, 0x80, 0x80]],
  ])("delivers the chunks before %s and gives its exact offset", async (_name, invalid) => {
    const good = sseFrame(textChunks(["ok"])[1]!);
    const bad = Buffer.concat([Buffer.from('data: {"x":"'), Buffer.from(invalid), Buffer.from('"}\n\n')]);
    server.reply({ body: [good, bad] });
    const outcome = await collect(fromChatCompletion(client, params));
    expect(outcome.values).toHaveLength(1);
    expect(outcome.error).toBeInstanceOf(InvalidEncodingError);
    expect(outcome.error).toMatchObject({ offset: Buffer.byteLength(good) + 'data: {"x":"'.length });
  });
});

describe("fromChatCompletion: bodies split anywhere", () => {
  it("decodes a body written one byte at a time, multi-byte characters included", async () => {
    const sent = textChunks(["Привет, ", "世界 ", "👋"]);
    server.reply(streamReply(sent, { pieceSize: 1 }));
    const outcome = await collect(fromChatCompletion(client, params));
    expect(outcome.values).toStrictEqual(sent);
  });
});

describe("fromCompletionStream", () => {
  it("emits the chunks of a Stream the SDK created, then completes", async () => {
    const sent = textChunks(["Hello", " there!"]);
    server.reply(streamReply(sent));
    const stream = await client.chat.completions.create({ ...params, stream: true });
    const outcome = await collect(fromCompletionStream(stream));
    expect(outcome).toEqual({ values: sent, error: undefined, completed: true });
  });

  it("aborts the stream's request on unsubscribe", async () => {
    server.reply(streamReply(textChunks(["Hello"]).slice(0, 2), { done: false, then: [{ wait: 10_000 }] }));
    const stream = await client.chat.completions.create({ ...params, stream: true });
    const first: ChatCompletionChunk[] = await firstValueFrom(fromCompletionStream(stream).pipe(take(1), toArray()));
    expect(first).toHaveLength(1);
    const request = await server.waitForRequest(0);
    await request.closed;
    expect(request.disconnected).toBe(true);
  });

  it("errors on a second subscription instead of reading a consumed stream", async () => {
    server.reply(streamReply(textChunks(["Hi"])));
    const stream = await client.chat.completions.create({ ...params, stream: true });
    const chunks$ = fromCompletionStream(stream);
    await collect(chunks$);
    const second = await collect(chunks$);
    expect((second.error as Error).message).toMatch(/already consumed/);
  });
});

describe("fromCompletionStream: how it ends (the SDK's Stream hides [DONE], so a finish_reason must arrive)", () => {
  const pieces = Array.from({ length: 38 }, (_, i) => `w${i} `);

  /** The stream's outcome from a real local server that sends `body`, then stops as `cut` says. */
  async function outcomeOf(body: string, cut: BodyCut): Promise<Outcome<ChatCompletionChunk>> {
    const cutServer = await startCutServer(body, cut);
    try {
      const cutClient = new OpenAI({ baseURL: cutServer.baseURL, apiKey: "test", maxRetries: 0 });
      const stream = await cutClient.chat.completions.create({ ...params, stream: true });
      return await collect(fromCompletionStream(stream));
    } finally {
      await cutServer.close();
    }
  }

  it("errors with IncompleteStreamError, after every chunk, when the body ends cleanly with neither [DONE] nor a finish_reason", async () => {
    const sent = textChunks(pieces, { finishReason: null });
    const outcome = await outcomeOf(sent.map(sseFrame).join(""), "end");
    expect(outcome.values).toStrictEqual(sent);
    expect(outcome.error).toBeInstanceOf(IncompleteStreamError);
    expect(outcome.error).toMatchObject({ chunks: 39 });
    expect((outcome.error as Error).message).toBe(
      'The stream ended after 39 chunks without a finish_reason: the answer is incomplete (fromCompletionStream cannot see "data: [DONE]", which the SDK\'s Stream hides; fromChatCompletion can)',
    );
  });

  it("errors with IncompleteStreamError when [DONE] came but no finish_reason: the Stream does not show [DONE]", async () => {
    const sent = textChunks(["Hel", "lo"], { finishReason: null });
    const outcome = await outcomeOf(sent.map(sseFrame).join("") + DONE_EVENT, "end");
    expect(outcome.values).toStrictEqual(sent);
    expect(outcome.error).toBeInstanceOf(IncompleteStreamError);
  });

  it.each(["close", "reset"] as const)("errors with IncompleteStreamError, keeping fetch's error as its cause, when the connection breaks (%s) before a finish_reason", async (cut) => {
    const sent = textChunks(pieces, { finishReason: null });
    const outcome = await outcomeOf(sent.map(sseFrame).join("") + 'data: {"id":"chatcmpl-test","obj', cut);
    expect(outcome.values).toStrictEqual(sent);
    expect(outcome.error).toBeInstanceOf(IncompleteStreamError);
    expect(outcome.error).toMatchObject({ chunks: 39 });
    expect((outcome.error as Error).message).toMatch(/^The connection closed after 39 chunks, before the stream ended \(terminated\)$/);
    expect((outcome.error as Error).cause).toBeInstanceOf(TypeError);
  });

  it.each(["end", "close", "reset"] as const)("completes when a finish_reason arrived and the body then stops (%s) without [DONE]", async (cut) => {
    const sent = textChunks(["Hello", " there!"]);
    const outcome = await outcomeOf(sent.map(sseFrame).join(""), cut);
    expect(outcome).toEqual({ values: sent, error: undefined, completed: true });
  });

  it("completes on a whole stream: chunks, a finish_reason, then [DONE]", async () => {
    const sent = textChunks(pieces);
    const outcome = await outcomeOf(sent.map(sseFrame).join("") + DONE_EVENT, "end");
    expect(outcome).toEqual({ values: sent, error: undefined, completed: true });
  });

  it("passes the SDK's own APIError for an error frame through, after the chunks before it", async () => {
    const sent = textChunks(["Hel"], { finishReason: null });
    const outcome = await outcomeOf(sent.map(sseFrame).join("") + errorFrame("quota exceeded"), "end");
    expect(outcome.values).toStrictEqual(sent);
    expect(outcome.error).toBeInstanceOf(APIError);
    expect((outcome.error as Error).message).toMatch(/quota exceeded/);
  });
});

/** A local port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

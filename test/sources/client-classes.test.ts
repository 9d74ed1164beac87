import { createRequire } from "node:module";
import OwnOpenAI from "openai";
import { APIError as OwnAPIError, OpenAIError as OwnOpenAIError } from "openai/core/error";
import type { OpenAI as CommonJsOpenAIClass } from "openai" with { "resolution-mode": "require" };
import type { ChatCompletionChunk as CommonJsChatCompletionChunk } from "openai/resources/chat/completions" with { "resolution-mode": "require" };
import type { Stream as CommonJsStream } from "openai/streaming" with { "resolution-mode": "require" };
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { IncompleteStreamError, MalformedChunkError, NotEventStreamError, StreamErrorFrameError, fromChatCompletion, fromCompletionStream, fromEventStream } from "g4f-rx";
import { type TestServer, errorFrame, startTestServer, streamReply, textChunks } from "g4f-rx/testing";
import { collect } from "../support/collect.js";

// The CommonJS build of openai: the classes a CommonJS app gets, other classes than the ES module build's.
// Typed with the CommonJS typings too, as a CommonJS app sees them.
const CommonJsOpenAI = createRequire(import.meta.url)("openai") as typeof CommonJsOpenAIClass;

let server: TestServer;
beforeEach(async () => (server = await startTestServer()));
afterEach(() => server.close());
const params = { model: "gpt-4", messages: [{ role: "user" as const, content: "Say hello there!" }] };

describe("errors in the app's own openai classes", () => {
  it("the CommonJS build really is another set of classes (the premise of these tests)", () => {
    expect(CommonJsOpenAI.APIError).not.toBe(OwnAPIError);
  });

  it("an error frame is an instance of the client's own APIError, and still a StreamErrorFrameError", async () => {
    const client = new CommonJsOpenAI({ baseURL: server.baseURL, apiKey: "k", maxRetries: 0 });
    const sent = textChunks(["Hel"]).slice(0, 2);
    server.reply(streamReply(sent, { then: [errorFrame("quota exceeded", { type: "insufficient_quota" })] }));
    const outcome = await collect(fromChatCompletion(client, params));
    expect(outcome.values).toStrictEqual(sent);
    expect(outcome.error).toBeInstanceOf(CommonJsOpenAI.APIError);
    expect(outcome.error).toBeInstanceOf(StreamErrorFrameError);
    expect(outcome.error).toMatchObject({ name: "StreamErrorFrameError", message: "quota exceeded", type: "insufficient_quota" });
    expect((outcome.error as StreamErrorFrameError).data).toContain("quota exceeded");
  });

  it("makes one class per client class, so two errors of one app share it", async () => {
    const client = new CommonJsOpenAI({ baseURL: server.baseURL, apiKey: "k", maxRetries: 0 });
    server.reply(streamReply([], { then: [errorFrame("one")] }), streamReply([], { then: [errorFrame("two")] }));
    const first = await collect(fromChatCompletion(client, params));
    const second = await collect(fromChatCompletion(client, params));
    expect(Object.getPrototypeOf(first.error)).toBe(Object.getPrototypeOf(second.error));
  });

  it("the caller's abort is the client's own APIUserAbortError", async () => {
    const client = new CommonJsOpenAI({ baseURL: server.baseURL, apiKey: "k", maxRetries: 0 });
    server.reply(streamReply(textChunks(["Hel"]).slice(0, 2), { done: false, then: [{ wait: 10_000 }] }));
    const controller = new AbortController();
    const error = await new Promise<unknown>((resolve) =>
      fromChatCompletion(client, params, { signal: controller.signal }).subscribe({ next: () => controller.abort(), error: resolve }),
    );
    expect(error).toBeInstanceOf(CommonJsOpenAI.APIUserAbortError);
  });

  it("HTTP errors stay the client's own, untouched", async () => {
    const client = new CommonJsOpenAI({ baseURL: server.baseURL, apiKey: "k", maxRetries: 0 });
    server.reply({ status: 429, headers: { "content-type": "application/json" }, body: ['{"error":{"message":"slow down"}}'] });
    const { error } = await collect(fromChatCompletion(client, params));
    expect(error).toBeInstanceOf(CommonJsOpenAI.RateLimitError);
  });

  it("with the library's own copy of openai, an error frame is the library's StreamErrorFrameError itself", async () => {
    const client = new OwnOpenAI({ baseURL: server.baseURL, apiKey: "k", maxRetries: 0 });
    server.reply(streamReply([], { then: [errorFrame("quota exceeded")] }));
    const { error } = await collect(fromChatCompletion(client, params));
    expect(Object.getPrototypeOf(error)).toBe(StreamErrorFrameError.prototype);
  });
});

describe("the library's own errors in the app's own OpenAIError class", () => {
  it("an IncompleteStreamError is an instance of the client's OpenAIError, and still an IncompleteStreamError with its fields and cause", async () => {
    const client = new CommonJsOpenAI({ baseURL: server.baseURL, apiKey: "k", maxRetries: 0 });
    const sent = textChunks(["Hel"], { finishReason: null });
    server.reply(streamReply(sent, { done: false, then: [{ destroy: true }] }));
    const outcome = await collect(fromChatCompletion(client, params));
    expect(outcome.values).toStrictEqual(sent);
    expect(outcome.error).toBeInstanceOf(CommonJsOpenAI.OpenAIError);
    expect(outcome.error).toBeInstanceOf(IncompleteStreamError);
    expect(outcome.error).not.toBeInstanceOf(MalformedChunkError);
    expect(outcome.error).not.toBeInstanceOf(CommonJsOpenAI.APIError);
    expect(outcome.error).toMatchObject({ name: "IncompleteStreamError", chunks: 2, message: "The connection closed after 2 chunks, before the stream ended (terminated)" });
    expect((outcome.error as Error).cause).toBeInstanceOf(TypeError);
  });

  it("a MalformedChunkError keeps its data; a NotEventStreamError from fromEventStream given the class, its content type", async () => {
    const client = new CommonJsOpenAI({ baseURL: server.baseURL, apiKey: "k", maxRetries: 0 });
    server.reply({ body: ["data: {not json}\n\n"] });
    const malformed = await collect(fromChatCompletion(client, params));
    expect(malformed.error).toBeInstanceOf(CommonJsOpenAI.OpenAIError);
    expect(malformed.error).toBeInstanceOf(MalformedChunkError);
    expect(malformed.error).toMatchObject({ name: "MalformedChunkError", data: "{not json}" });

    server.reply({ headers: { "content-type": "text/html" }, body: ["<html>proxy error</html>"] });
    const html = await collect(fromEventStream(`${server.baseURL}/chat/completions`, { method: "POST", body: "{}" }, { openai: CommonJsOpenAI }));
    expect(html.error).toBeInstanceOf(CommonJsOpenAI.OpenAIError);
    expect(html.error).toBeInstanceOf(NotEventStreamError);
    expect(html.error).toMatchObject({ name: "NotEventStreamError", contentType: "text/html" });
  });

  it("with the library's own copy of openai, an IncompleteStreamError is the library's class itself", async () => {
    const client = new OwnOpenAI({ baseURL: server.baseURL, apiKey: "k", maxRetries: 0 });
    server.reply(streamReply(textChunks(["Hel"], { finishReason: null }), { done: false }));
    const { error } = await collect(fromChatCompletion(client, params));
    expect(Object.getPrototypeOf(error)).toBe(IncompleteStreamError.prototype);
    expect(error).toBeInstanceOf(OwnOpenAIError);
  });
});

describe("fromCompletionStream takes the Stream of the app's own openai", () => {
  // Type-checked by `tsc --noEmit -p .`: the CommonJS typings' Stream has a #private of its own, so naming the
  // ES module class as the parameter's type refused it (TS2741: Property '#private' is missing).
  const read = (stream: CommonJsStream<CommonJsChatCompletionChunk>) => fromCompletionStream(stream);

  it("reads a Stream made by a CommonJS client, typed with the CommonJS typings", async () => {
    const client = new CommonJsOpenAI({ baseURL: server.baseURL, apiKey: "k", maxRetries: 0 });
    const sent = textChunks(["Hello"]);
    server.reply(streamReply(sent));
    const stream = await client.chat.completions.create({ ...params, stream: true });
    expect(await collect(read(stream))).toEqual({ values: sent, error: undefined, completed: true });
  });
});

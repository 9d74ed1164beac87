import { createServer } from "node:net";
import type OpenAI from "openai";
import { APIConnectionError, APIError, APIUserAbortError, NotFoundError, RateLimitError } from "openai";
import { firstValueFrom, take, toArray } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  IncompleteStreamError,
  MalformedChunkError,
  NotEventStreamError,
  StreamErrorFrameError,
  extractDelta,
  fromChatCompletion,
  fromEventStream,
  toResponse,
  toServerSentEvents,
} from "g4f-rx";
import { type TestServer, errorFrame, errorReply, streamReply, textChunks } from "g4f-rx/testing";
import { collect } from "../support/collect.js";
import { serverAndClient } from "../support/server.js";

let server: TestServer;
let client: OpenAI;
let url: string;
const post = (prompt: string): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ model: "gpt-4", messages: [{ role: "user", content: prompt }] }),
});

beforeEach(async () => {
  ({ server, client } = await serverAndClient());
  url = `${server.baseURL}/chat/completions`;
});
afterEach(() => server.close());

describe("fromEventStream: a URL or a Request", () => {
  it("sends nothing until subscribed, then one request per subscription with the given init", async () => {
    const sent = textChunks(["Hello", " there!"]);
    server.reply(streamReply(sent), streamReply(sent));
    const answer$ = fromEventStream(url, post("Say hello there!"));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.tally.received).toBe(0);
    expect(await collect(answer$)).toEqual({ values: sent, error: undefined, completed: true });
    expect(await collect(answer$.pipe(extractDelta()))).toEqual({ values: ["Hello", " there!"], error: undefined, completed: true });
    expect(server.requests.map((request) => [request.method, request.body])).toEqual([
      ["POST", { model: "gpt-4", messages: [{ role: "user", content: "Say hello there!" }] }],
      ["POST", { model: "gpt-4", messages: [{ role: "user", content: "Say hello there!" }] }],
    ]);
  });

  it("accepts a URL object and a Request", async () => {
    server.reply(streamReply(textChunks(["a"])), streamReply(textChunks(["b"])));
    const fromURL = await collect(fromEventStream(new URL(url), post("x")).pipe(extractDelta()));
    const fromRequest = await collect(fromEventStream(new Request(url, post("y"))).pipe(extractDelta()));
    expect([fromURL.values, fromRequest.values]).toEqual([["a"], ["b"]]);
    expect(server.requests[1]?.body).toMatchObject({ messages: [{ content: "y" }] });
  });

  it("sends a Request with a body again on each subscription (a retry, say), body and all", async () => {
    server.reply(errorReply(503, "busy"), streamReply(textChunks(["b"])));
    const answer$ = fromEventStream(new Request(url, post("again")));
    const first = await collect(answer$);
    expect(first.error).toBeInstanceOf(APIError);
    expect(first.error).toMatchObject({ status: 503 });
    expect((await collect(answer$.pipe(extractDelta()))).values).toEqual(["b"]);
    expect(server.requests.map((request) => request.body)).toEqual([
      expect.objectContaining({ messages: [{ role: "user", content: "again" }] }),
      expect.objectContaining({ messages: [{ role: "user", content: "again" }] }),
    ]);
  });

  it("unsubscribing closes the connection while the server is silent", async () => {
    server.reply(streamReply(textChunks(["Hello"]).slice(0, 2), { done: false, then: [{ wait: 10_000 }] }));
    const firstTwo = await firstValueFrom(fromEventStream(url, post("x")).pipe(take(2), toArray()));
    const unsubscribedAt = performance.now();
    expect(firstTwo).toHaveLength(2);
    const request = await server.waitForRequest(0);
    const closedAt = await request.closed;
    expect(request.disconnected).toBe(true);
    // A wide margin: the point is "at once", not "after the 10 s stall".
    expect(closedAt - unsubscribedAt).toBeLessThan(2_000);
  });

  it("errors with APIUserAbortError after the chunks before it when the caller's signal aborts", async () => {
    server.reply(streamReply(textChunks(["Hello"]).slice(0, 2), { done: false, then: [{ wait: 10_000 }] }));
    const controller = new AbortController();
    const values: unknown[] = [];
    const error = await new Promise<unknown>((resolve) =>
      fromEventStream(url, { ...post("x"), signal: controller.signal }).subscribe({
        next: (chunk) => {
          values.push(chunk);
          if (values.length === 2) controller.abort();
        },
        error: resolve,
      }),
    );
    expect(error).toBeInstanceOf(APIUserAbortError);
    expect(values).toHaveLength(2);
    const request = await server.waitForRequest(0);
    await request.closed;
    expect(request.disconnected).toBe(true);
  });
});

describe("fromEventStream: the same errors as fromChatCompletion", () => {
  it.each([
    [404, NotFoundError, "The model `gpt-5` does not exist"],
    [429, RateLimitError, "Rate limit reached for requests"],
  ] as const)("HTTP %i gives %o with its status and the server's message", async (status, errorClass, message) => {
    server.reply(errorReply(status, message));
    const outcome = await collect(fromEventStream(url, post("x")));
    expect(outcome.values).toEqual([]);
    expect(outcome.error).toBeInstanceOf(errorClass);
    expect(outcome.error).toMatchObject({ status, message: `${status} ${message}` });
  });

  it("gives the status and the body's text when an error body is not JSON", async () => {
    server.reply({ status: 502, headers: { "content-type": "text/html" }, body: ["<h1>Bad gateway</h1>"] });
    const { error } = await collect(fromEventStream(url, post("x")));
    expect(error).toBeInstanceOf(APIError);
    expect(error).toMatchObject({ status: 502, message: "502 <h1>Bad gateway</h1>" });
  });

  it("gives APIConnectionError when nothing listens", async () => {
    const port = await closedPort();
    const { error } = await collect(fromEventStream(`http://127.0.0.1:${port}/v1/chat/completions`, post("x")));
    expect(error).toBeInstanceOf(APIConnectionError);
  });

  it("errors with the server's message on an error frame, after the chunks before it", async () => {
    const sent = textChunks(["Hel", "lo"]).slice(0, 3);
    server.reply(streamReply(sent, { then: [errorFrame("Provider Copilot failed: quota exceeded")] }));
    const outcome = await collect(fromEventStream(url, post("x")));
    expect(outcome.values).toStrictEqual(sent);
    expect(outcome.error).toBeInstanceOf(StreamErrorFrameError);
    expect(outcome.error).toMatchObject({ message: "Provider Copilot failed: quota exceeded" });
  });

  it("errors with IncompleteStreamError when the body ends with neither [DONE] nor a finish_reason", async () => {
    const sent = textChunks(["Hel", "lo"], { finishReason: null });
    server.reply(streamReply(sent, { done: false }));
    const outcome = await collect(fromEventStream(url, post("x")));
    expect(outcome.values).toStrictEqual(sent);
    expect(outcome.error).toBeInstanceOf(IncompleteStreamError);
  });

  it("names what arrived when the body is not an event stream or a frame is not JSON", async () => {
    server.reply({ headers: { "content-type": "text/html" }, body: ["<!doctype html><p>Login</p>"] }, { body: ["data: {oops\n\n"] });
    expect((await collect(fromEventStream(url, post("x")))).error).toBeInstanceOf(NotEventStreamError);
    expect((await collect(fromEventStream(url, post("x")))).error).toBeInstanceOf(MalformedChunkError);
  });

  it("says so when a body labelled text/event-stream holds no events, and when an error frame has no message", async () => {
    server.reply({ body: ["<!DOCTYPE html>\n<html><body>Sign in</body></html>\n"] }, { body: ["event: error\ndata: \n\n"] });
    const page = (await collect(fromEventStream(url, post("x")))).error;
    expect(page).toBeInstanceOf(NotEventStreamError);
    expect(page).toMatchObject({ message: 'The text/event-stream; charset=utf-8 body holds no Server-Sent Events: "<!DOCTYPE html>\\n<html><body>Sign in</body></html>\\n"' });
    const frame = (await collect(fromEventStream(url, post("x")))).error;
    expect(frame).toBeInstanceOf(StreamErrorFrameError);
    expect(frame).toMatchObject({ message: "an error frame with no message" });
  });
});

describe("fromEventStream: a Response", () => {
  it("reads a relay's Response (toResponse) back into the very chunks, and refuses a second subscription", async () => {
    const sent = textChunks(["Hello", " there!"]);
    server.reply(streamReply(sent));
    const relayed = toResponse(fromChatCompletion(client, { model: "gpt-4", messages: [] }).pipe(toServerSentEvents()));
    const chunks$ = fromEventStream(relayed);
    expect(await collect(chunks$)).toEqual({ values: sent, error: undefined, completed: true });
    const again = await collect(chunks$);
    expect(again.error).toBeInstanceOf(TypeError);
    expect((again.error as Error).message).toMatch(/can be read once/);
  });
});

async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const address = probe.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

import { spawn } from "node:child_process";
import type { IncomingMessage, Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import OpenAI from "openai";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import type { Stream } from "openai/streaming";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StreamErrorFrameError, extractDelta, fromCompletionStream } from "g4f-rx";
import { type TestServer, errorFrame, errorReply, startTestServer, streamReply, textChunks } from "g4f-rx/testing";
import { createRelayServer } from "../../examples/relay-node-http.js";
import { collect } from "../support/collect.js";
import { HttpStatusError, readEventStream } from "../support/read-event-stream.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("examples/relay-node-http.ts", () => {
  let upstream: TestServer;
  let relay: Server;
  let relayURL: string;
  let reported: Array<{ error: unknown; url: string | undefined }>;

  beforeEach(async () => {
    upstream = await startTestServer();
    const client = new OpenAI({ baseURL: upstream.baseURL, apiKey: "test", maxRetries: 0 });
    reported = [];
    relay = createRelayServer(client, {
      model: "relay-model",
      maxBodyBytes: 1024,
      onError: (error: unknown, request: IncomingMessage) => reported.push({ error, url: request.url }),
    });
    await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
    relayURL = `http://127.0.0.1:${(relay.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    const closed = new Promise<void>((resolve) => relay.close(() => resolve()));
    relay.closeAllConnections();
    await closed;
    await upstream.close();
  });

  const post = (body: unknown): RequestInit => ({
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

  it("relays the upstream chunks unchanged to a POST, asking upstream with the prompt and the relay's model", async () => {
    const sent = textChunks(["Hello", " there", "!"]);
    upstream.reply(streamReply(sent, { delayMs: 5 }));
    const outcome = await collect(readEventStream(`${relayURL}/chat`, post({ prompt: "Say hello there!" })));
    expect(outcome).toStrictEqual({ values: sent, error: undefined, completed: true });
    expect(upstream.requests[0]?.body).toStrictEqual({
      model: "relay-model",
      messages: [{ role: "user", content: "Say hello there!" }],
      stream: true,
    });
    expect(reported).toStrictEqual([]);
  });

  it("answers GET /chat?q=… (what EventSource sends) and a plain-text POST the same way", async () => {
    const sent = textChunks(["Hi"]);
    upstream.reply(streamReply(sent), streamReply(sent));
    const viaGet = await collect(readEventStream(`${relayURL}/chat?q=${encodeURIComponent("Say hi & bye")}`));
    const viaText = await collect(readEventStream(`${relayURL}/chat`, { method: "POST", headers: { "content-type": "text/plain" }, body: "Say hi" }));
    expect(viaGet).toStrictEqual({ values: sent, error: undefined, completed: true });
    expect(viaText).toStrictEqual({ values: sent, error: undefined, completed: true });
    expect(upstream.requests.map((request) => request.body)).toMatchObject([
      { messages: [{ role: "user", content: "Say hi & bye" }] },
      { messages: [{ role: "user", content: "Say hi" }] },
    ]);
  });

  it("can be read by the openai client itself", async () => {
    const sent = textChunks(["Hello", " there!"]);
    upstream.reply(streamReply(sent));
    const reader = new OpenAI({ baseURL: relayURL, apiKey: "unused", maxRetries: 0 });
    // The SDK's generic request method, told to parse the answer as a stream.
    const stream = await reader.post<Stream<ChatCompletionChunk>>("/chat", { body: { prompt: "Say hello there!" }, stream: true });
    const outcome = await collect(fromCompletionStream(stream));
    expect(outcome).toStrictEqual({ values: sent, error: undefined, completed: true });
  });

  it("keeps the answer going when the browser disconnects; GET /chat/{id} with Last-Event-ID resumes it, and only a stop aborts upstream", async () => {
    // Upstream sends two pieces of text and then stays silent, as a slow model does.
    upstream.reply(streamReply(textChunks(["Hello", " there"], { finishReason: null }), { done: false, then: [{ wait: 10_000 }] }));
    const controller = new AbortController();
    const response = await fetch(`${relayURL}/chat`, { ...post({ prompt: "Say hello" }), signal: controller.signal });
    const id = response.headers.get("x-stream-id") ?? "";
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const reader = response.body?.getReader();
    await reader?.read();
    controller.abort();
    const upstreamRequest = await upstream.waitForRequest(0);
    // The browser left; the upstream request did not. A reconnect gets the frames after the one it had.
    const resumed = await fetch(`${relayURL}/chat/${id}`, { headers: { "last-event-id": "1" } });
    const stop = await fetch(`${relayURL}/chat/${id}/stop`, { method: "POST" });
    expect(await stop.json()).toStrictEqual({ id, stopped: true });
    const text = await resumed.text();
    expect(text.startsWith("id: 2\n")).toBe(true);
    expect(text).toContain('"content":"Hello"');
    expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
    await upstreamRequest.closed;
    expect(upstreamRequest.disconnected).toBe(true);
    expect(upstream.requests).toHaveLength(1);
    expect((await fetch(`${relayURL}/chat/${id}`, { headers: { "last-event-id": "99" } })).status).toBe(204);
    expect((await fetch(`${relayURL}/chat/unknown-id`)).status).toBe(404);
    expect(reported).toStrictEqual([]);
  });

  it("passes an error frame from upstream on to the reader as an error, after the text before it", async () => {
    upstream.reply(streamReply(textChunks(["Hel"], { finishReason: null }), { done: false, then: [errorFrame("The provider is overloaded")] }));
    const outcome = await collect(readEventStream(`${relayURL}/chat`, post({ prompt: "Say hello" })).pipe(extractDelta()));
    expect(outcome.values).toStrictEqual(["Hel"]);
    expect(outcome.error).toBeInstanceOf(StreamErrorFrameError);
    expect((outcome.error as Error).message).toContain("The provider is overloaded");
    expect(reported).toHaveLength(1);
    expect(reported[0]?.error).toBeInstanceOf(StreamErrorFrameError);
  });

  it("passes an upstream HTTP error on to the reader with its message", async () => {
    upstream.reply(errorReply(429, "Rate limit reached", { type: "rate_limit_error" }));
    const outcome = await collect(readEventStream(`${relayURL}/chat`, post({ prompt: "Say hello" })));
    expect(outcome.values).toStrictEqual([]);
    expect(outcome.error).toBeInstanceOf(StreamErrorFrameError);
    expect((outcome.error as Error).message).toContain("Rate limit reached");
    expect(reported.map(({ url }) => url)).toStrictEqual(["/chat"]);
  });

  it("refuses bad requests in OpenAI's error format without asking upstream", async () => {
    const refusals: Array<[string, RequestInit | undefined, number, RegExp]> = [
      ["/chat", post({ prompt: "  " }), 400, /prompt is empty/],
      ["/chat", post({ text: "hi" }), 400, /no "prompt" string/],
      ["/chat", { method: "POST", headers: { "content-type": "application/json" }, body: "{" }, 400, /not JSON/],
      ["/chat", undefined, 400, /prompt is empty/],
      ["/chat", post({ prompt: "x".repeat(2000) }), 413, /larger than 1024 bytes/],
      ["/v1/chat/completions", post({ prompt: "hi" }), 404, /Nothing at \/v1\/chat\/completions/],
    ];
    for (const [path, init, status, message] of refusals) {
      const response = await fetch(`${relayURL}${path}`, init);
      const body: unknown = await response.json();
      expect(response.status).toBe(status);
      expect(body).toMatchObject({ error: { type: "invalid_request_error" } });
      const error: unknown = typeof body === "object" && body !== null ? Reflect.get(body, "error") : undefined;
      expect(typeof error === "object" && error !== null ? Reflect.get(error, "message") : undefined).toMatch(message);
    }
    const put = await fetch(`${relayURL}/chat`, { method: "PUT" });
    expect([put.status, put.headers.get("allow")]).toStrictEqual([405, "GET, POST"]);
    expect(upstream.requests).toHaveLength(0);
  });

  it("reports a non-2xx answer to the reader helper as an HttpStatusError", async () => {
    // Guards the helper the other tests rely on: a refusal must not look like an empty stream.
    const outcome = await collect(readEventStream(`${relayURL}/elsewhere`));
    expect(outcome.error).toBeInstanceOf(HttpStatusError);
    expect((outcome.error as HttpStatusError).status).toBe(404);
  });

  it("runs as a script: listens where --port says, relays --base-url, and stops on SIGTERM", async () => {
    upstream.reply(streamReply(textChunks(["Hello", " there!"])));
    const child = spawn(process.execPath, ["--import", "tsx", "examples/relay-node-http.ts", "--base-url", upstream.baseURL, "--port", "0"], {
      cwd: root,
      env: { ...process.env, OPENAI_BASE_URL: "", OPENAI_API_KEY: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let stderr = "";
        child.stderr.on("data", (piece: Buffer) => {
          stderr += piece.toString();
          const match = /on (http:\/\/\S+\/chat)\n/.exec(stderr);
          if (match?.[1] !== undefined) resolve(match[1]);
        });
        void exited.then((code) => reject(new Error(`the relay exited with ${String(code)} before listening: ${stderr}`)));
      });
      const outcome = await collect(readEventStream(url, post({ prompt: "Say hello" })).pipe(extractDelta()));
      expect(outcome).toStrictEqual({ values: ["Hello", " there!"], error: undefined, completed: true });
      expect(upstream.requests[0]?.body).toMatchObject({ model: "gpt-4o-mini" });
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  });
});

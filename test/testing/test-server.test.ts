import OpenAI, { InternalServerError, NotFoundError } from "openai";
import { performance } from "node:perf_hooks";
import { share } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import { extractDelta, fromChatCompletion } from "g4f-rx";
import { accumulateMessage, toolCalls, usage } from "g4f-rx/operators";
import { DONE_EVENT, type TestServer, sseFrame, startTestServer, streamReply, textChunks, toolCallChunks } from "g4f-rx/testing";
import { collect } from "../support/collect.js";

const params = { model: "gpt-4", messages: [{ role: "user" as const, content: "Hi" }] };
let server: TestServer | undefined;
afterEach(() => server?.close());

describe("the test server", () => {
  it("lists its models at GET /v1/models", async () => {
    server = await startTestServer({ models: ["gpt-4", "llama3.2"] });
    const client = new OpenAI({ baseURL: server.baseURL, apiKey: "k", maxRetries: 0 });
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual(["gpt-4", "llama3.2"]);
  });

  it("answers an unscripted request with a 500 that says so, and an unknown route with a 404", async () => {
    server = await startTestServer();
    const client = new OpenAI({ baseURL: server.baseURL, apiKey: "k", maxRetries: 0 });
    const outcome = await collect(fromChatCompletion(client, params));
    expect(outcome.error).toBeInstanceOf(InternalServerError);
    expect((outcome.error as Error).message).toContain("no reply was scripted");
    await expect(client.embeddings.create({ model: "x", input: "y" })).rejects.toBeInstanceOf(NotFoundError);
  });

  it("says which request found the queue empty, and the client does not retry it", async () => {
    server = await startTestServer();
    server.reply(streamReply(textChunks(["one"])));
    // The client's default retries: a 500 is retried unless the server says not to.
    const client = new OpenAI({ baseURL: server.baseURL, apiKey: "k" });
    expect((await collect(fromChatCompletion(client, params).pipe(extractDelta()))).values).toEqual(["one"]);
    const outcome = await collect(fromChatCompletion(client, params));
    expect(outcome.error).toBeInstanceOf(InternalServerError);
    expect((outcome.error as Error).message).toBe(
      "500 test server: no reply was scripted for request #2 (POST /v1/chat/completions): the 1 reply queued was used; queue more with server.reply(…) or set one with server.setDefaultReply(…)",
    );
    expect(server.requests).toHaveLength(2);
    server.reply(streamReply(textChunks(["two"])), streamReply(textChunks(["three"])));
    await collect(fromChatCompletion(client, params));
    await collect(fromChatCompletion(client, params));
    expect(((await collect(fromChatCompletion(client, params))).error as Error).message).toContain("for request #5 (POST /v1/chat/completions): the 3 replies queued were all used;");
    await server.close();
    server = await startTestServer();
    const fresh = new OpenAI({ baseURL: server.baseURL, apiKey: "k" });
    expect(((await collect(fromChatCompletion(fresh, params))).error as Error).message).toContain("for request #1 (POST /v1/chat/completions): none was queued;");
  });

  it("rejects a wait for a request that has not come when it closes, and any wait after", async () => {
    server = await startTestServer();
    const pending = server.waitForRequest(0);
    await server.close();
    await expect(pending).rejects.toThrow("test server: closed before the request waitForRequest(0) waits for arrived (0 arrived)");
    await expect(server.waitForRequest(3)).rejects.toThrow("waitForRequest(3)");
  });

  it("rejects a wait for a request at once when requests are not recorded", async () => {
    server = await startTestServer({ record: false });
    await expect(server.waitForRequest(0)).rejects.toThrow("requests are not recorded: record is false");
  });

  it("plays queued replies in order, then the default reply", async () => {
    server = await startTestServer();
    server.reply(streamReply(textChunks(["one"])), streamReply(textChunks(["two"])));
    server.setDefaultReply((request) => {
      const model = typeof request.body === "object" && request.body !== null && "model" in request.body ? String(request.body.model) : "?";
      return streamReply(textChunks([`default for ${model}`]));
    });
    const client = new OpenAI({ baseURL: server.baseURL, apiKey: "k", maxRetries: 0 });
    const texts = [];
    for (let i = 0; i < 3; i += 1) texts.push((await collect(fromChatCompletion(client, params).pipe(extractDelta()))).values.join(""));
    expect(texts).toEqual(["one", "two", "default for gpt-4"]);
  });

  it("builds the usage chunk OpenAI sends last with include_usage: empty choices, after the finish_reason", async () => {
    const tokens = { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 };
    const chunks = textChunks(["Hel", "lo"], { usage: tokens });
    expect(chunks.map((chunk) => [chunk.choices.length, chunk.choices[0]?.finish_reason ?? null, chunk.usage ?? null])).toStrictEqual([
      [1, null, null],
      [1, null, null],
      [1, null, null],
      [1, "stop", null],
      [0, null, tokens],
    ]);
    server = await startTestServer();
    server.reply(streamReply(chunks), streamReply(chunks));
    const client = new OpenAI({ baseURL: server.baseURL, apiKey: "k", maxRetries: 0 });
    expect((await collect(fromChatCompletion(client, params).pipe(usage()))).values).toStrictEqual([tokens]);
    expect((await collect(fromChatCompletion(client, params).pipe(accumulateMessage()))).values.at(-1)?.choices[0]?.message.content).toBe("Hello");
  });

  it("builds the chunks of an answer that calls tools, as OpenAI streams them: a start chunk per call, then its arguments", async () => {
    const calls = [
      { id: "call_1", name: "weather", arguments: { city: "Zürich" } },
      { id: "call_2", name: "time", arguments: "" },
    ];
    const chunks = toolCallChunks(calls, { text: ["Let me check."], pieceLength: 4 });
    expect(chunks[0]?.choices[0]?.delta).toEqual({ role: "assistant", content: "" });
    expect(chunks[2]?.choices[0]?.delta).toEqual({ tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "weather", arguments: "" } }] });
    expect(chunks[3]?.choices[0]?.delta).toEqual({ tool_calls: [{ index: 0, function: { arguments: '{"ci' } }] });
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("tool_calls");
    expect(toolCallChunks([{ id: "c", name: "n", arguments: "{}" }])[0]?.choices[0]?.delta).toEqual({ role: "assistant", content: null });
    expect(() => toolCallChunks([], { pieceLength: 0 })).toThrow("pieceLength must be a positive integer");

    server = await startTestServer();
    server.reply(streamReply(chunks, { pieceSize: 3 }));
    const client = new OpenAI({ baseURL: server.baseURL, apiKey: "k", maxRetries: 0 });
    const answer = fromChatCompletion(client, params).pipe(share());
    const [completed, snapshots] = await Promise.all([collect(answer.pipe(toolCalls())), collect(answer.pipe(accumulateMessage()))]);
    expect(completed.error).toBeUndefined();
    expect(completed.values.map((call) => [call.id, call.name, call.arguments])).toEqual([
      ["call_1", "weather", { city: "Zürich" }],
      ["call_2", "time", {}],
    ]);
    expect(snapshots.values.at(-1)?.choices[0]?.message).toEqual({
      role: "assistant",
      content: "Let me check.",
      tool_calls: [
        { id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":"Zürich"}' } },
        { id: "call_2", type: "function", function: { name: "time", arguments: "" } },
      ],
    });
  });

  it("writes a function step's result when its turn comes, not when the reply is scripted", async () => {
    server = await startTestServer();
    const scriptedAt = performance.now();
    let writtenAt = 0;
    const [, chunk] = textChunks(["x"]);
    server.reply({ body: [{ wait: 30 }, () => ((writtenAt = performance.now()), sseFrame(chunk)), sseFrame(textChunks([])[1]!), DONE_EVENT] });
    const client = new OpenAI({ baseURL: server.baseURL, apiKey: "k", maxRetries: 0 });
    await collect(fromChatCompletion(client, params));
    expect(writtenAt - scriptedAt).toBeGreaterThanOrEqual(29);
  });

  it("keeps counts, also without recording requests", async () => {
    server = await startTestServer({ record: false });
    server.setDefaultReply(streamReply(textChunks(["Hello"]).slice(0, 2), { done: false, then: [{ wait: 10_000 }] }));
    const client = new OpenAI({ baseURL: server.baseURL, apiKey: "k", maxRetries: 0 });
    const subscription = fromChatCompletion(client, params).subscribe();
    while (server.tally.received === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    subscription.unsubscribe();
    while (server.tally.closed === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    expect(server.tally).toEqual({ received: 1, closed: 1, disconnected: 1 });
    expect(server.requests).toEqual([]);
  });
});

import { DefaultChatTransport, type UIMessage, type UIMessageChunk, readUIMessageStream } from "ai";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type RelayServer, startRelayServer } from "g4f-rx/node";
import { type TestServer, responseEvents, responsesReply, startTestServer, streamReply, textChunks } from "g4f-rx/testing";

const PIECES = ["Hello", " there", "!", " How", " can", " I", " help", "?"];

let upstream: TestServer;
let relay: RelayServer;

beforeEach(async () => {
  upstream = await startTestServer();
  relay = await startRelayServer({ upstream: upstream.baseURL });
});

afterEach(async () => {
  await relay.close();
  await upstream.close();
});

/** What the README's page keeps in `sessionStorage`: each chat's answer streaming now, by its stream id. */
let streaming: Map<string, string>;
beforeEach(() => {
  streaming = new Map();
});

/** The AI SDK's own transport, as the README's `useChat({ resume })` recipe sets it up, pointed at the relay. */
function transport(): DefaultChatTransport<UIMessage> {
  return new DefaultChatTransport<UIMessage>({
    api: `${relay.baseURL}/chat/completions?format=ui-message`,
    prepareSendMessagesRequest: ({ id, messages }) => {
      const streamId = `${id}.${crypto.randomUUID()}`;
      streaming.set(id, streamId);
      return {
        headers: { "x-stream-id": streamId },
        body: {
          model: "gpt-4",
          stream: true,
          messages: messages.map((message) => ({
            role: message.role,
            content: message.parts.map((part) => (part.type === "text" ? part.text : "")).join(""),
          })),
        },
      };
    },
    prepareReconnectToStreamRequest: ({ id }) => ({ api: `${relay.baseURL}/streams/${streaming.get(id) ?? ""}` }),
  });
}

const question: UIMessage = { id: "m1", role: "user", parts: [{ type: "text", text: "Say hello there!" }] };

function textOf(message: UIMessage | undefined): string {
  return (message?.parts ?? []).map((part) => (part.type === "text" ? part.text : "")).join("");
}

describe("toUIMessageStream through the relay, read by the ai package's own client", () => {
  it("streams a whole answer that readUIMessageStream assembles into one assistant message", async () => {
    upstream.reply(streamReply(textChunks(PIECES)));
    const stream = await transport().sendMessages({ trigger: "submit-message", chatId: "chat-whole", messageId: undefined, messages: [question], abortSignal: undefined });
    let last: UIMessage | undefined;
    for await (const message of readUIMessageStream({ stream, terminateOnError: true })) last = message;
    expect(last?.role).toBe("assistant");
    expect(textOf(last)).toBe(PIECES.join(""));
    expect(last?.parts.find((part) => part.type === "text")).toMatchObject({ state: "done" });
  });

  it("resumes after the page went away mid-answer: reconnectToStream replays the answer whole, with one upstream request", async () => {
    upstream.reply(streamReply(textChunks(PIECES), { delayMs: 40 }));
    const client = transport();
    const leaving = new AbortController();
    const stream = await client.sendMessages({ trigger: "submit-message", chatId: "chat-resume", messageId: undefined, messages: [question], abortSignal: leaving.signal });
    let partial: UIMessage | undefined;
    for await (const message of readUIMessageStream({ stream })) {
      partial = message;
      if (textOf(message).length > 0) break;
    }
    leaving.abort();
    expect(textOf(partial)).not.toBe(PIECES.join(""));

    const resumed = await client.reconnectToStream({ chatId: "chat-resume" });
    expect(resumed).not.toBeNull();
    let last: UIMessage | undefined;
    if (resumed !== null) for await (const message of readUIMessageStream({ stream: resumed, terminateOnError: true })) last = message;
    expect(textOf(last)).toBe(PIECES.join(""));
    expect(upstream.requests).toHaveLength(1);
  });

  it("answers every message of a chat, each its own stream, and resumes the one streaming now", async () => {
    upstream.reply(streamReply(textChunks(["One."])), streamReply(textChunks(PIECES), { delayMs: 40 }));
    const client = transport();
    const chatId = "chat-two-messages";
    const first = await client.sendMessages({ trigger: "submit-message", chatId, messageId: undefined, messages: [question], abortSignal: undefined });
    let answer: UIMessage | undefined;
    for await (const message of readUIMessageStream({ stream: first, terminateOnError: true })) answer = message;
    expect(textOf(answer)).toBe("One.");
    const next: UIMessage = { id: "m2", role: "user", parts: [{ type: "text", text: "And again?" }] };
    const leaving = new AbortController();
    const second = await client.sendMessages({ trigger: "submit-message", chatId, messageId: undefined, messages: [question, { id: "a1", role: "assistant", parts: [{ type: "text", text: textOf(answer) }] }, next], abortSignal: leaving.signal });
    for await (const message of readUIMessageStream({ stream: second })) if (textOf(message).length > 0) break;
    leaving.abort();
    const resumed = await client.reconnectToStream({ chatId });
    let last: UIMessage | undefined;
    if (resumed !== null) for await (const message of readUIMessageStream({ stream: resumed, terminateOnError: true })) last = message;
    expect(textOf(last)).toBe(PIECES.join(""));
    expect(upstream.requests).toHaveLength(2);
    expect(upstream.requests[1]?.body).toMatchObject({ messages: [{ content: "Say hello there!" }, { role: "assistant", content: "One." }, { content: "And again?" }] });
  });

  it("ends a stopped answer cleanly, with the text so far, for a reader that joins after the stop", async () => {
    upstream.reply(streamReply(textChunks(["Hello", " there"], { finishReason: null }), { then: [{ wait: 60_000 }] }));
    const client = transport();
    const stream = await client.sendMessages({ trigger: "submit-message", chatId: "chat-stop", messageId: undefined, messages: [question], abortSignal: undefined });
    const reading = (async () => {
      let last: UIMessage | undefined;
      for await (const message of readUIMessageStream({ stream, terminateOnError: true })) {
        last = message;
        if (textOf(message) === "Hello there") await fetch(`${relay.baseURL}/streams/${streaming.get("chat-stop") ?? ""}/stop`, { method: "POST" });
      }
      return last;
    })();
    expect(textOf(await reading)).toBe("Hello there");
    const again = await client.reconnectToStream({ chatId: "chat-stop" });
    let replayed: UIMessage | undefined;
    if (again !== null) for await (const message of readUIMessageStream({ stream: again, terminateOnError: true })) replayed = message;
    expect(textOf(replayed)).toBe("Hello there");
  });

  it("carries a tool call's streamed arguments, which the ai package assembles into a tool part with its input", async () => {
    const chunk = (delta: ChatCompletionChunk.Choice.Delta, finish: ChatCompletionChunk.Choice["finish_reason"] = null): ChatCompletionChunk => ({
      id: "chatcmpl-tools",
      object: "chat.completion.chunk",
      created: 1,
      model: "gpt-4",
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    upstream.reply(
      streamReply([
        chunk({ role: "assistant", content: "Let me look." }),
        chunk({ tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "weather", arguments: '{"ci' } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: 'ty":"Paris"}' } }] }),
        chunk({}, "tool_calls"),
      ]),
    );
    const stream = await transport().sendMessages({ trigger: "submit-message", chatId: "chat-tools", messageId: undefined, messages: [question], abortSignal: undefined });
    const seen: string[] = [];
    let last: UIMessage | undefined;
    for await (const message of readUIMessageStream({ stream, terminateOnError: true })) {
      last = message;
      const tool = message.parts.find((part) => part.type === "tool-weather");
      if (tool !== undefined && "state" in tool && typeof tool.state === "string" && seen.at(-1) !== tool.state) seen.push(tool.state);
    }
    expect(textOf(last)).toBe("Let me look.");
    expect(last?.parts.find((part) => part.type === "tool-weather")).toMatchObject({ toolCallId: "call_1", state: "input-available", input: { city: "Paris" } });
    // The ai package showed the call while its arguments streamed, then with its whole input.
    expect(seen).toEqual(["input-streaming", "input-available"]);
  });

  it("gives interleaved parallel calls their whole input in index order, the order the ai package runs them in", async () => {
    const chunk = (toolCalls: ChatCompletionChunk.Choice.Delta.ToolCall[], finish: ChatCompletionChunk.Choice["finish_reason"] = null): ChatCompletionChunk => ({
      id: "chatcmpl-parallel",
      object: "chat.completion.chunk",
      created: 1,
      model: "gpt-4",
      choices: [{ index: 0, delta: { tool_calls: toolCalls }, finish_reason: finish }],
    });
    upstream.reply(
      streamReply([
        chunk([{ index: 1, id: "call_k", type: "function", function: { name: "clock", arguments: "{}" } }]),
        chunk([{ index: 0, id: "call_w", type: "function", function: { name: "weather", arguments: '{"city":' } }]),
        chunk([{ index: 2, id: "call_n", type: "function", function: { name: "news", arguments: "{}" } }]),
        chunk([{ index: 0, function: { arguments: '"Paris"}' } }], "tool_calls"),
      ]),
    );
    const stream = await transport().sendMessages({ trigger: "submit-message", chatId: "chat-parallel", messageId: undefined, messages: [question], abortSignal: undefined });
    const available: string[] = [];
    for await (const message of readUIMessageStream({ stream, terminateOnError: true })) {
      for (const part of message.parts) {
        if (!("toolCallId" in part) || !("state" in part) || part.state !== "input-available" || available.includes(part.toolCallId)) continue;
        available.push(part.toolCallId);
      }
    }
    expect(available).toEqual(["call_w", "call_k", "call_n"]);
  });
});

/** The AI SDK's transport pointed at the relay's POST /v1/responses?format=ui-message, a Responses request per message. */
function responsesTransport(): DefaultChatTransport<UIMessage> {
  return new DefaultChatTransport<UIMessage>({
    api: `${relay.baseURL}/responses?format=ui-message`,
    prepareSendMessagesRequest: ({ id, messages }) => {
      const streamId = `${id}.${crypto.randomUUID()}`;
      streaming.set(id, streamId);
      return { headers: { "x-stream-id": streamId }, body: { model: "gpt-5-mini", stream: true, input: messages.map((message) => ({ role: message.role, content: textOf(message) })) } };
    },
    prepareReconnectToStreamRequest: ({ id }) => ({ api: `${relay.baseURL}/streams/${streaming.get(id) ?? ""}` }),
  });
}

async function lastMessage(stream: ReadableStream<UIMessageChunk>): Promise<UIMessage | undefined> {
  let last: UIMessage | undefined;
  for await (const message of readUIMessageStream({ stream, terminateOnError: true })) last = message;
  return last;
}

describe("a Responses API upstream through the relay's ?format=ui-message, read by the ai package's own client", () => {
  it("streams reasoning summary and text, which readUIMessageStream assembles into one assistant message, and resumes it whole", async () => {
    upstream.reply(responsesReply(responseEvents(PIECES, { reasoning: ["Think", "ing"] }), { delayMs: 30 }));
    const client = responsesTransport();
    const leaving = new AbortController();
    const stream = await client.sendMessages({ trigger: "submit-message", chatId: "resp-ui", messageId: undefined, messages: [question], abortSignal: leaving.signal });
    let partial: UIMessage | undefined;
    for await (const message of readUIMessageStream({ stream })) {
      partial = message;
      if (textOf(message).length > 0) break;
    }
    leaving.abort();
    expect(partial?.id).toBe("resp_test");
    expect(textOf(partial)).not.toBe(PIECES.join(""));

    const resumed = await client.reconnectToStream({ chatId: "resp-ui" });
    const last = resumed === null ? undefined : await lastMessage(resumed);
    expect(last?.id).toBe("resp_test");
    expect(textOf(last)).toBe(PIECES.join(""));
    expect(last?.parts.find((part) => part.type === "reasoning")).toMatchObject({ text: "Thinking", state: "done" });
    expect(last?.parts.find((part) => part.type === "text")).toMatchObject({ state: "done" });
    expect(upstream.requests).toHaveLength(1);
    expect(upstream.requests[0]?.path).toMatch(/\/responses$/);
  });

  it("ends a stopped answer cleanly, with the text so far, for the reader and one that joins after the stop", async () => {
    upstream.reply(responsesReply(responseEvents(["Hello", " there"], { end: null }), { then: [{ wait: 60_000 }] }));
    const client = responsesTransport();
    const stream = await client.sendMessages({ trigger: "submit-message", chatId: "resp-stop", messageId: undefined, messages: [question], abortSignal: undefined });
    const reading = (async () => {
      let last: UIMessage | undefined;
      for await (const message of readUIMessageStream({ stream, terminateOnError: true })) {
        last = message;
        if (textOf(message) === "Hello there") await fetch(`${relay.baseURL}/streams/${streaming.get("resp-stop") ?? ""}/stop`, { method: "POST" });
      }
      return last;
    })();
    expect(textOf(await reading)).toBe("Hello there");
    const again = await client.reconnectToStream({ chatId: "resp-stop" });
    const replayed = again === null ? undefined : await lastMessage(again);
    expect(textOf(replayed)).toBe("Hello there");
    await upstream.requests[0]?.closed;
    expect(upstream.requests[0]?.disconnected).toBe(true);
  });

  it("carries a function call's streamed arguments into a tool part with its input, and an upstream error as the stream's error", async () => {
    const [created, inProgress] = responseEvents([]);
    const item = { type: "function_call" as const, id: "fc_1", call_id: "call_1", name: "weather", arguments: "", status: "in_progress" as const };
    const done = { ...item, arguments: '{"city":"Paris"}', status: "completed" as const };
    const events: ResponseStreamEvent[] = [
      ...(created === undefined || inProgress === undefined ? [] : [created, inProgress]),
      { type: "response.output_item.added", output_index: 0, item, sequence_number: 2 },
      { type: "response.function_call_arguments.delta", item_id: "fc_1", output_index: 0, delta: '{"ci', sequence_number: 3 },
      { type: "response.function_call_arguments.delta", item_id: "fc_1", output_index: 0, delta: 'ty":"Paris"}', sequence_number: 4 },
      { type: "response.output_item.done", output_index: 0, item: done, sequence_number: 5 },
    ];
    const completed = responseEvents([]).at(-1);
    if (completed?.type !== "response.completed") throw new Error("responseEvents ends with response.completed");
    upstream.reply(responsesReply([...events, { ...completed, sequence_number: 6, response: { ...completed.response, output: [done] } }]));
    const stream = await responsesTransport().sendMessages({ trigger: "submit-message", chatId: "resp-tools", messageId: undefined, messages: [question], abortSignal: undefined });
    const seen: string[] = [];
    let last: UIMessage | undefined;
    for await (const message of readUIMessageStream({ stream, terminateOnError: true })) {
      last = message;
      const tool = message.parts.find((part) => part.type === "tool-weather");
      if (tool !== undefined && "state" in tool && typeof tool.state === "string" && seen.at(-1) !== tool.state) seen.push(tool.state);
    }
    expect(last?.parts.find((part) => part.type === "tool-weather")).toMatchObject({ toolCallId: "call_1", state: "input-available", input: { city: "Paris" } });
    expect(seen).toEqual(["input-streaming", "input-available"]);

    upstream.reply({ body: [...(responsesReply(responseEvents(["Hel"], { end: null })).body ?? []), `event: error\ndata: ${JSON.stringify({ type: "error", code: "server_error", message: "The model crashed mid-answer", param: null, sequence_number: 9 })}\n\n`] });
    const failing = await responsesTransport().sendMessages({ trigger: "submit-message", chatId: "resp-error", messageId: undefined, messages: [question], abortSignal: undefined });
    const failure = await lastMessage(failing).catch((error: unknown) => error);
    expect(failure instanceof Error ? failure.message : failure).toContain("The model crashed mid-answer");
  });
});

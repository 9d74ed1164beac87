import OpenAI from "openai";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Tool, runToolLoop } from "../../examples/tool-calling-loop.js";
import { type TestServer, streamReply, textChunks } from "g4f-rx/testing";
import { asChunk } from "../support/wire.js";
import { serverAndClient } from "../support/server.js";

const toolChunk = (toolCalls: object[], finish: string | null = null): ReturnType<typeof asChunk> =>
  asChunk({ id: "r1", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { tool_calls: toolCalls }, finish_reason: finish }] });

let server: TestServer;
let client: OpenAI;
beforeEach(async () => ({ server, client } = await serverAndClient()));
afterEach(() => server.close());

describe("examples/tool-calling-loop", () => {
  it("streams, answers each tool call, sends the results back and streams the final answer", async () => {
    const ran: unknown[] = [];
    const tools: Tool[] = [
      { definition: { type: "function", function: { name: "add", parameters: { type: "object" } } }, run: (args) => (ran.push(args), { sum: 42 }) },
      { definition: { type: "function", function: { name: "get_time", parameters: { type: "object" } } }, run: (args) => (ran.push(args), { time: "09:00" }) },
    ];
    // Round 1: some text, then two tool calls in fragments. Round 2: the answer.
    server.reply(
      streamReply(
        [
          ...textChunks(["Let me check."], { finishReason: null }),
          toolChunk([{ index: 0, id: "call_a", type: "function", function: { name: "add", arguments: '{"a": 19,' } }]),
          toolChunk([{ index: 0, function: { arguments: ' "b": 23}' } }]),
          toolChunk([{ index: 1, id: "call_t", type: "function", function: { name: "get_time", arguments: '{"tz":"Asia/Tokyo"}' } }]),
          toolChunk([], "tool_calls"),
        ],
        { delayMs: 2 },
      ),
      streamReply(textChunks(["It is 09:00; ", "19 + 23 = 42."]), { delayMs: 2 }),
    );
    let printed = "";
    const result = await runToolLoop(client, {
      model: "m",
      messages: [{ role: "user", content: "time and sum?" }],
      tools,
      out: { write: (text: string) => (printed += text) },
    });

    expect(result.text).toBe("It is 09:00; 19 + 23 = 42.");
    expect(result.rounds).toBe(2);
    expect(printed).toBe("Let me check.It is 09:00; 19 + 23 = 42.");
    expect(ran).toStrictEqual([{ a: 19, b: 23 }, { tz: "Asia/Tokyo" }]);
    expect(server.requests).toHaveLength(2);
    const second = server.requests[1]?.body;
    expect(second).toMatchObject({
      stream: true,
      tools: [{ function: { name: "add" } }, { function: { name: "get_time" } }],
      messages: [
        { role: "user", content: "time and sum?" },
        {
          role: "assistant",
          content: "Let me check.",
          tool_calls: [
            { id: "call_a", type: "function", function: { name: "add", arguments: '{"a": 19, "b": 23}' } },
            { id: "call_t", type: "function", function: { name: "get_time", arguments: '{"tz":"Asia/Tokyo"}' } },
          ],
        },
        { role: "tool", tool_call_id: "call_a", content: '{"sum":42}' },
        { role: "tool", tool_call_id: "call_t", content: '{"time":"09:00"}' },
      ],
    });
    expect(result.messages.at(-1)).toStrictEqual({ role: "assistant", content: "It is 09:00; 19 + 23 = 42." });
  });

  it("sends back what the provider attached to a call (Gemini's thought signature) and, when asked, the reasoning", async () => {
    const signature = { google: { thought_signature: "CrICAdHt…" } };
    server.reply(
      streamReply([
        asChunk({ id: "r1", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { reasoning_content: "Need the sum." }, finish_reason: null }] }),
        toolChunk([{ id: "function-call-1", type: "function", function: { name: "add", arguments: '{"a":1,"b":2}' }, extra_content: signature }], "stop"),
      ]),
      streamReply(textChunks(["3"])),
    );
    const tools: Tool[] = [{ definition: { type: "function", function: { name: "add" } }, run: () => ({ sum: 3 }) }];
    const result = await runToolLoop(client, { model: "m", messages: [], tools, out: { write: () => undefined }, reasoningField: "reasoning_content" });
    expect(result.text).toBe("3");
    expect(server.requests[1]?.body).toMatchObject({
      messages: [
        {
          role: "assistant",
          content: null,
          reasoning_content: "Need the sum.",
          tool_calls: [{ id: "function-call-1", type: "function", function: { name: "add", arguments: '{"a":1,"b":2}' }, extra_content: signature }],
        },
        { role: "tool", tool_call_id: "function-call-1", content: '{"sum":3}' },
      ],
    });
  });

  it("sends a call that came without an id (Ollama, GPT4Free providers) back with a made-up one, the same in the tool's answer", async () => {
    server.reply(
      streamReply([
        toolChunk([{ index: 0, type: "function", function: { name: "add", arguments: '{"a":1,"b":2}' } }]),
        toolChunk([{ index: 1, id: "", type: "function", function: { name: "add", arguments: '{"a":3,"b":4}' } }], "tool_calls"),
      ]),
      streamReply(textChunks(["3 and 7"])),
    );
    const tools: Tool[] = [{ definition: { type: "function", function: { name: "add" } }, run: (args) => ({ sum: Object.values(args as Record<string, number>).reduce((a, b) => a + b, 0) }) }];
    const result = await runToolLoop(client, { model: "m", messages: [{ role: "user", content: "sums?" }], tools, out: { write: () => undefined } });
    expect(result.text).toBe("3 and 7");
    // What the server received: every call has an id, and each tool message answers one of them.
    expect(server.requests[1]?.body).toMatchObject({
      messages: [
        { role: "user", content: "sums?" },
        {
          role: "assistant",
          tool_calls: [
            { id: "call_r1_0", type: "function", function: { name: "add", arguments: '{"a":1,"b":2}' } },
            { id: "call_r1_1", type: "function", function: { name: "add", arguments: '{"a":3,"b":4}' } },
          ],
        },
        { role: "tool", tool_call_id: "call_r1_0", content: '{"sum":3}' },
        { role: "tool", tool_call_id: "call_r1_1", content: '{"sum":7}' },
      ],
    });
  });

  it("gives up after maxRounds requests that all call tools", async () => {
    const call = streamReply([toolChunk([{ index: 0, id: "c", type: "function", function: { name: "add", arguments: "{}" } }], "tool_calls")]);
    server.setDefaultReply(call);
    const tools: Tool[] = [{ definition: { type: "function", function: { name: "add" } }, run: () => 0 }];
    await expect(runToolLoop(client, { model: "m", messages: [], tools, out: { write: () => undefined }, maxRounds: 2 })).rejects.toThrow(
      "The model was still calling tools after 2 requests",
    );
    expect(server.requests).toHaveLength(2);
  });
});

import type { ChatCompletion, ChatCompletionMessage } from "openai/resources/chat/completions";
import { EMPTY, lastValueFrom, map, of } from "rxjs";
import { describe, expect, it } from "vitest";
import { assembleCompletion, completionChunk, extractDelta, extractReasoning } from "g4f-rx";
import { contentChunk } from "../support/chunks.js";
import { asChunk } from "../support/wire.js";

const completion: ChatCompletion = {
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 7,
  model: "gpt-4",
  usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
  choices: [
    {
      index: 0,
      finish_reason: "tool_calls",
      logprobs: null,
      message: {
        role: "assistant",
        content: "Hi",
        refusal: null,
        tool_calls: [{ id: "call_1", type: "function", function: { name: "f", arguments: '{"a":1}' } }],
      },
    },
  ],
};

describe("completionChunk", () => {
  it("turns each message into a delta, with the usage", () => {
    expect(completionChunk(completion)).toEqual({
      id: "chatcmpl-1",
      object: "chat.completion.chunk",
      created: 7,
      model: "gpt-4",
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
      choices: [
        {
          index: 0,
          finish_reason: "tool_calls",
          logprobs: null,
          delta: { role: "assistant", content: "Hi", refusal: null, tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "f", arguments: '{"a":1}' } }] },
        },
      ],
    });
  });

  it("carries the message's reasoning, so extractReasoning reads it", async () => {
    // DeepSeek's non-streaming answer carries the reasoning beside the content.
    const message: ChatCompletionMessage & { reasoning_content: string } = { role: "assistant", content: "391", refusal: null, reasoning_content: "17 × 23" };
    const withReasoning: ChatCompletion = { ...completion, choices: [{ index: 0, finish_reason: "stop", logprobs: null, message }] };
    expect(await lastValueFrom(of(withReasoning).pipe(map(completionChunk), extractReasoning()))).toBe("17 × 23");
    expect(await lastValueFrom(of(withReasoning).pipe(map(completionChunk), extractDelta()))).toBe("391");
  });
});

describe("assembleCompletion", () => {
  it("assembles a chunk stream into the completion a non-streaming request gives", async () => {
    const chunks = [
      contentChunk(""),
      asChunk({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model: "gpt-4", choices: [{ index: 0, delta: { reasoning: "Hmm." }, finish_reason: null }] }),
      contentChunk("Hel"),
      contentChunk("lo", 0, "stop"),
    ];
    const whole = await lastValueFrom(of(...chunks).pipe(assembleCompletion()));
    expect(whole).toEqual({
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1,
      model: "gpt-4",
      choices: [{ index: 0, finish_reason: "stop", logprobs: null, message: { role: "assistant", content: "Hello", refusal: null, reasoning_content: "Hmm." } }],
    });
  });

  it("keeps a tool call's extra_content (Gemini's thought signature) both ways", async () => {
    const extra = { google: { thought_signature: "CrICAdHt…" } };
    const chunk = asChunk({
      id: "chatcmpl-1",
      object: "chat.completion.chunk",
      created: 1,
      model: "gemini",
      choices: [{ index: 0, delta: { tool_calls: [{ id: "function-call-1", type: "function", function: { name: "f", arguments: "{}" }, extra_content: extra }] }, finish_reason: "stop" }],
    });
    const whole = await lastValueFrom(of(chunk).pipe(assembleCompletion()));
    expect(whole.choices[0]?.message.tool_calls).toEqual([{ id: "function-call-1", type: "function", function: { name: "f", arguments: "{}" }, extra_content: extra }]);
    expect(completionChunk(whole).choices[0]?.delta.tool_calls).toEqual([{ index: 0, id: "function-call-1", type: "function", function: { name: "f", arguments: "{}" }, extra_content: extra }]);
  });

  it("carries OpenRouter's reasoning_details, merged by index, both ways", async () => {
    const detail = (piece: object) =>
      asChunk({ id: "gen-1", object: "chat.completion.chunk", created: 1, model: "anthropic/claude", choices: [{ index: 0, delta: { reasoning: "x", reasoning_details: [piece] }, finish_reason: null }] });
    const chunks = [
      detail({ type: "reasoning.text", text: "Need ", index: 0, format: "anthropic-claude-v1" }),
      detail({ type: "reasoning.text", text: "weather.", index: 0 }),
      detail({ type: "reasoning.text", signature: "EqMBCkgI…", index: 0 }),
      asChunk({ id: "gen-1", object: "chat.completion.chunk", created: 1, model: "anthropic/claude", choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: "toolu_1", type: "function", function: { name: "weather", arguments: "{}" } }] }, finish_reason: "tool_calls" }] }),
    ];
    const details = [{ type: "reasoning.text", text: "Need weather.", index: 0, format: "anthropic-claude-v1", signature: "EqMBCkgI…" }];
    const whole = await lastValueFrom(of(...chunks).pipe(assembleCompletion()));
    expect(whole.choices[0]?.message).toEqual({
      role: "assistant",
      content: null,
      refusal: null,
      tool_calls: [{ id: "toolu_1", type: "function", function: { name: "weather", arguments: "{}" } }],
      reasoning_content: "xxx",
      reasoning_details: details,
    });
    // A non-streamed answer (--no-stream, the replay server) goes through the chunk operators and keeps them.
    const again = await lastValueFrom(of(completionChunk(whole)).pipe(assembleCompletion()));
    expect(again.choices[0]?.message).toEqual(whole.choices[0]?.message);
  });

  it("gives an empty completion for an empty stream", async () => {
    expect(await lastValueFrom(EMPTY.pipe(assembleCompletion()))).toMatchObject({ object: "chat.completion", choices: [] });
  });
});


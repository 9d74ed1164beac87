import { readFileSync } from "node:fs";
import OpenAI from "openai";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { type OperatorFunction, lastValueFrom, toArray } from "rxjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChatCompletionSnapshot, StreamErrorFrameError, accumulateMessage, extractReasoning, fromChatCompletion, toolCalls, usage } from "g4f-rx";
import { type TestServer, startTestServer } from "g4f-rx/testing";

/**
 * Each provider's wire format, written for this project from the provider's
 * documentation (test/fixtures/*.sse), served byte for byte by the in-process
 * test server in small pieces, read by the real `openai` client through
 * `fromChatCompletion`, and assembled by `accumulateMessage`.
 */
let server: TestServer;
let client: OpenAI;

beforeAll(async () => {
  server = await startTestServer();
  client = new OpenAI({ baseURL: server.baseURL, apiKey: "test", maxRetries: 0 });
});
afterAll(async () => {
  await server.close();
});

function fixture(name: string): string {
  return readFileSync(new URL(`../fixtures/${name}.sse`, import.meta.url), "utf8");
}

/** Serves the fixture (in 61-byte pieces, so frames arrive split) and returns every snapshot. */
async function snapshots(name: string): Promise<ChatCompletionSnapshot[]> {
  server.reply({ body: [fixture(name)], pieceSize: 61 });
  return lastValueFrom(fromChatCompletion(client, { model: "any", messages: [{ role: "user", content: "hi" }] }).pipe(accumulateMessage(), toArray()));
}

async function final(name: string): Promise<ChatCompletionSnapshot | undefined> {
  return (await snapshots(name)).at(-1);
}

describe("provider corpus through fromChatCompletion and accumulateMessage", () => {
  it("OpenAI: role chunk with empty content, obfuscation, usage chunk with empty choices", async () => {
    expect(await final("openai")).toStrictEqual({
      id: "chatcmpl-g4frx01",
      created: 1767225600,
      model: "gpt-4o-mini-2024-07-18",
      system_fingerprint: "fp_g4frx01",
      choices: [{ index: 0, message: { role: "assistant", content: "Hello there!" }, finish_reason: "stop", logprobs: null }],
      usage: {
        prompt_tokens: 11,
        completion_tokens: 3,
        total_tokens: 14,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
      },
    });
  });

  it("Azure: leading empty-choices chunk with prompt_filter_results, a choice without delta", async () => {
    const all = await snapshots("azure");
    expect(all[0]).toStrictEqual({ id: "", created: 0, model: "", choices: [] });
    expect(all.at(-1)).toStrictEqual({
      id: "chatcmpl-az01",
      created: 1767225700,
      model: "gpt-4o-2024-11-20",
      system_fingerprint: "fp_az01",
      choices: [{ index: 0, message: { role: "assistant", content: "Oslo is the capital." }, finish_reason: "stop", logprobs: null }],
      usage: { completion_tokens: 5, prompt_tokens: 14, total_tokens: 19 },
    });
  });

  it("GPT4Free: provider field, reasoning deltas, a whole tool call in one chunk", async () => {
    const expected: ChatCompletionSnapshot = {
      id: "chatcmpl-5f0c1d2e",
      created: 1767225800,
      model: "deepseek-r1",
      provider: "PollinationsAI",
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            reasoning: "The user wants the weather.",
            content: "Checking.",
            tool_calls: [{ id: "call_g4f_1", type: "function", function: { name: "get_weather", arguments: '{"city": "Paris"}' } }],
          },
          finish_reason: "tool_calls",
          logprobs: null,
        },
      ],
      usage: { prompt_tokens: 42, completion_tokens: 17, total_tokens: 59, prompt_tokens_details: { cached_tokens: 0 } },
    };
    expect(await final("gpt4free")).toStrictEqual(expected);
  });

  it("GPT4Free: the error frame {\"error\":{\"message\":…}} then [DONE] errors after the text before it", async () => {
    server.reply({ body: [fixture("gpt4free-error")], pieceSize: 61 });
    const seen: ChatCompletionSnapshot[] = [];
    const error = await new Promise<unknown>((resolve) => {
      fromChatCompletion(client, { model: "any", messages: [] })
        .pipe(accumulateMessage())
        .subscribe({ next: (snapshot) => seen.push(snapshot), error: resolve, complete: () => resolve(undefined) });
    });
    expect(error).toBeInstanceOf(StreamErrorFrameError);
    expect(error).toMatchObject({ message: "ResponseStatusError: Response 429: Rate limit reached" });
    expect(seen.at(-1)).toStrictEqual({
      id: "chatcmpl-77aa",
      created: 1767225900,
      model: "gpt-4o-mini",
      provider: "Blackbox",
      choices: [{ index: 0, message: { role: "assistant", content: "Once upon" }, finish_reason: null, logprobs: null }],
    });
  });

  it("DeepSeek: reasoning_content, tool-call arguments in small fragments, usage on the last chunk", async () => {
    expect(await final("deepseek")).toStrictEqual({
      id: "d5e1a7c0-0001",
      created: 1767226000,
      model: "deepseek-reasoner",
      system_fingerprint: "fp_ds01_prod",
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            reasoning: "Need the weather tool.",
            tool_calls: [{ id: "call_00_Xy7", type: "function", function: { name: "get_weather", arguments: '{"city": "Berlin"}' } }],
          },
          finish_reason: "tool_calls",
          logprobs: null,
        },
      ],
      usage: {
        prompt_tokens: 120,
        completion_tokens: 31,
        total_tokens: 151,
        prompt_tokens_details: { cached_tokens: 64 },
        completion_tokens_details: { reasoning_tokens: 9 },
        prompt_cache_hit_tokens: 64,
        prompt_cache_miss_tokens: 56,
      },
    });
  });

  it("Mistral: later fragments repeat name \"\", and a whole call arrives without index", async () => {
    expect(await final("mistral")).toStrictEqual({
      id: "a1b2c3d4e5f60718293a4b5c6d7e8f90",
      created: 1767226100,
      model: "mistral-large-latest",
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            tool_calls: [
              { id: "Qm3kT9zWp", type: "function", function: { name: "get_weather", arguments: '{"city": "Lyon"}' } },
              { id: "Vb8nR2xLc", type: "function", function: { name: "get_time", arguments: '{"tz": "Europe/Paris"}' } },
            ],
          },
          finish_reason: "tool_calls",
          logprobs: null,
        },
      ],
      usage: { prompt_tokens: 88, total_tokens: 121, completion_tokens: 33 },
    });
  });

  it("xAI: reasoning_content, then a whole tool call, choices without finish_reason, usage chunk", async () => {
    expect(await final("xai")).toStrictEqual({
      id: "9c2f7e1a-xai-0001",
      created: 1767226201,
      model: "grok-3-mini",
      system_fingerprint: "fp_xai01",
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            reasoning: "The user asks for the time.",
            tool_calls: [{ id: "call_55501", type: "function", function: { name: "get_time", arguments: '{"tz":"UTC"}' } }],
          },
          finish_reason: "tool_calls",
          logprobs: null,
        },
      ],
      usage: {
        prompt_tokens: 210,
        completion_tokens: 20,
        total_tokens: 290,
        prompt_tokens_details: { text_tokens: 210, audio_tokens: 0, image_tokens: 0, cached_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 60, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
        num_sources_used: 0,
      },
    });
  });

  it("Ollama: role on every delta, reasoning, a whole tool call, fp_ollama", async () => {
    expect(await final("ollama")).toStrictEqual({
      id: "chatcmpl-412",
      created: 1767226300,
      model: "qwen3:8b",
      system_fingerprint: "fp_ollama",
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            reasoning: "Short answer.",
            content: "Hi there.",
            tool_calls: [{ id: "call_k2j4h6g8", type: "function", function: { name: "get_time", arguments: '{"tz":"Asia/Tokyo"}' } }],
          },
          finish_reason: "tool_calls",
          logprobs: null,
        },
      ],
      usage: { prompt_tokens: 30, completion_tokens: 12, total_tokens: 42 },
    });
  });

  it("n = 2: interleaved choices, each keyed by its index", async () => {
    expect(await final("n2-interleaved")).toStrictEqual({
      id: "chatcmpl-n2",
      created: 1767226400,
      model: "gpt-4o-mini",
      system_fingerprint: "fp_n2",
      choices: [
        { index: 0, message: { role: "assistant", content: "Hello!" }, finish_reason: "length", logprobs: null },
        { index: 1, message: { role: "assistant", content: "Bonjour !" }, finish_reason: "stop", logprobs: null },
      ],
    });
  });
});

describe("provider corpus through the other operators", () => {
  const run = async <T>(name: string, operator: OperatorFunction<ChatCompletionChunk, T>): Promise<T[]> => {
    server.reply({ body: [fixture(name)], pieceSize: 61 });
    return lastValueFrom(fromChatCompletion(client, { model: "any", messages: [] }).pipe(operator, toArray()));
  };

  it("toolCalls gives the same parsed calls for whole (GPT4Free, xAI, Ollama) and fragmented (DeepSeek, Mistral) calls", async () => {
    expect(await run("gpt4free", toolCalls())).toStrictEqual([{ index: 0, id: "call_g4f_1", type: "function", name: "get_weather", arguments: { city: "Paris" }, rawArguments: '{"city": "Paris"}' }]);
    expect(await run("deepseek", toolCalls())).toStrictEqual([{ index: 0, id: "call_00_Xy7", type: "function", name: "get_weather", arguments: { city: "Berlin" }, rawArguments: '{"city": "Berlin"}' }]);
    expect((await run("mistral", toolCalls())).map((call) => [call.name, call.arguments])).toStrictEqual([
      ["get_weather", { city: "Lyon" }],
      ["get_time", { tz: "Europe/Paris" }],
    ]);
    expect((await run("xai", toolCalls())).map((call) => call.arguments)).toStrictEqual([{ tz: "UTC" }]);
    expect((await run("ollama", toolCalls())).map((call) => call.arguments)).toStrictEqual([{ tz: "Asia/Tokyo" }]);
  });

  it("extractReasoning reads both reasoning fields, usage reads both usage placements", async () => {
    expect((await run("deepseek", extractReasoning())).join("")).toBe("Need the weather tool.");
    expect((await run("gpt4free", extractReasoning())).join("")).toBe("The user wants the weather.");
    expect(await run("openai", extractReasoning())).toStrictEqual([]);
    expect((await run("openai", usage())).map((u) => u.total_tokens)).toStrictEqual([14]);
    expect((await run("deepseek", usage())).map((u) => u.total_tokens)).toStrictEqual([151]);
  });
});

import OpenAI from "openai";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import type { Observable } from "rxjs";
import { describe, expect, it } from "vitest";
import { IncompleteStreamError, fromChatCompletion, fromEventStream, fromResponses } from "g4f-rx";
import { responseEvents, responseFrame, sseFrame, textChunks } from "g4f-rx/testing";
import { type Outcome, collect } from "../support/collect.js";
import { type BodyCut, startCutServer } from "../support/cut-server.js";

/*
 * The outcome depends only on the bytes received: a body that stops at the same byte gives the same values and
 * the same end whether it ended cleanly, or the connection closed or was reset there (which may add its cause).
 */

const chatParams = { model: "gpt-4", messages: [{ role: "user" as const, content: "Say hello there!" }] };
const cuts: readonly BodyCut[] = ["end", "close", "reset"];

/** The usage chunk OpenAI sends last, after the finish_reason, with `stream_options: { include_usage: true }`. */
const usageChunk: ChatCompletionChunk = {
  id: "chatcmpl-test",
  object: "chat.completion.chunk",
  created: 1_700_000_000,
  model: "gpt-4",
  choices: [],
  usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 },
};

/** A whole frame but its closing blank line. */
const withoutBlankLine = (frame: string): string => frame.slice(0, -1);

/** What `subscribe` makes of `body` from a real local server that stops as `cut` says after it. */
async function outcomeOf<T>(body: string | Uint8Array, cut: BodyCut, subscribe: (baseURL: string) => Observable<T>): Promise<Outcome<T>> {
  const server = await startCutServer(body, cut);
  try {
    return await collect(subscribe(server.baseURL));
  } finally {
    await server.close();
  }
}

const client = (baseURL: string): OpenAI => new OpenAI({ baseURL, apiKey: "test", maxRetries: 0 });
const chatSources = [
  ["fromChatCompletion", (baseURL: string) => fromChatCompletion(client(baseURL), chatParams)],
  ["fromEventStream", (baseURL: string) => fromEventStream(`${baseURL}/chat/completions`, { method: "POST", body: "{}" })],
] as const;

describe.each(chatSources)("%s: a chat stream cut at its last byte", (_name, source) => {
  it.each(cuts)("keeps a last frame that lacks only its blank line, the usage chunk after the finish_reason (%s)", async (cut) => {
    const sent = [...textChunks(["Hello", " there!"]), usageChunk];
    const body = sent.slice(0, -1).map(sseFrame).join("") + withoutBlankLine(sseFrame(usageChunk));
    const outcome = await outcomeOf(body, cut, source);
    expect(outcome).toEqual({ values: sent, error: undefined, completed: true });
  });

  it.each(cuts)("completes on a finish_reason that arrived in a last frame lacking its blank line (%s)", async (cut) => {
    const sent = textChunks(["Hello", " there!"]);
    const body = sent.slice(0, -1).map(sseFrame).join("") + withoutBlankLine(sseFrame(sent.at(-1)));
    const outcome = await outcomeOf(body, cut, source);
    expect(outcome).toEqual({ values: sent, error: undefined, completed: true });
  });

  it.each(cuts)("errors with IncompleteStreamError when the body stops inside a frame after the finish_reason (%s)", async (cut) => {
    const sent = textChunks(["Hello", " there!"]);
    const body = sent.map(sseFrame).join("") + 'data: {"id":"chatcmpl-test","obj';
    const outcome = await outcomeOf(body, cut, source);
    expect(outcome.values).toStrictEqual(sent);
    expect(outcome.error).toBeInstanceOf(IncompleteStreamError);
    expect(outcome.error).toMatchObject({ chunks: 4 });
    expect((outcome.error as Error).message).toMatch(/^The stream ended in the middle of a frame after 4 chunks: "\{\\"id\\":\\"chatcmpl-test\\",\\"obj"/);
    if (cut === "end") expect((outcome.error as Error).cause).toBeUndefined();
    else expect((outcome.error as Error).message).toMatch(/\(the connection closed: .+\)$/);
    if (cut !== "end") expect((outcome.error as Error).cause).toBeDefined();
  });

  it.each(cuts)("errors with IncompleteStreamError when the body stops inside a multi-byte character (%s)", async (cut) => {
    const sent = textChunks(["Hello"], { finishReason: null });
    const text = Buffer.from(sent.map(sseFrame).join("") + 'data: {"id":"chatcmpl-test","choices":[{"index":0,"delta":{"content":"caf', "utf8");
    const body = Buffer.concat([text, Buffer.from("é", "utf8").subarray(0, 1)]);
    const outcome = await outcomeOf(body, cut, source);
    expect(outcome.values).toStrictEqual(sent);
    expect(outcome.error).toBeInstanceOf(IncompleteStreamError);
    expect((outcome.error as Error).message).toMatch(/^The stream ended in the middle of a character after 2 chunks: the answer is incomplete/);
  });
});

describe("fromResponses: a Responses stream cut at its last byte", () => {
  const source = (baseURL: string) => fromResponses(client(baseURL), { model: "gpt-5-mini", input: "Say hello there!" });

  it.each(cuts)("completes on a response.completed that arrived whole but for its blank line (%s)", async (cut) => {
    const sent = responseEvents(["Hello", " there!"]);
    const body = sent.slice(0, -1).map(responseFrame).join("") + withoutBlankLine(responseFrame(sent.at(-1)!));
    const outcome = await outcomeOf(body, cut, source);
    expect(outcome).toEqual({ values: sent, error: undefined, completed: true });
  });

  it.each(cuts)("errors with IncompleteStreamError when the body stops inside the response.completed frame (%s)", async (cut) => {
    const sent = responseEvents(["Hello", " there!"]);
    const body = sent.slice(0, -1).map(responseFrame).join("") + responseFrame(sent.at(-1)!).slice(0, 60);
    const outcome = await outcomeOf(body, cut, source);
    expect(outcome.values).toStrictEqual(sent.slice(0, -1));
    expect(outcome.error).toBeInstanceOf(IncompleteStreamError);
    expect((outcome.error as Error).message).toMatch(/^The stream ended in the middle of a frame after \d+ events/);
  });
});

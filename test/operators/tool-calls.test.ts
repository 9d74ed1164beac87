import type OpenAI from "openai";
import { lastValueFrom, toArray } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type TestServer, streamReply, textChunks } from "g4f-rx/testing";
import { fromChatCompletion, toolCalls } from "g4f-rx";
import { serverAndClient } from "../support/server.js";
import { asChunk } from "../support/wire.js";

let server: TestServer;
let client: OpenAI;
beforeEach(async () => ({ server, client } = await serverAndClient()));
afterEach(() => server.close());

const wholeCall = (name: string, args: string, finish: string | null = null): ReturnType<typeof asChunk> =>
  asChunk({ id: "r1", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { tool_calls: [{ type: "function", function: { name, arguments: args } }] }, finish_reason: finish }] });

describe("toolCalls against a server (the real openai client)", () => {
  it("gives two whole calls sent with neither index nor id as two calls, not one with their arguments run together", async () => {
    server.reply(streamReply([...textChunks([""], { finishReason: null }), wholeCall("weather", '{"city":"Paris"}'), wholeCall("weather", '{"city":"Rome"}'), wholeCall("weather", "", "tool_calls")]));
    const calls = await lastValueFrom(fromChatCompletion(client, { model: "m", messages: [{ role: "user", content: "Weather?" }] }).pipe(toolCalls(), toArray()));
    expect(calls.map((call) => [call.name, call.arguments])).toStrictEqual([
      ["weather", { city: "Paris" }],
      ["weather", { city: "Rome" }],
    ]);
  });
});

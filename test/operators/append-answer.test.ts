import type OpenAI from "openai";
import type { ChatCompletionChunk, ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { EMPTY, catchError, lastValueFrom, toArray } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type TestServer, streamReply, textChunks, toolCallChunks } from "g4f-rx/testing";
import { accumulateMessage, appendAnswer, fromChatCompletion } from "g4f-rx";
import { serverAndClient } from "../support/server.js";

let server: TestServer;
let client: OpenAI;
beforeEach(async () => ({ server, client } = await serverAndClient()));
afterEach(() => server.close());

const question: ChatCompletionMessageParam[] = [{ role: "user", content: "Weather in Paris and Rome?" }];
const calls = [
  { id: "call_paris", name: "weather", arguments: { city: "Paris" } },
  { id: "call_rome", name: "weather", arguments: { city: "Rome" } },
];

/** The conversation appendAnswer gives for one answer, the last value before the end or an error. */
async function conversationAfter(): Promise<ChatCompletionMessageParam[]> {
  const all = await lastValueFrom(
    fromChatCompletion(client, { model: "m", messages: question }).pipe(accumulateMessage(), appendAnswer(question), catchError(() => EMPTY), toArray()),
  );
  return all.at(-1) ?? question;
}

/** Sends the conversation back with a follow-up question, and the messages the server received. */
async function sendBack(messages: ChatCompletionMessageParam[]): Promise<unknown> {
  server.reply(streamReply(textChunks(["Sure."])));
  await lastValueFrom(fromChatCompletion(client, { model: "m", messages: [...messages, { role: "user", content: "Go on." }] }));
  const body = server.requests.at(-1)?.body;
  return typeof body === "object" && body !== null && "messages" in body ? body.messages : undefined;
}

describe("appendAnswer against a server (the real openai client)", () => {
  it("sends back the text and the whole call of an answer cut off by the token limit mid-arguments, not the half-written call", async () => {
    // The second call's arguments stop at '{"city":"Ro' when the token limit ends the answer.
    const chunks = toolCallChunks(calls, { text: ["Checking."], pieceLength: 11, finishReason: "length" });
    const rest = (chunk: ChatCompletionChunk): boolean => chunk.choices[0]?.delta.tool_calls?.[0]?.function?.arguments === 'me"}';
    expect(chunks.filter(rest)).toHaveLength(1);
    server.reply(streamReply(chunks.filter((chunk) => !rest(chunk))));
    const messages = await conversationAfter();
    expect(await sendBack(messages)).toStrictEqual([
      ...question,
      { role: "assistant", content: "Checking.", tool_calls: [{ id: "call_paris", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } }] },
      { role: "user", content: "Go on." },
    ]);
  });

  it("sends back only the text of an answer whose stream broke mid-arguments", async () => {
    const chunks = toolCallChunks(calls.slice(0, 1), { text: ["Checking."], pieceLength: 5, finishReason: null });
    // Up to '{"cit': the connection closes before the call's arguments are whole.
    server.reply(streamReply(chunks.slice(0, 5), { done: false, then: [{ destroy: true }] }));
    const messages = await conversationAfter();
    expect(await sendBack(messages)).toStrictEqual([...question, { role: "assistant", content: "Checking." }, { role: "user", content: "Go on." }]);
  });
});

import OpenAI, { AuthenticationError } from "openai";
import type { ChatCompletion } from "openai/resources/chat/completions";
import { firstValueFrom, lastValueFrom, toArray } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { completionText, requestCompletion } from "g4f-rx";
import { type TestServer, errorReply } from "g4f-rx/testing";
import { serverAndClient } from "../support/server.js";

const completion: ChatCompletion = {
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 1_700_000_000,
  model: "gpt-4",
  choices: [{ index: 0, message: { role: "assistant", content: "Hello there!", refusal: null }, finish_reason: "stop", logprobs: null }],
};
const json = (body: unknown, headersAfterMs = 0): { headers: Record<string, string>; body: string[]; headersAfterMs: number } => ({
  headers: { "content-type": "application/json" },
  body: [JSON.stringify(body)],
  headersAfterMs,
});

let server: TestServer;
let client: OpenAI;

beforeEach(async () => ({ server, client } = await serverAndClient()));
afterEach(() => server.close());

describe("requestCompletion", () => {
  it("sends one request with stream: false and emits the completion once", async () => {
    server.reply(json(completion));
    const values = await lastValueFrom(requestCompletion(client, { model: "gpt-4", messages: [{ role: "user", content: "Hi" }] }).pipe(toArray()));
    expect(values).toEqual([completion]);
    expect(server.requests[0]?.body).toEqual({ model: "gpt-4", messages: [{ role: "user", content: "Hi" }], stream: false });
  });

  it("is cold: no request before subscribing, one per subscription", async () => {
    server.setDefaultReply(json(completion));
    const completion$ = requestCompletion(client, { model: "gpt-4", messages: [] });
    expect(server.requests).toHaveLength(0);
    await firstValueFrom(completion$);
    await firstValueFrom(completion$);
    expect(server.requests).toHaveLength(2);
  });

  it("errors with the client's APIError for an HTTP error", async () => {
    server.reply(errorReply(401, "bad key"));
    await expect(firstValueFrom(requestCompletion(client, { model: "gpt-4", messages: [] }))).rejects.toBeInstanceOf(AuthenticationError);
  });

  it("aborts the request when unsubscribed while the server is silent", async () => {
    server.reply(json(completion, 30_000));
    const subscription = requestCompletion(client, { model: "gpt-4", messages: [] }).subscribe({
      error: (error: unknown) => expect.unreachable(`no error after unsubscribe, got ${String(error)}`),
    });
    const request = await server.waitForRequest(0);
    subscription.unsubscribe();
    await request.closed;
    expect(request.disconnected).toBe(true);
  });
});

describe("completionText", () => {
  it("is the content of the choice with that index, or empty", () => {
    expect(completionText(completion)).toBe("Hello there!");
    expect(completionText(completion, 1)).toBe("");
    const refusal: ChatCompletion = { ...completion, choices: [{ index: 0, message: { role: "assistant", content: null, refusal: "no" }, finish_reason: "stop", logprobs: null }] };
    expect(completionText(refusal)).toBe("");
  });
});

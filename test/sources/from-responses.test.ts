import OpenAI, { AuthenticationError } from "openai";
import { firstValueFrom, last, take, toArray } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { IncompleteStreamError, MalformedChunkError, StreamErrorFrameError, accumulateResponse, extractOutputText, extractReasoningSummary, fromResponses } from "g4f-rx";
import { type TestServer, errorReply, responseEvents, responseFrame, responsesReply, streamReply, textChunks } from "g4f-rx/testing";
import { collect } from "../support/collect.js";
import { serverAndClient } from "../support/server.js";

const params = { model: "gpt-5-mini", input: "Say hello there!" };

let server: TestServer;
let client: OpenAI;

beforeEach(async () => ({ server, client } = await serverAndClient()));
afterEach(() => server.close());

describe("fromResponses: a cold Observable of Responses API events", () => {
  it("sends nothing until subscribed, then one POST /v1/responses per subscription with stream: true", async () => {
    server.setDefaultReply(responsesReply(responseEvents(["Hi"])));
    const events$ = fromResponses(client, params);
    expect(server.requests).toHaveLength(0);
    const [first, second] = await Promise.all([collect(events$), collect(events$)]);
    expect(server.requests).toHaveLength(2);
    expect(first).toEqual(second);
    expect(server.requests[0]).toMatchObject({ method: "POST", path: "/v1/responses", body: { ...params, stream: true } });
  });

  it("delivers every event deep-equal to what was sent and completes after response.completed, though the socket stays open", async () => {
    const sent = responseEvents(["Hello", " there!"], { reasoning: ["Greet."] });
    server.reply(responsesReply(sent, { then: [{ wait: 30_000 }] }));
    const outcome = await collect(fromResponses(client, params));
    expect(outcome).toEqual({ values: sent, error: undefined, completed: true });
  });

  it("reads the text, the reasoning summary and the whole response with the operators", async () => {
    const sent = responseEvents(["Hello", " there!"], { reasoning: ["Greet", "."] });
    server.setDefaultReply(responsesReply(sent, { pieceSize: 7 }));
    expect(await firstValueFrom(fromResponses(client, params).pipe(extractOutputText(), toArray()))).toEqual(["Hello", " there!"]);
    expect(await firstValueFrom(fromResponses(client, params).pipe(extractReasoningSummary(), toArray()))).toEqual(["Greet", "."]);
    const completed = sent.at(-1);
    expect(completed?.type).toBe("response.completed");
    expect(await firstValueFrom(fromResponses(client, params).pipe(accumulateResponse(), last()))).toEqual(completed?.type === "response.completed" ? completed.response : undefined);
  });

  it("completes after response.incomplete", async () => {
    const sent = responseEvents(["Hel"], { end: "incomplete" });
    server.reply(responsesReply(sent));
    expect(await collect(fromResponses(client, params))).toEqual({ values: sent, error: undefined, completed: true });
  });

  it("emits response.failed, then errors with StreamErrorFrameError carrying the response's error", async () => {
    const sent = responseEvents(["Hel"], { end: "failed" });
    server.reply(responsesReply(sent));
    const outcome = await collect(fromResponses(client, params));
    expect(outcome.values).toEqual(sent);
    expect(outcome.error).toBeInstanceOf(StreamErrorFrameError);
    expect(outcome.error).toMatchObject({ message: "The model failed to finish", code: "server_error", event: "response.failed" });
  });

  it("errors on an error event after the events before it, with its message", async () => {
    const sent = responseEvents(["Hello"], { end: null });
    const error = { type: "error", code: "rate_limit_exceeded", message: "Slow down", param: null, sequence_number: 99 };
    server.reply(responsesReply(sent, { then: [`event: error\ndata: ${JSON.stringify(error)}\n\n`] }));
    const outcome = await collect(fromResponses(client, params));
    expect(outcome.values).toEqual(sent);
    expect(outcome.error).toBeInstanceOf(StreamErrorFrameError);
    expect(outcome.error).toMatchObject({ message: "Slow down", code: "rate_limit_exceeded" });
  });

  it("errors with IncompleteStreamError when the body ends before response.completed, incomplete or failed", async () => {
    const sent = responseEvents(["Hello"], { end: null });
    server.reply(responsesReply(sent));
    const outcome = await collect(fromResponses(client, params));
    expect(outcome.values).toEqual(sent);
    expect(outcome.error).toBeInstanceOf(IncompleteStreamError);
    expect((outcome.error as Error).message).toBe(`The stream ended after ${sent.length} events without response.completed, response.incomplete or response.failed: the answer is incomplete`);
  });

  it("errors with IncompleteStreamError on data: [DONE] before the response ended", async () => {
    server.reply(responsesReply(responseEvents(["Hello"], { end: null }), { then: ["data: [DONE]\n\n", { wait: 30_000 }] }));
    expect((await collect(fromResponses(client, params))).error).toBeInstanceOf(IncompleteStreamError);
  });

  it("says so when the server streams chat-completion chunks from /v1/responses (GPT4Free does)", async () => {
    server.reply(streamReply(textChunks(["Hi"])));
    const outcome = await collect(fromResponses(client, params));
    expect(outcome.error).toBeInstanceOf(MalformedChunkError);
    expect((outcome.error as Error).message).toContain("it is a chat-completion chunk");
  });

  it("passes the client's HTTP errors through untouched", async () => {
    server.reply(errorReply(401, "Incorrect API key provided"));
    const outcome = await collect(fromResponses(client, params));
    expect(outcome.error).toBeInstanceOf(AuthenticationError);
    expect(outcome.error).toMatchObject({ status: 401 });
  });

  it("aborts the request at once when unsubscribed while the server is silent", async () => {
    const sent = responseEvents(["Hello"], { end: null });
    server.reply(responsesReply(sent.slice(0, 2), { then: [{ wait: 30_000 }, responseFrame(sent[2]!)] }));
    const two = await firstValueFrom(fromResponses(client, params).pipe(take(2), toArray()));
    expect(two).toEqual(sent.slice(0, 2));
    const request = await server.waitForRequest(0);
    await request.closed;
    expect(request.disconnected).toBe(true);
  });
});

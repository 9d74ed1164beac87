import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import { AuthenticationError } from "openai";
import { map } from "rxjs";
import { describe, expect, it } from "vitest";
import { DONE_EVENT, serverSentEvent, toServerSentEvents } from "../../operators/index.js";
import { StreamErrorFrameError } from "../../src/errors.js";
import { responseEvents } from "../../src/testing/index.js";
import { contentChunk } from "../support/chunks.js";
import { marbles } from "../support/marbles.js";

const a = contentChunk("Hello");
const b = contentChunk(" there");
const frame = (chunk: ChatCompletionChunk): string => `data: ${JSON.stringify(chunk)}\n\n`;

describe("toServerSentEvents", () => {
  it("turns each chunk into a data frame and ends with [DONE]", marbles((m) => {
    const source = m.cold("  a-b-|", { a, b });
    const expected = m.cold("a-b-(d|)", { a: frame(a), b: frame(b), d: "data: [DONE]\n\n" });
    m.expect(source.pipe(toServerSentEvents())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^---!");
  }));

  it("sends only [DONE] for an empty source", marbles((m) => {
    const source = m.cold<ChatCompletionChunk>("|");
    m.expect(source.pipe(toServerSentEvents())).toBeObservable("(d|)", { d: DONE_EVENT });
    m.expect(source).toHaveSubscriptions("(^!)");
  }));

  it("sends nothing while the source sends nothing", marbles((m) => {
    const source = m.cold<ChatCompletionChunk>("-");
    m.expect(source.pipe(toServerSentEvents())).toBeObservable("-");
    m.expect(source).toHaveSubscriptions("^");
  }));

  it("sends an error as an OpenAI-format error frame, with the SDK error's type and code, then completes", marbles((m) => {
    const unauthorized = new AuthenticationError(401, { message: "Incorrect API key", type: "invalid_request_error", code: "invalid_api_key" }, undefined, new Headers());
    const source = m.cold("  a-#", { a }, unauthorized);
    const error = 'data: {"error":{"message":"401 Incorrect API key","type":"invalid_request_error","code":"invalid_api_key"}}\n\n';
    m.expect(source.pipe(toServerSentEvents())).toBeObservable("a-(e|)", { a: frame(a), e: error });
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("sends a plain error with type server_error", marbles((m) => {
    const source = m.cold<ChatCompletionChunk>("#", undefined, new Error("socket hang up"));
    m.expect(source.pipe(toServerSentEvents())).toBeObservable("(e|)", { e: 'data: {"error":{"message":"socket hang up","type":"server_error"}}\n\n' });
    m.expect(source).toHaveSubscriptions("(^!)");
  }));

  it("unsubscribes from the source when the subscriber leaves early", marbles((m) => {
    const source = m.cold("  a-b-|", { a, b });
    m.expect(source.pipe(toServerSentEvents()), "--!").toBeObservable("a-", { a: frame(a) });
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("reports an error thrown by a callback upstream as an error frame", marbles((m) => {
    const source = m.cold("  a-b-|", { a, b });
    const failing = source.pipe(
      map((chunk) => {
        if (chunk === b) throw new Error("mapper failed");
        return chunk;
      }),
      toServerSentEvents(),
    );
    m.expect(failing).toBeObservable("a-(e|)", { a: frame(a), e: 'data: {"error":{"message":"mapper failed","type":"server_error"}}\n\n' });
    m.expect(source).toHaveSubscriptions("^-!");
  }));
});

describe("toServerSentEvents on Responses API events", () => {
  const [created, , , , , delta] = responseEvents(["Hi"]);
  const completed = responseEvents(["Hi"]).at(-1);
  if (created === undefined || delta === undefined || completed === undefined) throw new Error("responseEvents changed");
  const named = (event: ResponseStreamEvent): string => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;

  it("frames each event as OpenAI does, event: <type> then its data, and sends no [DONE]", marbles((m) => {
    const source = m.cold("  a-b-c-|", { a: created, b: delta, c: completed });
    m.expect(source.pipe(toServerSentEvents())).toBeObservable("a-b-c-|", { a: named(created), b: named(delta), c: named(completed) });
    m.expect(source).toHaveSubscriptions("^-----!");
  }));

  it("sends nothing while the events stop, and leaves the event: line out for a type with a line break", marbles((m) => {
    // What a server might send, though the types rule it out: a line break in the type.
    const odd = Object.assign(structuredClone(delta), { type: "response.x\ndata: injected" });
    const source = m.cold<ResponseStreamEvent>("a-b-", { a: created, b: odd });
    m.expect(source.pipe(toServerSentEvents())).toBeObservable("a-b-", { a: named(created), b: `data: ${JSON.stringify(odd)}\n\n` });
    m.expect(source).toHaveSubscriptions("^");
  }));

  it("sends an error after events as an event: error frame the openai client and fromResponses read, then completes", marbles((m) => {
    const source = m.cold("  a-#", { a: created }, new StreamErrorFrameError({ type: "insufficient_quota" }, "You exceeded your current quota", "{}", "error"));
    const error = 'event: error\ndata: {"message":"You exceeded your current quota","type":"error","error":{"message":"You exceeded your current quota","type":"insufficient_quota"}}\n\n';
    m.expect(source.pipe(toServerSentEvents())).toBeObservable("a-(e|)", { a: named(created), e: error });
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("adds no error frame after response.failed, whose error fromResponses raises after it: OpenAI's stream ends there", marbles((m) => {
    const failedEvent = responseEvents(["Hi"], { end: "failed" }).at(-1);
    if (failedEvent === undefined) throw new Error("responseEvents changed");
    const source = m.cold("  a-f#", { a: created, f: failedEvent }, new StreamErrorFrameError({ type: "server_error" }, "The model failed", "{}", "response.failed"));
    m.expect(source.pipe(toServerSentEvents())).toBeObservable("a-f|", { a: named(created), f: named(failedEvent) });
    m.expect(source).toHaveSubscriptions("^--!");
  }));

  it("adds no error frame after response.failed, whose error fromResponses raises after it: OpenAI's stream ends there", marbles((m) => {
    const failedEvent = responseEvents(["Hi"], { end: "failed" }).at(-1);
    if (failedEvent === undefined) throw new Error("responseEvents changed");
    const source = m.cold("  a-f#", { a: created, f: failedEvent }, new StreamErrorFrameError({ type: "server_error" }, "The model failed", "{}", "response.failed"));
    m.expect(source.pipe(toServerSentEvents())).toBeObservable("a-f|", { a: named(created), f: named(failedEvent) });
    m.expect(source).toHaveSubscriptions("^--!");
  }));

  it("reports an error thrown by a callback upstream, and stops reading when the subscriber leaves early", marbles((m) => {
    const source = m.cold("  a-b-c-|", { a: created, b: delta, c: completed });
    const failing = source.pipe(
      map((event) => {
        if (event === delta) throw new Error("mapper failed");
        return event;
      }),
      toServerSentEvents(),
    );
    m.expect(failing).toBeObservable("a-(e|)", { a: named(created), e: 'event: error\ndata: {"message":"mapper failed","type":"error","error":{"message":"mapper failed","type":"server_error"}}\n\n' });
    m.expect(source.pipe(toServerSentEvents()), "--!").toBeObservable("a-", { a: named(created) });
    m.expect(source).toHaveSubscriptions(["^-!", "^-!"]);
  }));
});

describe("serverSentEvent", () => {
  it("writes an event line and one data line per line of text", () => {
    expect(serverSentEvent("line one\nline two", "error")).toBe("event: error\ndata: line one\ndata: line two\n\n");
    expect(serverSentEvent({ a: "x\ny" })).toBe('data: {"a":"x\\ny"}\n\n');
  });
});

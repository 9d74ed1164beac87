import { APIError, AuthenticationError } from "openai";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { fileURLToPath } from "node:url";
import { take } from "rxjs";
import { describe, expect, it } from "vitest";
import { IncompleteStreamError, MalformedChunkError, StreamErrorFrameError, extractDelta } from "g4f-rx";
import { type Cassette, CassetteError, fromCassette, fromResponsesCassette, parseCassette } from "g4f-rx/node";
import { textChunks } from "g4f-rx/testing";
import { marbles } from "../support/marbles.js";

const [role, hello, there, stop] = textChunks(["Hello", " there"]) as [ChatCompletionChunk, ChatCompletionChunk, ChatCompletionChunk, ChatCompletionChunk];

function cassette(frames: Cassette["frames"], response: Cassette["response"] = { status: 200, headers: {} }): Cassette {
  return { version: 1, request: { model: "gpt-4", messages: [] }, response, frames };
}

const recorded = cassette([
  { at: 0, data: role },
  { at: 30, data: hello },
  { at: 50, data: there },
  { at: 50, data: stop },
  { at: 56, data: "[DONE]" },
]);

describe("fromCassette in virtual time", () => {
  it("replays each chunk at its recorded offset", marbles((m) => {
    const values = { r: role, h: hello, t: there, s: stop };
    m.expect(fromCassette(recorded)).toBeObservable("r 29ms h 19ms (ts) 2ms |", values);
  }));

  it("divides the offsets by speed", marbles((m) => {
    m.expect(fromCassette(recorded, { speed: 2 }).pipe(extractDelta())).toBeObservable("- 14ms h 9ms t 2ms |", { h: "Hello", t: " there" });
  }));

  it("replays without pauses at speed Infinity", marbles((m) => {
    m.expect(fromCassette(recorded, { speed: Infinity }).pipe(extractDelta())).toBeObservable("(ht|)", { h: "Hello", t: " there" });
  }));

  it("stops replaying when the subscriber leaves", marbles((m) => {
    m.expect(fromCassette(recorded).pipe(extractDelta()), "^ 40ms !").toBeObservable("- 29ms h", { h: "Hello" });
  }));

  it("completes without values for an empty answer", marbles((m) => {
    m.expect(fromCassette(cassette([{ at: 7, data: "[DONE]" }]))).toBeObservable("- 6ms |");
  }));

  it("never ends when a recording only has a far-off frame and nobody waits that long", marbles((m) => {
    m.expect(fromCassette(cassette([{ at: 60_000, data: "[DONE]" }])), "^ 1000ms !").toBeObservable("-");
  }));

  it("errors with the server's message at an error frame", marbles((m) => {
    const failing = cassette([{ at: 0, data: role }, { at: 10, data: hello }, { at: 20, data: { error: { message: "quota exceeded" } } }]);
    m.expect(fromCassette(failing).pipe(extractDelta())).toBeObservable("- 9ms h 9ms #", { h: "Hello" }, new StreamErrorFrameError({ message: "quota exceeded" }, "quota exceeded", ""));
  }));

  it("errors with IncompleteStreamError when the recording stops early", marbles((m) => {
    const cut = cassette([{ at: 0, data: role }, { at: 10, data: hello }]);
    m.expect(fromCassette(cut).pipe(extractDelta())).toBeObservable("- 9ms (h#)", { h: "Hello" }, new IncompleteStreamError('The recording ends after 2 chunks without "data: [DONE]" or a finish_reason: the answer is incomplete', 2));
  }));

  it("errors with the openai package's class for a recorded error status", () => {
    const unauthorized = cassette([], { status: 401, headers: {}, body: { error: { message: "Incorrect API key provided", type: "invalid_request_error" } } });
    let caught: unknown;
    fromCassette(unauthorized).subscribe({ error: (error: unknown) => (caught = error) });
    expect(caught).toBeInstanceOf(AuthenticationError);
    expect(caught).toBeInstanceOf(APIError);
    expect(caught).toMatchObject({ status: 401, message: "401 Incorrect API key provided" });
  });

  it("errors with CassetteError for a file that is missing or not a cassette", () => {
    let caught: unknown;
    fromCassette("/nonexistent/x.cassette.jsonl").subscribe({ error: (error: unknown) => (caught = error) });
    expect((caught as Error).message).toContain("ENOENT");
    fromCassette(new URL(import.meta.url).pathname).subscribe({ error: (error: unknown) => (caught = error) });
    expect(caught).toBeInstanceOf(CassetteError);
  });

  it("names the file and line of a frame edited by hand into something that is not a chunk, after the chunks before it", () => {
    const header = '{"g4f-rx-cassette":1,"request":{"messages":[]},"response":{"status":200,"headers":{}}}';
    const typo = JSON.stringify({ ...hello, choices: undefined, choice: hello.choices });
    const edited = parseCassette([header, JSON.stringify({ at: 0, data: role }), "", JSON.stringify({ at: 5, data: JSON.parse(typo) as unknown }), '{"at":6,"data":"[DONE]"}'].join("\n"), "hand.cassette.jsonl");
    const values: unknown[] = [];
    let caught: unknown;
    fromCassette(edited, { speed: Infinity }).subscribe({ next: (chunk) => values.push(chunk), error: (error: unknown) => (caught = error) });
    expect(values).toStrictEqual([role]);
    expect(caught).toBeInstanceOf(CassetteError);
    expect(caught).toMatchObject({ file: "hand.cassette.jsonl", line: 4 });
    expect((caught as Error).message).toMatch(/^hand\.cassette\.jsonl:4: Received a stream frame that is JSON but not a chat-completion chunk/);
    expect((caught as Error).cause).toBeInstanceOf(MalformedChunkError);

    const responses = parseCassette(['{"g4f-rx-cassette":1,"api":"responses","request":{"input":"Hi"},"response":{"status":200,"headers":{}}}', '{"at":0,"data":"not an event"}'].join("\n"), "hand.responses.cassette.jsonl");
    fromResponsesCassette(responses, { speed: Infinity }).subscribe({ error: (error: unknown) => (caught = error) });
    expect(caught).toMatchObject({ name: "CassetteError", file: "hand.responses.cassette.jsonl", line: 2 });
  });

  it("replays a shipped cassette file with its recorded timing, as the README shows", marbles((m) => {
    const file = fileURLToPath(new URL("../../examples/cassettes/say-hello-there.cassette.jsonl", import.meta.url));
    m.expect(fromCassette(file).pipe(extractDelta(), take(2))).toBeObservable("612ms a 40ms (b|)", { a: "Hello", b: " there" });
  }));

  it("rejects a speed that is not above 0 before anything subscribes", () => {
    expect(() => fromCassette(recorded, { speed: 0 })).toThrow(TypeError);
  });
});

import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { map } from "rxjs";
import { describe, expect, it } from "vitest";
import { extractDelta } from "../../operators/index.js";
import { chunkWith, contentChunk } from "../support/chunks.js";
import { marbles } from "../support/marbles.js";

describe("extractDelta", () => {
  it("emits the content of each delta of choice 0", marbles((m) => {
    const values = { a: contentChunk("Hello"), b: contentChunk(" there"), c: contentChunk("!") };
    const source = m.cold("  a-b--c-|", values);
    const subs = "           ^------!";
    const expected = m.cold("x-y--z-|", { x: "Hello", y: " there", z: "!" });
    m.expect(source.pipe(extractDelta())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("skips the role chunk, null and empty content, and chunks without choices", marbles((m) => {
    const values = {
      r: chunkWith([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]),
      n: contentChunk(null),
      u: chunkWith([], { usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } }),
      f: contentChunk(undefined, 0, "stop"),
      a: contentChunk("Hi"),
    };
    const source = m.cold("  r-n-a-f-u-|", values);
    const subs = "           ^---------!";
    const expected = m.cold("----x-----|", { x: "Hi" });
    m.expect(source.pipe(extractDelta())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("selects the choice by its index field, not by its position in the array", marbles((m) => {
    const both = (first: string, second: string): ChatCompletionChunk =>
      chunkWith([
        { index: 1, delta: { content: second }, finish_reason: null },
        { index: 0, delta: { content: first }, finish_reason: null },
      ]);
    const values = { a: both("A0", "A1"), b: contentChunk("B1", 1), c: contentChunk("C0", 0) };
    const source = m.cold("  a-b-c-|", values);
    const subs = "           ^-----!";
    m.expect(source.pipe(extractDelta({ choice: 1 }))).toBeObservable(m.cold("x-y---|", { x: "A1", y: "B1" }));
    m.expect(source.pipe(extractDelta())).toBeObservable(m.cold("x---z-|", { x: "A0", z: "C0" }));
    m.expect(source).toHaveSubscriptions([subs, subs]);
  }));

  it("accepts choices without a delta, as Azure's content-filter chunks send them", marbles((m) => {
    const filterOnly = JSON.parse('{"id":"1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"finish_reason":null,"content_filter_results":{}}]}') as ChatCompletionChunk;
    const source = m.cold("  a-b|", { a: filterOnly, b: contentChunk("ok") });
    m.expect(source.pipe(extractDelta())).toBeObservable(m.cold("--x|", { x: "ok" }));
    m.expect(source).toHaveSubscriptions("^--!");
  }));

  it("emits nothing, and does not throw, for malformed chunks a non-validating source may pass", marbles((m) => {
    const malformed = (json: string): ChatCompletionChunk => JSON.parse(json) as ChatCompletionChunk;
    const values = {
      a: malformed('{"id":"1","choices":null}'),
      b: malformed('{"id":"1","choices":[null,{"index":0,"delta":null}]}'),
      c: malformed('{"id":"1"}'),
      d: contentChunk("ok"),
    };
    const source = m.cold("  a-b-c-d|", values);
    m.expect(source.pipe(extractDelta())).toBeObservable(m.cold("------x|", { x: "ok" }));
    m.expect(source).toHaveSubscriptions("^------!");
  }));

  it("completes without values on an empty source", marbles((m) => {
    const source = m.cold<ChatCompletionChunk>("  |");
    m.expect(source.pipe(extractDelta())).toBeObservable("|");
    m.expect(source).toHaveSubscriptions("(^!)");
  }));

  it("never emits on a source that never emits", marbles((m) => {
    const source = m.cold<ChatCompletionChunk>("-");
    m.expect(source.pipe(extractDelta())).toBeObservable("-");
    m.expect(source).toHaveSubscriptions("^");
  }));

  it("passes an error through after the deltas before it", marbles((m) => {
    const source = m.cold("  a-#", { a: contentChunk("Hi") }, new Error("boom"));
    m.expect(source.pipe(extractDelta())).toBeObservable(m.cold("x-#", { x: "Hi" }, new Error("boom")));
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("unsubscribes from the source when the subscriber leaves early", marbles((m) => {
    const source = m.cold("  a-b-c-|", { a: contentChunk("1"), b: contentChunk("2"), c: contentChunk("3") });
    const unsub = "          ---!";
    m.expect(source.pipe(extractDelta()), unsub).toBeObservable(m.cold("x-y", { x: "1", y: "2" }));
    m.expect(source).toHaveSubscriptions("^--!");
  }));

  it("errors when a callback downstream of it throws", marbles((m) => {
    const source = m.cold("  a-b-|", { a: contentChunk("1"), b: contentChunk("2") });
    const failing = source.pipe(
      extractDelta(),
      map((text) => {
        if (text === "2") throw new Error("callback failed");
        return text;
      }),
    );
    m.expect(failing).toBeObservable(m.cold("x-#", { x: "1" }, new Error("callback failed")));
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("rejects a choice that is not a non-negative integer before anything subscribes", () => {
    expect(() => extractDelta({ choice: -1 })).toThrow(TypeError);
    expect(() => extractDelta({ choice: 1.5 })).toThrow(/non-negative integer/);
  });
});

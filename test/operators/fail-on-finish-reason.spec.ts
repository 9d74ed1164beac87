import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { map } from "rxjs";
import { describe, expect, it } from "vitest";
import { FinishReasonError, failOnFinishReason } from "../../operators/index.js";
import { chunkWith, contentChunk } from "../support/chunks.js";
import { marbles } from "../support/marbles.js";

describe("failOnFinishReason", () => {
  it("passes the finishing chunk on, then errors with the reason, the choice and its text so far", marbles((m) => {
    const values = { a: contentChunk("Once upon"), b: contentChunk(" a time", 0, "length") };
    const source = m.cold("  a-b-|", values);
    const subs = "           ^-!";
    const expected = m.cold("a-(b#)", values, new FinishReasonError("length", 0, "Once upon a time"));
    m.expect(source.pipe(failOnFinishReason(["length", "content_filter"]))).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("lets other finish reasons through and completes", marbles((m) => {
    const values = { a: contentChunk("Hi"), b: contentChunk(undefined, 0, "stop") };
    const source = m.cold("  a-b-|", values);
    m.expect(source.pipe(failOnFinishReason("length"))).toBeObservable(m.cold("a-b-|", values));
    m.expect(source).toHaveSubscriptions("^---!");
  }));

  it("keeps the text of each choice apart when n > 1", marbles((m) => {
    const values = {
      a: chunkWith([{ index: 0, delta: { content: "zero" }, finish_reason: null }, { index: 1, delta: { content: "one" }, finish_reason: null }]),
      b: chunkWith([{ index: 0, delta: {}, finish_reason: "stop" }, { index: 1, delta: { content: "!" }, finish_reason: "content_filter" }]),
    };
    const source = m.cold("  a-b-|", values);
    const expected = m.cold("a-(b#)", values, new FinishReasonError("content_filter", 1, "one!"));
    m.expect(source.pipe(failOnFinishReason("content_filter"))).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("explains the reason in the message", () => {
    const error = new FinishReasonError("length", 0, "Once upon a time");
    expect(error.message).toBe('The answer is incomplete: choice 0 finished with "length" (the token limit (max_tokens or the context window) was reached) after 16 characters');
    expect(error).toMatchObject({ name: "FinishReasonError", reason: "length", choice: 0, text: "Once upon a time" });
  });

  it("completes without values on an empty source", marbles((m) => {
    const source = m.cold<ChatCompletionChunk>("|");
    m.expect(source.pipe(failOnFinishReason("length"))).toBeObservable("|");
    m.expect(source).toHaveSubscriptions("(^!)");
  }));

  it("never emits on a source that never emits", marbles((m) => {
    const source = m.cold<ChatCompletionChunk>("-");
    m.expect(source.pipe(failOnFinishReason("length"))).toBeObservable("-");
    m.expect(source).toHaveSubscriptions("^");
  }));

  it("passes an error through", marbles((m) => {
    const source = m.cold("  a-#", { a: contentChunk("Hi") }, new Error("boom"));
    m.expect(source.pipe(failOnFinishReason("length"))).toBeObservable(m.cold("a-#", { a: contentChunk("Hi") }, new Error("boom")));
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("unsubscribes from the source when the subscriber leaves early", marbles((m) => {
    const values = { a: contentChunk("1"), b: contentChunk("2"), c: contentChunk("3", 0, "length") };
    const source = m.cold("  a-b-c-|", values);
    m.expect(source.pipe(failOnFinishReason("length")), "---!").toBeObservable(m.cold("a-b", values));
    m.expect(source).toHaveSubscriptions("^--!");
  }));

  it("errors when a callback downstream of it throws", marbles((m) => {
    const source = m.cold("  a-|", { a: contentChunk("1") });
    const failing = source.pipe(
      failOnFinishReason("length"),
      map(() => {
        throw new Error("callback failed");
      }),
    );
    m.expect(failing).toBeObservable(m.cold("#", {}, new Error("callback failed")));
    m.expect(source).toHaveSubscriptions("(^!)");
  }));

  it("rejects an empty or non-string list of reasons before anything subscribes", () => {
    expect(() => failOnFinishReason([])).toThrow(TypeError);
    expect(() => failOnFinishReason("")).toThrow(/non-empty array/);
  });
});

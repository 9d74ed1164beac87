import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { map } from "rxjs";
import { describe, it } from "vitest";
import { usage } from "../../operators/index.js";
import { chunkWith, contentChunk } from "../support/chunks.js";
import { marbles } from "../support/marbles.js";

const tokens = (total: number): { prompt_tokens: number; completion_tokens: number; total_tokens: number } => ({ prompt_tokens: 1, completion_tokens: total - 1, total_tokens: total });

describe("usage", () => {
  it("emits the usage of the final chunk with empty choices, skipping usage: null", marbles((m) => {
    const values = {
      a: chunkWith([{ index: 0, delta: { content: "Hi" }, finish_reason: null }], { usage: null }),
      f: chunkWith([{ index: 0, delta: {}, finish_reason: "stop" }], { usage: null }),
      u: chunkWith([], { usage: tokens(7) }),
    };
    const source = m.cold("  a-f-u-|", values);
    const subs = "           ^-----!";
    m.expect(source.pipe(usage())).toBeObservable(m.cold("----x-|", { x: tokens(7) }));
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("emits usage sent on the finishing chunk (DeepSeek, Groq, Mistral), and each report when there are several", marbles((m) => {
    const values = {
      a: chunkWith([{ index: 0, delta: { content: "Hi" }, finish_reason: null }], { usage: tokens(3) }),
      f: chunkWith([{ index: 0, delta: {}, finish_reason: "stop" }], { usage: tokens(4) }),
    };
    const source = m.cold("  a-f-|", values);
    m.expect(source.pipe(usage())).toBeObservable(m.cold("x-y-|", { x: tokens(3), y: tokens(4) }));
    m.expect(source).toHaveSubscriptions("^---!");
  }));

  it("completes without values on an empty source, or one without usage", marbles((m) => {
    const empty = m.cold<ChatCompletionChunk>("|");
    const without = m.cold("  a-|", { a: contentChunk("Hi") });
    m.expect(empty.pipe(usage())).toBeObservable("|");
    m.expect(without.pipe(usage())).toBeObservable("--|");
    m.expect(empty).toHaveSubscriptions("(^!)");
    m.expect(without).toHaveSubscriptions("^-!");
  }));

  it("never emits on a source that never emits", marbles((m) => {
    const source = m.cold<ChatCompletionChunk>("-");
    m.expect(source.pipe(usage())).toBeObservable("-");
    m.expect(source).toHaveSubscriptions("^");
  }));

  it("passes an error through", marbles((m) => {
    const source = m.cold("  u-#", { u: chunkWith([], { usage: tokens(2) }) }, new Error("boom"));
    m.expect(source.pipe(usage())).toBeObservable(m.cold("x-#", { x: tokens(2) }, new Error("boom")));
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("unsubscribes from the source when the subscriber leaves early", marbles((m) => {
    const source = m.cold("  a-u-|", { a: contentChunk("Hi"), u: chunkWith([], { usage: tokens(2) }) });
    m.expect(source.pipe(usage()), "-!").toBeObservable("--");
    m.expect(source).toHaveSubscriptions("^!");
  }));

  it("errors when a callback downstream of it throws", marbles((m) => {
    const source = m.cold("  u-|", { u: chunkWith([], { usage: tokens(2) }) });
    const failing = source.pipe(
      usage(),
      map(() => {
        throw new Error("callback failed");
      }),
    );
    m.expect(failing).toBeObservable(m.cold("#", {}, new Error("callback failed")));
    m.expect(source).toHaveSubscriptions("(^!)");
  }));
});

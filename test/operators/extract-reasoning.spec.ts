import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { map } from "rxjs";
import { describe, expect, it } from "vitest";
import { extractReasoning } from "../../operators/index.js";
import { chunkWith, contentChunk } from "../support/chunks.js";
import { marbles } from "../support/marbles.js";
import { asChunk } from "../support/wire.js";

const reasoning = (delta: object, index = 0): ChatCompletionChunk =>
  asChunk({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index, delta, finish_reason: null }] });

describe("extractReasoning", () => {
  it("emits reasoning_content (DeepSeek, xAI) and reasoning (GPT4Free, OpenRouter) deltas", marbles((m) => {
    const values = {
      a: reasoning({ role: "assistant", content: null, reasoning_content: "" }),
      b: reasoning({ content: null, reasoning_content: "We" }),
      c: reasoning({ reasoning: " count" }),
      d: reasoning({ content: "3", reasoning_content: null }),
    };
    const source = m.cold("  a-b-c-d-|", values);
    const subs = "           ^-------!";
    const expected = m.cold("--x-y---|", { x: "We", y: " count" });
    m.expect(source.pipe(extractReasoning())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("emits the text once when a server sends both fields with the same text (vLLM)", marbles((m) => {
    const source = m.cold("  a-|", { a: reasoning({ reasoning: "Hmm", reasoning_content: "Hmm" }) });
    m.expect(source.pipe(extractReasoning())).toBeObservable(m.cold("x-|", { x: "Hmm" }));
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("reads the choice selected by its index field; skips chunks without choices or delta", marbles((m) => {
    const values = {
      u: chunkWith([], { usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }),
      z: asChunk({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 1, finish_reason: null }] }),
      a: reasoning({ reasoning: "zero" }, 0),
      b: reasoning({ reasoning: "one" }, 1),
    };
    const source = m.cold("  u-z-a-b-|", values);
    const subs = "           ^-------!";
    m.expect(source.pipe(extractReasoning({ choice: 1 }))).toBeObservable(m.cold("------x-|", { x: "one" }));
    m.expect(source.pipe(extractReasoning())).toBeObservable(m.cold("    ----x---|", { x: "zero" }));
    m.expect(source).toHaveSubscriptions([subs, subs]);
  }));

  it("completes without values on an empty source", marbles((m) => {
    const source = m.cold<ChatCompletionChunk>("|");
    m.expect(source.pipe(extractReasoning())).toBeObservable("|");
    m.expect(source).toHaveSubscriptions("(^!)");
  }));

  it("never emits on a source that never emits", marbles((m) => {
    const source = m.cold<ChatCompletionChunk>("-");
    m.expect(source.pipe(extractReasoning())).toBeObservable("-");
    m.expect(source).toHaveSubscriptions("^");
  }));

  it("passes an error through after the reasoning before it", marbles((m) => {
    const source = m.cold("  a-#", { a: reasoning({ reasoning: "Hm" }) }, new Error("boom"));
    m.expect(source.pipe(extractReasoning())).toBeObservable(m.cold("x-#", { x: "Hm" }, new Error("boom")));
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("unsubscribes from the source when the subscriber leaves early", marbles((m) => {
    const source = m.cold("  a-b-c-|", { a: reasoning({ reasoning: "1" }), b: reasoning({ reasoning: "2" }), c: contentChunk("3") });
    m.expect(source.pipe(extractReasoning()), "---!").toBeObservable(m.cold("x-y", { x: "1", y: "2" }));
    m.expect(source).toHaveSubscriptions("^--!");
  }));

  it("errors when a callback downstream of it throws", marbles((m) => {
    const source = m.cold("  a-b-|", { a: reasoning({ reasoning: "1" }), b: reasoning({ reasoning: "2" }) });
    const failing = source.pipe(
      extractReasoning(),
      map((text) => {
        if (text === "2") throw new Error("callback failed");
        return text;
      }),
    );
    m.expect(failing).toBeObservable(m.cold("x-#", { x: "1" }, new Error("callback failed")));
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("rejects a choice that is not a non-negative integer before anything subscribes", () => {
    expect(() => extractReasoning({ choice: -1 })).toThrow(TypeError);
    expect(() => extractReasoning({ choice: 0.5 })).toThrow(/non-negative integer/);
  });
});

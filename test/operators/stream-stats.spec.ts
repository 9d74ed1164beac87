import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { map } from "rxjs";
import { describe, expect, it } from "vitest";
import { type StreamStats, streamStats } from "../../operators/index.js";
import { chunkWith, contentChunk } from "../support/chunks.js";
import { marbles } from "../support/marbles.js";

const usage = { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 };
const values = {
  r: chunkWith([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]),
  a: contentChunk("Hel"),
  b: contentChunk("lo"),
  w: contentChunk("👋 "),
  t: chunkWith([
    { index: 0, delta: { content: "one" }, finish_reason: null },
    { index: 1, delta: { content: "two" }, finish_reason: null },
  ]),
  f: contentChunk(undefined, 0, "stop"),
  u: chunkWith([], { usage }),
};

const stats = (fields: StreamStats): { s: StreamStats } => ({ s: fields });

describe("streamStats", () => {
  it("emits one StreamStats on completion, timed on the scheduler", marbles((m) => {
    const source = m.cold("  r-a--b-f-u|", values);
    const expected = m.cold("----------(s|)", stats({
      firstContentMs: 2,
      durationMs: 10,
      chunks: 5,
      characters: 5,
      // 5 characters over the 8 ms from the first content to completion.
      charactersPerSecond: 625,
      usage,
    }));
    m.expect(source.pipe(streamStats())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^---------!");
  }));

  it("measures from the subscription, not from when the operator was applied", marbles((m) => {
    const source = m.cold("     -a|", values);
    const subscription = "   ---^";
    const expected = m.cold("-----(s|)", stats({ firstContentMs: 1, durationMs: 2, chunks: 1, characters: 3, charactersPerSecond: 3000 }));
    m.expect(source.pipe(streamStats()), subscription).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("---^-!");
  }));

  it("counts code points, so an emoji is one character, over every choice", marbles((m) => {
    const source = m.cold("  w-t|", values);
    const expected = m.cold("---(s|)", stats({ firstContentMs: 0, durationMs: 3, chunks: 2, characters: 8, charactersPerSecond: 8000 / 3 }));
    m.expect(source.pipe(streamStats())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^--!");
  }));

  it("has no first-content time and no speed when no content came, and no usage when none was sent", marbles((m) => {
    const source = m.cold("  r-f|", values);
    const expected = m.cold("---(s|)", stats({ firstContentMs: null, durationMs: 3, chunks: 2, characters: 0, charactersPerSecond: null }));
    m.expect(source.pipe(streamStats())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^--!");
  }));

  it("has no speed when all the content came in the instant of completion", marbles((m) => {
    const source = m.cold("  --(a|)", values);
    const expected = m.cold("--(s|)", stats({ firstContentMs: 2, durationMs: 2, chunks: 1, characters: 3, charactersPerSecond: null }));
    m.expect(source.pipe(streamStats())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("emits zeroed statistics for an empty source", marbles((m) => {
    const source = m.cold<ChatCompletionChunk>("  |");
    const expected = m.cold("(s|)", stats({ firstContentMs: null, durationMs: 0, chunks: 0, characters: 0, charactersPerSecond: null }));
    m.expect(source.pipe(streamStats())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("(^!)");
  }));

  it("never emits on a source that never completes", marbles((m) => {
    const source = m.cold("  a-b-", values);
    m.expect(source.pipe(streamStats())).toBeObservable("-");
    m.expect(source).toHaveSubscriptions("^");
  }));

  it("passes an error through, without statistics", marbles((m) => {
    const failure = new Error("boom");
    const source = m.cold("  a-#", values, failure);
    m.expect(source.pipe(streamStats())).toBeObservable(m.cold("--#", {}, failure));
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("unsubscribes from the source when the subscriber leaves early", marbles((m) => {
    const source = m.cold("  a-b-|", values);
    const unsub = "          ---!";
    m.expect(source.pipe(streamStats()), unsub).toBeObservable("----");
    m.expect(source).toHaveSubscriptions("^--!");
  }));

  it("errors when a callback downstream of it throws", marbles((m) => {
    const failure = new Error("callback failed");
    const source = m.cold("  a|", values);
    const failing = source.pipe(
      streamStats(),
      map((value) => {
        if (value.chunks > 0) throw failure;
        return value;
      }),
    );
    m.expect(failing).toBeObservable(m.cold("-#", {}, failure));
    m.expect(source).toHaveSubscriptions("^!");
  }));

  it("rejects a scheduler without now() before anything subscribes", () => {
    expect(() => {
      Reflect.apply(streamStats, undefined, [{ scheduler: {} }]);
    }).toThrow(TypeError);
  });
});

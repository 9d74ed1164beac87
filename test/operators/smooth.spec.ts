import { map, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { smooth } from "../../operators/index.js";
import { marbles } from "../support/marbles.js";

describe("smooth", () => {
  it("re-cuts deltas into words and paces them delayMs apart", marbles((m) => {
    const source = m.cold("  a-b----c|", { a: "Hel", b: "lo there fr", c: "iend!" });
    const expected = m.cold("--x-y---(z|)", { x: "Hello ", y: "there ", z: "friend!" });
    m.expect(source.pipe(smooth({ chunking: "word", delayMs: 2 }))).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^-------!");
  }));

  it("queues a burst and delays completion until the last piece is out", marbles((m) => {
    const source = m.cold("  a|", { a: "one two three four" });
    const expected = m.cold("w--x--y--(z|)", { w: "one ", x: "two ", y: "three ", z: "four" });
    m.expect(source.pipe(smooth({ delayMs: 3 }))).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^!");
  }));

  it("waits 10 ms between pieces by default", marbles((m) => {
    const source = m.cold("  a|", { a: "one two" });
    m.expect(source.pipe(smooth())).toBeObservable(m.cold("x 9ms (y|)", { x: "one ", y: "two" }));
    m.expect(source).toHaveSubscriptions("^!");
  }));

  it("catches up with a burst: 10,000 words at once are out within maxLagMs, in evenly spaced batches", marbles((m) => {
    const text = Array.from({ length: 10_000 }, (_, i) => `w${i} `).join("");
    const source = m.cold("  a|", { a: text });
    const ticks = source.pipe(
      smooth({ delayMs: 10, maxLagMs: 1000 }),
      map((piece) => ({ at: m.scheduler.now(), piece })),
      toArray(),
      map((emitted) => {
        const times = [...new Set(emitted.map(({ at }) => at))];
        return {
          wholeText: emitted.map(({ piece }) => piece).join("") === text,
          pieces: emitted.length,
          ticks: times.length,
          evenlySpaced: times.every((at, i) => at === i * 10),
        };
      }),
    );
    // 101 ticks, 0 to 1000 ms, instead of 10,000 ticks (100 s) at the fixed pace.
    const expected = { wholeText: true, pieces: 10_000, ticks: 101, evenlySpaced: true };
    m.expect(ticks).toBeObservable(m.cold("1000ms (x|)", { x: expected }));
    m.expect(source).toHaveSubscriptions("^!");
  }));

  it("drains the rest within maxLagMs of the last text when the source completes, one piece per tick while it can", marbles((m) => {
    // Six pieces, a lag of at most 10 ms at 5 ms a tick: three ticks, two pieces each, rather than six ticks.
    const source = m.cold("  a|", { a: "a b c d e f" });
    const pieces = { u: "a ", v: "b ", w: "c ", x: "d ", y: "e ", z: "f" };
    const expected = m.cold("(uv) 1ms (wx) 1ms (yz|)", pieces);
    m.expect(source.pipe(smooth({ delayMs: 5, maxLagMs: 10 }))).toBeObservable(expected);
    // Infinity keeps the fixed pace.
    const fixed = m.cold("u 4ms v 4ms w 4ms x 4ms y 4ms (z|)", pieces);
    m.expect(source.pipe(smooth({ delayMs: 5, maxLagMs: Number.POSITIVE_INFINITY }))).toBeObservable(fixed);
    m.expect(source).toHaveSubscriptions(["^!", "^!"]);
  }));

  it("lets out text that has waited maxLagMs for the rest of its piece, as it stands; Infinity waits for whole pieces", marbles((m) => {
    const source = m.cold("  a 20ms b|", { a: "one tw", b: "o three" });
    const expected = m.cold("u 9ms v 10ms w (x|)", { u: "one ", v: "tw", w: "o ", x: "three" });
    m.expect(source.pipe(smooth({ delayMs: 0, maxLagMs: 10 }))).toBeObservable(expected);
    const whole = m.cold("u 20ms w (x|)", { u: "one ", w: "two ", x: "three" });
    m.expect(source.pipe(smooth({ delayMs: 0, maxLagMs: Number.POSITIVE_INFINITY }))).toBeObservable(whole);
    m.expect(source).toHaveSubscriptions(["^ 21ms !", "^ 21ms !"]);
  }));

  it("keeps each piece within maxLagMs of its arrival while a fast source keeps sending", marbles((m) => {
    // Three words a millisecond, at most one tick per 5 ms: without catching up the lag would grow to 100 ms.
    const source = m.cold(`${"a".repeat(60)}|`, { a: "one two three " });
    const done = source.pipe(
      smooth({ delayMs: 5, maxLagMs: 20 }),
      toArray(),
      map((pieces) => ({ pieces: pieces.length, doneAt: m.scheduler.now() })),
    );
    // The last word becomes a piece when the source completes, at 60 ms; all is out by 60 + 20 ms, not at 895 ms.
    m.expect(done).toBeObservable(m.cold("80ms (x|)", { x: { pieces: 180, doneAt: 80 } }));
    m.expect(source).toHaveSubscriptions(`^${"-".repeat(59)}!`);
  }));

  it("cuts lines, keeping the line breaks", marbles((m) => {
    const source = m.cold("  a-b|", { a: "line one\nli", b: "ne two\n\nthree" });
    const expected = m.cold("x-y(z|)", { x: "line one\n", y: "line two\n\n", z: "three" });
    m.expect(source.pipe(smooth({ chunking: "line", delayMs: 0 }))).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^--!");
  }));

  it("holds back line breaks that end a delta, since the next delta may add more", marbles((m) => {
    const source = m.cold("  a-b|", { a: "a\n", b: "\nb" });
    const expected = m.cold("--x(y|)", { x: "a\n\n", y: "b" });
    m.expect(source.pipe(smooth({ chunking: "line", delayMs: 0 }))).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^--!");
  }));

  it("keeps a word's spaces with it when they arrive in two deltas", marbles((m) => {
    const source = m.cold("  a-b|", { a: "Hello ", b: " world" });
    const expected = m.cold("--x(y|)", { x: "Hello  ", y: "world" });
    m.expect(source.pipe(smooth({ chunking: "word", delayMs: 0 }))).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^--!");
  }));

  it("emits a held-back piece as it is when the source completes or errors", marbles((m) => {
    const failure = new Error("boom");
    const completing = m.cold("a-|", { a: "one two\n" });
    const failing = m.cold("   a-#", { a: "one two\n" }, failure);
    m.expect(completing.pipe(smooth({ chunking: "line", delayMs: 0 }))).toBeObservable(m.cold("--(x|)", { x: "one two\n" }));
    m.expect(failing.pipe(smooth({ delayMs: 0 }))).toBeObservable(m.cold("x-(y#)", { x: "one ", y: "two\n" }, failure));
    m.expect(completing).toHaveSubscriptions("^-!");
    m.expect(failing).toHaveSubscriptions("   ^-!");
  }));

  it("cuts sentences by the Unicode rules: not at 3.14, and at 。 without a space", marbles((m) => {
    const source = m.cold("  a-b-c---|", { a: "Pi is 3.", b: "14. How a", c: "re you? 今日は晴れ。明日は雨" });
    const expected = m.cold("--x-(yz)(w|)", { x: "Pi is 3.14. ", y: "How are you? ", z: "今日は晴れ。", w: "明日は雨" });
    m.expect(source.pipe(smooth({ chunking: "sentence", delayMs: 0 }))).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^-------!");
  }));

  it("cuts Chinese, which has no spaces, with an Intl.Segmenter, punctuation joining the word before it", marbles((m) => {
    const segmenter = new Intl.Segmenter("zh", { granularity: "word" });
    const source = m.cold("  a-----b---|", { a: "你好世界。今天", b: "天气很好" });
    const expected = m.cold("(xy)--(zw)(v|)", { x: "你好", y: "世界。", z: "今天", w: "天气", v: "很好" });
    m.expect(source.pipe(smooth({ chunking: segmenter, delayMs: 0 }))).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^---------!");
  }));

  it("keeps spaces and punctuation with the word before them with a word Segmenter", marbles((m) => {
    const segmenter = new Intl.Segmenter("en", { granularity: "word" });
    const source = m.cold("  a---|", { a: " Hello, world! Bye" });
    const expected = m.cold("(xy)(z|)", { x: " Hello, ", y: "world! ", z: "Bye" });
    m.expect(source.pipe(smooth({ chunking: segmenter, delayMs: 0 }))).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^---!");
  }));

  it("ends a piece where each match of a RegExp ends, and ignores empty matches", marbles((m) => {
    const source = m.cold("  a-b|", { a: "red, gre", b: "en, blue" });
    const expected = m.cold("x-y(z|)", { x: "red, ", y: "green, ", z: "blue" });
    m.expect(source.pipe(smooth({ chunking: /,\s*/g, delayMs: 0 }))).toBeObservable(expected);
    const empty = m.cold("   a|", { a: "abc" });
    m.expect(empty.pipe(smooth({ chunking: /x*/, delayMs: 0 }))).toBeObservable(m.cold("-(z|)", { z: "abc" }));
    m.expect(source).toHaveSubscriptions("^--!");
    m.expect(empty).toHaveSubscriptions("^!");
  }));

  it("passes an error on after the waiting pieces and the rest", marbles((m) => {
    const failure = new Error("boom");
    const source = m.cold("  a-#", { a: "one two thr" }, failure);
    const expected = m.cold("x--y--(z#)", { x: "one ", y: "two ", z: "thr" }, failure);
    m.expect(source.pipe(smooth({ delayMs: 3 }))).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("completes without values on an empty source", marbles((m) => {
    const source = m.cold<string>("  |");
    m.expect(source.pipe(smooth())).toBeObservable("|");
    m.expect(source).toHaveSubscriptions("(^!)");
  }));

  it("on a source that goes silent, holds a piece that could still grow for maxLagMs only (Infinity: for ever)", marbles((m) => {
    const source = m.cold("  a-", { a: "unfinished" });
    m.expect(source.pipe(smooth())).toBeObservable(m.cold("1000ms x", { x: "unfinished" }));
    m.expect(source.pipe(smooth({ maxLagMs: Number.POSITIVE_INFINITY }))).toBeObservable("-");
    m.expect(source).toHaveSubscriptions(["^", "^"]);
  }));

  it("stops pacing and unsubscribes when the subscriber leaves early", marbles((m) => {
    const source = m.cold("  a-----|", { a: "one two three " });
    const unsub = "          ----!";
    m.expect(source.pipe(smooth({ delayMs: 3 })), unsub).toBeObservable(m.cold("x--y-", { x: "one ", y: "two " }));
    m.expect(source).toHaveSubscriptions("^---!");
  }));

  it("keeps the buffer of each subscription apart", marbles((m) => {
    const source = m.cold("  a-b|", { a: "one tw", b: "o" });
    const smoothed = source.pipe(smooth({ delayMs: 0 }));
    m.expect(smoothed).toBeObservable(m.cold("x--(y|)", { x: "one ", y: "two" }));
    m.expect(smoothed).toBeObservable(m.cold("x--(y|)", { x: "one ", y: "two" }));
    m.expect(source).toHaveSubscriptions(["^--!", "^--!"]);
  }));

  it("errors when the segmenter throws", marbles((m) => {
    const failure = new Error("segmenter failed");
    class FailingSegmenter extends Intl.Segmenter {
      override segment(): Intl.Segments {
        throw failure;
      }
    }
    const source = m.cold("  a-b|", { a: "one", b: "two" });
    m.expect(source.pipe(smooth({ chunking: new FailingSegmenter() }))).toBeObservable(m.cold("#", {}, failure));
    m.expect(source).toHaveSubscriptions("(^!)");
  }));

  it("errors when a callback downstream of it throws", marbles((m) => {
    const failure = new Error("callback failed");
    const source = m.cold("  a-|", { a: "one two three" });
    const failing = source.pipe(
      smooth({ delayMs: 1 }),
      map((piece) => {
        if (piece === "two ") throw failure;
        return piece;
      }),
    );
    m.expect(failing).toBeObservable(m.cold("x#", { x: "one " }, failure));
    m.expect(source).toHaveSubscriptions("^!");
  }));

  it("rejects nonsense options before anything subscribes", () => {
    expect(() => smooth({ delayMs: -1 })).toThrow(TypeError);
    expect(() => smooth({ delayMs: Number.POSITIVE_INFINITY })).toThrow(/delayMs/);
    expect(() => smooth({ maxLagMs: -1 })).toThrow(/maxLagMs/);
    expect(() => smooth({ maxLagMs: Number.NaN })).toThrow(/maxLagMs/);
    expect(() => {
      Reflect.apply(smooth, undefined, [{ chunking: "paragraph" }]);
    }).toThrow(/chunking must be/);
  });
});

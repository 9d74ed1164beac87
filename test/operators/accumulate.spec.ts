import { map } from "rxjs";
import { describe, expect, it } from "vitest";
import { accumulate } from "../../operators/index.js";
import { marbles } from "../support/marbles.js";

describe("accumulate", () => {
  it("emits the running text after each value", marbles((m) => {
    const source = m.cold("  a-b--c-|", { a: "Hello", b: " there", c: "!" });
    const subs = "           ^------!";
    const expected = m.cold("x-y--z-|", { x: "Hello", y: "Hello there", z: "Hello there!" });
    m.expect(source.pipe(accumulate())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("emits a single value once", marbles((m) => {
    const source = m.cold("  a|", { a: "one" });
    m.expect(source.pipe(accumulate())).toBeObservable(m.cold("x|", { x: "one" }));
    m.expect(source).toHaveSubscriptions("^!");
  }));

  it("starts again from an empty string for every subscription", marbles((m) => {
    const source = m.cold("  a-b|", { a: "x", b: "y" });
    const text = source.pipe(accumulate());
    m.expect(text).toBeObservable(m.cold("p-q|", { p: "x", q: "xy" }));
    m.expect(text).toBeObservable(m.cold("p-q|", { p: "x", q: "xy" }));
    m.expect(source).toHaveSubscriptions(["^--!", "^--!"]);
  }));

  it("completes without values on an empty source", marbles((m) => {
    const source = m.cold<string>("|");
    m.expect(source.pipe(accumulate())).toBeObservable("|");
    m.expect(source).toHaveSubscriptions("(^!)");
  }));

  it("never emits on a source that never emits", marbles((m) => {
    const source = m.cold<string>("-");
    m.expect(source.pipe(accumulate())).toBeObservable("-");
    m.expect(source).toHaveSubscriptions("^");
  }));

  it("passes an error through after the text so far", marbles((m) => {
    const source = m.cold("  a-b-#", { a: "par", b: "tial" }, new Error("cut"));
    m.expect(source.pipe(accumulate())).toBeObservable(m.cold("x-y-#", { x: "par", y: "partial" }, new Error("cut")));
    m.expect(source).toHaveSubscriptions("^---!");
  }));

  it("unsubscribes from the source when the subscriber leaves early", marbles((m) => {
    const source = m.cold("  a-b-c-|", { a: "1", b: "2", c: "3" });
    const unsub = "          ---!";
    m.expect(source.pipe(accumulate()), unsub).toBeObservable(m.cold("x-y", { x: "1", y: "12" }));
    m.expect(source).toHaveSubscriptions("^--!");
  }));

  it("errors when a callback downstream of it throws", marbles((m) => {
    const source = m.cold("  a-b-|", { a: "1", b: "2" });
    const failing = source.pipe(
      accumulate(),
      map((text) => {
        if (text.length > 1) throw new Error("too long");
        return text;
      }),
    );
    m.expect(failing).toBeObservable(m.cold("x-#", { x: "1" }, new Error("too long")));
    m.expect(source).toHaveSubscriptions("^-!");
  }));
});

describe("accumulate on long answers", () => {
  it("emits exactly the concatenation, across the points where it flattens the text", async () => {
    const { from, lastValueFrom, toArray } = await import("rxjs");
    const deltas = Array.from({ length: 40_000 }, (_, i) => ` w${i}`);
    const texts = await lastValueFrom(from(deltas).pipe(accumulate(), toArray()));
    expect(texts).toHaveLength(40_000);
    // Every emitted text kept by the array must stay as it was, also after later flattening.
    for (const i of [0, 1, 4_095, 4_096, 4_097, 19_999, 39_998, 39_999]) {
      expect(texts[i]).toBe(deltas.slice(0, i + 1).join(""));
    }
    expect(texts.every((text, i) => text.length === (texts[i - 1]?.length ?? 0) + deltas[i]!.length)).toBe(true);
  });
});

import fc from "fast-check";
import { Subject, map, of, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { type ThinkingPart, splitThinking } from "../../operators/index.js";
import { marbles } from "../support/marbles.js";

const reasoning = (text: string): ThinkingPart => ({ kind: "reasoning", text });
const content = (text: string): ThinkingPart => ({ kind: "content", text });

/** Runs `deltas` through splitThinking synchronously. */
function split(deltas: readonly string[]): ThinkingPart[] {
  let parts: ThinkingPart[] = [];
  of(...deltas).pipe(splitThinking(), toArray()).subscribe((all) => (parts = all));
  return parts;
}

describe("splitThinking", () => {
  it("separates <think>…</think> from the answer and drops the tags", marbles((m) => {
    const source = m.cold("  a-b-c-|", { a: "<think>Count.", b: "</think>", c: "Three." });
    const subs = "           ^-----!";
    const expected = m.cold("x---y-|", { x: reasoning("Count."), y: content("Three.") });
    m.expect(source.pipe(splitThinking())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("finds tags split across deltas, holding back only what could be a tag", marbles((m) => {
    const source = m.cold("  a-b-c-d-e-|", { a: "Hi <th", b: "ink>hm</t", c: "hin", d: "k> ok", e: "<" });
    const subs = "           ^---------!";
    const expected = m.cold("x-y---z---(w|)", { x: content("Hi "), y: reasoning("hm"), z: content(" ok"), w: content("<") });
    m.expect(source.pipe(splitThinking())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("releases held text as soon as the next delta shows it is not a tag", marbles((m) => {
    const source = m.cold("  a-b-|", { a: "x <", b: "b>" });
    const expected = m.cold("x-y-|", { x: content("x "), y: content("<b>") });
    m.expect(source.pipe(splitThinking())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^---!");
  }));

  it("emits several parts for one delta that holds both tags, and none for empty deltas", marbles((m) => {
    const source = m.cold("  a-(b|)", { a: "", b: "<think>a</think>b" });
    const expected = m.cold("--(xy|)", { x: reasoning("a"), y: content("b") });
    m.expect(source.pipe(splitThinking())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("gives the same text however the input is cut, and never holds back more than a partial tag", () => {
    const pieces = fc.constantFrom("<think>", "</think>", "<", "</", "<th", "think", ">", "a", " b", "\n", "</thi", "k>");
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 12 }), (tokens, cuts) => {
        const text = tokens.join("");
        const positions = [...new Set(cuts.map((cut) => cut % (text.length + 1)))].sort((a, b) => a - b);
        const deltas = [0, ...positions].map((start, i, all) => text.slice(start, all[i + 1] ?? text.length));
        const whole = split([text]);
        const cutUp = split(deltas);
        const joined = (parts: ThinkingPart[], kind: ThinkingPart["kind"]): string => parts.filter((p) => p.kind === kind).map((p) => p.text).join("");
        expect(joined(cutUp, "reasoning")).toBe(joined(whole, "reasoning"));
        expect(joined(cutUp, "content")).toBe(joined(whole, "content"));
        // After each delta, everything is out but at most the 7 characters of a partial "</think>".
        const input = new Subject<string>();
        let emitted = 0;
        input.pipe(splitThinking()).subscribe((part) => (emitted += part.text.length));
        let prefix = "";
        for (const delta of deltas) {
          input.next(delta);
          prefix += delta;
          const visible = split([prefix]).reduce((length, part) => length + part.text.length, 0);
          expect(visible - emitted).toBeLessThanOrEqual(7);
        }
      }),
    );
  });

  it("completes without values on an empty source", marbles((m) => {
    const source = m.cold<string>("|");
    m.expect(source.pipe(splitThinking())).toBeObservable("|");
    m.expect(source).toHaveSubscriptions("(^!)");
  }));

  it("never emits on a source that never emits", marbles((m) => {
    const source = m.cold<string>("-");
    m.expect(source.pipe(splitThinking())).toBeObservable("-");
    m.expect(source).toHaveSubscriptions("^");
  }));

  it("passes an error through, dropping only the held-back partial tag", marbles((m) => {
    const source = m.cold("  a-#", { a: "ok <thi" }, new Error("boom"));
    m.expect(source.pipe(splitThinking())).toBeObservable(m.cold("x-#", { x: content("ok ") }, new Error("boom")));
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("unsubscribes from the source when the subscriber leaves early", marbles((m) => {
    const source = m.cold("  a-b-c-|", { a: "<think>1", b: "</think>2", c: "3" });
    m.expect(source.pipe(splitThinking()), "---!").toBeObservable(m.cold("x-y", { x: reasoning("1"), y: content("2") }));
    m.expect(source).toHaveSubscriptions("^--!");
  }));

  it("errors when a callback downstream of it throws", marbles((m) => {
    const source = m.cold("  a-b-|", { a: "<think>1", b: "</think>2" });
    const failing = source.pipe(
      splitThinking(),
      map((part) => {
        if (part.kind === "content") throw new Error("callback failed");
        return part.text;
      }),
    );
    m.expect(failing).toBeObservable(m.cold("x-#", { x: "1" }, new Error("callback failed")));
    m.expect(source).toHaveSubscriptions("^-!");
  }));
});

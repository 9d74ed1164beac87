import { describe, expect, it } from "vitest";
import { throttledRender } from "../../examples/throttled-render.js";
import { contentChunk } from "../support/chunks.js";
import { marbles } from "../support/marbles.js";

const deltas = {
  a: contentChunk("H"),
  b: contentChunk("e"),
  c: contentChunk("l"),
  d: contentChunk("l"),
  e: contentChunk("o"),
  f: contentChunk("!"),
};

describe("examples/throttled-render.ts", () => {
  it("renders the first text at once, then at most once per interval, and always the final text", marbles((m) => {
    const rendered: string[] = [];
    const source = m.cold("  abc-de--f-|", deltas);
    const expected = m.cold("x--y--z--w|", { x: "H", y: "Hel", z: "Hello", w: "Hello!" });
    m.expect(throttledRender(source, (text) => rendered.push(text), 3)).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^---------!");
    m.flush();
    expect(rendered).toStrictEqual(["H", "Hel", "Hello", "Hello!"]);
  }));

  it("holds completion until the last text is rendered at the end of the interval", marbles((m) => {
    const source = m.cold("  ab|", deltas);
    const expected = m.cold("x----(y|)", { x: "H", y: "He" });
    m.expect(throttledRender(source, () => undefined, 5)).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("stops rendering and unsubscribes (aborting the request) when the view goes away", marbles((m) => {
    const source = m.cold("  abcdef|", deltas);
    const unsub = "          ---!";
    m.expect(throttledRender(source, () => undefined, 2), unsub).toBeObservable(m.cold("x-y", { x: "H", y: "Hel" }));
    m.expect(source).toHaveSubscriptions("^--!");
  }));
});

import { describe, expect, it } from "vitest";
import { printJsonLines } from "g4f-rx";
import { marbles } from "../support/marbles.js";

describe("printJsonLines", () => {
  it("writes each value as one JSON line and passes it on", marbles((m) => {
    const written: string[] = [];
    const values = { a: { text: "line\nbreak" }, b: { n: [1, 2] } };
    const source = m.cold("  a-b-|", values);
    const subs = "           ^---!";
    const expected = m.cold("a-b-|", values);
    m.expect(source.pipe(printJsonLines({ write: (text: string) => written.push(text) }))).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
    m.flush();
    expect(written).toEqual(['{"text":"line\\nbreak"}\n', '{"n":[1,2]}\n']);
  }));

  it("passes an error through after the lines before it", marbles((m) => {
    const written: string[] = [];
    const source = m.cold("  a-#", { a: 1 });
    const subs = "           ^-!";
    const expected = m.cold("a-#", { a: 1 });
    m.expect(source.pipe(printJsonLines({ write: (text: string) => written.push(text) }))).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
    m.flush();
    expect(written).toEqual(["1\n"]);
  }));

  it("rejects something that cannot be written to, before anything subscribes", () => {
    // @ts-expect-error: a wrong argument, as JavaScript callers can pass.
    expect(() => printJsonLines({})).toThrow(TypeError);
  });
});

import { describe, expect, it } from "vitest";
import { printTo } from "../../operators/index.js";
import { marbles } from "../support/marbles.js";

/** A writable that records what was written, and when (in virtual frames). */
function recorder(now: () => number): { write(text: string): boolean; written: Array<[number, string]> } {
  const written: Array<[number, string]> = [];
  return { written, write: (text) => (written.push([now(), text]), true) };
}

describe("printTo", () => {
  it("writes each value as it passes and passes it on unchanged", marbles((m) => {
    const out = recorder(() => m.scheduler.now());
    const source = m.cold("  a-b--c-|", { a: "Hello", b: " there", c: "!" });
    const subs = "           ^------!";
    m.expect(source.pipe(printTo(out))).toBeObservable(m.cold("a-b--c-|", { a: "Hello", b: " there", c: "!" }));
    m.expect(source).toHaveSubscriptions(subs);
    m.flush();
    expect(out.written).toEqual([[0, "Hello"], [2, " there"], [5, "!"]]);
  }));

  it("writes nothing for an empty source", marbles((m) => {
    const out = recorder(() => m.scheduler.now());
    const source = m.cold<string>("|");
    m.expect(source.pipe(printTo(out))).toBeObservable("|");
    m.expect(source).toHaveSubscriptions("(^!)");
    m.flush();
    expect(out.written).toEqual([]);
  }));

  it("writes nothing for a source that never emits", marbles((m) => {
    const out = recorder(() => m.scheduler.now());
    const source = m.cold<string>("-");
    m.expect(source.pipe(printTo(out))).toBeObservable("-");
    m.expect(source).toHaveSubscriptions("^");
    m.flush();
    expect(out.written).toEqual([]);
  }));

  it("keeps what was written when the source errors", marbles((m) => {
    const out = recorder(() => m.scheduler.now());
    const source = m.cold("  a-#", { a: "partial" }, new Error("cut"));
    m.expect(source.pipe(printTo(out))).toBeObservable(m.cold("a-#", { a: "partial" }, new Error("cut")));
    m.expect(source).toHaveSubscriptions("^-!");
    m.flush();
    expect(out.written).toEqual([[0, "partial"]]);
  }));

  it("stops writing when the subscriber leaves early", marbles((m) => {
    const out = recorder(() => m.scheduler.now());
    const source = m.cold("  a-b-c-|", { a: "1", b: "2", c: "3" });
    m.expect(source.pipe(printTo(out)), "---!").toBeObservable(m.cold("a-b", { a: "1", b: "2" }));
    m.expect(source).toHaveSubscriptions("^--!");
    m.flush();
    expect(out.written.map(([, text]) => text)).toEqual(["1", "2"]);
  }));

  it("errors the stream when the writable throws", marbles((m) => {
    let calls = 0;
    const out = {
      write: (text: string): boolean => {
        calls += 1;
        if (text === "2") throw new Error("EPIPE: broken pipe");
        return true;
      },
    };
    const source = m.cold("  a-b-c-|", { a: "1", b: "2", c: "3" });
    m.expect(source.pipe(printTo(out))).toBeObservable(m.cold("a-#", { a: "1" }, new Error("EPIPE: broken pipe")));
    m.expect(source).toHaveSubscriptions("^-!");
    m.flush();
    expect(calls).toBe(2);
  }));

  it("rejects something that cannot be written to before anything subscribes", () => {
    expect(() => printTo({} as never)).toThrow(TypeError);
  });
});

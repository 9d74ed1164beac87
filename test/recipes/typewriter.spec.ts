import { describe, expect, it } from "vitest";
import { typewriter } from "g4f-rx";
import { contentChunk } from "../support/chunks.js";
import { marbles } from "../support/marbles.js";

describe("typewriter", () => {
  it("writes each delta as it arrives and emits the running text", marbles((m) => {
    const written: string[] = [];
    const values = { r: contentChunk(""), a: contentChunk("Hel"), b: contentChunk("lo"), f: contentChunk(undefined, 0, "stop") };
    const source = m.cold("  r-a-b-f-|", values);
    const subs = "           ^-------!";
    const expected = m.cold("--x-y---|", { x: "Hel", y: "Hello" });
    m.expect(source.pipe(typewriter({ write: (text: string) => written.push(text) }))).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
    m.flush();
    expect(written).toEqual(["Hel", "lo"]);
  }));

  it("keeps what was written when the stream errors", marbles((m) => {
    const written: string[] = [];
    const error = new Error("cut off");
    const source = m.cold("  a-#", { a: contentChunk("Hel") }, error);
    const subs = "           ^-!";
    const expected = m.cold("x-#", { x: "Hel" }, error);
    m.expect(source.pipe(typewriter({ write: (text: string) => written.push(text) }))).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
    m.flush();
    expect(written).toEqual(["Hel"]);
  }));

  it("reads the choice it is given", marbles((m) => {
    const source = m.cold("  a-b-|", { a: contentChunk("zero", 0), b: contentChunk("one", 1) });
    const subs = "           ^---!";
    const expected = m.cold("--x-|", { x: "one" });
    m.expect(source.pipe(typewriter({ write: () => true }, { choice: 1 }))).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("errors when writing throws", marbles((m) => {
    const error = new Error("EPIPE");
    const source = m.cold("  a-b-|", { a: contentChunk("Hel"), b: contentChunk("lo") });
    const subs = "           ^-!";
    const expected = m.cold("x-#", { x: "Hel" }, error);
    const out = {
      write: (text: string) => {
        if (text === "lo") throw error;
      },
    };
    m.expect(source.pipe(typewriter(out))).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));
});

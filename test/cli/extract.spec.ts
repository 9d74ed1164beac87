import fc from "fast-check";
import { from, lastValueFrom, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { type CodeBlockChoice, extractCodeBlock } from "../../src/cli/extract.js";
import { marbles } from "../support/marbles.js";

/** What `-x` (or `--extract-last`) prints of `pieces`, and whether it said the answer had no block. */
async function extracted(pieces: readonly string[], choice: CodeBlockChoice = "first"): Promise<{ text: string; none: boolean }> {
  let none = false;
  const out = await lastValueFrom(from(pieces).pipe(extractCodeBlock(choice, () => (none = true)), toArray()));
  return { text: out.join(""), none };
}

const TWO_BLOCKS = "Run this:\n\n```sh\nls -la\necho done\n```\n\nThen this:\n\n```python\nprint(1)\n```\n";

describe("extractCodeBlock (-x, --extract-last)", () => {
  it("emits each line of the first block once its line ends, and nothing after the block closes", marbles((m) => {
    const values = { a: "Run:\n```sh\nls", b: " -la\necho", c: " done\n```\nMore prose\n```\nx\n```\n", L: "ls -la\n", E: "echo done\n" };
    const source = m.cold("  a-b-c-|", values);
    const subs = "           ^-----!";
    const expected = m.cold("--L-E-|", values);
    m.expect(source.pipe(extractCodeBlock("first", () => undefined))).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("emits the last block when the answer ends", marbles((m) => {
    const source = m.cold("  a-b-|", { a: "```\none\n```\n", b: "and\n```\ntwo\n```\n" });
    const subs = "           ^---!";
    const expected = m.cold("----(t|)", { t: "two\n" });
    m.expect(source.pipe(extractCodeBlock("last", () => undefined))).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("emits nothing and says nothing for an empty answer", marbles((m) => {
    let none = 0;
    const source = m.cold("  |");
    const subs = "           (^!)";
    m.expect(source.pipe(extractCodeBlock("first", () => (none += 1)))).toBeObservable(m.cold("|"));
    m.expect(source).toHaveSubscriptions(subs);
    m.flush();
    // No text: nothing to print whole, but still no block, which the command notes.
    expect(none).toBe(1);
  }));

  it("never emits nor ends for a source that never does", marbles((m) => {
    const source = m.cold("  a----", { a: "```\nopen" });
    const subs = "           ^---!";
    m.expect(source.pipe(extractCodeBlock("first", () => undefined)), "^---!").toBeObservable(m.cold("-----"));
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("on an error, emits what arrived by the same rule, then the error", marbles((m) => {
    const error = new Error("stream cut");
    const source = m.cold("  a-#", { a: "```sh\nmake\nmake ins" }, error);
    const subs = "           ^-!";
    // "make" went out when its line ended; the cut-off line goes out before the error, as the block's end.
    const expected = m.cold("m-(i#)", { m: "make\n", i: "make ins" }, error);
    m.expect(source.pipe(extractCodeBlock("first", () => undefined))).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("on an error before any block, emits the text that arrived whole, then the error", marbles((m) => {
    const error = new Error("stream cut");
    const source = m.cold("  a-#", { a: "Just prose" }, error);
    const subs = "           ^-!";
    m.expect(source.pipe(extractCodeBlock("first", () => undefined))).toBeObservable(m.cold("--(p#)", { p: "Just prose" }, error));
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("stops reading when unsubscribed early", marbles((m) => {
    const source = m.cold("  a---b---c|", { a: "```\n1\n", b: "2\n", c: "3\n```\n" });
    const subs = "           ^--!";
    m.expect(source.pipe(extractCodeBlock("first", () => undefined)), "^--!").toBeObservable(m.cold("a---", { a: "1\n" }));
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("passes on an error thrown by onNone, as the operator's error", marbles((m) => {
    const source = m.cold("  a|", { a: "no code" });
    const subs = "           ^!";
    const failing = (): void => {
      throw new Error("onNone failed");
    };
    m.expect(source.pipe(extractCodeBlock("first", failing))).toBeObservable(m.cold("-#", undefined, new Error("onNone failed")));
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("finds fences as CommonMark does: in lists and quotes (markers taken off), tildes, longer fences, not indented code", async () => {
    expect(await extracted(["- step:\n  ```bash\n  make\n  make install\n  ```\n- next\n"])).toEqual({ text: "make\nmake install\n", none: false });
    expect(await extracted(["> ```\n> quoted\n> code\nafter\n"])).toEqual({ text: "quoted\ncode\n", none: false });
    expect(await extracted(["~~~\ntilde\n~~~\n"])).toEqual({ text: "tilde\n", none: false });
    expect(await extracted(["````md\n```\ninner\n```\n````\n"])).toEqual({ text: "```\ninner\n```\n", none: false });
    // Four spaces make an indented code block, not a fence; inline backticks are not a block either.
    expect(await extracted(["    ```\n    not a fence\n"])).toEqual({ text: "    ```\n    not a fence\n", none: true });
    expect(await extracted(["Use ```x``` inline.\n"])).toEqual({ text: "Use ```x``` inline.\n", none: true });
  });

  it("takes the first or the last of several blocks", async () => {
    expect(await extracted([TWO_BLOCKS])).toEqual({ text: "ls -la\necho done\n", none: false });
    expect(await extracted([TWO_BLOCKS], "last")).toEqual({ text: "print(1)\n", none: false });
  });

  it("prints a block left open (an answer cut off) to the end of the text", async () => {
    expect(await extracted(["```\nunclosed\ncode"])).toEqual({ text: "unclosed\ncode", none: false });
    expect(await extracted(["```\nunclosed\ncode"], "last")).toEqual({ text: "unclosed\ncode", none: false });
  });

  it("prints an answer with no block whole, and says so", async () => {
    expect(await extracted(["ls -la | ", "sort\n"])).toEqual({ text: "ls -la | sort\n", none: true });
    expect(await extracted(["ls -la"], "last")).toEqual({ text: "ls -la", none: true });
  });

  it("prints the same however the answer was cut into deltas", async () => {
    const lines = ["```sh", "```", "~~~", "  ```", "- item", "  code", "> ```", "> quoted", "prose", "", "    indented", "````", "`x`"];
    const answer = fc.array(fc.constantFrom(...lines), { maxLength: 12 }).map((parts) => parts.join("\n"));
    await fc.assert(
      fc.asyncProperty(answer, fc.array(fc.nat(), { maxLength: 8 }), fc.constantFrom<CodeBlockChoice>("first", "last"), async (text, cuts, choice) => {
        const points = [...new Set(cuts.map((cut) => cut % (text.length + 1)))].sort((a, b) => a - b);
        const pieces = [0, ...points].map((start, index) => text.slice(start, [...points, text.length][index]));
        expect(await extracted(pieces, choice)).toEqual(await extracted([text], choice));
      }),
      { numRuns: 300 },
    );
  });
});

import { from, lastValueFrom, toArray } from "rxjs";
import { beforeAll, describe, expect, it } from "vitest";
import { loadStringWidth } from "../../src/cli/cell-width.js";
import { loadHighlighter, renderMarkdown } from "../../src/cli/markdown.js";

const ESC = "\u001b";
const bold = (text: string): string => `${ESC}[1m${text}${ESC}[22m`;
const dim = (text: string): string => `${ESC}[2m${text}${ESC}[22m`;
const underline = (text: string): string => `${ESC}[4m${text}${ESC}[24m`;
const bar = dim("│");

/** `text` rendered as one delta on a terminal `columns` wide (without colours, so that the layout reads). */
async function rendered(text: string, columns: number | (() => number | undefined)): Promise<string> {
  const width = typeof columns === "number" ? () => columns : columns;
  return (await lastValueFrom(from([text]).pipe(renderMarkdown({ colour: false, columns: width }), toArray()))).join("");
}

/** The lines without styles, as the terminal shows them. */
const shown = (output: string): string[] => output.replace(new RegExp(`${ESC}\\[\\d+m`, "g"), "").split("\n");

describe("renderMarkdown on a terminal of known width", () => {
  beforeAll(() => Promise.all([loadHighlighter(), loadStringWidth()]));

  it("wraps a paragraph at the width, breaking at spaces and dropping the space at each break; a line that fits stays", async () => {
    const text = "The quick brown fox jumps over the lazy dog.\nExactly sixteen!\n";
    expect(await rendered(text, 16)).toBe("The quick brown\nfox jumps over\nthe lazy dog.\nExactly sixteen!\n");
    // Nothing is wrapped without a width (a pipe), or with 0 (a pseudo-terminal nobody sized).
    expect(await rendered(text, () => undefined)).toBe(text);
    expect(await rendered(text, 0)).toBe(text);
  });

  it("wraps a list item's text under its text, in nested and ordered lists too", async () => {
    const text = "- a bullet item that is long\n  - a nested item that is long\n9. nine is one and a long one\n10. ten is wider and long\n";
    expect(shown(await rendered(text, 16))).toEqual([
      "• a bullet item",
      "  that is long",
      "  • a nested",
      "    item that is",
      "    long",
      "9. nine is one",
      "   and a long",
      "   one",
      "10. ten is wider",
      "    and long",
      "",
    ]);
  });

  it("gives every line of a wrapped quote its bar, in a nested quote both bars", async () => {
    // (A quote's blocks follow one another without a blank line, as before.)
    const output = await rendered("> a quoted line that is long\n>\n> > inner quoted words here\n", 16);
    expect(output).toBe([`${bar} a quoted line`, `${bar} that is long`, `${bar} ${bar} inner quoted`, `${bar} ${bar} words here`, ""].join("\n"));
  });

  it("starts a word longer than the line on a line of its own and breaks it where it reaches the edge", async () => {
    expect(shown(await rendered("see https://example.dev/a/very/long/path ok\n", 12))).toEqual(["see", "https://exam", "ple.dev/a/ve", "ry/long/path", "ok", ""]);
  });

  it("counts terminal cells: CJK and emoji take two, a combining mark none; breaks between Japanese characters", async () => {
    expect(shown(await rendered("日本語のテキストです。\n", 9))).toEqual(["日本語の", "テキスト", "です。", ""]);
    expect(shown(await rendered("Use 日本語 here\n", 9))).toEqual(["Use 日本", "語 here", ""]);
    expect(shown(await rendered("🎉🎉 e\u0301e\u0301e\u0301 🎉🎉\n", 9))).toEqual(["🎉🎉 e\u0301e\u0301e\u0301", "🎉🎉", ""]);
  });

  it("keeps CJK punctuation with its text: a line never ends with an opening bracket or quote, nor starts with a closing one", async () => {
    expect(shown(await rendered("日本語の文章「引用」を含む。\n", 12))).toEqual(["日本語の文章", "「引用」を含", "む。", ""]);
    expect(shown(await rendered("中文句子，包括“引号”和《书名》。\n", 12))).toEqual(["中文句子，包", "括“引号”和", "《书名》。", ""]);
    // Every width from the widest such unit ("名》！", 6 cells): the brackets and quotes stay with the character they open or close.
    const text = "日本語の文章「引用」を（括弧）含む、テスト。中文“引号”和《书名》！";
    for (let width = 6; width <= 30; width += 1) {
      for (const line of shown(await rendered(`${text}\n`, width))) {
        expect(line, `at ${String(width)} cells`).not.toMatch(/[「（“《]$/u);
        expect(line, `at ${String(width)} cells`).not.toMatch(/^[」）”》、。，！]/u);
      }
    }
  });

  it("carries a style across a break: it ends before the break and starts again after it, inside a heading's too", async () => {
    expect(await rendered("a **bold words that cross** the edge\n", 12)).toBe(`a ${bold("bold words")}\n${bold("that cross")}\nthe edge\n`);
    // A heading's underline and bold on each of its lines, a link's underline inside it too: each line starts its
    // styles and ends them, so the next line (an indent, a bar) starts plain.
    const heading = await rendered("# Title with [a link](https://x.dev) in it\n", 14);
    expect(shown(heading)).toEqual(["Title with a", "link", "(https://x.dev", ") in it", ""]);
    for (const line of heading.split("\n").slice(0, -1)) {
      expect(line).toMatch(new RegExp(`^(?:${ESC}\\[[14]m){2}`));
      expect(line).toMatch(new RegExp(`${ESC}\\[22m${ESC}\\[24m$|${ESC}\\[24m${ESC}\\[22m$`));
    }
  });

  it("puts a link's address that is wider than the line on a line of its own, then breaks it at the edge", async () => {
    expect(await rendered("go to [the docs page](https://x.dev)\n", 12)).toBe(`go to ${underline("the")}\n${underline("docs page")}\n${dim("(https://x.d")}\n${dim("ev)")}\n`);
  });

  it("wraps the paragraph between a code block and a table, and leaves those as they are, however wide", async () => {
    const code = "```\nconst aVeryLongName = computeSomething(alpha, beta);\n```\n";
    const table = "| a long header | another |\n|---|---|\n| 1 | 2 |\n";
    const text = `${code}\nwords in a paragraph\n\n${table}`;
    const wide = shown(await rendered(text, 200));
    expect(shown(await rendered(text, 12))).toEqual([...wide.slice(0, 4), "words in a", "paragraph", ...wide.slice(5)]);
    expect(wide.slice(0, 5)).toEqual(["```", "const aVeryLongName = computeSomething(alpha, beta);", "```", "", "words in a paragraph"]);
  });

  it("wraps each batch of blocks at the width when it is printed, so a resize counts from the next block", async () => {
    const widths = [12, 24];
    const columns = (): number => widths[0] ?? 24;
    const source = ["A first paragraph that wraps.\n\n", "A second paragraph that wraps.\n\n", "End"];
    const printed: string[] = [];
    await new Promise<void>((resolve, reject) => {
      from(source)
        .pipe(renderMarkdown({ colour: false, columns }))
        .subscribe({
          next: (batch) => {
            printed.push(batch);
            widths.shift();
          },
          error: reject,
          complete: resolve,
        });
    });
    expect(printed.join("")).toBe("A first\nparagraph\nthat wraps.\n\nA second paragraph that\nwraps.\n\nEnd\n");
  });
});

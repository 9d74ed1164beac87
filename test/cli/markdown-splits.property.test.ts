import fc from "fast-check";
import { from, lastValueFrom, toArray } from "rxjs";
import { beforeAll, describe, expect, it } from "vitest";
import { cellWidth, loadStringWidth } from "../../src/cli/cell-width.js";
import { loadHighlighter, renderMarkdown } from "../../src/cli/markdown.js";

// Pieces of markdown an answer is made of; no reference definitions ("[a]: url" changes links above it, which an
// append-only renderer cannot redraw).
const PIECES = [
  "# Title", "## Sub", "Some **bold** and *it*", "`code`", "a [link](https://x.dev)", "- item", "  - nested", "1. first",
  "2. second", "> quote", "| a | b |", "|---|---|", "| 1 | 2 |", "```js", "```", "const x = 1;", "---", "Title", "===",
  "    indented", "plain words", "~~old~~", "",
  // Blocks whose later lines change what the earlier ones are: a loose list, a table, a setext heading.
  "1. first\n\n2. second", "- a\n\n- b", "| a |\n|---|\n| 1 |", "Title\n---", "para\n    more",
  // Fences of other kinds and lengths: a ``` line does not close a ```` block, nor a ~~~ one.
  "~~~py", "~~~", "````", "  ```", "``` not a close",
  // Wide characters and emoji, which tables measure in terminal cells.
  "| 名前 | 🎉 |", "| 日本語 | e\u0301 |",
  // A list item's own blocks: a fence, code and a table indented under it.
  "   ```js", "   const y = 2;", "   ```", "  | c |",
  // Lines longer than a terminal 12 wide: words, a word longer than it, styles across a break, Japanese.
  "a paragraph of words that wraps", "**bold words across** the edge [a link](https://x.dev/long/path)",
  "supercalifragilisticexpialidocious", "日本語のテキストです", "> a quote long enough to wrap", "- an item long enough to wrap",
];

async function render(parts: readonly string[], columns?: number): Promise<string> {
  return (await lastValueFrom(from(parts).pipe(renderMarkdown({ columns: () => columns }), toArray()))).join("");
}

/** The pieces of prose among them (no code, tables nor setext headings, whose lines are not wrapped). */
const PROSE = [
  "# Title", "## Sub", "Some **bold** and *it*", "`code`", "a [link](https://x.dev)", "- item", "  - nested", "1. first",
  "2. second", "> quote", "plain words", "~~old~~", "", "a paragraph of words that wraps",
  "**bold words across** the edge [a link](https://x.dev/long/path)", "supercalifragilisticexpialidocious", "日本語のテキストです",
  "> a quote long enough to wrap", "- an item long enough to wrap", "🎉 e\u0301 👩\u200d💻 emoji and accents in a line",
];

/** `text` cut into deltas of the sizes given, repeated over it, as a model's tokens come: a few characters each. */
function cut(text: string, sizes: readonly number[]): string[] {
  const parts: string[] = [];
  for (let start = 0, index = 0; start < text.length; index += 1) {
    const size = sizes[index % sizes.length] ?? 1;
    parts.push(text.slice(start, start + size));
    start += size;
  }
  return parts;
}

const answers = (pieces: readonly string[]) =>
  fc
    .tuple(fc.array(fc.constantFrom(...pieces), { minLength: 1, maxLength: 14 }), fc.constantFrom("\n", "\r\n"))
    .map(([lines, newline]) => lines.join("\n").replaceAll("\n", newline) + newline);
const sizes = fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 6 });

describe("renderMarkdown, whatever the split", () => {
  beforeAll(() => Promise.all([loadHighlighter(), loadStringWidth()]));

  it("prints the same, however the text was cut into deltas", async () => {
    await fc.assert(
      fc.asyncProperty(answers(PIECES), sizes, async (text, sizes) => {
        expect(await render(cut(text, sizes))).toBe(await render([text]));
      }),
      { numRuns: 300 },
    );
  });

  it("prints prose on a terminal 12 wide in lines no wider than it, the same however the text was cut", async () => {
    await fc.assert(
      fc.asyncProperty(answers(PROSE), sizes, async (text, sizes) => {
        const output = await render(cut(text, sizes), 12);
        expect(output).toBe(await render([text], 12));
        // eslint-disable-next-line no-control-regex -- the renderer's own escape sequences
        const lines = output.replace(/\u001b\[\d+m/g, "").split("\n");
        expect(lines.filter((line) => (cellWidth(line) ?? 0) > 12)).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });
});

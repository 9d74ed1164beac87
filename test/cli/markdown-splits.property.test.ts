import fc from "fast-check";
import { from, lastValueFrom, toArray } from "rxjs";
import { beforeAll, describe, expect, it } from "vitest";
import { loadStringWidth } from "../../src/cli/cell-width.js";
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
];

async function render(parts: readonly string[]): Promise<string> {
  return (await lastValueFrom(from(parts).pipe(renderMarkdown(), toArray()))).join("");
}

describe("renderMarkdown, whatever the split", () => {
  beforeAll(() => Promise.all([loadHighlighter(), loadStringWidth()]));

  it("prints the same, however the text was cut into deltas", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 14 }),
        fc.constantFrom("\n", "\r\n"),
        // Delta sizes, repeated over the text, as a model's tokens come: a few characters each.
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 6 }),
        async (lines, newline, sizes) => {
          const text = lines.join("\n").replaceAll("\n", newline) + newline;
          const parts: string[] = [];
          for (let start = 0, index = 0; start < text.length; index += 1) {
            const size = sizes[index % sizes.length] ?? 1;
            parts.push(text.slice(start, start + size));
            start += size;
          }
          expect(await render(parts)).toBe(await render([text]));
        },
      ),
      { numRuns: 300 },
    );
  });
});

import { Subject } from "rxjs";
import { describe, expect, it, vi } from "vitest";
import { loadHighlighter, renderMarkdown } from "../../src/cli/markdown.js";

// A file of its own: the highlighter is loaded once per process, and here it is not loaded yet.
const ESC = "\u001b";

// The real lowlight, with a note of when something first imports it.
const imported = vi.hoisted(() => ({ lowlight: false }));
vi.mock("lowlight", async (importOriginal) => {
  imported.lowlight = true;
  return importOriginal();
});

describe("renderMarkdown: the highlighter starts loading when a code block begins", () => {
  it("loads it while the block arrives, so the complete block is printed at once", async () => {
    const source = new Subject<string>();
    const seen: string[] = [];
    source.pipe(renderMarkdown()).subscribe((text) => seen.push(text));
    source.next("Intro.\n\nSome text.");
    await new Promise((resolve) => setImmediate(resolve));
    expect(imported.lowlight).toBe(false);
    source.next("\n\n```js\nconst x");
    expect(seen).toEqual(["Intro.\n\n", "Some text.\n\n"]);
    // The block has begun: the load has, too. Once it is done (a model takes longer), the rest of the block comes.
    await vi.waitFor(() => expect(imported.lowlight).toBe(true), { timeout: 20_000 });
    await loadHighlighter();
    source.next(" = 1;\n```\n\nAfter");
    // No wait: the block is out in the same call that completed it.
    expect(seen).toEqual(["Intro.\n\n", "Some text.\n\n", `${ESC}[2m\`\`\`js${ESC}[22m\n${ESC}[35mconst${ESC}[39m x = ${ESC}[34m1${ESC}[39m;\n${ESC}[2m\`\`\`${ESC}[22m\n\n`]);
    source.complete();
    expect(seen.at(-1)).toBe("After\n");
  });
});

import { Subject, lastValueFrom, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { renderMarkdown } from "../../src/cli/markdown.js";

// A file of its own: the highlighter is loaded once per process, and here it is not loaded yet.
const ESC = "\u001b";

describe("renderMarkdown: the highlighter, loaded on the first code block", () => {
  it("prints what comes before the block at once, holds the block and what follows until it is loaded, then all in order", async () => {
    const source = new Subject<string>();
    const seen: string[] = [];
    const rendered = lastValueFrom(source.pipe(renderMarkdown(), toArray()));
    source.pipe(renderMarkdown()).subscribe((text) => seen.push(text));
    source.next("Intro.\n\n```js\nconst x = 1;\n```\n\nAfter");
    // The intro is out; the code block and the paragraph after it wait for the highlighter.
    expect(seen).toEqual(["Intro.\n\n"]);
    source.next(" that.\n\nMore.");
    source.complete();
    expect(seen).toEqual(["Intro.\n\n"]);
    const output = (await rendered).join("");
    expect(output).toBe(
      [
        "Intro.\n\n",
        `${ESC}[2m\`\`\`js${ESC}[22m\n${ESC}[35mconst${ESC}[39m x = ${ESC}[34m1${ESC}[39m;\n${ESC}[2m\`\`\`${ESC}[22m\n\n`,
        "After that.\n\n",
        "More.\n",
      ].join(""),
    );
  });

  it("holds a table of wide text until string-width is loaded, and prints an ASCII table at once", async () => {
    const source = new Subject<string>();
    const seen: string[] = [];
    const rendered = lastValueFrom(source.pipe(renderMarkdown({ colour: false }), toArray()));
    source.pipe(renderMarkdown({ colour: false })).subscribe((text) => seen.push(text));
    source.next("| a | b |\n| --- | --- |\n| x | 1 |\n\n| 名前 | b |\n| --- | --- |\n| x | 1 |\n\nEnd");
    // The ASCII table needs no module: it is out at once. The wide one waits, and the paragraph after it too.
    expect(seen.join("")).toContain("x ");
    expect(seen.join("")).not.toContain("名前");
    source.complete();
    const output = (await rendered).join("");
    expect(output).toContain(`名前${ESC}[22m ${ESC}[2m│${ESC}[22m`);
    expect(output).toContain(`x    ${ESC}[2m│${ESC}[22m 1\n`);
    expect(output.endsWith("End\n")).toBe(true);
  });

  it("passes an error on after what it held, highlighted", async () => {
    const source = new Subject<string>();
    const result = lastValueFrom(source.pipe(renderMarkdown(), toArray()));
    const collected: string[] = [];
    source.pipe(renderMarkdown()).subscribe({ next: (text) => collected.push(text), error: () => undefined });
    source.next("```js\nlet y;\n```\n\ncut");
    source.error(new Error("connection reset"));
    await expect(result).rejects.toThrow("connection reset");
    expect(collected.join("")).toBe(`${ESC}[2m\`\`\`js${ESC}[22m\n${ESC}[35mlet${ESC}[39m y;\n${ESC}[2m\`\`\`${ESC}[22m\n\ncut\n`);
  });

  it("does not wait for code without a language", () => {
    const source = new Subject<string>();
    const seen: string[] = [];
    source.pipe(renderMarkdown()).subscribe((text) => seen.push(text));
    source.next("```\nplain\n```\n\nNext");
    expect(seen).toEqual([`${ESC}[2m\`\`\`${ESC}[22m\nplain\n${ESC}[2m\`\`\`${ESC}[22m\n\n`]);
  });
});

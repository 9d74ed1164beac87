import { Subject, lastValueFrom, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { renderMarkdown } from "../../src/cli/markdown.js";

// A file of its own: string-width is loaded once per process, and here it is not loaded yet.
describe("renderMarkdown: string-width, loaded for the first wide text a terminal's lines are wrapped with", () => {
  it("into a pipe, prints wide text at once (nothing to measure); on a terminal, holds it until string-width is there", async () => {
    const piped = new Subject<string>();
    const pipedSeen: string[] = [];
    piped.pipe(renderMarkdown({ colour: false })).subscribe((text) => pipedSeen.push(text));
    piped.next("日本語のテキストです\n\nEnd");
    expect(pipedSeen).toEqual(["日本語のテキストです\n\n"]);

    const source = new Subject<string>();
    const seen: string[] = [];
    const options = { colour: false, columns: () => 9 };
    const rendered = lastValueFrom(source.pipe(renderMarkdown(options), toArray()));
    source.pipe(renderMarkdown(options)).subscribe((text) => seen.push(text));
    source.next("Some ASCII\n\n日本語のテキストです\n\nEnd");
    // The ASCII paragraph needs nothing to be measured: it is out at once. The wide one waits, and what follows too.
    expect(seen).toEqual(["Some\nASCII\n\n"]);
    source.complete();
    // Measured in cells, two a character: four on a line 9 wide.
    expect((await rendered).join("")).toBe("Some\nASCII\n\n日本語の\nテキスト\nです\n\nEnd\n");
  });
});

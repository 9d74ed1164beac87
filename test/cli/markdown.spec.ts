import { map } from "rxjs";
import { beforeAll, describe, it } from "vitest";
import { loadStringWidth } from "../../src/cli/cell-width.js";
import { loadHighlighter, renderMarkdown } from "../../src/cli/markdown.js";
import { marbles } from "../support/marbles.js";

const ESC = "\u001b";
const bold = (text: string): string => `${ESC}[1m${text}${ESC}[22m`;
const dim = (text: string): string => `${ESC}[2m${text}${ESC}[22m`;

describe("renderMarkdown", () => {
  // Loaded on the first code block (test/cli/markdown-highlighter.test.ts shows the wait); here, already there.
  beforeAll(() => Promise.all([loadHighlighter(), loadStringWidth()]));

  it("prints a block once the next one begins, holding the open block back", marbles((m) => {
    const source = m.cold("  a-b-c-d-|", { a: "# Ti", b: "tle\n\nSome **bo", c: "ld** text", d: ".\n\nDone" });
    const subs = "           ^-------!";
    const expected = m.cold("--x---y-(z|)", {
      x: `${ESC}[4m${bold("Title")}${ESC}[24m\n\n`,
      y: `Some ${bold("bold")} text.\n\n`,
      z: "Done\n",
    });
    m.expect(source.pipe(renderMarkdown())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("holds a block while a line that may still join it arrives: 2 of a list's 2., a table's |, an indent", marbles((m) => {
    const source = m.cold("  a-b-c-|", { a: "1. first\n\n2", b: ". second\n\n| a |\n|", c: "---|\n| 1 |" });
    const item = (n: string, text: string): string => `${ESC}[36m${n}${ESC}[39m ${text}\n`;
    // "2" may become "2. second" (the same list): the list waits for its line. "|" may become a table's rule under
    // "| a |", turning that paragraph into a table's head: it waits too, and the table is whole at the end.
    const expected = m.cold("--x---(y|)", {
      x: `${item("1.", "first")}${item("2.", "second")}\n`,
      y: `${bold("a")}\n${dim("─")}\n1\n`,
    });
    m.expect(source.pipe(renderMarkdown())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^-----!");
  }));

  it("holds a fenced code block until its closing fence and the next block, then highlights it", marbles((m) => {
    const source = m.cold("  a-b-c-|", { a: "```js\nconst x", b: " = 1;\n```\n", c: "\nDone" });
    const expected = m.cold("----x-(y|)", {
      x: `${dim("```js")}\n${ESC}[35mconst${ESC}[39m x = ${ESC}[34m1${ESC}[39m;\n${dim("```")}\n\n`,
      y: "Done\n",
    });
    m.expect(source.pipe(renderMarkdown())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^-----!");
  }));

  it("prints a list once a line that is not its own begins, however many items, blank or indented lines came", marbles((m) => {
    const source = m.cold("  a-b-c-d-e-|", { a: "- a\n", b: "- b\n", c: "\n", d: "  more\n", e: "\nNext" });
    const bullet = `${ESC}[36m•${ESC}[39m`;
    const expected = m.cold("--------x-(y|)", { x: `${bullet} a\n${bullet} b\n  more\n\n`, y: "Next\n" });
    m.expect(source.pipe(renderMarkdown())).toBeObservable(expected);
  }));

  it("prints a paragraph once the next begins, also when the blank line between them came in an earlier delta", marbles((m) => {
    const source = m.cold("  a-b-c-d-|", { a: "One\nline", b: " more.\n\n", c: "Two", d: " words.\n| a |" });
    const expected = m.cold("----x---(y|)", { x: "One\nline more.\n\n", y: "Two words.\n| a |\n" });
    m.expect(source.pipe(renderMarkdown())).toBeObservable(expected);
  }));

  it("keeps a code block open across lines that do not close it (``` inside ````), and prints it once closed", marbles((m) => {
    const source = m.cold("  a-b-c-d-|", { a: "````md\n```\nin", b: "ner\n```\n", c: "````\n\nAf", d: "ter" });
    const expected = m.cold("----x---(y|)", { x: `${dim("```md")}\n\`\`\`\ninner\n\`\`\`\n${dim("```")}\n\n`, y: "After\n" });
    m.expect(source.pipe(renderMarkdown())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^-------!");
  }));

  it("highlights a language's embedded parts with their own grammar (JSX in JavaScript)", marbles((m) => {
    const source = m.cold("a|", { a: "```javascript\nconst el = <b>hi</b>;\n```\n" });
    const tag = (name: string): string => `${ESC}[34m${name}${ESC}[39m`;
    // The tag's name is blue inside the tag's blue: after it, the > is blue again (it lost its colour before).
    const jsx = `${ESC}[34m<${tag("b")}${ESC}[34m>${ESC}[39mhi${ESC}[34m</${tag("b")}${ESC}[34m>${ESC}[39m`;
    const expected = m.cold("-(x|)", { x: `${dim("```javascript")}\n${ESC}[35mconst${ESC}[39m el = ${jsx};\n${dim("```")}\n` });
    m.expect(source.pipe(renderMarkdown())).toBeObservable(expected);
  }));

  it("renders lists, links, code spans, quotes and tables", marbles((m) => {
    const text = "1. [docs](https://x.dev) and `npm ci`\n2. *two*\n\n> quoted\n\n| a | b |\n|---|---|\n| 1 | 22 |\n";
    const source = m.cold("a|", { a: text });
    // All but the last block at once; the table, which more rows could still extend, once the stream ends.
    const expected = m.cold("x(y|)", {
      x: [
        `${ESC}[36m1.${ESC}[39m ${ESC}[4mdocs${ESC}[24m ${dim("(https://x.dev)")} and ${ESC}[33mnpm ci${ESC}[39m\n`,
        `${ESC}[36m2.${ESC}[39m ${ESC}[3mtwo${ESC}[23m\n`,
        "\n",
        `${dim("│")} quoted\n`,
        "\n",
      ].join(""),
      y: [
        `${bold("a")} ${dim("│")} ${bold("b")} \n`,
        `${dim("──┼───")}\n`,
        `1 ${dim("│")} 22\n`,
      ].join(""),
    });
    m.expect(source.pipe(renderMarkdown())).toBeObservable(expected);
  }));

  it("indents a code block in a list item as the item's text, in nested lists and quotes too, the list kept compact", marbles((m) => {
    const text = "1. item with code:\n\n   ```js\n   const x = 1;\n   ```\n2. next\n   goes on\n\n> - quoted:\n>   - nested\n>\n>     ```\n>     a\n>\n>     b\n>     ```\n";
    const source = m.cold("a|", { a: text });
    const item = (n: string, body: string): string => `${ESC}[36m${n}${ESC}[39m ${body}\n`;
    const quoted = (line: string): string => `${dim("│")} ${line}\n`;
    // The code's lines start where the item's text does (after "1. ", three columns; after "• ", two), a blank line in
    // it stays empty; items follow one another without blank lines, as in any list.
    const expected = m.cold("x(y|)", {
      x: `${item("1.", `item with code:\n   ${dim("```js")}\n   ${ESC}[35mconst${ESC}[39m x = ${ESC}[34m1${ESC}[39m;\n   ${dim("```")}`)}${item("2.", "next\n   goes on")}\n`,
      y: [quoted(`${ESC}[36m•${ESC}[39m quoted:`), quoted(`  ${ESC}[36m•${ESC}[39m nested`), quoted(`    ${dim("```")}`), quoted("    a"), quoted(""), quoted("    b"), quoted(`    ${dim("```")}`)].join(""),
    });
    m.expect(source.pipe(renderMarkdown())).toBeObservable(expected);
  }));

  it("indents a table, a heading and a rule in a list item as the item's text", marbles((m) => {
    const source = m.cold("a|", { a: "- item\n\n  | a | b |\n  |---|---|\n  | 1 | 22 |\n\n  ## Head\n\n  ---\n- last\n" });
    const bullet = `${ESC}[36m•${ESC}[39m`;
    const expected = m.cold("-(x|)", {
      x: [
        `${bullet} item\n`,
        `  ${bold("a")} ${dim("│")} ${bold("b")} \n`,
        `  ${dim("──┼───")}\n`,
        `  1 ${dim("│")} 22\n`,
        `  ${bold("Head")}\n`,
        `  ${dim("─".repeat(40))}\n`,
        `${bullet} last\n`,
      ].join(""),
    });
    m.expect(source.pipe(renderMarkdown())).toBeObservable(expected);
  }));

  it("aligns a table's columns in terminal cells: CJK and emoji take two, combining marks and joiners none", marbles((m) => {
    const text = "| 名前 | 値 |\n| --- | --- |\n| 日本語テキスト | 1 |\n| abc | 2 |\n| 🎉🎉 | 3 |\n| e\u0301 **b** `c` | 👩\u200d💻 |\n";
    const source = m.cold("a|", { a: text });
    const bar = ` ${dim("│")} `;
    // The widest cell, 日本語テキスト, is 14 cells; é is one (e and a combining acute), 👩‍💻 two (two emoji, joined).
    const expected = m.cold("-(x|)", {
      x: [
        `${bold("名前")}          ${bar}${bold("値")}\n`,
        `${dim(`${"─".repeat(14)}─┼─${"─".repeat(2)}`)}\n`,
        `日本語テキスト${bar}1 \n`,
        `abc           ${bar}2 \n`,
        `🎉🎉          ${bar}3 \n`,
        `e\u0301 ${bold("b")} ${ESC}[33mc${ESC}[39m${" ".repeat(9)}${bar}👩\u200d💻\n`,
      ].join(""),
    });
    m.expect(source.pipe(renderMarkdown())).toBeObservable(expected);
  }));

  it("keeps an outer style after an inner one that shares its reset ends, and closes every style at its line's end", marbles((m) => {
    const text = "# Go [here](u) now\n\n**bold [x](v) still** plain\n\n> **one\n> two** three\n\n```js\nconst s = `a ${1} c`;\n```\n";
    const source = m.cold("a|", { a: text });
    const underline = (inner: string): string => `${ESC}[4m${inner}${ESC}[24m`;
    // A link's underline ends with ESC[24m and its address's dim with ESC[22m, which end the heading's underline and
    // bold too: the outer style is started again after them. A bold span over two lines of a quote ends at the first
    // line's end and starts again after the second line's bar, so the bar (dim) neither ends it nor takes it on. A
    // template literal's ${1} (a number's blue inside the string's green) gives the string its green back.
    const expected = m.cold("x(y|)", {
      x: [
        `${underline(bold(`Go ${underline("here")}${ESC}[4m ${ESC}[2m(u)${ESC}[22m${ESC}[1m now`))}\n\n`,
        `${bold(`bold ${underline("x")} ${ESC}[2m(v)${ESC}[22m${ESC}[1m still`)} plain\n\n`,
        `${dim("│")} ${bold("one")}\n${dim("│")} ${bold("two")} three\n\n`,
      ].join(""),
      y: [
        `${dim("```js")}\n${ESC}[35mconst${ESC}[39m s = ${ESC}[32m\`a \${${ESC}[34m1${ESC}[39m${ESC}[32m} c\`${ESC}[39m;\n${dim("```")}\n`,
      ].join(""),
    });
    m.expect(source.pipe(renderMarkdown())).toBeObservable(expected);
  }));

  it("aligns a table's cells as its alignment row says: :-- left, :-: centred, --: right, in terminal cells", marbles((m) => {
    const source = m.cold("a|", { a: "| Name | Mid | Cost |\n|:--|:-:|--:|\n| a | 中 | 1 |\n| longer | b | 100 |\n" });
    const bar = ` ${dim("│")} `;
    const expected = m.cold("-(x|)", {
      x: [
        `${bold("Name")}  ${bar}${bold("Mid")}${bar}${bold("Cost")}\n`,
        `${dim(`${"─".repeat(6)}─┼─${"─".repeat(3)}─┼─${"─".repeat(4)}`)}\n`,
        `a     ${bar}中 ${bar}   1\n`,
        `longer${bar} b ${bar} 100\n`,
      ].join(""),
    });
    m.expect(source.pipe(renderMarkdown())).toBeObservable(expected);
  }));

  it("counts CR LF and CR line ends as markdown-it does, so a held block starts where it should", marbles((m) => {
    const source = m.cold("  a-b-|", { a: "Title\r\n===\r\n\r\nOne\r", b: "two\r\n\r\nDone" });
    // The heading once the paragraph began; the paragraph (a lone CR inside it is a line break) once the list began.
    const expected = m.cold("x-y-(z|)", {
      x: `${ESC}[4m${bold("Title")}${ESC}[24m\n\n`,
      y: "One\ntwo\n\n",
      z: "Done\n",
    });
    m.expect(source.pipe(renderMarkdown())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^---!");
  }));

  it("shows raw HTML as text and entities as the characters they stand for", marbles((m) => {
    const source = m.cold("a|", { a: "Use <b>x</b> &amp; ~~old~~ <https://a.b>" });
    const expected = m.cold("-(x|)", { x: `Use <b>x</b> & ${ESC}[9mold${ESC}[29m ${ESC}[4m${ESC}[34mhttps://a.b${ESC}[39m${ESC}[24m\n` });
    m.expect(source.pipe(renderMarkdown())).toBeObservable(expected);
  }));

  it("removes control sequences the model sent, keeping only its own", marbles((m) => {
    const source = m.cold("a|", { a: `Hi ${ESC}[2J${ESC}]0;title\u0007there` });
    m.expect(source.pipe(renderMarkdown())).toBeObservable(m.cold("-(x|)", { x: "Hi [2J]0;titlethere\n" }));
  }));

  it("completes without values on an empty source", marbles((m) => {
    const source = m.cold<string>("|");
    m.expect(source.pipe(renderMarkdown())).toBeObservable("|");
    m.expect(source).toHaveSubscriptions("(^!)");
  }));

  it("never emits on a source that never emits", marbles((m) => {
    const source = m.cold<string>("-");
    m.expect(source.pipe(renderMarkdown())).toBeObservable("-");
    m.expect(source).toHaveSubscriptions("^");
  }));

  it("prints what it held, then passes the error on", marbles((m) => {
    const source = m.cold("  a-#", { a: "Half a **sent" }, new Error("cut"));
    m.expect(source.pipe(renderMarkdown())).toBeObservable(m.cold("--(x#)", { x: "Half a **sent\n" }, new Error("cut")));
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("unsubscribes from the source when the subscriber leaves early", marbles((m) => {
    const source = m.cold("  a-b-c-|", { a: "One.\n\n", b: "Two.\n\n", c: "Three." });
    const unsub = "          ---!";
    m.expect(source.pipe(renderMarkdown()), unsub).toBeObservable(m.cold("--x", { x: "One.\n\n" }));
    m.expect(source).toHaveSubscriptions("^--!");
  }));

  it("errors when a callback downstream of it throws", marbles((m) => {
    const source = m.cold("  a-b-|", { a: "One.\n\n", b: "Two.\n\nx" });
    const failing = source.pipe(
      renderMarkdown(),
      map((text) => {
        if (text.includes("Two")) throw new Error("no");
        return text;
      }),
    );
    m.expect(failing).toBeObservable(m.cold("--#", {}, new Error("no")));
    m.expect(source).toHaveSubscriptions("^-!");
  }));
});

import type { Element, ElementContent, Root, RootContent } from "hast";
import type { createLowlight } from "lowlight";
import MarkdownIt, { type Token } from "markdown-it";
import { type OperatorFunction, Observable } from "rxjs";
import { loadStringWidth, widthsLoaded } from "./cell-width.js";
import { visibleCells, wrapStyled } from "./wrap.js";

/** ANSI styles the renderer uses; each wraps text in its own start and reset (see paint for how they nest). */
const SGR = {
  bold: ["\u001b[1m", "\u001b[22m"],
  dim: ["\u001b[2m", "\u001b[22m"],
  italic: ["\u001b[3m", "\u001b[23m"],
  underline: ["\u001b[4m", "\u001b[24m"],
  strike: ["\u001b[9m", "\u001b[29m"],
  red: ["\u001b[31m", "\u001b[39m"],
  green: ["\u001b[32m", "\u001b[39m"],
  yellow: ["\u001b[33m", "\u001b[39m"],
  blue: ["\u001b[34m", "\u001b[39m"],
  magenta: ["\u001b[35m", "\u001b[39m"],
  cyan: ["\u001b[36m", "\u001b[39m"],
} as const;
type Style = keyof typeof SGR;

/** The colour sequences among `SGR` (foreground colours and their reset). */
// eslint-disable-next-line no-control-regex -- the renderer's own escape sequences
const COLOURS = /\u001b\[3[1-69]m/g;

/**
 * `text` in `style`, line by line. Resets are shared (bold's and dim's is one, every colour's another): where a style
 * inside `text` ends, this one starts again, or a link's underline would end a heading's, a link address's dim the bold
 * around it, a number's colour the string's around it. Each line closes its styles, so nothing added at a line's start
 * (a quote's bar, an indent) takes them on or ends them.
 */
const paint = (style: Style, text: string): string => {
  const [start, reset] = SGR[style];
  return text
    .split("\n")
    .map((line) => (line === "" ? "" : `${start}${line.replaceAll(reset, `${reset}${start}`)}${reset}`))
    .join("\n");
};

/**
 * Renders streamed markdown for a terminal, append-only: each block
 * (heading, paragraph, list, table, fenced code…) is printed once it is
 * complete — when the next block has begun, or the stream ends — and never
 * redrawn, so scrollback, `script` and `tee` logs stay clean. The open block
 * is held back. Parsing is `markdown-it`'s (CommonMark, with GFM tables and
 * strikethrough; raw HTML stays text); code is highlighted by `lowlight`
 * (highlight.js) for the fence's language, or left plain. The highlighter is
 * loaded when the first code block begins; if the block is complete first, it waits for the highlighter (with what
 * follows). Control characters
 * from the model are removed before styling: only the renderer's own
 * escape sequences reach the terminal.
 *
 * Emits one string per batch of completed blocks; on completion the rest,
 * on error the rest then the error. With `colour: false` (NO_COLOR), no
 * colours, the other styles kept. `columns` gives the terminal's width, read
 * as each batch is printed (a window resized meanwhile counts): a rule is no
 * wider than it, and paragraphs, headings, list items and quotes are wrapped at
 * it (code blocks and tables are not). Without a width (a pipe), nothing is wrapped.
 */
export function renderMarkdown(options: { readonly colour?: boolean; readonly columns?: () => number | undefined } = {}): OperatorFunction<string, string> {
  // Without colour (NO_COLOR), the renderer's own colour sequences go; bold, italics and the like stay.
  const styled = options.colour === false ? (text: string): string => text.replace(COLOURS, "") : (text: string): string => text;
  return (source) =>
    new Observable<string>((subscriber) => {
      let buffer = "";
      // The text after the buffer's last line break.
      let partial = "";
      // The held block when it is a fenced code block not closed yet: until a line may close it, nothing can change.
      let fence: Fence | undefined;
      // The lines that cannot end the held block (a list's next item, a table's next row, a paragraph's next line of
      // words), so need no new reading; and whether a blank line ends it.
      let held: Continuation | undefined;
      // Whether the last whole line is blank: after it, a line of words begins a new paragraph.
      let afterBlank = false;
      // While the highlighter loads, text and the end of the stream wait here, in order.
      let waiting = false;
      let ended: { readonly failed: false } | { readonly failed: true; readonly error: unknown } | undefined;
      const finish = (): void => {
        if (ended?.failed === true) subscriber.error(ended.error);
        else subscriber.complete();
      };
      const flush = (all: boolean): void => {
        // A line still arriving that may yet join the block before it ("2" of "2. second" after "1. first", "|" of a
        // table's rule, "-" of a heading's underline, an indented continuation) is left out until it is whole.
        const whole = wholeLines(buffer);
        const text = all || !MAY_CONTINUE.test(buffer.slice(whole)) ? buffer : buffer.slice(0, whole);
        if (text === "") return;
        const lines = lineStarts(text);
        const blocks = topLevelBlocks(parse(text));
        fence = all ? undefined : openFence(text, lines, blocks.at(-1));
        held = all ? undefined : continuation(blocks.at(-1)?.node.token);
        // Hold the last block (with the blank lines before it): more text may still extend it.
        let done = all ? blocks : blocks.slice(0, -1);
        if (done.length === 0 && !all) return;
        let until = all ? lines.length - 1 : (blocks.at(-1)?.firstLine ?? 0);
        // Read as each batch is printed: the window may have been resized meanwhile. Unknown (a pipe) or 0 (a
        // pseudo-terminal nobody sized): nothing is wrapped, and a rule is as on 80 columns.
        const width = options.columns?.() ?? 0;
        const wraps = width > 0;
        const room = wraps ? width : 80;
        // The first block that needs a module not loaded yet (a code block the highlighter, a table of wide text, or
        // any wide text wrapped on a terminal, string-width) waits for it, and so does everything after it.
        const code = done.findIndex((block) => needsLoading(block.node, wraps));
        // A block still arriving starts the load, so its lines pay for it; a failure is handled once the block is
        // whole, where it is waited for.
        const arriving = all ? undefined : blocks.at(-1);
        if (code < 0 && arriving !== undefined && needsLoading(arriving.node, wraps)) loadFor(arriving.node, wraps).catch(() => undefined);
        if (code >= 0) {
          const needing = done[code];
          until = needing?.firstLine ?? until;
          done = done.slice(0, code);
          waiting = true;
          const resume = (): void => {
            waiting = false;
            if (subscriber.closed) return;
            flush(ended !== undefined);
            if (ended !== undefined && !waiting) finish();
          };
          loadFor(needing?.node, wraps).then(resume, (error: unknown) => {
            // The code stays plain; the stream ends with the error (its own, if it had one), after the rest of the text.
            if (ended?.failed !== true) ended = { failed: true, error };
            resume();
          });
        }
        const output = done.map((block, index) => render(block.node, "", room, wraps) + (blankBefore(text, lines, done[index + 1]?.firstLine ?? until) ? "\n" : "")).join("");
        buffer = all && code < 0 ? "" : buffer.slice(lines[until] ?? text.length);
        if (output !== "") subscriber.next(styled(output));
      };
      const end = (how: NonNullable<typeof ended>): void => {
        ended = how;
        if (waiting) return;
        flush(true);
        if (!waiting) finish();
      };
      return source.subscribe({
        next: (delta) => {
          // The lines this delta touches, from the start of the one it continues; kept apart from the buffer, which
          // is not read here (a long one would be copied on every delta).
          const touched = partial + delta;
          const beginsLine = partial === "";
          // (A delta without a line break, the most common, only lengthens the line still arriving.)
          const lines = /[\r\n]/.test(delta) ? touched.split(/\r\n?|\n/) : [touched];
          // The last piece is the line still arriving ("" right after a line break: none yet); the others are whole.
          partial = lines.pop() ?? "";
          const blankLineBefore = afterBlank;
          if (lines.length > 0) afterBlank = (lines.at(-1) ?? "").trim() === "";
          buffer += delta;
          if (waiting) return;
          // Parsing is the work here, and the text only grows: blocks change at a line break, or where a line begins
          // (a new block may start there), and inside an open fence only at a line that may close it. A long code
          // block is then parsed once per line that may close it, not once per delta.
          if (lines.length === 0 && (!beginsLine || MAY_CONTINUE.test(partial))) return;
          if (fence !== undefined && !mayClose(fence, touched)) return;
          if (partial !== "") lines.push(partial);
          if (held !== undefined && !(held.blankEnds && blankLineBefore) && lines.every((line) => held?.lines.test(line) === true)) return;
          flush(false);
        },
        error: (error: unknown) => end({ failed: true, error }),
        complete: () => end({ failed: false }),
      });
    });
}

let parser: InstanceType<typeof MarkdownIt> | undefined;

function parse(text: string): Token[] {
  // markdown-it's default preset; made on first use, when the renderer is.
  parser ??= new MarkdownIt();
  return parser.parse(text, {});
}

/** A token with what it encloses: for `*_open`, everything up to its `*_close`. */
interface MarkdownNode {
  readonly token: Token;
  readonly children: MarkdownNode[];
}

/** The flat token list as a tree: each `*_open` token holds the tokens up to its `*_close`. */
function nest(tokens: readonly Token[]): MarkdownNode[] {
  const root: MarkdownNode[] = [];
  const open: MarkdownNode[][] = [root];
  for (const token of tokens) {
    const siblings = open.at(-1) ?? root;
    if (token.nesting === -1) {
      if (open.length > 1) open.pop();
      continue;
    }
    const node = { token, children: [] };
    siblings.push(node);
    if (token.nesting === 1) open.push(node.children);
  }
  return root;
}

/** The blocks of the document, each with the lines it spans (its last line excluded). */
function topLevelBlocks(tokens: readonly Token[]): Array<{ readonly node: MarkdownNode; readonly firstLine: number; readonly lastLine: number }> {
  return nest(tokens).flatMap((node) => (node.token.map === null ? [] : [{ node, firstLine: node.token.map[0], lastLine: node.token.map[1] }]));
}

/**
 * Where each line of `text` starts, and last where the text ends; a line ends at LF, CR LF or a lone CR, as
 * markdown-it counts lines. A line break at the very end starts no line.
 */
function lineStarts(text: string): number[] {
  const starts = [0];
  for (const match of text.matchAll(/\r\n?|\n/g)) {
    const next = match.index + match[0].length;
    if (next < text.length) starts.push(next);
  }
  starts.push(text.length);
  return starts;
}

/** The start of a line that may continue or retype the block before it: a list marker, a digit, `|`, `:`, `=`, `>`, an indent. */
const MAY_CONTINUE = /^(?:[\s>|:=+*-]|\d)/;

/** The length of `text`'s whole lines: up to its last line break (a CR at the very end may still become CR LF). */
function wholeLines(text: string): number {
  const lf = text.lastIndexOf("\n");
  const cr = text.lastIndexOf("\r", text.length - 2);
  return Math.max(lf, cr) + 1;
}

/** Whether the line before line `next` (where a block starts, or the end) is blank: blocks then stay a blank line apart. */
function blankBefore(text: string, starts: readonly number[], next: number): boolean {
  if (next < 1) return false;
  return text.slice(starts[next - 1] ?? text.length, starts[next] ?? text.length).trim() === "";
}

/** Removes control characters (escape sequences included) but newline and tab. */
function clean(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "");
}

/**
 * A block as the terminal shows it, each line starting with `indent`, in `room` columns (indent included); its text
 * is wrapped at them when `wraps` (the terminal's width is known).
 */
function render(node: MarkdownNode, indent: string, room: number, wraps: boolean): string {
  const { token, children } = node;
  // The block's text, wrapped to the columns its indent leaves, then indented.
  const fit = (text: string): string => indentLines(wraps ? wrapStyled(text, room - indent.length) : text, indent);
  switch (token.type) {
    case "heading_open": {
      const text = inline(children);
      return `${fit(token.tag === "h1" ? paint("underline", paint("bold", text)) : paint("bold", text))}\n`;
    }
    case "paragraph_open":
      return `${fit(inline(children))}\n`;
    case "fence":
    case "code_block": {
      const language = token.info.trim().split(/\s+/)[0] ?? "";
      const fence = paint("dim", `\`\`\`${clean(language)}`);
      // In a list item, indented as the item's text is, fences and code alike.
      return `${indentLines(`${fence}\n${highlight(clean(token.content.replace(/\n$/, "")), language)}\n${paint("dim", "```")}`, indent)}\n`;
    }
    case "blockquote_open": {
      // The bar and its space take 2 columns.
      const inner = blocks(children, "", room - indent.length - 2, wraps).replace(/\n+$/, "");
      return `${inner
        .split("\n")
        .map((line) => `${indent}${paint("dim", "│")} ${line}`)
        .join("\n")}\n`;
    }
    case "bullet_list_open":
    case "ordered_list_open": {
      const ordered = token.type === "ordered_list_open";
      const start = Number(token.attrGet("start") ?? 1);
      return children
        .map((item, index) => {
          const marker = ordered ? `${start + index}.` : "•";
          // The item's lines after its first start where its text does, after the marker and a space ("10. ": 4 columns).
          const body = blocks(item.children, `${indent}${" ".repeat(marker.length + 1)}`, room, wraps)
            .replace(/\n+$/, "")
            .replace(/^ +/, "");
          return `${indent}${paint("cyan", marker)} ${body}\n`;
        })
        .join("");
    }
    case "hr":
      // 40 columns, or the terminal's width where that is less: a longer rule wraps onto a second line.
      return `${indent}${paint("dim", "─".repeat(Math.max(1, Math.min(40, room - indent.length))))}\n`;
    case "table_open":
      return indentLines(table(node), indent);
    case "inline":
      return `${fit(inline([node]))}\n`;
    default:
      return children.length > 0 ? blocks(children, indent, room, wraps) : clean(token.content);
  }
}

/** Blocks inside a list item or a quote, without the blank lines between them (a loose list stays compact). */
function blocks(nodes: readonly MarkdownNode[], indent: string, room: number, wraps: boolean): string {
  return nodes.map((node) => render(node, indent, room, wraps)).join("");
}

/** Indents each line of `text` but empty ones (a code block's blank lines get no trailing spaces). */
function indentLines(text: string, indent: string): string {
  // Lines end at \n alone: a multiline `^` would also start one after U+2028, which a terminal does not break at.
  return indent === "" ? text : text.replace(/(^|\n)(?=[^\n])/g, `$1${indent}`);
}

/** The text of `inline` tokens (a paragraph's, a heading's, a table cell's), styled. */
function inline(nodes: readonly MarkdownNode[]): string {
  return nodes.map(({ token, children }) => (token.type === "inline" ? spans(nest(token.children ?? [])) : inline(children))).join("");
}

function spans(nodes: readonly MarkdownNode[]): string {
  return nodes
    .map(({ token, children }) => {
      switch (token.type) {
        case "strong_open":
          return paint("bold", spans(children));
        case "em_open":
          return paint("italic", spans(children));
        case "s_open":
          return paint("strike", spans(children));
        case "code_inline":
          return paint("yellow", clean(token.content));
        case "link_open": {
          const text = spans(children);
          const href = clean(String(token.attrGet("href") ?? ""));
          return token.markup === "autolink" || text === href ? paint("underline", paint("blue", href)) : `${paint("underline", text)} ${paint("dim", `(${href})`)}`;
        }
        case "image":
          return `${paint("dim", `[image: ${clean(token.content)}]`)} ${paint("dim", `(${clean(String(token.attrGet("src") ?? ""))})`)}`;
        case "softbreak":
        case "hardbreak":
          return "\n";
        default:
          return children.length > 0 ? spans(children) : clean(token.content);
      }
    })
    .join("");
}

/**
 * A table: its head's and body's rows, each a list of cells, from table_open > thead/tbody > tr > th/td. Columns are
 * as wide as the terminal shows their cells (`string-width`): a CJK character or an emoji takes two cells, a combining
 * mark or a zero-width joiner none, the renderer's escape sequences none.
 */
function table(node: MarkdownNode): string {
  const rowsOf = (section: string): string[][] =>
    node.children
      .filter((child) => child.token.type === section)
      .flatMap((child) => child.children)
      .map((row) => row.children.map((cell) => inline(cell.children)));
  const header = rowsOf("thead_open")[0] ?? [];
  const rows = rowsOf("tbody_open");
  const widths = header.map((cell, column) => Math.max(visibleCells(cell), ...rows.map((row) => visibleCells(row[column] ?? ""))));
  // The alignment row's colons (:--, :-:, --:), which markdown-it gives each cell as style="text-align:…".
  const alignments = (node.children.find((child) => child.token.type === "thead_open")?.children[0]?.children ?? []).map(
    (cell) => /text-align:(center|right)/.exec(String(cell.token.attrGet("style") ?? ""))?.[1],
  );
  const pad = (cell: string, column: number): string => {
    const space = Math.max(0, (widths[column] ?? 0) - visibleCells(cell));
    const before = alignments[column] === "right" ? space : alignments[column] === "center" ? Math.floor(space / 2) : 0;
    return " ".repeat(before) + cell + " ".repeat(space - before);
  };
  const line = (cells: readonly string[]): string => cells.map(pad).join(` ${paint("dim", "│")} `);
  const rule = paint("dim", widths.map((width) => "─".repeat(width)).join("─┼─"));
  return `${line(header.map((cell) => paint("bold", cell)))}\n${rule}\n${rows.map((row) => `${line(row)}\n`).join("")}`;
}


/**
 * Whether `node` needs a module that is not loaded yet: the highlighter for code, string-width for a table of wide
 * text, or for any wide text when it `wraps`.
 */
function needsLoading(node: MarkdownNode, wraps: boolean): boolean {
  return (lowlight === undefined && hasCode(node)) || needsWidths(node, wraps);
}

function needsWidths(node: MarkdownNode, wraps: boolean): boolean {
  return !widthsLoaded() && (wraps ? hasWideText(node) : hasWideTable(node));
}

/** Loads what `node` needs (see needsLoading). */
function loadFor(node: MarkdownNode | undefined, wraps: boolean): Promise<void> {
  if (node === undefined) return Promise.resolve();
  const loads: Promise<void>[] = [];
  if (lowlight === undefined && hasCode(node)) loads.push(loadHighlighter());
  if (needsWidths(node, wraps)) loads.push(loadStringWidth());
  return Promise.all(loads).then(() => undefined);
}

/** A table with text beyond ASCII in its cells. */
function hasWideTable(node: MarkdownNode): boolean {
  return (node.token.type === "table_open" && hasWideText(node)) || node.children.some(hasWideTable);
}

function hasWideText(node: MarkdownNode): boolean {
  return (node.token.type === "inline" && /[^\x20-\x7e]/.test(node.token.content)) || node.children.some(hasWideText);
}

/** lowlight with highlight.js's common languages once loaded; `null` when it could not be (code stays plain). */
let lowlight: ReturnType<typeof createLowlight> | null | undefined;
let loading: Promise<void> | undefined;

/**
 * Loads the highlighter once, when the first code block begins: its grammars are most of the renderer's code, and
 * most answers have none. Resolves when it is there; rejects when it cannot be loaded.
 */
export function loadHighlighter(): Promise<void> {
  loading ??= import("lowlight").then(
    ({ common, createLowlight }) => {
      lowlight = createLowlight(common);
    },
    (error: unknown) => {
      lowlight = null;
      throw error;
    },
  );
  return loading;
}

/** The lines that cannot end a held block, and whether a blank line may. */
interface Continuation {
  readonly lines: RegExp;
  readonly blankEnds: boolean;
}

/**
 * For the opening token of the held block, the lines that cannot end it: a list's next item (the same bullet, or
 * digits and the same delimiter, or digits still arriving), blank or indented lines; a table's next row; a line of
 * words in a paragraph or a quote (a heading's underline, a table's rule, a list or a fence are none of those).
 * Undefined for any other block.
 */
function continuation(token: Token | undefined): Continuation | undefined {
  switch (token?.type) {
    case "bullet_list_open":
      return { lines: new RegExp(`^(?:\\s*$|[ \\t]|\\${token.markup}(?:[ \\t]|$))`), blankEnds: false };
    case "ordered_list_open":
      return { lines: new RegExp(`^(?:\\s*$|[ \\t]|\\d{1,9}(?:\\${token.markup}(?:[ \\t]|$)|$))`), blankEnds: false };
    case "table_open":
      return { lines: /^\|/, blankEnds: true };
    case "paragraph_open":
      return { lines: /^\p{L}/u, blankEnds: true };
    case "blockquote_open":
      return { lines: /^(?:>|\p{L})/u, blankEnds: true };
    default:
      return undefined;
  }
}

/** A fenced code block's fence: its character (` or ~) and length. */
interface Fence {
  readonly marker: string;
  readonly length: number;
}

/** The fence of `block` when it is a fenced code block whose closing fence has not arrived, else undefined. */
function openFence(text: string, starts: readonly number[], block: { readonly node: MarkdownNode; readonly firstLine: number; readonly lastLine: number } | undefined): Fence | undefined {
  if (block?.node.token.type !== "fence") return undefined;
  const fence = { marker: block.node.token.markup.charAt(0), length: block.node.token.markup.length };
  const last = text.slice(starts[block.lastLine - 1] ?? text.length, starts[block.lastLine] ?? text.length);
  return block.lastLine - block.firstLine >= 2 && mayClose(fence, last) ? undefined : fence;
}

/** Whether one of the lines of `text` may close a code block opened by `fence` (as many of its characters, or more). */
function mayClose(fence: Fence, text: string): boolean {
  const marker = fence.marker === "~" ? "~" : "`";
  return new RegExp(`^ {0,3}${marker}{${fence.length},}[ \\t]*$`, "m").test(text.replace(/\r\n?/g, "\n"));
}

/** Whether a block is, or holds (in a list or a quote), a fenced code block with a language, to highlight. */
function hasCode(node: MarkdownNode): boolean {
  return (node.token.type === "fence" && node.token.info.trim() !== "") || node.children.some(hasCode);
}

/** Token classes of highlight.js, by the colour they get. */
const CLASS_STYLES: Readonly<Record<string, Style>> = {
  keyword: "magenta",
  built_in: "cyan",
  type: "cyan",
  literal: "blue",
  number: "blue",
  string: "green",
  regexp: "red",
  symbol: "blue",
  comment: "dim",
  doctag: "dim",
  meta: "dim",
  title: "yellow",
  "title.function": "yellow",
  "title.class": "yellow",
  attr: "cyan",
  attribute: "cyan",
  variable: "red",
  "template-variable": "red",
  tag: "blue",
  name: "blue",
  "selector-tag": "magenta",
  addition: "green",
  deletion: "red",
};

function highlight(code: string, language: string): string {
  if (lowlight === undefined || lowlight === null || language === "" || !lowlight.registered(language)) return code;
  return nodes(lowlight.highlight(language, code).children);
}

function nodes(children: readonly (RootContent | ElementContent)[] | Root["children"]): string {
  return children
    .map((node) => {
      if (node.type === "text") return node.value;
      if (node.type !== "element") return "";
      const element: Element = node;
      const classes = element.properties.className;
      const names = Array.isArray(classes) ? classes.map(String).map((name) => name.replace(/^hljs-/, "")) : [];
      const style = names.map((name) => CLASS_STYLES[name]).find((found) => found !== undefined);
      const inner = nodes(element.children);
      return style === undefined ? inner : paint(style, inner);
    })
    .join("");
}

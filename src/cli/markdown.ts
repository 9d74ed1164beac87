import type { Element, ElementContent, Root, RootContent } from "hast";
import { common, createLowlight } from "lowlight";
import { type MarkedToken, type Token, type Tokens, lexer } from "marked";
import { type OperatorFunction, Observable } from "rxjs";

/** ANSI styles the renderer uses; each wraps text in its own start and reset, so styles nest. */
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

const paint = (style: Style, text: string): string => (text === "" ? "" : `${SGR[style][0]}${text}${SGR[style][1]}`);

/**
 * Renders streamed markdown for a terminal, append-only: each block
 * (heading, paragraph, list, table, fenced code…) is printed once it is
 * complete — when the next block has begun, or the stream ends — and never
 * redrawn, so scrollback, `script` and `tee` logs stay clean. The open block
 * is held back. Lexing is `marked`'s; code is highlighted by `lowlight`
 * (highlight.js) for the fence's language, or left plain. Control characters
 * from the model are removed before styling: only the renderer's own
 * escape sequences reach the terminal.
 *
 * Emits one string per batch of completed blocks; on completion the rest,
 * on error the rest then the error.
 */
export function renderMarkdown(): OperatorFunction<string, string> {
  return (source) =>
    new Observable<string>((subscriber) => {
      let buffer = "";
      const flush = (all: boolean): void => {
        if (buffer === "") return;
        const tokens = lexer(buffer);
        // Hold the last block (and the blank lines after it): more text may still extend it.
        let held = tokens.length;
        if (!all) {
          while (held > 0 && tokens[held - 1]?.type === "space") held -= 1;
          held -= 1;
        }
        if (held <= 0) return;
        const done = tokens.slice(0, held);
        const consumed = done.reduce((length, token) => length + token.raw.length, 0);
        // marked's raws add up to the text it read; if they ever did not, keep everything rather than lose text.
        if (buffer.slice(0, consumed) !== done.map((token) => token.raw).join("")) {
          if (all) {
            subscriber.next(renderBlocks(tokens));
            buffer = "";
          }
          return;
        }
        buffer = buffer.slice(consumed);
        const text = renderBlocks(done);
        if (text !== "") subscriber.next(text);
      };
      return source.subscribe({
        next: (delta) => {
          buffer += delta;
          flush(false);
        },
        error: (error: unknown) => {
          flush(true);
          subscriber.error(error);
        },
        complete: () => {
          flush(true);
          subscriber.complete();
        },
      });
    });
}

/** Removes control characters (escape sequences included) but newline and tab. */
function clean(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "");
}

function renderBlocks(tokens: readonly Token[]): string {
  return tokens.map((token) => block(token, "")).join("");
}

const MARKED_TYPES = new Set([
  "blockquote", "br", "checkbox", "code", "codespan", "def", "del", "em", "escape", "heading", "hr", "html",
  "image", "link", "list", "list_item", "paragraph", "space", "strong", "table", "tag", "text",
]);

/** A token of marked's own kinds (not an extension's), so that its `type` tells its shape. */
function isMarked(token: Token): token is MarkedToken {
  return MARKED_TYPES.has(token.type);
}

function block(token: Token, indent: string): string {
  if (!isMarked(token)) return clean(token.raw);
  switch (token.type) {
    case "space":
      return "\n";
    case "heading": {
      const heading = token;
      const text = inline(heading.tokens);
      return `${heading.depth === 1 ? paint("underline", paint("bold", text)) : paint("bold", text)}\n`;
    }
    case "paragraph":
      return `${indentLines(inline(token.tokens), indent)}\n`;
    case "text": {
      const text = token;
      return `${indentLines(text.tokens === undefined ? clean(text.text) : inline(text.tokens), indent)}\n`;
    }
    case "code": {
      const code = token;
      const language = (code.lang ?? "").trim().split(/\s+/)[0] ?? "";
      const fence = paint("dim", `\`\`\`${clean(language)}`);
      return `${fence}\n${highlight(clean(code.text), language)}\n${paint("dim", "```")}\n`;
    }
    case "blockquote": {
      const quote = token;
      const inner = quote.tokens.map((child) => block(child, "")).join("").replace(/\n+$/, "");
      return `${inner
        .split("\n")
        .map((line) => `${indent}${paint("dim", "│")} ${line}`)
        .join("\n")}\n`;
    }
    case "list": {
      const list = token;
      const start = typeof list.start === "number" ? list.start : 1;
      return list.items
        .map((item, index) => {
          const marker = list.ordered ? `${start + index}.` : "•";
          const check = item.task ? (item.checked === true ? "[x] " : "[ ] ") : "";
          const body = item.tokens
            .map((child) => block(child, `${indent}  `))
            .join("")
            .replace(/\n+$/, "")
            .replace(/^ +/, "");
          return `${indent}${paint("cyan", marker)} ${check}${body}\n`;
        })
        .join("");
    }
    case "hr":
      return `${paint("dim", "─".repeat(40))}\n`;
    case "table":
      return table(token);
    case "html":
      return clean(token.text);
    case "def":
      return "";
    default:
      return clean(token.raw);
  }
}

function indentLines(text: string, indent: string): string {
  return indent === "" ? text : text.replace(/\n/g, `\n${indent}`).replace(/^/, indent);
}

function inline(tokens: readonly Token[] | undefined): string {
  if (tokens === undefined) return "";
  return tokens
    .map((token) => {
      if (!isMarked(token)) return clean(token.raw);
      switch (token.type) {
        case "strong":
          return paint("bold", inline(token.tokens));
        case "em":
          return paint("italic", inline(token.tokens));
        case "del":
          return paint("strike", inline(token.tokens));
        case "codespan":
          return paint("yellow", clean(token.text));
        case "link": {
          const link = token;
      const text = inline(link.tokens);
          const href = clean(link.href);
          return text === href || link.text === link.href ? paint("underline", paint("blue", href)) : `${paint("underline", text)} ${paint("dim", `(${href})`)}`;
        }
        case "image": {
          const image = token;
      return `${paint("dim", `[image: ${clean(image.text)}]`)} ${paint("dim", `(${clean(image.href)})`)}`;
        }
        case "br":
          return "\n";
        case "escape":
          return clean(token.text);
        case "text": {
          const text = token;
      return text.tokens === undefined ? clean(decodeEntities(text.text)) : inline(text.tokens);
        }
        default:
          return clean(token.raw);
      }
    })
    .join("");
}

/** marked escapes `&<>"'` in text; a terminal shows them as they are. */
function decodeEntities(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39);/g, (_match, name: string) => ({ amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'" })[name] ?? "");
}

function table(token: Tokens.Table): string {
  const header = token.header.map((cell) => inline(cell.tokens));
  const rows = token.rows.map((row) => row.map((cell) => inline(cell.tokens)));
  const widths = header.map((cell, column) => Math.max(visible(cell), ...rows.map((row) => visible(row[column] ?? ""))));
  const line = (cells: readonly string[]): string => cells.map((cell, column) => cell + " ".repeat(Math.max(0, (widths[column] ?? 0) - visible(cell)))).join(` ${paint("dim", "│")} `);
  const rule = paint("dim", widths.map((width) => "─".repeat(width)).join("─┼─"));
  return `${line(header.map((cell) => paint("bold", cell)))}\n${rule}\n${rows.map((row) => `${line(row)}\n`).join("")}`;
}

/** The width of text on screen, without escape sequences. */
function visible(text: string): number {
  // eslint-disable-next-line no-control-regex
  return [...text.replace(/\u001b\[[0-9;]*m/g, "")].length;
}

let highlighter: ReturnType<typeof createLowlight> | undefined;

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
  highlighter ??= createLowlight(common);
  if (language === "" || !highlighter.registered(language)) return code;
  return nodes(highlighter.highlight(language, code).children);
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

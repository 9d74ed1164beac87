import { cellWidth, isPlainAscii } from "./cell-width.js";

/**
 * Wraps the renderer's styled text (its own SGR sequences, no other control characters) at `width` terminal cells,
 * line by line: breaking at spaces (the spaces at a break are dropped) and between Chinese or Japanese characters
 * (which have no spaces between words), and a word wider than a whole line, which starts a line, where it reaches the
 * edge. A style open at a break is closed before it and opened again after it, so that each line still closes its own
 * styles (what is put before a line, an indent or a quote's bar, takes none of them). A line that fits is returned as
 * it is.
 */
export function wrapStyled(text: string, width: number): string {
  const room = Math.max(1, width);
  return text
    .split("\n")
    .map((line) => (visibleCells(line) <= room ? line : wrapLine(line, room)))
    .join("\n");
}

// eslint-disable-next-line no-control-regex -- the renderer's own escape sequences
const ESCAPES = /\u001b\[[0-9;]*m/g;
// eslint-disable-next-line no-control-regex -- any ASCII, escape sequences included
const ASCII = /^[\u0000-\u007f]*$/;
// eslint-disable-next-line no-control-regex -- (as above)
const SGR_CODE = /^\u001b\[(\d+)m$/;
/**
 * The patterns for text beyond ASCII, made on first use. Made when the module loads, their Unicode property sets cost
 * every question about 0.9 ms of start-up (measured between modules of the bundle), though a question asked into a
 * pipe wraps nothing.
 */
let unicodePatterns: { readonly pieces: RegExp; readonly ideograph: RegExp } | undefined;
function patterns(): { readonly pieces: RegExp; readonly ideograph: RegExp } {
  return (unicodePatterns ??= {
    /** Escape sequences, runs of spaces, each ideograph (with the opening brackets before it) and runs of other text. */
    // eslint-disable-next-line no-control-regex -- (as above)
    pieces: /\u001b\[[0-9;]*m| +|[\p{Ps}\p{Pi}]*[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}]|(?:(?![\p{Ps}\p{Pi}]+[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}])[^ \u001b\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}])+|\u001b/gu,
    /**
     * A character a line may break before (and after), as between words: Han, Hiragana and Katakana, with the opening
     * brackets and quotes before it (「, （, “…), which must not end a line. The closing ones (」, 、, 。…) are other
     * text, which goes with the character before it, so they never start one.
     */
    ideograph: /^[\p{Ps}\p{Pi}]*[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}]$/u,
  });
}
// eslint-disable-next-line no-control-regex -- (as above)
const ASCII_PIECES = /\u001b\[[0-9;]*m| +|[^ \u001b]+|\u001b/g;

/** The SGR codes that end styles. */
const RESETS = new Set([22, 23, 24, 29, 39]);

const sgr = (code: number): string => `\u001b[${String(code)}m`;

/** The SGR code that ends each style the renderer starts (bold and dim share one, as do the colours). */
function resetOf(code: number): number {
  if (code === 1 || code === 2) return 22;
  if ((code >= 30 && code <= 37) || (code >= 90 && code <= 97)) return 39;
  return code + 20;
}

/** The cells styled text takes on a terminal (its escape sequences none); one a code point where string-width could not be loaded. */
export function visibleCells(text: string): number {
  return textCells(text.includes("\u001b") ? text.replace(ESCAPES, "") : text);
}

/** The cells of text without escape sequences; one per code point where string-width could not be loaded. */
function textCells(text: string): number {
  return cellWidth(text) ?? [...text].length;
}

let graphemes: Intl.Segmenter | undefined;

/** The characters as the terminal shows them (a letter and its accents, an emoji sequence, are one). */
function charactersOf(text: string): string[] {
  if (isPlainAscii(text)) return [...text];
  graphemes ??= new Intl.Segmenter();
  return [...graphemes.segment(text)].map(({ segment }) => segment);
}

/** One line being wrapped: what is printed so far, and where. */
class LineWrap {
  /** The pieces printed so far, joined at the end: a flat string, not a tree of many small concatenations. */
  out: string[] = [];
  column = 0;
  /** The styles open where the output is (their SGR codes, in the order they were started). */
  open: number[] = [];
  /** Spaces (and the escape sequences among them) not printed yet: a break drops the spaces. */
  pending: string[] = [];
  pendingCells = 0;

  /** Follows the styles an escape sequence starts or ends. */
  track(escape: string): void {
    const code = Number(SGR_CODE.exec(escape)?.[1] ?? Number.NaN);
    if (Number.isNaN(code)) return;
    this.open = RESETS.has(code) ? this.open.filter((started) => resetOf(started) !== code) : [...this.open, code];
  }

  escape(piece: string): void {
    if (this.pending.length > 0) this.pending.push(piece);
    else {
      this.out.push(piece);
      this.track(piece);
    }
  }

  printPending(spaces: boolean): void {
    for (const piece of this.pending) {
      if (piece.startsWith("\u001b")) {
        this.out.push(piece);
        this.track(piece);
      } else if (spaces) this.out.push(piece);
    }
    if (spaces) this.column += this.pendingCells;
    this.pending = [];
    this.pendingCells = 0;
  }

  lineBreak(): void {
    const resets = [...new Set(this.open.map(resetOf).reverse())];
    this.out.push(`${resets.map(sgr).join("")}\n${[...new Set(this.open)].map(sgr).join("")}`);
    this.column = 0;
    // The styles that start (or end) with the next word do so on its line.
    this.printPending(false);
  }
}

function wrapLine(line: string, width: number): string {
  // ASCII (most lines) has no ideographs and one cell a character: the simpler pattern and lengths do.
  const ascii = ASCII.test(line);
  const unicode = ascii ? undefined : patterns();
  const pieces = line.match(unicode?.pieces ?? ASCII_PIECES) ?? [];
  const wrap = new LineWrap();
  // Whether a word has begun on this line of the source (spaces before the first are its text: a code span's own).
  let started = false;
  let inWord = false;
  for (let index = 0; index < pieces.length; index += 1) {
    const piece = pieces[index] ?? "";
    const first = piece.charCodeAt(0);
    if (first === 0x1b) {
      wrap.escape(piece);
      continue;
    }
    if (first === 0x20) {
      inWord = false;
      if (started) {
        wrap.pending.push(piece);
        wrap.pendingCells += piece.length;
      } else {
        wrap.out.push(piece);
        wrap.column += piece.length;
      }
      continue;
    }
    if (!inWord || (unicode?.ideograph.test(piece) ?? false)) {
      // A word begins: measure it up to the next space or ideograph. One that does not fit on this line goes to the
      // next (a longer one than a line too, as a URL reads best from a line's start), then breaks at the edge.
      let wordCells = ascii ? piece.length : textCells(piece);
      for (let ahead = index + 1; ahead < pieces.length; ahead += 1) {
        const next = pieces[ahead] ?? "";
        const code = next.charCodeAt(0);
        if (code === 0x20 || (unicode?.ideograph.test(next) ?? false)) break;
        if (code !== 0x1b) wordCells += ascii ? next.length : textCells(next);
      }
      if (wrap.column > 0 && wrap.column + wrap.pendingCells + wordCells > width) wrap.lineBreak();
      else wrap.printPending(true);
      started = true;
      inWord = true;
    }
    const cells = ascii ? piece.length : textCells(piece);
    if (wrap.column + cells <= width) {
      wrap.out.push(piece);
      wrap.column += cells;
      continue;
    }
    for (const character of charactersOf(piece)) {
      const characterCells = textCells(character);
      if (wrap.column > 0 && wrap.column + characterCells > width) wrap.lineBreak();
      wrap.out.push(character);
      wrap.column += characterCells;
    }
  }
  // Spaces at the end of the line stay where they fit.
  wrap.printPending(wrap.column + wrap.pendingCells <= width);
  return wrap.out.join("");
}

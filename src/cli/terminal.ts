import type { Environment } from "../endpoints.js";
import { cellWidth, isPlainAscii, loadStringWidth } from "./cell-width.js";

/** A stream that may be a terminal, as `process.stderr` is. */
export interface TerminalWritable {
  write(text: string): unknown;
  readonly isTTY?: boolean | undefined;
  /** The terminal's width, when it is one. */
  readonly columns?: number | undefined;
}

/** Whether a spinner may be drawn on `stream`: a terminal that understands carriage return and erase-line. */
export function canAnimate(stream: { readonly isTTY?: boolean | undefined }, env: Environment): boolean {
  return stream.isTTY === true && env.TERM !== "dumb";
}

/**
 * Control characters made visible, for text from the network shown on a terminal: an answer or a server's message
 * could otherwise clear the screen (ESC[2J), set the window title (ESC]0;…BEL) or worse. C0 controls but newline and
 * tab become their Unicode control pictures (ESC → ␛, BEL → ␇), DEL becomes ␡, and C1 controls (U+0080–U+009F,
 * which some terminals obey too) become \u009b-style text. Text that goes to a pipe or file is never changed.
 */
export function neutralise(text: string): string {
  // Carriage return is kept before a newline (CRLF line ends), and made visible alone (it could hide a line's start).
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  return text.replace(/\r(?!\n)|[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g, (character) => {
    const code = character.charCodeAt(0);
    if (code < 0x20) return String.fromCharCode(0x2400 + code);
    if (code === 0x7f) return "\u2421";
    return `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** `neutralise` for text that arrives in pieces (see neutraliser). */
export interface Neutraliser {
  /** The piece made harmless; what may be the first half of a pair (see neutraliser) waits for the next piece. */
  piece(text: string): string;
  /** What still waits (a carriage return that ended the text, made visible; half a character), or "". */
  end(): string;
}

/**
 * `neutralise` for an answer that streams: a CR LF line end cut between two pieces stays a line end, where each piece
 * alone would show its CR as ␍. Without `terminal` (a pipe or a file), text passes unchanged and at once. Either way a
 * character cut between the two halves of its surrogate pair (a server may cut a string there: 😀 is two UTF-16 code
 * units) waits for its second half, since each half written alone becomes U+FFFD.
 */
export function neutraliser(terminal: boolean): Neutraliser {
  const shown = terminal ? neutralise : (text: string): string => text;
  const mayPair = terminal ? /[\r\ud800-\udbff]$/ : /[\ud800-\udbff]$/;
  let waiting = "";
  return {
    piece: (text) => {
      const whole = waiting + text;
      const cut = mayPair.test(whole) ? whole.length - 1 : whole.length;
      waiting = whole.slice(cut);
      return shown(whole.slice(0, cut));
    },
    end: () => {
      const left = shown(waiting);
      waiting = "";
      return left;
    },
  };
}

/**
 * Whether to colour what goes to `stream`: as `FORCE_COLOR` says when it is set (see forcedColour); else only on a
 * terminal, and never when `NO_COLOR` is set to anything but "" (https://no-color.org) or `TERM=dumb`.
 */
export function useColour(stream: { readonly isTTY?: boolean | undefined }, env: Environment): boolean {
  const noColor = env.NO_COLOR;
  return forcedColour(env) ?? (stream.isTTY === true && (noColor === undefined || noColor === "") && env.TERM !== "dumb");
}

/**
 * What `FORCE_COLOR` says, read as Node reads it for its own colours (and before `NO_COLOR`, as Node does): "", 1, 2, 3
 * or true, colour (also into a pipe: `2>&1 | less -R`); any other value (0, false), none; unset, undefined.
 */
export function forcedColour(env: Environment): boolean | undefined {
  const force = env.FORCE_COLOR;
  if (force === undefined) return undefined;
  return ["", "1", "2", "3", "true"].includes(force);
}

/** Text styles for stderr; plain text when colour is off. */
export interface Styles {
  error(text: string): string;
  note(text: string): string;
}

export function styles(colour: boolean): Styles {
  const wrap = (open: string, text: string): string => (colour ? `\u001b[${open}m${text}\u001b[0m` : text);
  return { error: (text) => wrap("31", text), note: (text) => wrap("2", text) };
}

/** A progress indicator on stderr; `stop()` erases it and may be called any number of times. */
export interface Spinner {
  stop(): void;
  /** Changes what it says, from its next frame. */
  say(text: string): void;
}

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
/** A frame every 80 ms; the first after one interval, so a fast answer shows no spinner at all. */
const FRAME_MS = 80;

/** Draws `text` with a turning spinner on `out`, which should be a terminal. */
export function startSpinner(out: TerminalWritable, text: string, style: Styles): Spinner {
  // One line, never wider than the terminal: a line that wraps cannot be erased by "\r ESC[K", and each frame would
  // leave a new line behind. The frame and its space take 2 columns. Widths are in terminal cells (a model's name in
  // Chinese takes two per character), and a cut keeps whole characters (an emoji, a letter with its accent).
  // The width is read at every frame: the window may be resized while the spinner turns. A pseudo-terminal nobody
  // sized says 0 columns.
  const fit = (said: string): string => {
    const width = out.columns !== undefined && out.columns > 0 ? out.columns : 80;
    const room = Math.max(0, width - 3);
    const shown = neutralise(said);
    if (cellsAtMost(shown) <= room) return shown;
    let kept = "";
    let used = 0;
    for (const piece of characters(shown)) {
      const cells = cellsAtMost(piece);
      if (used + cells > room - 1) break;
      kept += piece;
      used += cells;
    }
    return `${kept}…`;
  };
  // Text beyond ASCII is measured once string-width is loaded (by the first frame, most often); until then, or if it
  // cannot be loaded, a line that may be too wide is cut short.
  const measure = (said: string): void => {
    if (!isPlainAscii(said)) loadStringWidth().catch(() => undefined);
  };
  measure(text);
  let said = text;
  let frame = 0;
  let drawn = false;
  let stopped = false;
  const timer = setInterval(() => {
    // Erased first: a narrower terminal's line is shorter than the one before.
    out.write(`\r${drawn ? "\u001b[K" : ""}${FRAMES[frame % FRAMES.length] ?? ""} ${style.note(fit(said))}`);
    frame += 1;
    drawn = true;
  }, FRAME_MS);
  // The spinner alone must not keep the process alive.
  timer.unref();
  return {
    stop: () => {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      // Carriage return and erase-line leave the cursor where the spinner began.
      if (drawn) out.write("\r\u001b[K");
    },
    say: (text) => {
      said = text;
      measure(text);
      // The new text may be shorter: what the old one left beyond it is erased.
      if (drawn && !stopped) out.write("\r\u001b[K");
    },
  };
}

/** The cells `text` takes, or (not measurable yet) two per code point, which no text exceeds. */
function cellsAtMost(text: string): number {
  return cellWidth(text) ?? 2 * [...text].length;
}

/** The characters of `text` as a reader sees them: an emoji of several code points, a letter with its accents. */
function characters(text: string): Iterable<string> {
  if (isPlainAscii(text)) return text;
  return Array.from(new Intl.Segmenter(undefined, { granularity: "grapheme" }).segment(text), ({ segment }) => segment);
}

/** A spinner that shows nothing, for pipes, files and `--quiet`. */
export const NO_SPINNER: Spinner = { stop: () => undefined, say: () => undefined };

import MarkdownIt, { type Token } from "markdown-it";
import { Observable, type OperatorFunction } from "rxjs";

/** Which fenced code block `-x` (`first`) and `--extract-last` (`last`) print. */
export type CodeBlockChoice = "first" | "last";

/**
 * `-x` / `--extract-last`: the answer's first (or last) fenced code block, its code without the fences, as `llm -x`
 * and aichat's `--code` give it, so `g4f-rx -x "a one-liner that …" | sh` runs the code and not the prose around it.
 *
 * markdown-it finds the block, parsing as the renderer does (src/cli/markdown.ts), by CommonMark's rules: a fence of
 * three or more backticks or tildes, indented or not, in a list or a quote too (whose markers it takes off the code's
 * lines). The first block streams: each line of code is emitted once a line break ends it (the line could be the
 * closing fence), and once the block closes nothing more is emitted. The last block is known only at the end, so it
 * comes then. An answer with no block is emitted whole at the end, after `onNone()`: a model often answers a one-liner
 * without fences, and then the answer is the code.
 *
 * On completion and on error alike, what arrived is extracted by the same rule (a block still open runs to the end
 * of the text), then the source completes or errors: nothing received is lost.
 */
export function extractCodeBlock(choice: CodeBlockChoice, onNone: () => void): OperatorFunction<string, string> {
  return (source) =>
    new Observable<string>((subscriber) => {
      // The answer so far. It grows by appending, so it is read whole only at the end, or when a line may open the
      // first fence: reading a slice of it after each line would copy it all each time.
      let text = "";
      // The text after its last line break.
      let line = "";
      // The first block, once it opened: the text from the top-level block it is in, how much of that is whole lines,
      // and how much of the block's code went out.
      let open: { region: string; whole: number; emitted: number; unread: { opening: string; from: number } | undefined } | undefined;
      let closed = false;

      /** Emits what the first block has gained, reading the region's whole lines (`final`: all of it, as ended). */
      const advance = (final: boolean): void => {
        if (open === undefined || closed) return;
        const upTo = final ? open.region.length : open.whole;
        const { unread } = open;
        if (unread !== undefined) {
          // A fence outside any list or quote: its code lines are read on their own, after its opening line, so each
          // line costs a parse of the lines since the last, not of the whole block again.
          const lines = open.region.slice(unread.from, upTo);
          if (lines === "") return;
          unread.from = upTo;
          const fence = firstFence(`${unread.opening}${lines}`);
          if (fence === undefined) return;
          if (fence.code !== "") subscriber.next(fence.code);
          closed = fence.closed;
          return;
        }
        const fence = firstFence(open.region.slice(0, upTo));
        // The region starts at the top-level block the fence is in, so the fence is its first.
        if (fence === undefined) return;
        const fresh = fence.code.slice(open.emitted);
        open.emitted = fence.code.length;
        if (fresh !== "") subscriber.next(fresh);
        if (fence.closed) closed = true;
      };

      /**
       * Looks for the first fence when `lines` (whole lines, or the last line at the end) may open one. Whether a line
       * opens a fence depends on the lines up to it only, and such a line starts, after any indent and list or quote
       * markers, with ``` or ~~~: prose is scanned once, not parsed after each line.
       */
      const lookFor = (lines: string, upTo: number): void => {
        if (!MAY_OPEN_FENCE.test(lines)) return;
        const found = firstFence(text.slice(0, upTo));
        if (found === undefined) return;
        const region = text.slice(found.blockStart);
        const whole = upTo - found.blockStart;
        if (found.nested) {
          open = { region, whole, emitted: 0, unread: undefined };
          return;
        }
        // At the top level, the block is the fence: its first line opens it.
        const opening = region.slice(0, region.indexOf("\n") + 1);
        open = { region, whole, emitted: 0, unread: { opening, from: opening.length } };
      };

      const end = (): void => {
        if (choice === "first") {
          if (open === undefined && line !== "") lookFor(line, text.length);
          if (open === undefined) none();
          else advance(true);
          return;
        }
        const last = fences(text).at(-1);
        if (last === undefined) none();
        else if (last.code !== "") subscriber.next(last.code);
      };
      const none = (): void => {
        onNone();
        if (text !== "") subscriber.next(text);
      };

      // An error thrown by onNone (or the parser) is the Observable's error, not one thrown into the source.
      const guarded = (step: () => void): boolean => {
        try {
          step();
          return true;
        } catch (error) {
          subscriber.error(error);
          return false;
        }
      };
      return source.subscribe({
        next: (piece) => {
          text += piece;
          if (choice === "last" || closed) return;
          const lineEnd = piece.lastIndexOf("\n");
          if (open !== undefined) {
            open.region += piece;
            if (lineEnd < 0) return;
            open.whole = open.region.length - piece.length + lineEnd + 1;
            guarded(() => advance(false));
            return;
          }
          if (lineEnd < 0) {
            line += piece;
            return;
          }
          const lines = `${line}${piece.slice(0, lineEnd + 1)}`;
          line = piece.slice(lineEnd + 1);
          guarded(() => {
            lookFor(lines, text.length - line.length);
            advance(false);
          });
        },
        error: (error: unknown) => {
          if (guarded(end)) subscriber.error(error);
        },
        complete: () => {
          if (guarded(end)) subscriber.complete();
        },
      });
    });
}

/** A line that may open a fence: indent, list markers and quote markers, then ``` or ~~~. */
const MAY_OPEN_FENCE = /^[ \t>*+\-\d.)]*(?:`{3}|~{3})/m;

interface Fence {
  /** The code, without the fences, the indent or the list and quote markers. */
  readonly code: string;
  /**
   * Whether the block is over: a closing fence ended it, or its list item or quote ended before the text's end. A
   * block that runs to the end of the text without a closing fence is open: the next lines may still be its code.
   */
  readonly closed: boolean;
  /** Where, in the parsed text, the top-level block holding the fence starts. */
  readonly blockStart: number;
  /** Whether the fence is in a list or a quote. */
  readonly nested: boolean;
}

let parser: InstanceType<typeof MarkdownIt> | undefined;

/** The first fence of `text`. */
function firstFence(text: string): Fence | undefined {
  return fences(text)[0];
}

/** The fences of `text`, in order. */
function fences(text: string): Fence[] {
  parser ??= new MarkdownIt();
  const tokens = parser.parse(text, {});
  const starts = lineStarts(text);
  // markdown-it counts a last line without a line break as a line.
  const lineCount = starts.length - (text === "" || text.endsWith("\n") ? 1 : 0);
  const found: Fence[] = [];
  let blockStart = 0;
  for (const token of tokens) {
    if (token.level === 0 && token.map !== null) blockStart = starts[token.map[0]] ?? 0;
    if (token.type === "fence" && token.map !== null) found.push(fenceOf(token, token.map, lineCount, blockStart));
  }
  return found;
}

function fenceOf(token: Token, [first, end]: [number, number], lineCount: number, blockStart: number): Fence {
  // The lines between the opening fence and `end` are the code, but for a closing fence's line: one line fewer.
  const codeLines = token.content === "" ? 0 : token.content.split("\n").length - (token.content.endsWith("\n") ? 1 : 0);
  const closedByFence = codeLines === end - first - 2;
  return { code: token.content, closed: closedByFence || end < lineCount, blockStart, nested: token.level > 0 };
}

/** The offset where each line of `text` starts. */
function lineStarts(text: string): number[] {
  const starts = [0];
  for (let index = text.indexOf("\n"); index >= 0; index = text.indexOf("\n", index + 1)) starts.push(index + 1);
  return starts;
}

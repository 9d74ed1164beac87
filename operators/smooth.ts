import {
  type ObservableNotification,
  type OperatorFunction,
  type SchedulerLike,
  asyncScheduler,
  concatMap,
  defer,
  dematerialize,
  from,
  map,
  materialize,
  of,
  timer,
} from "rxjs";

/** How `smooth` cuts text: a preset, a RegExp whose matches end pieces, or an `Intl.Segmenter`. */
export type SmoothChunking = "word" | "line" | "sentence" | RegExp | Intl.Segmenter;

export interface SmoothOptions {
  /**
   * Where pieces end. Default `"word"`.
   * - `"word"`: a word and the whitespace after it (`/\S+\s+/`); text without
   *   spaces (Chinese, Japanese) is held to the end, so give a Segmenter for it;
   * - `"line"`: up to and including the line break(s) (`/\n+/`);
   * - `"sentence"`: a sentence and the space after it, by the Unicode sentence
   *   rules of `Intl.Segmenter` (so `3.14` is not an end, and `。！？` are);
   * - a RegExp: each piece ends where a non-empty match ends, once text
   *   follows the match (until then, the next delta could extend it);
   * - an `Intl.Segmenter`: one piece per segment; with `granularity: "word"`,
   *   a word and the spaces and punctuation after it, so
   *   `new Intl.Segmenter("zh", { granularity: "word" })` chunks Chinese.
   */
  chunking?: SmoothChunking;
  /** The least time between two pieces, in milliseconds; `0` re-segments without pacing. Default `10`. */
  delayMs?: number;
  /** Scheduler for the pacing. Default `asyncScheduler`. */
  scheduler?: SchedulerLike;
}

/** Splits a buffer into the pieces that are complete and the rest, which more text may still extend. */
type Splitter = (buffer: string) => { pieces: string[]; rest: string };

/**
 * Re-cuts text deltas into words, lines or sentences, and paces them.
 *
 * Providers send text in arbitrary fragments, sometimes a burst of a hundred
 * characters, sometimes half a word. `smooth` gathers the deltas and emits
 * whole pieces as defined by `chunking`, at most one per `delayMs` on the
 * scheduler (a piece goes out at once when the previous one is older than
 * that), so a terminal or UI types evenly and text-to-speech gets whole
 * sentences. A piece is emitted only once the text after it has begun, since
 * until then more text could extend it: `"a\n"` then `"\nb"` cut by lines
 * gives `"a\n\n"` and `"b"`, and a word's trailing spaces stay with it even
 * when they arrive in two deltas. On completion the rest of the text is
 * emitted as a last piece, then the stream completes; on error, the pieces
 * still waiting and the rest go out first, then the error.
 *
 * Use it after `extractDelta()`.
 *
 * ## Examples
 * ```ts
 * import { of } from "rxjs";
 * import { smooth } from "g4f-rx/operators";
 *
 * of("Hel", "lo there. How a", "re you?").pipe(smooth({ chunking: "sentence", delayMs: 0 })).subscribe(console.log);
 * // Hello there.
 * // How are you?
 *
 * of("你好世界。今天天气").pipe(smooth({ chunking: new Intl.Segmenter("zh", { granularity: "word" }) })).subscribe(console.log);
 * // 你好
 * // 世界。
 * // 今天
 * // 天气
 * ```
 */
export function smooth(options: SmoothOptions = {}): OperatorFunction<string, string> {
  const { chunking = "word", delayMs = 10, scheduler = asyncScheduler } = options;
  if (typeof delayMs !== "number" || !Number.isFinite(delayMs) || delayMs < 0) {
    throw new TypeError(`smooth: delayMs must be a finite number of milliseconds >= 0, got ${String(delayMs)}`);
  }
  const split = splitterFor(chunking);

  return (source) =>
    defer(() => {
      let buffer = "";
      let lastEmitAt = -Infinity;

      const cut = (notification: ObservableNotification<string>): ObservableNotification<string>[] => {
        if (notification.kind === "N") {
          const { pieces, rest } = split(buffer + notification.value);
          buffer = rest;
          return pieces.map((value) => ({ kind: "N", value }));
        }
        // Completion or error: the rest can no longer grow, so it goes out before them.
        const rest: ObservableNotification<string>[] = buffer === "" ? [] : [{ kind: "N", value: buffer }];
        buffer = "";
        return [...rest, notification];
      };

      const pace = (notification: ObservableNotification<string>) =>
        defer(() => {
          if (notification.kind !== "N") return of(notification);
          const emit = (): ObservableNotification<string> => {
            lastEmitAt = scheduler.now();
            return notification;
          };
          const wait = lastEmitAt + delayMs - scheduler.now();
          return wait > 0 ? timer(wait, scheduler).pipe(map(emit)) : of(emit());
        });

      // Completion and error travel as values, so they queue behind the paced pieces.
      return source.pipe(
        materialize(),
        concatMap((notification) => from(cut(notification))),
        concatMap(pace),
        dematerialize(),
      );
    });
}

function splitterFor(chunking: SmoothChunking): Splitter {
  switch (chunking) {
    case "word":
      return regExpSplitter(/\S+\s+/);
    case "line":
      return regExpSplitter(/\n+/);
    case "sentence":
      return segmenterSplitter(new Intl.Segmenter(undefined, { granularity: "sentence" }));
  }
  if (chunking instanceof RegExp) return regExpSplitter(chunking);
  if (chunking instanceof Intl.Segmenter) return segmenterSplitter(chunking);
  throw new TypeError(`smooth: chunking must be "word", "line", "sentence", a RegExp or an Intl.Segmenter, got ${String(chunking)}`);
}

function regExpSplitter(pattern: RegExp): Splitter {
  // A global copy, without the sticky flag, so matchAll finds every match and leaves the caller's lastIndex alone.
  const flags = pattern.flags.replace(/[gy]/g, "") + "g";
  return (buffer) => {
    const pieces: string[] = [];
    let start = 0;
    for (const match of buffer.matchAll(new RegExp(pattern.source, flags))) {
      const end = match.index + match[0].length;
      // An empty match would make an empty piece (and a pattern like /x*/ would never advance).
      if (match[0] === "" || end <= start) continue;
      // A match that reaches the end of the buffer may still grow with the next delta ("\n" then "\n",
      // "Hello " then " "); it waits for more text, or for completion, which emits the rest as it is.
      if (end === buffer.length) break;
      pieces.push(buffer.slice(start, end));
      start = end;
    }
    return { pieces, rest: buffer.slice(start) };
  };
}

function segmenterSplitter(segmenter: Intl.Segmenter): Splitter {
  return (buffer) => {
    // Groups of segments: with word granularity a word starts a group and the spaces and
    // punctuation after it join it; otherwise (isWordLike undefined) each segment is a group.
    const groups: string[] = [];
    let current = "";
    let currentHasWord = false;
    for (const { segment, isWordLike } of segmenter.segment(buffer)) {
      const joins = isWordLike === false || (isWordLike === true && !currentHasWord);
      if (current !== "" && !joins) {
        groups.push(current);
        current = "";
        currentHasWord = false;
      }
      current += segment;
      currentHasWord ||= isWordLike === true;
    }
    // The last group may still grow.
    return { pieces: groups, rest: current };
  };
}

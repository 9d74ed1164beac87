import { Observable, type OperatorFunction, type SchedulerLike, type Subscription, asyncScheduler } from "rxjs";

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
  /**
   * The least time between two ticks, in milliseconds; a tick emits one piece, or a batch when catching up
   * (see `maxLagMs`); `0` re-segments without pacing. Default `10`.
   */
  delayMs?: number;
  /**
   * How far the output may fall behind the text received, in milliseconds. Default `1000`. With a backlog,
   * each tick (still at most one per `delayMs`) releases a batch of pieces, as many as it takes to have
   * everything received out within `maxLagMs` of the last piece's arrival; and text that has waited `maxLagMs`
   * for its piece to end (a long sentence still arriving) goes out as it stands. `Infinity` keeps the fixed pace
   * and whole pieces (for text-to-speech, say).
   */
  maxLagMs?: number;
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
 * whole pieces as defined by `chunking`, one per tick, at most one tick per
 * `delayMs` on the scheduler (a piece goes out at once when the previous tick
 * is older than that), so a terminal or UI types evenly and text-to-speech gets whole
 * sentences. A piece is emitted only once the text after it has begun, since
 * until then more text could extend it: `"a\n"` then `"\nb"` cut by lines
 * gives `"a\n\n"` and `"b"`, and a word's trailing spaces stay with it even
 * when they arrive in two deltas; but text that has waited `maxLagMs` for the
 * rest of its piece goes out as it stands. On completion the rest of the text is
 * emitted as a last piece, then the stream completes; on error, the pieces
 * still waiting and the rest go out first, then the error.
 *
 * Catching up: when text arrives faster than one piece per `delayMs`, the
 * backlog does not grow without bound. Each tick releases a batch of
 * `ceil(backlog / ticksLeft)` pieces, where `ticksLeft` counts the ticks
 * before `maxLagMs` has passed since the last text arrived. So with no
 * backlog pieces go out one per tick, evenly paced as before; a burst (say
 * 10,000 words at once) is spread evenly over `maxLagMs` instead of taking
 * 10,000 ticks; and when the source completes, the rest is out within
 * `maxLagMs` of the last text, not at the fixed rate.
 *
 * Use it after `extractDelta()`.
 *
 * ## Examples
 * ```ts
 * import { of } from "rxjs";
 * import { smooth } from "g4f-rx/operators";
 *
 * // A sentence keeps the space after it.
 * of("Hel", "lo there. How a", "re you?").pipe(smooth({ chunking: "sentence", delayMs: 0 })).subscribe((piece) => console.log(JSON.stringify(piece)));
 * // "Hello there. "
 * // "How are you?"
 * ```
 *
 * ```ts
 * import { of } from "rxjs";
 * import { smooth } from "g4f-rx/operators";
 *
 * // One word every 10 ms (the default delayMs).
 * of("你好世界。今天天气").pipe(smooth({ chunking: new Intl.Segmenter("zh", { granularity: "word" }) })).subscribe(console.log);
 * // 你好
 * // 世界。
 * // 今天
 * // 天气
 * ```
 *
 * ```ts
 * import { of, toArray } from "rxjs";
 * import { smooth } from "g4f-rx/operators";
 *
 * // A word every 15 ms, but never more than half a second behind: 10,000 words at once go out
 * // in 34 evenly spaced batches of about 300, all within 0.5 s instead of 150 s.
 * of("word ".repeat(10_000))
 *   .pipe(smooth({ delayMs: 15, maxLagMs: 500 }), toArray())
 *   .subscribe((words) => console.log(`${words.length} words`));
 * // 10000 words
 * ```
 */
export function smooth(options: SmoothOptions = {}): OperatorFunction<string, string> {
  const { chunking = "word", delayMs = 10, maxLagMs = 1000, scheduler = asyncScheduler } = options;
  if (typeof delayMs !== "number" || !Number.isFinite(delayMs) || delayMs < 0) {
    throw new TypeError(`smooth: delayMs must be a finite number of milliseconds >= 0, got ${String(delayMs)}`);
  }
  if (typeof maxLagMs !== "number" || Number.isNaN(maxLagMs) || maxLagMs < 0) {
    throw new TypeError(`smooth: maxLagMs must be a number of milliseconds >= 0 (or Infinity), got ${String(maxLagMs)}`);
  }
  const split = splitterFor(chunking);

  return (source) =>
    new Observable<string>((subscriber) => {
      let buffer = "";
      // Complete pieces not yet emitted: queue[head..]. Shifting an array of 10,000 words one by one would be quadratic.
      let queue: string[] = [];
      let head = 0;
      let lastEmitAt = -Infinity;
      let lastArrivalAt = scheduler.now();
      // Completion or error, held until the queue has drained.
      let end: { error: boolean; reason?: unknown } | undefined;
      let tick: Subscription | undefined;
      let draining = false;
      // The unfinished rest goes out as it stands once it has waited maxLagMs (a long sentence still arriving).
      let restDue: Subscription | undefined;

      const enqueue = (pieces: string[]) => {
        if (pieces.length === 0) return;
        if (head > 0 && head * 2 >= queue.length) {
          queue = queue.slice(head);
          head = 0;
        }
        queue.push(...pieces);
        lastArrivalAt = scheduler.now();
      };

      // How many pieces this tick releases: all of them without pacing, else enough to meet the deadline.
      const batchSize = (now: number): number => {
        const backlog = queue.length - head;
        if (delayMs === 0) return backlog;
        const ticksLeft = Math.floor(Math.max(0, lastArrivalAt + maxLagMs - now) / delayMs) + 1;
        return Math.max(1, Math.ceil(backlog / ticksLeft));
      };

      const drain = () => {
        if (draining || tick !== undefined) return;
        draining = true;
        try {
          while (!subscriber.closed) {
            if (head === queue.length) {
              if (end === undefined) return;
              if (end.error) subscriber.error(end.reason);
              else subscriber.complete();
              return;
            }
            const now = scheduler.now();
            const wait = lastEmitAt + delayMs - now;
            if (wait > 0) {
              tick = scheduler.schedule(() => {
                tick = undefined;
                drain();
              }, wait);
              return;
            }
            lastEmitAt = now;
            for (let n = batchSize(now); n > 0 && head < queue.length && !subscriber.closed; n--) {
              const piece = queue[head]!;
              head++;
              subscriber.next(piece);
            }
          }
        } finally {
          draining = false;
        }
      };

      const releaseRest = () => {
        restDue = undefined;
        const rest = buffer;
        buffer = "";
        enqueue([rest]);
        drain();
      };

      // Completion or error: the rest can no longer grow, so it goes out before them.
      const finish = (error: boolean, reason?: unknown) => {
        restDue?.unsubscribe();
        restDue = undefined;
        const rest = buffer;
        buffer = "";
        enqueue(rest === "" ? [] : [rest]);
        end = { error, reason };
        drain();
      };

      const upstream = source.subscribe({
        next: (delta) => {
          let pieces: string[];
          try {
            ({ pieces, rest: buffer } = split(buffer + delta));
          } catch (error) {
            subscriber.error(error);
            return;
          }
          enqueue(pieces);
          // A piece completed: what waits now is new text, with its own maxLagMs.
          if (pieces.length > 0 || buffer === "") {
            restDue?.unsubscribe();
            restDue = undefined;
          }
          if (buffer !== "" && restDue === undefined && Number.isFinite(maxLagMs)) restDue = scheduler.schedule(releaseRest, maxLagMs);
          drain();
        },
        error: (error: unknown) => finish(true, error),
        complete: () => finish(false),
      });

      return () => {
        upstream.unsubscribe();
        tick?.unsubscribe();
        restDue?.unsubscribe();
      };
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

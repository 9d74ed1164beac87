import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import type { CompletionUsage } from "openai/resources/completions";
import { type OperatorFunction, type SchedulerLike, asyncScheduler, defer, map, reduce } from "rxjs";
import { choicesOf, contentOf, deltaOf, usageOf } from "./chunk-reader.js";
import { isContentChunk } from "./content.js";

/** Measurements of one streamed answer. Times are in milliseconds from the subscription. */
export interface StreamStats {
  /** When the first content chunk arrived (see `isContentChunk`), or `null` when none did. */
  firstContentMs: number | null;
  /** When the stream completed. */
  durationMs: number;
  /** Chunks received, of any kind. */
  chunks: number;
  /** Characters (Unicode code points) of `delta.content`, over every choice. */
  characters: number;
  /**
   * `characters` per second between the first content chunk and completion:
   * the generation speed, without the wait for the first chunk. `null` when
   * that interval is empty (no content, or all of it in the last instant).
   */
  charactersPerSecond: number | null;
  /** The token usage the stream carried (the last chunk with `usage`, e.g. with `stream_options.include_usage`). */
  usage?: CompletionUsage;
}

export interface StreamStatsOptions {
  /** Clock for the times. Default `asyncScheduler`, whose `now()` is `Date.now()`. */
  scheduler?: SchedulerLike;
}

interface Tally {
  firstContentAt: number | null;
  chunks: number;
  characters: number;
  usage: CompletionUsage | undefined;
}

/**
 * Emits one `StreamStats` when the stream completes.
 *
 * Counts the chunks and the characters of text, notes when the first content
 * arrived and when the stream ended, and keeps the `usage` a provider sends
 * in its last chunk. Times come from the scheduler's `now()`, measured from
 * the subscription, so marble tests can check them exactly. On error the
 * error passes through and no statistics are emitted. The chunks themselves
 * are not passed on: measure a shared stream (`share()`, or `connect`) next
 * to the branch that prints it.
 *
 * ## Examples
 * ```ts
 * import OpenAI from "openai";
 * import { connect, merge, ignoreElements, tap } from "rxjs";
 * import { extractDelta, fromChatCompletion, printTo, streamStats } from "g4f-rx";
 *
 * const client = new OpenAI({ baseURL: "http://localhost:1337/v1", apiKey: "none" });
 * fromChatCompletion(client, { model: "gpt-4", messages: [{ role: "user", content: "Say hello there!" }] })
 *   .pipe(
 *     connect((chunks) =>
 *       merge(
 *         chunks.pipe(extractDelta(), printTo(process.stdout), ignoreElements()),
 *         chunks.pipe(streamStats()),
 *       ),
 *     ),
 *     tap((stats) => console.error(`\n${JSON.stringify(stats)}`)),
 *   )
 *   .subscribe();
 * // A live provider's answer, for instance:
 * // Hello there! How can I help you today?
 * // {"firstContentMs":412,"durationMs":1630,"chunks":12,"characters":38,"charactersPerSecond":31.198686371100166}
 * ```
 */
export function streamStats(options: StreamStatsOptions = {}): OperatorFunction<ChatCompletionChunk, StreamStats> {
  const { scheduler = asyncScheduler } = options;
  if (typeof scheduler.now !== "function") throw new TypeError("streamStats: scheduler must have now()");

  return (source) =>
    defer(() => {
      const start = scheduler.now();
      const initial: Tally = { firstContentAt: null, chunks: 0, characters: 0, usage: undefined };
      return source.pipe(
        reduce((tally: Tally, chunk: ChatCompletionChunk): Tally => {
          tally.chunks += 1;
          tally.characters += charactersOf(chunk);
          if (tally.firstContentAt === null && isContentChunk(chunk)) tally.firstContentAt = scheduler.now();
          tally.usage = usageOf(chunk) ?? tally.usage;
          return tally;
        }, initial),
        map((tally): StreamStats => {
          const end = scheduler.now();
          const firstContentMs = tally.firstContentAt === null ? null : tally.firstContentAt - start;
          const generatingMs = tally.firstContentAt === null ? 0 : end - tally.firstContentAt;
          const stats: StreamStats = {
            firstContentMs,
            durationMs: end - start,
            chunks: tally.chunks,
            characters: tally.characters,
            charactersPerSecond: generatingMs > 0 ? (tally.characters * 1000) / generatingMs : null,
          };
          if (tally.usage) stats.usage = tally.usage;
          return stats;
        }),
      );
    });
}

function charactersOf(chunk: ChatCompletionChunk): number {
  let count = 0;
  for (const choice of choicesOf(chunk)) {
    const content = contentOf(deltaOf(choice));
    // Code points, so an emoji counts once, as a reader would count it.
    if (content !== undefined) count += [...content].length;
  }
  return count;
}

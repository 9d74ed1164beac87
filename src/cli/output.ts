import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { type Observable, type OperatorFunction, connect, filter, ignoreElements, map, merge, pipe, tap } from "rxjs";
import { type StreamStats, type TextWritable, type ThinkingPart, extractDelta, printTo, smooth, streamStats } from "../../operators/index.js";
import { thinkingParts } from "../recipes/index.js";
import { counted } from "../sources/protocol.js";
import type { CliOptions } from "./options.js";
import { neutraliser } from "./terminal.js";

/** Where the parts of an answer go. */
export interface AnswerWriters {
  /** The answer: stdout. */
  readonly answer: TextWritable;
  /** The model's reasoning, with `--show-reasoning`: stderr. */
  readonly reasoning: TextWritable;
  /** Dims the reasoning (identity when stderr is not a colour terminal). */
  readonly dim: (text: string) => string;
  /** What `dim` held back of the reasoning (see dimmedReasoning), written when the reasoning ends; "" if nothing. */
  readonly reasoningEnd?: (() => string) | undefined;
  /** Takes what is printed out of the answer text (`-x`: a code block), before `--smooth` paces it. */
  readonly extract?: OperatorFunction<string, string> | undefined;
  /** Formats the answer text before it is printed (`--render`: markdown for a terminal). */
  readonly format?: OperatorFunction<string, string> | undefined;
}

/** How the chunks are printed, and what was measured, once the stream has ended. */
export interface AnswerPrinter {
  /** Prints the chunks as the options say; completes or errors with the source. */
  print(chunks: Observable<ChatCompletionChunk>): Observable<never>;
  /** Ends a reasoning line left open on stderr. Call once, after the stream ended. */
  finish(): void;
  /** The statistics, when `--stats` was given and the stream completed. */
  readonly stats: StreamStats | undefined;
}

/**
 * The output half of the command: the answer (text, or `--json` lines) to
 * stdout, the reasoning to stderr with `--show-reasoning`, `--smooth` pacing,
 * and `--stats` measurement. Live, fallback and replayed streams all go
 * through it. `wholeJson` gives, for a `--no-stream` answer's single chunk,
 * the whole completion that `--json` prints instead.
 */
export function answerPrinter(
  options: Pick<CliOptions, "json" | "showReasoning" | "smooth" | "stats">,
  writers: AnswerWriters,
  wholeJson: (chunk: ChatCompletionChunk) => unknown = (chunk) => chunk,
): AnswerPrinter {
  let stats: StreamStats | undefined;
  let reasoningOpen = false;
  let reasoningShown = false;
  let answerStarted = false;

  const writeReasoning = (text: string): void => {
    writers.reasoning.write(writers.dim(text));
    reasoningShown = true;
    reasoningOpen = !text.endsWith("\n");
  };
  const closeReasoning = (): void => {
    const left = writers.reasoningEnd?.() ?? "";
    if (left !== "") writers.reasoning.write(left);
    if (reasoningOpen) writers.reasoning.write("\n");
    reasoningOpen = false;
  };

  /** The answer text, its code block with `-x`, paced with `--smooth`, printed. */
  const printAnswerText: OperatorFunction<string, string> = pipe(
    writers.extract ?? ((text$: Observable<string>) => text$),
    options.smooth === undefined ? (text$: Observable<string>) => text$ : smooth({ chunking: options.smooth }),
    writers.format ?? ((text$: Observable<string>) => text$),
    printTo(writers.answer),
  );

  const printText = (chunks: Observable<ChatCompletionChunk>): Observable<unknown> => {
    if (!options.showReasoning) return chunks.pipe(extractDelta(), printAnswerText);
    return thinkingParts(chunks).pipe(
      connect((parts) =>
        merge(
          parts.pipe(
            filter((part) => part.kind === "reasoning"),
            tap((part) => writeReasoning(part.text)),
          ),
          parts.pipe(
            filter((part): part is ThinkingPart & { kind: "content" } => part.kind === "content"),
            // The blank line models put after </think> only separated it from the reasoning, which is now elsewhere.
            map((part) => (answerStarted || !reasoningShown ? part.text : part.text.replace(/^\s+/, ""))),
            filter((text) => text !== ""),
            tap(() => {
              answerStarted = true;
              closeReasoning();
            }),
            printAnswerText,
          ),
        ),
      ),
    );
  };

  return {
    print: (chunks) =>
      chunks.pipe(
        connect((shared) =>
          merge(
            options.json ? shared.pipe(tap((chunk) => writers.answer.write(`${JSON.stringify(wholeJson(chunk))}\n`))) : printText(shared),
            options.stats ? shared.pipe(streamStats(), tap((measured) => (stats = measured))) : [],
          ),
        ),
        ignoreElements(),
      ),
    finish: closeReasoning,
    get stats() {
      return stats;
    },
  };
}

/**
 * `dim` and `reasoningEnd` for the reasoning on stderr: made harmless piece by piece on a terminal (a CR LF or a
 * character cut between two pieces stays whole, see neutraliser), then dimmed by `note`.
 */
export function dimmedReasoning(terminal: boolean, note: (text: string) => string): Pick<AnswerWriters, "dim" | "reasoningEnd"> {
  const text = neutraliser(terminal);
  const dim = (shown: string): string => (shown === "" ? "" : note(shown));
  return { dim: (piece) => dim(text.piece(piece)), reasoningEnd: () => dim(text.end()) };
}

/** `--stats` as one line: "first content after 612 ms, 1.42 s in all, 12 chunks, 38 characters, 47 characters/s, 20 tokens (9 prompt + 11 completion)". */
export function formatStats(stats: StreamStats): string {
  const parts = [
    stats.firstContentMs === null ? "no content" : `first content after ${Math.round(stats.firstContentMs)} ms`,
    `${(stats.durationMs / 1000).toFixed(2)} s in all`,
    counted(stats.chunks, "chunk"),
    counted(stats.characters, "character"),
  ];
  if (stats.charactersPerSecond !== null) parts.push(`${Math.round(stats.charactersPerSecond)} characters/s`);
  const { usage } = stats;
  if (usage !== undefined) parts.push(`${usage.total_tokens} tokens (${usage.prompt_tokens} prompt + ${usage.completion_tokens} completion)`);
  return parts.join(", ");
}


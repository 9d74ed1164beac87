import { statSync } from "node:fs";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { last, map } from "rxjs";
import { accumulateResponse } from "../../operators/index.js";
import { assembleCompletion, completionChunk } from "../recipes/index.js";
import { type Cassette, CassetteError, readCassette, readCassettes } from "../replay/cassette.js";
import { fromCassette, fromResponsesCassette } from "../replay/from-cassette.js";
import { CassettePlays, describePlay } from "../replay/match.js";
import { type AnswerSource, type RequestParams, timeouts } from "./answer-source.js";
import { describeReplayError } from "./describe-error.js";
import { EXIT } from "./exit-codes.js";
import { cassetteSkips } from "./skipped-cassettes.js";
import { MAX_TIMER_MS } from "./option-table.js";
import type { CliOptions } from "./options.js";
import { chunkOfResponse, chunksOfEvents } from "./responses-api.js";

// chat loads this module when it replays, and keeps one session of plays for the whole chat.
export { CassettePlays };

/** A recorded answer to replay, or why there is none (with the exit code). */
export type ReplayAnswer =
  | {
      readonly kind: "answer";
      readonly file: string;
      readonly provenance: string | undefined;
      /** Which recording of this request it is, in words, when it was recorded more than once (see `describePlay`). */
      readonly play: string | undefined;
      /** Every recording of this request had answered: the last answers again. */
      readonly repeated: boolean;
      readonly source: AnswerSource;
    }
  | { readonly kind: "failed"; readonly code: number; readonly message: string };

/**
 * The recorded answer to the request, from the cassettes in `path` (a
 * directory of `*.cassette.jsonl` files, or one file), matched by
 * `matchCassette` (a request recorded several times gets the recording
 * `plays` has not played yet, in the order recorded). Nothing touches the
 * network, and the openai client is not loaded. Streams with the recorded
 * timing divided by `--speed`; with `--no-stream`, the whole answer at once.
 */
export function replayAnswer(
  path: string,
  request: Omit<RequestParams, "model"> & { model: string | undefined },
  options: Pick<CliOptions, "stream" | "speed" | "timeout" | "idleTimeout">,
  /**
   * The recordings played so far in this replay: chat keeps one for the whole chat, so a question asked again (/retry)
   * gets its next recording. Without it (one question), the first recorded answers.
   */
  plays: CassettePlays = new CassettePlays(),
  /** Gets the sentence for each file of a directory that is not a cassette: it is skipped, as `serve` skips it. */
  warn: (text: string) => void = () => undefined,
): ReplayAnswer {
  let cassettes: Cassette[];
  const skips = cassetteSkips(warn);
  try {
    // A file named on its own is read or refused; one bad file among a directory's leaves the others usable.
    cassettes = statSync(path).isDirectory() ? readCassettes(path, skips.skip) : [readCassette(path)];
    skips.end();
  } catch (error) {
    if (error instanceof CassetteError) return { kind: "failed", code: EXIT.failure, message: error.message };
    const reason = isErrno(error) && error.code === "ENOENT" ? "no such file or directory" : error instanceof Error ? error.message : String(error);
    return { kind: "failed", code: EXIT.usage, message: `--replay ${path}: ${reason}` };
  }
  if (cassettes.length === 0 && skips.count() > 0) {
    return { kind: "failed", code: EXIT.failure, message: `--replay ${path}: no usable cassettes: all ${skips.count()} are corrupt (see above)` };
  }
  if (cassettes.length === 0) {
    return { kind: "failed", code: EXIT.usage, message: `--replay ${path}: no cassettes (*.cassette.jsonl) in this directory` };
  }

  const match = plays.next(cassettes, request);
  if (match.cassette === undefined) {
    const nearest = match.nearest.map((near) => `  ${near.file}: ${JSON.stringify(near.prompt)}${near.model === undefined ? "" : ` (${near.model})`}${near.difference === undefined ? "" : `: ${near.difference}`}`);
    // The same question recorded after other messages (a system prompt, earlier turns) is the usual surprise.
    const sameQuestion = match.nearest.some((near) => near.similarity === 1)
      ? "A recording answers the whole conversation it was recorded in: the nearest asks the same question after other messages (give the same -s system prompt; a later turn replays with g4f-rx chat --replay DIR)."
      : "Record one with --record FILE against a live endpoint.";
    return {
      kind: "failed",
      code: EXIT.failure,
      message: [`No recording in ${path} answers this prompt. The nearest:`, ...nearest, sameQuestion].join("\n"),
    };
  }

  const { cassette } = match;
  const file = cassette.file ?? path;
  const overflow = speedOverflow(cassette, options.speed ?? 1, file);
  if (overflow !== undefined) return { kind: "failed", code: EXIT.usage, message: overflow };
  // What --json prints for a chunk that stands for something else: a whole completion, or a Responses event or response.
  const wholes = new WeakMap<ChatCompletionChunk, unknown>();
  const keep = (chunk: ChatCompletionChunk, whole: unknown): ChatCompletionChunk => (wholes.set(chunk, whole), chunk);
  const model = request.model ?? cassette.request.model ?? "";
  const chunks =
    cassette.api === "responses"
      ? options.stream
        ? fromResponsesCassette(cassette, { speed: options.speed }).pipe(chunksOfEvents(model, keep))
        : fromResponsesCassette(cassette, { speed: Infinity }).pipe(
            accumulateResponse(),
            last(),
            map((response) => keep(chunkOfResponse(response), response)),
          )
      : options.stream
        ? fromCassette(cassette, { speed: options.speed })
        : fromCassette(cassette, { speed: Infinity }).pipe(
            assembleCompletion(),
            map((completion) => keep(completionChunk(completion), completion)),
          );
  return {
    kind: "answer",
    file,
    // A cassette not recorded by g4f-rx says where it comes from; the note passes that on.
    provenance: cassette.source,
    play: describePlay(match),
    repeated: match.repeated,
    source: {
      chunks: chunks.pipe(timeouts(options)),
      wholeJson: (chunk) => wholes.get(chunk) ?? chunk,
      describe: (error) => describeReplayError(error, file),
    },
  };
}

function isErrno(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && "code" in error;
}

/** Why `--speed` cannot replay `cassette` (its recorded timing would overflow a timer), or `undefined` when it can. */
export function speedOverflow(cassette: Cassette, speed: number, file: string): string | undefined {
  const longest = Math.max(0, ...cassette.frames.map((frame) => frame.at));
  if (!Number.isFinite(speed) || longest / speed <= MAX_TIMER_MS) return undefined;
  const days = longest / speed / 86_400_000;
  return `--speed ${speed} would stretch ${file}'s ${longest} ms to ${days >= 1e6 ? days.toExponential(1) : Math.round(days)} days; a replay can last at most ${Math.floor(MAX_TIMER_MS / 86_400_000)} days`;
}

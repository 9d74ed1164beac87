import type { ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { lastValueFrom } from "rxjs";
import type { TextWritable } from "../../operators/index.js";
import { settle } from "../recipes/index.js";
import type { AnswerSource, RequestParams } from "./answer-source.js";
import { type ConversationPlan, withInput } from "./conversation.js";
import { EXIT, exitCodeFor } from "./exit-codes.js";
import type { CliIo } from "./io.js";
import type { CliOptions } from "./options.js";
import { answerPrinter, formatStats } from "./output.js";
import { replayAnswer } from "./replay.js";
import type { AnswerTarget } from "./targets.js";
import { NO_SPINNER, type Spinner, type Styles, startSpinner } from "./terminal.js";

/** Gets the answer (live or recorded), prints it as `options` say, reports how it ended, and resolves with the exit code. */
export async function ask(
  io: CliIo,
  options: CliOptions,
  target: AnswerTarget,
  turn: { readonly plan: ConversationPlan; readonly input: ChatCompletionMessageParam[] },
  style: Styles,
): Promise<number> {
  const messages = withInput(turn.plan.history, turn.input);
  // Set once the source is known; notes during the stream (fallback switches) erase it first.
  let spinner: Spinner = NO_SPINNER;
  const note = (text: string): void => {
    if (options.quiet) return;
    spinner.stop();
    io.stderr.write(`${style.note(`g4f-rx: ${text}`)}\n`);
  };

  let source: AnswerSource;
  let waitingFor: string;
  if (target.kind === "replay") {
    const replay = replayAnswer(target.path, { ...requestParams(options, messages), model: target.model }, options);
    if (replay.kind === "failed") {
      io.stderr.write(`${style.error("g4f-rx:")} ${replay.message}\n`);
      return replay.code;
    }
    note(
      `replaying ${replay.provenance === undefined ? "a recorded answer" : `a cassette (${replay.provenance})`} from ${replay.file}; nothing is sent to any endpoint`,
    );
    source = replay.source;
    waitingFor = `replaying ${replay.file}`;
  } else {
    const [primary] = target.endpoints;
    // The openai client is loaded only here, on the live path.
    const { liveAnswer } = await import("./live.js");
    const params = { ...requestParams(options, messages), model: primary.model };
    const live = await liveAnswer(io, options, target.endpoints, params, note);
    const record = turn.plan.record({ endpoint: primary.baseURL, model: primary.model, input: turn.input, request: params });
    source = { ...live, chunks: live.chunks.pipe(record) };
    waitingFor = `waiting for ${primary.model} at ${primary.baseURL}`;
  }

  if (io.stderr.isTTY === true && !options.quiet) spinner = startSpinner(io.stderr, waitingFor, style);
  let printedCharacters = 0;
  let lastCharacter = "";
  const answer: TextWritable = {
    write: (text: string) => {
      spinner.stop();
      if (text !== "") {
        printedCharacters += text.length;
        lastCharacter = text.slice(-1);
      }
      return io.stdout.write(text);
    },
  };
  const reasoning: TextWritable = {
    write: (text: string) => {
      spinner.stop();
      return io.stderr.write(text);
    },
  };
  const format = rendersMarkdown(options, io.stdout) ? (await import("./markdown.js")).renderMarkdown() : undefined;
  const printer = answerPrinter(options, { answer, reasoning, dim: (text) => style.note(text), format }, source.wholeJson);

  const settled = await lastValueFrom(printer.print(source.chunks).pipe(settle<undefined>(undefined, { signal: io.stop.signal })));
  spinner.stop();
  printer.finish();

  const reason = io.stop.reason;
  const readerGone = reason === "EPIPE" || reason === "output-error" || (settled.end === "error" && isBrokenPipe(settled.error));
  // The answer ends with a newline, also when it was cut short, so the shell prompt starts on its own line.
  if (!readerGone && printedCharacters > 0 && lastCharacter !== "\n") io.stdout.write("\n");

  if (settled.end === "complete") {
    // Asked for by name, so shown also with --quiet.
    if (printer.stats !== undefined) io.stderr.write(`${style.note(`g4f-rx: ${formatStats(printer.stats)}`)}\n`);
    return EXIT.success;
  }
  if (reason === "output-error") {
    io.stderr.write(`${style.error("g4f-rx:")} could not write to stdout.\n`);
    return EXIT.failure;
  }
  // A closed pipe is how `| head` says "enough": not an error.
  if (readerGone) return EXIT.success;
  if (settled.end === "aborted") return exitCodeFor(reason);
  const lines = [source.describe(settled.error)];
  if (printedCharacters > 0) {
    lines.push(`The partial answer printed before the error (${printedCharacters} characters) was kept; it is incomplete.`);
  }
  io.stderr.write(`${style.error("g4f-rx:")} ${lines.join("\n")}\n`);
  return EXIT.failure;
}

/** The request without its model: one streamed (or, with --no-stream, one whole) chat completion. */
function requestParams(options: CliOptions, messages: ChatCompletionMessageParam[]): Omit<RequestParams, "model"> {
  return {
    messages,
    ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
    // max_tokens rather than max_completion_tokens: every OpenAI-compatible server reads it.
    ...(options.maxTokens === undefined ? {} : { max_tokens: options.maxTokens }),
  };
}

/** `--render`: always, never, or (auto) when stdout is a terminal; never for `--json`. */
export function rendersMarkdown(options: Pick<CliOptions, "render" | "json">, stdout: { readonly isTTY?: boolean | undefined }): boolean {
  if (options.json) return false;
  return options.render === "always" || (options.render === "auto" && stdout.isTTY === true);
}

function isBrokenPipe(error: unknown): boolean {
  return typeof error === "object" && error !== null && "code" in error && (error.code === "EPIPE" || error.code === "ERR_STREAM_DESTROYED");
}

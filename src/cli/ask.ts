import type { ChatCompletionChunk, ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { defer, fromEvent, lastValueFrom, of, takeUntil, tap } from "rxjs";
import type { TextWritable } from "../../operators/index.js";
import { settle } from "../recipes/index.js";
import { AnswerEnding } from "./answer-ending.js";
import { type AnswerSource, requestParams } from "./answer-source.js";
import { type ConversationPlan, withInput } from "./conversation.js";
import { EXIT, exitCodeFor } from "./exit-codes.js";
import type { CliIo } from "./io.js";
import type { CliOptions } from "./options.js";
import { answerPrinter, dimmedReasoning, formatStats } from "./output.js";
import { StdoutFlow } from "./output-flow.js";
import type { Recording } from "./recording.js";
import { ENVIRONMENT_VARIABLES, type Environment } from "../endpoints.js";
import { type AnswerTarget, endpointLabel } from "./targets.js";
import { NO_SPINNER, type Spinner, type Styles, canAnimate, forcedColour, neutralise, neutraliser, startSpinner } from "./terminal.js";

/** Gets the answer (live or recorded), prints it as `options` say, reports how it ended, and resolves with the exit code. */
export async function ask(
  io: CliIo,
  options: CliOptions,
  target: AnswerTarget,
  turn: { readonly plan: ConversationPlan; readonly input: ChatCompletionMessageParam[] },
  style: Styles,
  recording?: Recording,
): Promise<number> {
  const messages = withInput(turn.plan.history, turn.input);
  // Set once the source is known; notes during the stream (fallback switches) erase it first.
  let spinner: Spinner = NO_SPINNER;
  // Text from the network reaches a terminal with its control characters made visible; pipes get it byte for byte.
  // The markdown renderer (on a terminal by default) makes the text harmless itself, and writes its own styling.
  const stdoutText = neutraliser(io.stdout.isTTY === true && !rendersMarkdown(options, io.stdout, io.env));
  const forStderr = io.stderr.isTTY === true ? neutralise : (text: string): string => text;
  const note = (text: string): void => {
    if (options.quiet) return;
    spinner.stop();
    io.stderr.write(`${style.note(`g4f-rx: ${forStderr(text)}`)}\n`);
  };

  const flow = new StdoutFlow(io.stdout);
  let source: AnswerSource;
  let waitingFor: string;
  let receivingFrom: string;
  if (target.kind === "replay") {
    // The replay path's code (cassettes, matching) is loaded only here.
    const { replayAnswer } = await import("./replay.js");
    const warn = (text: string): void => void io.stderr.write(`${style.error("g4f-rx:")} ${forStderr(text)}\n`);
    const replay = replayAnswer(target.path, { ...requestParams(options, messages), model: target.model }, options, undefined, warn);
    if (replay.kind === "failed") {
      io.stderr.write(`${style.error("g4f-rx:")} ${forStderr(replay.message)}\n`);
      return replay.code;
    }
    // Short, and about what happens: the cassette, where it comes from, and that nothing goes out.
    const about = [replay.provenance, replay.play].filter((part) => part !== undefined).join("; ");
    note(`replaying ${replay.file}${about === "" ? "" : ` (${about})`}; nothing is sent`);
    source = replay.source;
    waitingFor = `replaying ${replay.file}`;
    receivingFrom = `replaying ${replay.file}: the answer is arriving`;
  } else {
    const [primary] = target.endpoints;
    // An endpoint chosen by the environment (OPENAI_BASE_URL is often set for other tools) is named on a terminal, so
    // nobody is surprised; pipes and logs stay as they were.
    if (primary.baseURLSource === "environment" && io.stderr.isTTY === true) {
      const variable = primary.endpoint === undefined ? ENVIRONMENT_VARIABLES.baseURL : ENVIRONMENT_VARIABLES.endpoint;
      note(`asking ${endpointLabel(primary)} (from $${variable}), model ${primary.model}`);
    }
    // The live path's code is loaded only here.
    const { liveAnswer } = await import("./live.js");
    const params = { ...requestParams(options, messages), model: primary.model };
    let temporary: string | undefined;
    try {
      temporary = recording?.create();
    } catch (error) {
      io.stderr.write(`${style.error("g4f-rx:")} --record ${options.record ?? ""}: cannot create its temporary file: ${error instanceof Error ? error.message : String(error)}. Nothing was sent.\n`);
      return EXIT.failure;
    }
    const live = await liveAnswer(io, temporary === undefined ? options : { ...options, record: temporary }, target.endpoints, params, note, flow);
    // A fallback's answer is kept under the endpoint that gave it, so -c goes on there.
    const answeredBy = (): { endpoint: string; model: string } => {
      const { baseURL, model } = live.answeredBy?.() ?? primary;
      return { endpoint: baseURL, model };
    };
    const record = turn.plan.record({ endpoint: primary.baseURL, model: primary.model, input: turn.input, request: params, answeredBy });
    source = { ...live, chunks: live.chunks.pipe(record) };
    waitingFor = `waiting for ${primary.model} at ${primary.baseURL}`;
    receivingFrom = `${primary.model} is answering`;
  }

  if (canAnimate(io.stderr, io.env) && !options.quiet) spinner = startSpinner(io.stderr, waitingFor, style);
  let printedCharacters = 0;
  let lastCharacter = "";
  const answer: TextWritable = {
    write: (text: string) => {
      spinner.stop();
      if (text !== "") {
        printedCharacters += text.length;
        lastCharacter = text.slice(-1);
      }
      return flow.write(stdoutText.piece(text));
    },
  };
  const reasoning: TextWritable = {
    write: (text: string) => {
      spinner.stop();
      // Already made visible by `dim` below, before styling.
      return io.stderr.write(text);
    },
  };
  const format = rendersMarkdown(options, io.stdout, io.env) ? (await import("./markdown.js")).renderMarkdown({ colour: colourOnStdout(io.env), columns: () => io.stdout.columns }) : undefined;
  const extract =
    options.extract || options.extractLast
      ? (await import("./extract.js")).extractCodeBlock(options.extractLast ? "last" : "first", () => note("the answer has no fenced code block; it is printed whole"))
      : undefined;
  const printer = answerPrinter(options, { answer, reasoning, ...dimmedReasoning(io.stderr.isTTY === true, (text) => style.note(text)), extract, format }, source.wholeJson);

  const ending = new AnswerEnding();
  // Ctrl-C, SIGTERM or a closed stdout ends the answer's chunks (the request is aborted, the turn kept as cancelled),
  // not its printing: what the renderer or --smooth holds still goes out, as it does before an error.
  const stopped$ = defer(() => (io.stop.signal.aborted ? of(undefined) : fromEvent(io.stop.signal, "abort")));
  // Once the answer streams, the spinner (still there while a paragraph or a sentence is held) says so.
  let streaming = false;
  const seen = (chunk: ChatCompletionChunk): void => {
    ending.see(chunk);
    if (streaming) return;
    streaming = true;
    spinner.say(receivingFrom);
  };
  const settled = await lastValueFrom(printer.print(source.chunks.pipe(tap(seen), takeUntil(stopped$))).pipe(settle<undefined>(undefined)));
  const stopped = io.stop.signal.aborted;
  spinner.stop();
  printer.finish();
  if (recording !== undefined) {
    if (stopped) {
      recording.discard();
    } else {
      const kept = recording.finish();
      // Said even with --quiet: a recording that did not go where asked must never pass unnoticed.
      if (kept?.displaced === true) {
        io.stderr.write(`${style.error("g4f-rx:")} ${options.record ?? ""} was written by another recording meanwhile; this one is in ${kept.file}\n`);
      } else if (kept !== undefined) {
        note(`recorded into ${kept.file}`);
      }
    }
  }

  const reason = io.stop.reason;
  const readerGone = reason === "EPIPE" || reason === "output-error" || (settled.end === "error" && isBrokenPipe(settled.error));
  // A carriage return that ended the answer waited for a line feed that never came.
  const left = stdoutText.end();
  if (!readerGone && left !== "") io.stdout.write(left);
  // The answer ends with a newline, also when it was cut short, so the shell prompt starts on its own line.
  if (!readerGone && printedCharacters > 0 && lastCharacter !== "\n") io.stdout.write("\n");

  if (settled.end === "complete" && !stopped) {
    // Asked for by name, so shown also with --quiet.
    if (printer.stats !== undefined) io.stderr.write(`${style.note(`g4f-rx: ${formatStats(printer.stats)}`)}\n`);
    const problem = ending.problem({ showReasoning: options.showReasoning, json: true });
    if (problem === undefined) return EXIT.success;
    io.stderr.write(`${style.error("g4f-rx:")} ${forStderr(problem)}\n`);
    return EXIT.incomplete;
  }
  if (reason === "output-error") {
    io.stderr.write(`${style.error("g4f-rx:")} could not write to stdout.\n`);
    return EXIT.failure;
  }
  // A closed pipe is how `| head` says "enough": not an error.
  if (readerGone) return EXIT.success;
  if (stopped || settled.end !== "error") return exitCodeFor(reason);
  const lines = [source.describe(settled.error)];
  if (printedCharacters > 0) {
    lines.push(`The partial answer printed before the error (${printedCharacters} characters) was kept; it is incomplete.`);
  }
  io.stderr.write(`${style.error("g4f-rx:")} ${forStderr(lines.join("\n"))}\n`);
  return EXIT.failure;
}

/** `--render`: always, never, or (auto) when stdout is a terminal that shows styles (not `TERM=dumb`); never for `--json`. */
export function rendersMarkdown(options: Pick<CliOptions, "render" | "json" | "extract" | "extractLast">, stdout: { readonly isTTY?: boolean | undefined }, env: Environment): boolean {
  // JSON lines and extracted code are printed as they are.
  if (options.json || options.extract || options.extractLast) return false;
  return options.render === "always" || (options.render === "auto" && stdout.isTTY === true && env.TERM !== "dumb");
}

/**
 * Whether rendered markdown may use colours: as `FORCE_COLOR` says when it is set (FORCE_COLOR=0: none), else not with
 * `NO_COLOR` set (no-color.org). Either leaves the other styles.
 */
export function colourOnStdout(env: Environment): boolean {
  return forcedColour(env) ?? (env.NO_COLOR === undefined || env.NO_COLOR === "");
}

function isBrokenPipe(error: unknown): boolean {
  return typeof error === "object" && error !== null && "code" in error && (error.code === "EPIPE" || error.code === "ERR_STREAM_DESTROYED");
}

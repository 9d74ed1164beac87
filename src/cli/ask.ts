import { Console } from "node:console";
import OpenAI from "openai";
import type { ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { type Observable, lastValueFrom, map } from "rxjs";
import { type TextWritable, printTo } from "../../operators/index.js";
import type { ResolvedEndpoint } from "../endpoints.js";
import { completionText, printJsonLines, requestCompletion, settle, typewriter } from "../recipes/index.js";
import { fromChatCompletion } from "../sources/index.js";
import { describeError } from "./describe-error.js";
import { EXIT, exitCodeFor } from "./exit-codes.js";
import type { CliIo } from "./io.js";
import type { CliOptions } from "./options.js";
import { NO_SPINNER, type Styles, startSpinner } from "./terminal.js";

/** Sends the request, prints the answer as `options` say, reports how it ended, and resolves with the exit code. */
export async function ask(io: CliIo, options: CliOptions, resolved: ResolvedEndpoint, prompt: string, style: Styles): Promise<number> {
  const client = new OpenAI({
    baseURL: resolved.baseURL,
    // The SDK insists on a key; without one, the header is removed below and none is sent.
    apiKey: resolved.apiKey ?? "none",
    defaultHeaders: resolved.apiKey === undefined ? { Authorization: null } : undefined,
    // Not read from OPENAI_ORG_ID / OPENAI_PROJECT_ID: they belong to OpenAI, not to every endpoint.
    organization: null,
    project: null,
    maxRetries: resolved.maxRetries,
    // OPENAI_LOG output must not mix with the answer on stdout.
    logger: new Console({ stdout: io.stderr, stderr: io.stderr }),
  });

  const spinner =
    io.stderr.isTTY === true && !options.quiet
      ? startSpinner(io.stderr, `waiting for ${resolved.model} at ${resolved.baseURL}`, style)
      : NO_SPINNER;
  let printedCharacters = 0;
  let lastCharacter = "";
  const out: TextWritable = {
    write: (text: string) => {
      spinner.stop();
      if (text !== "") {
        printedCharacters += text.length;
        lastCharacter = text.slice(-1);
      }
      return io.stdout.write(text);
    },
  };

  const settled = await lastValueFrom(
    answer(client, requestParams(options, resolved, prompt), options, out).pipe(settle<unknown>(undefined, { signal: io.stop.signal })),
  );
  spinner.stop();

  const reason = io.stop.reason;
  const readerGone = reason === "EPIPE" || reason === "output-error" || (settled.end === "error" && isBrokenPipe(settled.error));
  // The answer ends with a newline, also when it was cut short, so the shell prompt starts on its own line.
  if (!readerGone && printedCharacters > 0 && lastCharacter !== "\n") io.stdout.write("\n");

  if (settled.end === "complete") return EXIT.success;
  if (reason === "output-error") {
    io.stderr.write(`${style.error("g4f-rx:")} could not write to stdout.\n`);
    return EXIT.failure;
  }
  // A closed pipe is how `| head` says "enough": not an error.
  if (readerGone) return EXIT.success;
  if (settled.end === "aborted") return exitCodeFor(reason);
  const lines = [describeError(settled.error, resolved)];
  if (printedCharacters > 0) {
    lines.push(`The partial answer printed before the error (${printedCharacters} characters) was kept; it is incomplete.`);
  }
  io.stderr.write(`${style.error("g4f-rx:")} ${lines.join("\n")}\n`);
  return EXIT.failure;
}

/** The request: one streamed (or, with --no-stream, one whole) chat completion. */
function requestParams(options: CliOptions, resolved: ResolvedEndpoint, prompt: string): Omit<ChatCompletionCreateParamsNonStreaming, "stream"> {
  const messages: ChatCompletionMessageParam[] = [];
  if (options.system !== undefined && options.system !== "") messages.push({ role: "system", content: options.system });
  messages.push({ role: "user", content: prompt });
  return {
    model: resolved.model,
    messages,
    ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
    // max_tokens rather than max_completion_tokens: every OpenAI-compatible server reads it.
    ...(options.maxTokens === undefined ? {} : { max_tokens: options.maxTokens }),
  };
}

/** The pipeline for the output mode: text or JSON lines, streamed or whole. */
function answer(
  client: OpenAI,
  params: Omit<ChatCompletionCreateParamsNonStreaming, "stream">,
  options: CliOptions,
  out: TextWritable,
): Observable<unknown> {
  if (options.stream) {
    const chunks$ = fromChatCompletion(client, params);
    return options.json ? chunks$.pipe(printJsonLines(out)) : chunks$.pipe(typewriter(out));
  }
  const completion$ = requestCompletion(client, params);
  return options.json
    ? completion$.pipe(printJsonLines(out))
    : completion$.pipe(
        map((completion) => completionText(completion)),
        printTo(out),
      );
}

function isBrokenPipe(error: unknown): boolean {
  return typeof error === "object" && error !== null && "code" in error && (error.code === "EPIPE" || error.code === "ERR_STREAM_DESTROYED");
}

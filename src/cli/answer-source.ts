import type { ChatCompletionChunk, ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam } from "openai/resources/chat/completions";
import type { MonoTypeOperatorFunction, Observable } from "rxjs";
import { streamTimeout } from "../../operators/index.js";
import type { ResolvedEndpoint } from "../endpoints.js";
import type { CliOptions } from "./options.js";
import { requestFields } from "./request-fields.js";

/** The request the user asked for, without `stream` (each path sets its own). */
export type RequestParams = Omit<ChatCompletionCreateParamsNonStreaming, "stream">;

/**
 * The request without its model, for a question and for each of chat's: the messages, `-t`, `--max-tokens` and the
 * fields `-o` gives (their keys checked already by the option table).
 */
export function requestParams(options: Pick<CliOptions, "temperature" | "maxTokens" | "option">, messages: ChatCompletionMessageParam[]): Omit<RequestParams, "model"> {
  return {
    ...requestFields(options.option),
    messages,
    ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
    // max_tokens rather than max_completion_tokens: every OpenAI-compatible server reads it.
    ...(options.maxTokens === undefined ? {} : { max_tokens: options.maxTokens }),
  };
}

/** An answer to print: its chunks, and how to explain its failure. */
export interface AnswerSource {
  readonly chunks: Observable<ChatCompletionChunk>;
  /** For `--json --no-stream`: the whole completion a chunk stands for. */
  readonly wholeJson: (chunk: ChatCompletionChunk) => unknown;
  /** What to tell the user when the stream failed. */
  readonly describe: (error: unknown) => string;
  /** The endpoint that answered (or is answering): the first, or the one `--fallback` moved to. */
  readonly answeredBy?: () => ResolvedEndpoint;
}

/** `--timeout` and `--idle-timeout` as an operator; none when neither is given. */
export function timeouts(options: Pick<CliOptions, "timeout" | "idleTimeout">): MonoTypeOperatorFunction<ChatCompletionChunk> {
  const { timeout: first, idleTimeout: idle } = options;
  if (first === undefined && idle === undefined) return (chunks) => chunks;
  return streamTimeout({ ...(first === undefined ? {} : { first }), ...(idle === undefined ? {} : { idle }) });
}

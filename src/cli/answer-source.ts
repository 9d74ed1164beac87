import type { ChatCompletionChunk, ChatCompletionCreateParamsNonStreaming } from "openai/resources/chat/completions";
import type { MonoTypeOperatorFunction, Observable } from "rxjs";
import { streamTimeout } from "../../operators/index.js";
import type { ResolvedEndpoint } from "../endpoints.js";
import type { CliOptions } from "./options.js";

/** The request the user asked for, without `stream` (each path sets its own). */
export type RequestParams = Omit<ChatCompletionCreateParamsNonStreaming, "stream">;

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

import type { ChatCompletion, ChatCompletionChunk } from "openai/resources/chat/completions";
import { type Observable, tap } from "rxjs";
import { type Continuation, contentText, fallback, withContinuation } from "../../operators/index.js";
import type { ResolvedEndpoint } from "../endpoints.js";
import { recordCassette } from "../replay/record-cassette.js";
import { type AnswerSource, type RequestParams, timeouts } from "./answer-source.js";
import { describeError, shortReason } from "./describe-error.js";
import { type OutputFlow, liveChunks } from "./http-source.js";
import type { CliOptions } from "./options.js";
import { endpointLabel } from "./targets.js";

/**
 * The answer from live endpoints: the first, then each `--fallback` in
 * order when the one before fails (before its first content, or, resumed,
 * after it), each with the `--timeout` / `--idle-timeout` limits, recorded
 * with `--record`. `note` tells about each switch on stderr.
 */
export function liveAnswer(
  options: CliOptions,
  endpoints: readonly [ResolvedEndpoint, ...ResolvedEndpoint[]],
  params: RequestParams,
  note: (text: string) => void,
  flow: OutputFlow,
): AnswerSource {
  const wholes = new WeakMap<ChatCompletionChunk, ChatCompletion>();
  const limits = timeouts(options);
  // Token usage comes in a last chunk only when asked for; only --stats shows it, and not every server accepts the field.
  const extra = options.stream && options.stats ? { stream_options: { include_usage: true } } : {};
  const sources = endpoints.map((resolved) => (continuation?: Continuation): Observable<ChatCompletionChunk> =>
    liveChunks(
      resolved,
      { ...params, ...extra, model: resolved.model, messages: withContinuation(params.messages, continuation) },
      { stream: options.stream, maxRetries: resolved.maxRetries, maxWaitMs: options.maxWait, note, flow },
      wholes,
    ).pipe(limits),
  );

  let current = 0;
  let delivered = 0;
  const [first] = sources;
  const chunks =
    sources.length === 1 && first !== undefined
      ? first()
      : fallback(sources, {
          resume: true,
          onAttempt: (index, error) => {
            current = index;
            const previous = endpoints[index - 1];
            const next = endpoints[index];
            if (previous === undefined || next === undefined) return;
            note(
              delivered === 0
                ? `${endpointLabel(previous)} failed: ${shortReason(error)}; trying ${endpointLabel(next)}`
                : `${endpointLabel(previous)} failed after ${delivered} characters: ${shortReason(error)}; asking ${endpointLabel(next)} to continue`,
            );
          },
        }).pipe(tap((chunk) => (delivered += contentText(chunk).length)));

  return {
    chunks: options.record === undefined ? chunks : chunks.pipe(recordCassette(options.record, { ...params, ...(options.stats ? { stream_options: { include_usage: true } } : {}) })),
    wholeJson: (chunk) => wholes.get(chunk) ?? chunk,
    describe: (error) => describeError(error, endpoints[current] ?? endpoints[0]),
  };
}

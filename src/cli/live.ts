import type OpenAI from "openai";
import type { ChatCompletion, ChatCompletionChunk } from "openai/resources/chat/completions";
import { type Observable, map, tap } from "rxjs";
import { type Continuation, contentText, fallback, withContinuation } from "../../operators/index.js";
import { type ResolvedEndpoint, splitBaseURL } from "../endpoints.js";
import { credentialSafeFetch } from "../redirects.js";
import { recordCassette } from "../replay/record-cassette.js";
import { fromResponses } from "../sources/index.js";
import { type AnswerSource, type RequestParams, timeouts } from "./answer-source.js";
import { describeError, shortReason } from "./describe-error.js";
import { type OutputFlow, USER_AGENT, liveChunks } from "./http-source.js";
import { requestFields } from "./request-fields.js";
import type { CliIo } from "./io.js";
import type { CliOptions } from "./options.js";
import { chunksOfEvents, responsesParams, wholeResponse } from "./responses-api.js";
import { endpointLabel } from "./targets.js";

/**
 * The answer from live endpoints: the first, then each `--fallback` in
 * order when the one before fails (before its first content, or, resumed,
 * after it), each with the `--timeout` / `--idle-timeout` limits, recorded
 * with `--record`. `note` tells about each switch on stderr.
 */
export async function liveAnswer(
  io: Pick<CliIo, "stderr">,
  options: CliOptions,
  endpoints: readonly [ResolvedEndpoint, ...ResolvedEndpoint[]],
  params: RequestParams,
  note: (text: string) => void,
  /** How stdout keeps up: reading stops while it is full. */
  flow?: OutputFlow,
): Promise<AnswerSource> {
  // What --json prints for a chunk, when it stands for something else: a whole completion, or a Responses event or response.
  const wholes = new WeakMap<ChatCompletionChunk, unknown>();
  const limits = timeouts(options);
  const keep = (chunk: ChatCompletionChunk, whole: unknown): ChatCompletionChunk => (wholes.set(chunk, whole), chunk);
  // Chat completions go out with node:http (see http-source.ts); the Responses API through the openai client, loaded
  // only then.
  const clientFor = options.api === "responses" ? await clientMaker(io, note) : undefined;
  // Token usage comes in a last chunk only when asked for; only --stats shows it, and not every server accepts the field.
  const extra = options.stream && options.stats ? { stream_options: { include_usage: true } } : {};
  // A streamed Responses answer is recorded as its events (an `api: responses` cassette), before they become chunks.
  const recordsEvents = options.api === "responses" && options.stream && options.record !== undefined;
  const request = (resolved: ResolvedEndpoint, client: OpenAI | undefined, body: RequestParams): Observable<ChatCompletionChunk> => {
    if (client !== undefined) {
      const params = responsesParams(body, requestFields(options.option));
      if (!options.stream) return wholeResponse(client, params, body.model, keep);
      const events = fromResponses(client, params);
      return (recordsEvents && options.record !== undefined ? events.pipe(recordCassette(options.record, params)) : events).pipe(
        chunksOfEvents(body.model, keep),
      );
    }
    const chatWholes = new WeakMap<ChatCompletionChunk, ChatCompletion>();
    return liveChunks(resolved, { ...body, ...extra }, { stream: options.stream, maxRetries: resolved.maxRetries, maxWaitMs: options.maxWait, note, flow }, chatWholes).pipe(
      map((chunk) => {
        const whole = chatWholes.get(chunk);
        return whole === undefined ? chunk : keep(chunk, whole);
      }),
    );
  };
  const sources = endpoints.map((resolved) => {
    const client = clientFor?.(resolved);
    return (continuation?: Continuation): Observable<ChatCompletionChunk> =>
      request(resolved, client, { ...params, model: resolved.model, messages: withContinuation(params.messages, continuation) }).pipe(limits);
  });

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
    chunks:
      options.record === undefined || recordsEvents
        ? chunks
        : chunks.pipe(recordCassette(options.record, { ...params, ...(options.stats ? { stream_options: { include_usage: true } } : {}) })),
    wholeJson: (chunk) => wholes.get(chunk) ?? chunk,
    describe: (error) => describeError(error, endpoints[current] ?? endpoints[0], options.api === "responses" ? "responses" : "chat"),
    answeredBy: () => endpoints[current] ?? endpoints[0],
  };
}

/** Makes `openai` clients for resolved endpoints, loading the package on first use; `note` tells of each redirect. */
export async function clientMaker(io: Pick<CliIo, "stderr">, note: (text: string) => void): Promise<(resolved: ResolvedEndpoint) => OpenAI> {
  // Loaded on first use only: most runs need neither.
  const [{ OpenAI: OpenAIClient }, { Console }] = await Promise.all([import("openai"), import("node:console")]);
  return (resolved) => {
    const { base, query } = splitBaseURL(resolved.baseURL);
    return new OpenAIClient({
      baseURL: base,
      defaultQuery: query,
      // The SDK insists on a key; without one, the header is removed below and none is sent.
      apiKey: resolved.apiKey ?? "none",
      // The User-Agent is the client's own, named here because the bundle renames the class it is made from; the
      // client reads OPENAI_CUSTOM_HEADERS itself, and they come last here too, so that they win as on the chat path.
      defaultHeaders: { "User-Agent": USER_AGENT, ...(resolved.apiKey === undefined ? { Authorization: null } : {}), ...resolved.headers },
      // Not read from OPENAI_ORG_ID / OPENAI_PROJECT_ID: they belong to OpenAI, not to every endpoint.
      organization: null,
      project: null,
      maxRetries: resolved.maxRetries,
      // Redirects as fetch follows them, but no credential header to another origin (see src/redirects.ts).
      fetch: credentialSafeFetch(resolved.headers, note),
      // OPENAI_LOG output must not mix with the answer on stdout.
      logger: new Console({ stdout: io.stderr, stderr: io.stderr }),
    });
  };
}

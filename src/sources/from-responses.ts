import type OpenAI from "openai";
import type { ResponseCreateParamsStreaming, ResponseStreamEvent } from "openai/resources/responses/responses";
import type { Observable } from "rxjs";
import { type ResponsesClient, clientErrorClasses } from "./client.js";
import { streamOfRequest } from "./request-stream.js";
import { responsesProtocol } from "./responses-protocol.js";

/** Everything `client.responses.create` accepts, but `stream`, which is always `true` here. */
export type ResponsesStreamParams = Omit<ResponseCreateParamsStreaming, "stream">;

/** The `openai` client's per-request options for `client.responses.create`. */
export type ResponsesRequestOptions = NonNullable<Parameters<OpenAI["responses"]["create"]>[1]>;

/**
 * A cold Observable of the events of one streamed Responses API answer
 * (`POST /v1/responses` with `stream: true`), the API openai-node and
 * OpenAI's reasoning models default to.
 *
 * It keeps every promise of `fromChatCompletion`: each subscription sends its
 * own request through `client` (whose HTTP errors reach the subscriber
 * untouched), and unsubscribing aborts it at once, even while the server is
 * silent. It completes after `response.completed` or `response.incomplete`;
 * errors with `StreamErrorFrameError` on an `error` event or after a
 * `response.failed` event (both after the events before them), and with
 * `IncompleteStreamError` when the body ends before any of those three.
 *
 * Read it with `extractOutputText()`, `extractReasoningSummary()` and
 * `accumulateResponse()`.
 *
 * ## Example
 * ```ts
 * import OpenAI from "openai";
 * import { extractOutputText, fromResponses } from "g4f-rx";
 *
 * const client = new OpenAI();
 * fromResponses(client, { model: "gpt-5-mini", input: "Say hello there!" })
 *   .pipe(extractOutputText())
 *   .subscribe((text) => process.stdout.write(text));
 * // Hello there! How can I help you today?
 * ```
 */
export function fromResponses(client: ResponsesClient, params: ResponsesStreamParams, options?: ResponsesRequestOptions): Observable<ResponseStreamEvent> {
  return streamOfRequest(
    (signal) => client.responses.create({ ...params, stream: true }, { ...options, signal }).asResponse(),
    responsesProtocol,
    options?.signal ?? undefined,
    clientErrorClasses(client),
  );
}

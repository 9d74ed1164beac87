import type OpenAI from "openai";
import type { ChatCompletionChunk, ChatCompletionCreateParamsStreaming } from "openai/resources/chat/completions";
import type { Observable } from "rxjs";
import { chatCompletionProtocol } from "./chat-completion-protocol.js";
import { type ChatCompletionsClient, clientErrorClasses } from "./client.js";
import { streamOfRequest } from "./request-stream.js";

/** Everything `client.chat.completions.create` accepts, but `stream`, which is always `true` here. */
export type ChatCompletionStreamParams = Omit<ChatCompletionCreateParamsStreaming, "stream">;

/** The `openai` client's per-request options: headers, timeout, retries, an `AbortSignal`… */
export type ChatCompletionRequestOptions = NonNullable<Parameters<OpenAI["chat"]["completions"]["create"]>[1]>;

/**
 * A cold Observable of the chunks of one streamed chat completion.
 *
 * Each subscription sends its own request with `stream: true` through
 * `client`, so authentication, base URL, headers, retries and HTTP error
 * classes (`AuthenticationError`, `RateLimitError`, …) are the `openai`
 * package's. Unsubscribing aborts the request at once, even while the server
 * is silent. The body is decoded here rather than by the SDK's iterator, which
 * only notices an abort on its next chunk and is several times slower.
 *
 * `client` is the app's own: any `openai` 6 or 7 client, ESM or CommonJS
 * (`ChatCompletionsClient` names only what is used). The errors this package
 * raises about the request are made from that client's own classes
 * (`OpenAI.APIError`, `OpenAI.APIUserAbortError`), so the app's
 * `instanceof APIError` holds whichever copy of `openai` it imported.
 *
 * Errors, after every chunk before them was delivered:
 * - an `APIError` subclass for an HTTP error status or a failed connection;
 * - `StreamErrorFrameError` (also an `APIError`) for an error sent inside the stream;
 * - `APIUserAbortError` when the caller's own `options.signal` aborts;
 * - `IncompleteStreamError` when the body ends (or breaks) with neither
 *   `data: [DONE]` nor a `finish_reason`;
 * - `MalformedChunkError`, `NotEventStreamError`, `InvalidEncodingError` for a
 *   body that is not what an OpenAI-compatible endpoint sends.
 *
 * ## Example
 * ```ts
 * import OpenAI from "openai";
 * import { fromChatCompletion, extractDelta } from "g4f-rx";
 *
 * const client = new OpenAI({ baseURL: "http://localhost:1337/v1", apiKey: "none" });
 * fromChatCompletion(client, { model: "gpt-4", messages: [{ role: "user", content: "Say hello there!" }] })
 *   .pipe(extractDelta())
 *   .subscribe((text) => process.stdout.write(text));
 * // Hello there! How can I help you today?
 * ```
 */
export function fromChatCompletion(
  client: ChatCompletionsClient,
  params: ChatCompletionStreamParams,
  options?: ChatCompletionRequestOptions,
): Observable<ChatCompletionChunk> {
  return streamOfRequest(
    (signal) => client.chat.completions.create({ ...params, stream: true }, { ...options, signal }).asResponse(),
    chatCompletionProtocol,
    options?.signal ?? undefined,
    clientErrorClasses(client),
  );
}

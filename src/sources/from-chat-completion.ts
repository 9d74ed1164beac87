import type OpenAI from "openai";
import type { ChatCompletionChunk, ChatCompletionCreateParamsStreaming } from "openai/resources/chat/completions";
import type { Observable } from "rxjs";
import { chatCompletionProtocol } from "./chat-completion-protocol.js";
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
 * Errors, after every chunk before them was delivered:
 * - an `APIError` subclass for an HTTP error status or a failed connection;
 * - `StreamErrorFrameError` for an error sent inside the stream;
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
  client: OpenAI,
  params: ChatCompletionStreamParams,
  options?: ChatCompletionRequestOptions,
): Observable<ChatCompletionChunk> {
  return streamOfRequest(
    (signal) => client.chat.completions.create({ ...params, stream: true }, { ...options, signal }).asResponse(),
    chatCompletionProtocol,
    options?.signal ?? undefined,
  );
}

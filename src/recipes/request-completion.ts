import type OpenAI from "openai";
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming } from "openai/resources/chat/completions";
import { Observable } from "rxjs";
import type { ChatCompletionRequestOptions } from "../sources/index.js";

/** Everything `client.chat.completions.create` accepts, but `stream`, which is always `false` here. */
export type ChatCompletionOnceParams = Omit<ChatCompletionCreateParamsNonStreaming, "stream">;

/**
 * A cold Observable of one non-streaming chat completion: the whole answer
 * at once, then completion.
 *
 * Each subscription sends its own request with `stream: false`;
 * unsubscribing aborts it. Errors are the `openai` client's `APIError`
 * classes, as with `fromChatCompletion`. For servers or proxies that do not
 * stream, and for `g4f-rx --no-stream`.
 *
 * ## Example
 * ```ts
 * import OpenAI from "openai";
 * import { completionText, requestCompletion } from "g4f-rx";
 *
 * const client = new OpenAI({ baseURL: "http://localhost:1337/v1", apiKey: "none" });
 * requestCompletion(client, { model: "gpt-4", messages: [{ role: "user", content: "Say hello there!" }] })
 *   .subscribe((completion) => console.log(completionText(completion)));
 * // Hello there! How can I help you today?
 * ```
 */
export function requestCompletion(
  client: OpenAI,
  params: ChatCompletionOnceParams,
  options?: ChatCompletionRequestOptions,
): Observable<ChatCompletion> {
  return new Observable<ChatCompletion>((subscriber) => {
    const controller = new AbortController();
    const userSignal = options?.signal;
    const signal = userSignal ? AbortSignal.any([controller.signal, userSignal]) : controller.signal;
    client.chat.completions.create({ ...params, stream: false }, { ...options, signal }).then(
      (completion) => {
        subscriber.next(completion);
        subscriber.complete();
      },
      (error: unknown) => {
        // After an unsubscribe nobody listens, and the abort error is ours.
        if (!controller.signal.aborted) subscriber.error(error);
      },
    );
    return () => controller.abort();
  });
}

/** The message text of one choice of a completion (default 0), or `""` when it has none. */
export function completionText(completion: ChatCompletion, choice = 0): string {
  const content = completion.choices.find((candidate) => candidate.index === choice)?.message?.content;
  return typeof content === "string" ? content : "";
}

import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { Observable } from "rxjs";
import { decodeEventStream } from "g4f-rx";

/**
 * What a browser does with `fetch`: one request per subscription, the body
 * decoded as an OpenAI-format event stream; unsubscribing aborts the request,
 * as closing the tab would. A non-2xx answer errors with its status and body.
 */
export function readEventStream(url: string, init: RequestInit = {}): Observable<ChatCompletionChunk> {
  return new Observable<ChatCompletionChunk>((subscriber) => {
    const controller = new AbortController();
    fetch(url, { ...init, signal: controller.signal })
      .then(async (response) => {
        if (!response.ok) throw new HttpStatusError(response.status, await response.text());
        await decodeEventStream(response, (chunk) => subscriber.next(chunk), controller.signal);
      })
      .then(
        () => subscriber.complete(),
        (error: unknown) => {
          if (!controller.signal.aborted) subscriber.error(error);
        },
      );
    return () => controller.abort();
  });
}

/** A response that was not a 2xx. */
export class HttpStatusError extends Error {
  override readonly name = "HttpStatusError";
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`HTTP ${status}: ${body}`);
  }
}

import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import type { Stream } from "openai/streaming";
import { Observable } from "rxjs";

/**
 * An Observable over a `Stream<ChatCompletionChunk>` you already have, for
 * example from `client.chat.completions.create({ stream: true, … })`.
 *
 * A stream can be read once, so only the first subscription reads it; a
 * second one errors (share the Observable with `share()` instead). Unsubscribing
 * aborts the stream's controller, which closes the connection. Prefer
 * `fromChatCompletion`, which is cold and decodes faster.
 *
 * ## Example
 * ```ts
 * import OpenAI from "openai";
 * import { fromCompletionStream, extractDelta } from "g4f-rx";
 *
 * const client = new OpenAI();
 * const stream = await client.chat.completions.create({
 *   model: "gpt-4o-mini",
 *   messages: [{ role: "user", content: "Say hello there!" }],
 *   stream: true,
 * });
 * fromCompletionStream(stream).pipe(extractDelta()).subscribe((text) => process.stdout.write(text));
 * ```
 */
export function fromCompletionStream(stream: Stream<ChatCompletionChunk>): Observable<ChatCompletionChunk> {
  let consumed = false;
  return new Observable<ChatCompletionChunk>((subscriber) => {
    if (consumed) {
      subscriber.error(new Error("fromCompletionStream: this stream was already consumed by an earlier subscription; use share() to read it twice"));
      return;
    }
    consumed = true;
    let stopped = false;
    void (async () => {
      try {
        for await (const chunk of stream) {
          if (stopped) return;
          subscriber.next(chunk);
        }
        subscriber.complete();
      } catch (error) {
        if (!stopped) subscriber.error(error);
      }
    })();
    return () => {
      stopped = true;
      stream.controller.abort();
    };
  });
}

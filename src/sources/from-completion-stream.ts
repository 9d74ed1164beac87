import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { Observable } from "rxjs";
import { IncompleteStreamError } from "../errors.js";
import { chatCompletionProtocol, isPlainChunk } from "./chat-completion-protocol.js";
import { counted } from "./protocol.js";

/**
 * What `fromCompletionStream` needs of the SDK's `Stream<ChatCompletionChunk>`, by shape rather than by class:
 * its chunks, and the controller that aborts its request. The class has a `#private` field, which makes it
 * nominal: the `Stream` of a CommonJS app (or of a second installed copy of openai) is another class to
 * TypeScript than the one this package's typings see, and naming the class would refuse it.
 */
export interface ChatCompletionChunkStream extends AsyncIterable<ChatCompletionChunk> {
  readonly controller: { abort(): void };
}

/**
 * An Observable over a `Stream<ChatCompletionChunk>` you already have, for
 * example from `client.chat.completions.create({ stream: true, … })`.
 *
 * A stream can be read once, so only the first subscription reads it; a
 * second one errors (share the Observable with `share()` instead). Unsubscribing
 * aborts the stream's controller, which closes the connection. Prefer
 * `fromChatCompletion`, which is cold, decodes faster, and sees `data: [DONE]`.
 *
 * How it ends: the SDK's `Stream` hides `data: [DONE]` from its iterator, so
 * this source cannot tell a body that ended with it from one cut short. The
 * answer is complete when a chunk with a `finish_reason` arrived (the
 * chat-completion protocol's rule, which every major provider meets):
 * - the iteration ends (or the connection breaks) after such a chunk: it completes;
 * - the iteration ends without one: it errors with `IncompleteStreamError`,
 *   saying how many chunks arrived;
 * - the connection breaks before one (fetch's `TypeError: terminated`): it
 *   errors with `IncompleteStreamError`, the fetch error as its `cause`;
 * - the SDK's own errors (an error frame as `APIError`, a frame that is not
 *   JSON as `SyntaxError`) reach the subscriber as the SDK raised them.
 *
 * Every chunk before an error is delivered first. Items the SDK yields that
 * are not chat-completion chunks (a provider's named extra frame, whose event
 * name the SDK drops) pass through as they are.
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
 * // Hello there! How can I help you today?
 * ```
 */
export function fromCompletionStream(stream: ChatCompletionChunkStream): Observable<ChatCompletionChunk> {
  let consumed = false;
  return new Observable<ChatCompletionChunk>((subscriber) => {
    if (consumed) {
      subscriber.error(new Error("fromCompletionStream: this stream was already consumed by an earlier subscription; use share() to read it twice"));
      return;
    }
    consumed = true;
    let stopped = false;
    // The protocol's reader keeps the end-of-stream rule: whether a finish_reason arrived.
    const reader = chatCompletionProtocol.reader();
    const next = (chunk: ChatCompletionChunk): void => subscriber.next(chunk);
    void (async () => {
      try {
        for await (const chunk of stream) {
          if (stopped) return;
          // The SDK drops each frame's event name, so a provider's named extra cannot be told from a malformed chunk.
          if (isPlainChunk(chunk)) reader.parsed(undefined, chunk, next);
          else subscriber.next(chunk);
        }
      } catch (error) {
        if (stopped) return;
        // fetch raises a TypeError when the body fails mid-read ("terminated" in Node, "network error" in browsers).
        if (!(error instanceof TypeError)) {
          subscriber.error(error);
          return;
        }
        const incomplete = reader.ended({ broken: error });
        if (incomplete === undefined) subscriber.complete();
        else subscriber.error(incomplete);
        return;
      }
      if (stopped) return;
      if (reader.ended("body") === undefined) {
        subscriber.complete();
        return;
      }
      subscriber.error(
        new IncompleteStreamError(
          `The stream ended after ${counted(reader.count, "chunk")} without a finish_reason: the answer is incomplete ` +
            `(fromCompletionStream cannot see "data: [DONE]", which the SDK's Stream hides; fromChatCompletion can)`,
          reader.count,
        ),
      );
    })();
    return () => {
      stopped = true;
      stream.controller.abort();
    };
  });
}

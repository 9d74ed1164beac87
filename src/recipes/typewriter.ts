import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { type OperatorFunction, pipe } from "rxjs";
import { type ExtractDeltaOptions, type TextWritable, accumulate, extractDelta, printTo } from "../../operators/index.js";

/**
 * Writes each piece of the answer to `out` as it arrives, and emits the text so far.
 *
 * `extractDelta`, then `printTo(out)`, then `accumulate`: a chunk stream in,
 * the running answer out, with every delta already written by the time it is
 * emitted. What was written stays written when the stream later errors, so
 * follow it with `settle("")` to keep the partial answer.
 *
 * ## Example
 * ```ts
 * import OpenAI from "openai";
 * import { fromChatCompletion, typewriter } from "g4f-rx";
 *
 * const client = new OpenAI({ baseURL: "http://localhost:1337/v1", apiKey: "none" });
 * fromChatCompletion(client, { model: "gpt-4", messages: [{ role: "user", content: "Say hello there!" }] })
 *   .pipe(typewriter(process.stdout))
 *   .subscribe({ complete: () => process.stdout.write("\n") });
 * // Hello there! How can I help you today?
 * ```
 */
export function typewriter(out: TextWritable, options: ExtractDeltaOptions = {}): OperatorFunction<ChatCompletionChunk, string> {
  return pipe(extractDelta(options), printTo(out), accumulate());
}

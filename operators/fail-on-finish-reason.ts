import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { type MonoTypeOperatorFunction, concat, concatMap, defer, of, throwError } from "rxjs";
import { choicesOf, contentOf, deltaOf, finishReasonOf, indexOf } from "./chunk-reader.js";

/** The finish reasons of the OpenAI API; providers may send others, which are accepted too. */
export type FinishReason = NonNullable<ChatCompletionChunk.Choice["finish_reason"]>;

const EXPLANATIONS: Readonly<Record<string, string>> = {
  length: "the token limit (max_tokens or the context window) was reached",
  content_filter: "a content filter stopped it",
  tool_calls: "the model called a tool",
  function_call: "the model called a function",
  stop: "the model stopped",
};

/** What a finish reason means, in words, for the ones OpenAI defines; `undefined` for others. */
export function explainFinishReason(reason: string): string | undefined {
  return EXPLANATIONS[reason];
}

/** A choice finished with a reason the pipeline treats as a failure. */
export class FinishReasonError extends Error {
  override readonly name = "FinishReasonError";
  constructor(
    /** The `finish_reason` received, e.g. `"length"`. */
    readonly reason: string,
    /** The choice's `index`. */
    readonly choice: number,
    /** The choice's text (its `content`) up to that point. */
    readonly text: string,
  ) {
    const why = explainFinishReason(reason);
    super(`The answer is incomplete: choice ${choice} finished with "${reason}"${why === undefined ? "" : ` (${why})`} after ${text.length} characters`);
  }
}

/**
 * Errors with `FinishReasonError` when a choice finishes with one of `reasons`.
 *
 * A stream cut short by `length` (the token limit) or `content_filter` ends
 * as cleanly as a complete one; put this operator right after the source to
 * make such an answer fail instead. The chunk that carries the finish reason
 * is passed on first, then the error, which holds the reason, the choice's
 * `index` and its text so far (so nothing already received is lost). Other
 * chunks pass through unchanged.
 *
 * ## Examples
 * ```ts
 * import OpenAI from "openai";
 * import { EMPTY, catchError } from "rxjs";
 * import { FinishReasonError, extractDelta, failOnFinishReason, fromChatCompletion } from "g4f-rx";
 *
 * const client = new OpenAI({ baseURL: "http://localhost:1337/v1", apiKey: "none" });
 * fromChatCompletion(client, { model: "gpt-4", max_tokens: 5, messages: [{ role: "user", content: "Tell a long story" }] })
 *   .pipe(
 *     failOnFinishReason(["length", "content_filter"]),
 *     extractDelta(),
 *     catchError((error: unknown) => {
 *       if (error instanceof FinishReasonError) console.error(`\n${error.message}`);
 *       return EMPTY;
 *     }),
 *   )
 *   .subscribe((text) => process.stdout.write(text));
 * // A live provider's answer, for instance:
 * // Once upon a time
 * // The answer is incomplete: choice 0 finished with "length" (the token limit (max_tokens or the context window) was reached) after 16 characters
 * ```
 */
export function failOnFinishReason(reasons: FinishReason | (string & Record<never, never>) | readonly string[]): MonoTypeOperatorFunction<ChatCompletionChunk> {
  const list: readonly unknown[] = typeof reasons === "string" ? [reasons] : Array.isArray(reasons) ? reasons : [];
  if (list.length === 0 || !list.every((reason) => typeof reason === "string" && reason !== "")) {
    throw new TypeError(`failOnFinishReason: reasons must be a finish reason or a non-empty array of them, got ${JSON.stringify(reasons)}`);
  }
  const failing = new Set(list);
  return (source) =>
    defer(() => {
      const texts = new Map<number, string>();
      return source.pipe(
        concatMap((chunk) => {
          let failure: FinishReasonError | undefined;
          for (const choice of choicesOf(chunk)) {
            const index = indexOf(choice);
            const content = contentOf(deltaOf(choice));
            if (content !== undefined) texts.set(index, (texts.get(index) ?? "") + content);
            const reason = finishReasonOf(choice);
            if (failure === undefined && reason !== undefined && failing.has(reason)) {
              failure = new FinishReasonError(reason, index, texts.get(index) ?? "");
            }
          }
          const error = failure;
          return error === undefined ? of(chunk) : concat(of(chunk), throwError(() => error));
        }),
      );
    });
}

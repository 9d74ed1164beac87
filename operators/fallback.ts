import type { ChatCompletionChunk, ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { Observable, catchError, defer, isObservable, tap, throwError } from "rxjs";
import type { StreamItem } from "./chunk-reader.js";
import { contentText, isContentChunk, isTextOnlyChunk } from "./content.js";

/** What a source is asked to continue: the answer so far. */
export interface Continuation {
  /** The text (choice 0's `delta.content`) delivered so far, across every source. */
  readonly text: string;
}

/**
 * One source of a `fallback`: a stream, or a function that builds one. A
 * function is called each time its turn comes; with `{ resume: true }`, after
 * an answer broke off, it gets the `Continuation` to build a request that
 * continues it (see `withContinuation`).
 */
export type FallbackSource<T extends StreamItem = ChatCompletionChunk> = Observable<T> | ((continuation?: Continuation) => Observable<T>);

export interface FallbackOptions {
  /**
   * After content started and the source failed, ask the next source to
   * continue the answer instead of erroring with `PartialResponseError`.
   * Every source after the first must then be a function. Only a plain text
   * answer is resumed: after a tool-call, reasoning or refusal delta, or
   * content of a choice other than 0, the error is a `PartialResponseError`
   * as without resume. Default `false`.
   */
  resume?: boolean;
  /**
   * Called as each source is subscribed, with its index and the error that
   * ended the previous attempt (`undefined` for the first). Throwing from it
   * errors the stream.
   */
  onAttempt?: (index: number, error: unknown) => void;
}

/**
 * An answer broke off after part of it was delivered, and no source was
 * asked, or was able, to continue it. `text` is what was delivered; `cause` is
 * the error that ended it.
 */
export class PartialResponseError extends Error {
  override readonly name = "PartialResponseError";
  constructor(
    /** The text (choice 0's `delta.content`) delivered before the failure. */
    readonly text: string,
    cause: unknown,
    options: {
      /** Content other than that text was delivered too: a tool call, reasoning, a refusal or another choice's text. */
      besidesText?: boolean;
    } = {},
  ) {
    // "After 0 characters" alone would say nothing came, when a tool call may have been half delivered.
    const delivered = options.besidesText === true ? `${text.length} characters of text and other content (a tool call, reasoning, a refusal or another choice)` : `${text.length} characters`;
    super(`The answer broke off after ${delivered}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/**
 * Streams from the first source that works: on failure before content, moves
 * on to the next.
 *
 * Subscribes to `sources` in order. When one errors before its first content
 * chunk (text, refusal, reasoning or a tool-call delta; see `isContentChunk`),
 * its error is set aside and the next source is subscribed. Chunks before
 * content, such as the role chunk, are passed on as they come. A source
 * function that throws counts as a failed source. A source that completes
 * ends the stream, even without content. When every source failed,
 * the last one's error is the stream's, untouched, so `instanceof` checks
 * keep working; `onAttempt` sees the others.
 *
 * Once content has started, a second answer is never appended to it. By
 * default a later error becomes a `PartialResponseError` carrying the `text`
 * delivered and the `cause`. With `{ resume: true }`, the next source is
 * called with the `Continuation` (the text so far) to build a request that
 * continues the answer, and its chunks, the new text only, follow. The
 * continuing source's own failure moves on the same way; when none is left,
 * the error is a `PartialResponseError` with all the text delivered. Only
 * text can be continued: when anything delivered so far was not choice 0's
 * `delta.content` (a tool-call, reasoning or refusal delta, or content of
 * another choice), the error is a `PartialResponseError` even with resume.
 *
 * Each subscription starts again from the first source. Unsubscribing
 * unsubscribes from the current source (for `fromChatCompletion`, aborting its
 * request). Combine with `streamTimeout` or `timeout` on each source so that a
 * stalled provider counts as a failure, and with `retryBeforeContent` to try a
 * provider more than once.
 *
 * ## Examples
 * ```ts
 * import OpenAI from "openai";
 * import { fallback, extractDelta, fromChatCompletion, streamTimeout, withContinuation } from "g4f-rx";
 *
 * const messages = [{ role: "user" as const, content: "Say hello there!" }];
 * const g4f = new OpenAI({ baseURL: "http://localhost:1337/v1", apiKey: "none" });
 * const ollama = new OpenAI({ baseURL: "http://localhost:11434/v1", apiKey: "ollama" });
 *
 * fallback(
 *   [
 *     (c) => fromChatCompletion(g4f, { model: "gpt-4o-mini", messages: withContinuation(messages, c) })
 *       .pipe(streamTimeout({ first: 10_000, idle: 5_000 })),
 *     (c) => fromChatCompletion(ollama, { model: "llama3.2", messages: withContinuation(messages, c) }),
 *   ],
 *   { resume: true, onAttempt: (index, error) => index > 0 && console.error(`falling back to #${index}:`, error) },
 * )
 *   .pipe(extractDelta())
 *   .subscribe((text) => process.stdout.write(text));
 * // A live provider's answer, for instance:
 * // Hello there! How can I help you today?
 * ```
 */
export function fallback<T extends StreamItem = ChatCompletionChunk>(sources: readonly FallbackSource<T>[], options: FallbackOptions = {}): Observable<T> {
  const { resume = false, onAttempt } = options;
  // Copied before Array.isArray, which would narrow the elements to `any`; a copy also ignores later changes to the caller's array.
  const list: readonly FallbackSource<T>[] = Array.from(sources);
  if (!Array.isArray(sources) || list.length === 0) {
    throw new TypeError("fallback: sources must be a non-empty array");
  }
  list.forEach((source, index) => {
    if (!isObservable(source) && typeof source !== "function") {
      throw new TypeError(`fallback: source ${index} is neither an Observable nor a function that returns one`);
    }
    if (resume && index > 0 && typeof source !== "function") {
      throw new TypeError(`fallback: with resume, source ${index} must be a function (continuation) => Observable, to build the continuing request`);
    }
  });
  if (onAttempt !== undefined && typeof onAttempt !== "function") {
    throw new TypeError("fallback: onAttempt must be a function");
  }

  return defer(() => {
    let text = "";
    let started = false;
    // A continuation carries on text only: a tool call, reasoning, a refusal or another choice cannot be resumed.
    let textOnly = true;

    const attempt = (index: number, previousError: unknown): Observable<T> =>
      defer(() => {
        // Outside the catchError below: a failing callback is the caller's bug, not the source's.
        onAttempt?.(index, previousError);
        // Inside it: a source function that throws has failed like a source that errors.
        return defer(() => open(list[index], started ? { text } : undefined)).pipe(
          tap((chunk) => {
            if (isContentChunk(chunk)) started = true;
            if (!isTextOnlyChunk(chunk)) textOnly = false;
            text += contentText(chunk);
          }),
          catchError((error: unknown) => {
            const broken = (): PartialResponseError => new PartialResponseError(text, error, { besidesText: !textOnly });
            if (started && !(resume && textOnly && text !== "")) return throwError(broken);
            if (index + 1 === list.length) return throwError(() => (started ? broken() : error));
            // Before any content, or with resume: the next source takes over.
            return attempt(index + 1, error);
          }),
        );
      });

    return attempt(0, undefined);
  });
}

function open<T extends StreamItem>(source: FallbackSource<T> | undefined, continuation: Continuation | undefined): Observable<T> {
  if (source === undefined) throw new RangeError("fallback: no such source");
  if (isObservable(source)) return source;
  const stream = source(continuation);
  if (!isObservable(stream)) throw new TypeError("fallback: a source function must return an Observable");
  return stream;
}

/** The instruction `withContinuation` adds after the partial answer. */
export const CONTINUE_INSTRUCTION =
  "Your previous answer was cut off. Continue it exactly where it stopped, without repeating any of it and without any preamble.";

/**
 * The messages for a request that continues a broken-off answer: `messages`,
 * then the partial answer as an assistant message, then a user message asking
 * to continue it. Without a continuation (the first attempt, or nothing
 * delivered yet), `messages` as they are.
 *
 * ## Examples
 * ```ts
 * import { withContinuation } from "g4f-rx/operators";
 *
 * const messages = [{ role: "user" as const, content: "Count to five" }];
 * console.log(withContinuation(messages, { text: "1, 2, 3" }));
 * // [
 * //   { role: 'user', content: 'Count to five' },
 * //   { role: 'assistant', content: '1, 2, 3' },
 * //   {
 * //     role: 'user',
 * //     content: 'Your previous answer was cut off. Continue it exactly where it stopped, …'
 * //   }
 * // ]
 * ```
 */
export function withContinuation(
  messages: readonly ChatCompletionMessageParam[],
  continuation: Continuation | undefined,
  instruction: string = CONTINUE_INSTRUCTION,
): ChatCompletionMessageParam[] {
  if (continuation === undefined || continuation.text === "") return [...messages];
  return [...messages, { role: "assistant", content: continuation.text }, { role: "user", content: instruction }];
}

import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { Observable, type OperatorFunction } from "rxjs";
import { choiceOf, choiceOption, contentOf, deltaOf, nonEmpty, reasoningOf } from "./chunk-reader.js";

/** The finish reasons of the AI SDK's UI message stream. */
export type UIMessageFinishReason = "stop" | "length" | "content-filter" | "tool-calls" | "error" | "other";

/**
 * The parts of the Vercel AI SDK's UI message stream protocol (v1) that a
 * chat completion's text and reasoning map to; the `ai` package's
 * `UIMessageChunk` type accepts every one.
 */
export type UIMessageStreamPart =
  | { type: "start"; messageId?: string }
  | { type: "start-step" }
  | { type: "text-start"; id: string }
  | { type: "text-delta"; id: string; delta: string }
  | { type: "text-end"; id: string }
  | { type: "reasoning-start"; id: string }
  | { type: "reasoning-delta"; id: string; delta: string }
  | { type: "reasoning-end"; id: string }
  | { type: "finish-step" }
  | { type: "finish"; finishReason?: UIMessageFinishReason }
  | { type: "error"; errorText: string };

export interface ToUIMessageStreamOptions {
  /** The `index` of the choice to read (for `n > 1`). Default `0`. */
  choice?: number;
}

/**
 * Turns chat completion chunks into the parts of the Vercel AI SDK's UI
 * message stream, so `useChat` front ends (`resume: true` included) can read
 * a g4f-rx backend.
 *
 * The first chunk opens the message (`start`, its `messageId` the chunk's
 * `id`, and `start-step`). Reasoning (`reasoning_content` or `reasoning`)
 * becomes a reasoning part and `content` a text part, each opened on its
 * first delta and closed when the other begins or the answer ends;
 * completion closes what is open and sends `finish-step` and `finish` with
 * the answer's finish reason. An error becomes one `error` part, after which
 * the parts complete: the reader learns the answer failed, in-band, as the
 * protocol wants. Tool-call deltas are not carried. Serialise each part as an
 * SSE data frame and end with `data: [DONE]`, with the header
 * `x-vercel-ai-ui-message-stream: v1`.
 *
 * ## Examples
 * ```ts
 * import { of } from "rxjs";
 * import { toUIMessageStream } from "g4f-rx/operators";
 *
 * const chunk = (delta: object, finish_reason: "stop" | null = null) => ({
 *   id: "c1", object: "chat.completion.chunk" as const, created: 0, model: "gpt-4",
 *   choices: [{ index: 0, delta, finish_reason }],
 * });
 * of(chunk({ content: "Hi" }), chunk({}, "stop")).pipe(toUIMessageStream()).subscribe((part) => console.log(part.type));
 * // start, start-step, text-start, text-delta, text-end, finish-step, finish (one per line)
 * ```
 */
export function toUIMessageStream(options: ToUIMessageStreamOptions = {}): OperatorFunction<ChatCompletionChunk, UIMessageStreamPart> {
  const choice = choiceOption("toUIMessageStream", options.choice ?? 0);
  return (source) =>
    new Observable<UIMessageStreamPart>((subscriber) => {
      let started = false;
      let open: { kind: "text" | "reasoning"; id: string } | undefined;
      let parts = 0;
      let finishReason: UIMessageFinishReason | undefined;

      const start = (messageId: string | undefined): void => {
        if (started) return;
        started = true;
        subscriber.next(messageId === undefined ? { type: "start" } : { type: "start", messageId });
        subscriber.next({ type: "start-step" });
      };
      const close = (): void => {
        if (open === undefined) return;
        subscriber.next(open.kind === "text" ? { type: "text-end", id: open.id } : { type: "reasoning-end", id: open.id });
        open = undefined;
      };
      const write = (kind: "text" | "reasoning", delta: string): void => {
        if (open?.kind !== kind) {
          close();
          open = { kind, id: `${kind}-${parts++}` };
          subscriber.next(kind === "text" ? { type: "text-start", id: open.id } : { type: "reasoning-start", id: open.id });
        }
        subscriber.next(kind === "text" ? { type: "text-delta", id: open.id, delta } : { type: "reasoning-delta", id: open.id, delta });
      };

      return source.subscribe({
        next: (chunk) => {
          start(nonEmpty(chunk.id));
          const found = choiceOf(chunk, choice);
          const reasoning = reasoningOf(deltaOf(found));
          if (reasoning !== undefined) write("reasoning", reasoning);
          const text = contentOf(deltaOf(found));
          if (text !== undefined) write("text", text);
          const reason = found?.finish_reason;
          if (typeof reason === "string") finishReason = uiFinishReason(reason);
        },
        error: (error: unknown) => {
          start(undefined);
          close();
          subscriber.next({ type: "error", errorText: error instanceof Error ? error.message : String(error) });
          subscriber.complete();
        },
        complete: () => {
          start(undefined);
          close();
          subscriber.next({ type: "finish-step" });
          subscriber.next(finishReason === undefined ? { type: "finish" } : { type: "finish", finishReason });
          subscriber.complete();
        },
      });
    });
}

function uiFinishReason(reason: string): UIMessageFinishReason {
  switch (reason) {
    case "stop":
    case "length":
      return reason;
    case "content_filter":
      return "content-filter";
    case "tool_calls":
    case "function_call":
      return "tool-calls";
    default:
      return "other";
  }
}

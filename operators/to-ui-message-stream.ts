import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { Observable, type OperatorFunction } from "rxjs";
import {
  type ToolCallKey,
  type WireToolCall,
  argumentsOf,
  choiceOf,
  choiceOption,
  contentOf,
  continuedCall,
  deltaOf,
  isWholeJson,
  madeUpToolCallId,
  newCallIndex,
  nonEmpty,
  reasoningOf,
  toolCallsOf,
} from "./chunk-reader.js";
import { ToolCallArgumentsError, cuttingReason } from "./tool-calls.js";

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
  | { type: "tool-input-start"; toolCallId: string; toolName: string; inputEncoding?: "text" }
  | { type: "tool-input-delta"; toolCallId: string; inputTextDelta: string }
  | { type: "tool-input-available"; toolCallId: string; toolName: string; input: unknown }
  | { type: "tool-input-error"; toolCallId: string; toolName: string; input: unknown; errorText: string }
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
 * The first chunk with a non-empty `id` opens the message (`start`, its
 * `messageId` that `id`, and `start-step`), as `accumulateMessage` takes the
 * first non-empty id: a chunk before it with an empty id and nothing to show
 * (Azure's leading prompt-filter chunk) sends nothing. When a part must be
 * sent before any id arrived (text, reasoning, a tool call, the end or an
 * error), the message opens then, with no `messageId`. Reasoning (`reasoning_content` or `reasoning`)
 * becomes a reasoning part and `content` a text part, each opened on its
 * first delta and closed when the other begins or the answer ends;
 * completion closes what is open and sends `finish-step` and `finish` with
 * the answer's finish reason. A tool call becomes `tool-input-start` (its id
 * and function name) and a `tool-input-delta` per piece of its arguments,
 * then, once complete (a call with the same or a higher index begins and its arguments,
 * and those of every call with a lower index, are whole JSON, as some
 * servers interleave parallel calls; or the choice finishes), in index order
 * (unless a server begins a call with a lower index after a later one was
 * complete), `tool-input-available` with the arguments parsed from JSON, or
 * `tool-input-error` when they are not valid JSON; a custom (free-form)
 * tool's input is text (`inputEncoding: "text"`), passed on as written. An
 * error becomes one `error` part, after which the parts complete: the reader
 * learns the answer failed, in-band, as the protocol wants; tool calls not yet
 * complete then get no `tool-input-available`. Serialise each part as an
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
 * // start
 * // start-step
 * // text-start
 * // text-delta
 * // text-end
 * // finish-step
 * // finish
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
      // The raw finish reason when it can cut a call's arguments off (the token limit…), for the tool-input-error.
      let cutBy: string | undefined;
      const calls: ToolCallState[] = [];
      // The completion's id so far, for the ids of calls that come without one.
      let completionId = "";

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
        start(undefined);
        if (open?.kind !== kind) {
          close();
          open = { kind, id: `${kind}-${parts++}` };
          subscriber.next(kind === "text" ? { type: "text-start", id: open.id } : { type: "reasoning-start", id: open.id });
        }
        subscriber.next(kind === "text" ? { type: "text-delta", id: open.id, delta } : { type: "reasoning-delta", id: open.id, delta });
      };
      const startCall = (call: ToolCallState): void => {
        if (call.started) return;
        start(undefined);
        close();
        call.started = true;
        const { id: toolCallId, name: toolName } = call;
        subscriber.next(call.encoding === "text" ? { type: "tool-input-start", toolCallId, toolName, inputEncoding: "text" } : { type: "tool-input-start", toolCallId, toolName });
        if (call.text !== "") subscriber.next({ type: "tool-input-delta", toolCallId, inputTextDelta: call.text });
      };
      /**
       * Calls complete in index order (`calls` is kept in it), as `toolCalls` emits them and the AI SDK's own
       * providers finish them: all when the choice finishes (`final`); before that, when a call with an index as high
       * or higher begins (`upTo`, its index), if they and every call before them have whole JSON arguments. Some
       * servers interleave the fragments of parallel calls, so one still empty or cut off stays open, the calls after
       * it wait for it, and a call that begins with a lower index completes nothing.
       */
      const completeCalls = (final: boolean, upTo = Infinity): void => {
        for (const call of calls) {
          if (call.complete) continue;
          if (!final && (call.wireIndex > upTo || !isWhole(call))) return;
          startCall(call);
          call.complete = true;
          subscriber.next(inputOf(call, cutBy));
        }
      };
      const writeToolCall = (wire: WireToolCall): void => {
        const found = continuedCall(wire, calls, (at) => ({ name: calls[at]?.name ?? "", arguments: calls[at]?.text ?? "" }));
        let position = found;
        if (found < 0) {
          const wireId = nonEmpty(wire.id) ?? "";
          const wireIndex = newCallIndex(wire, calls);
          completeCalls(false, wireIndex);
          // In index order, after the calls with the same index; a call without an id gets the one accumulateMessage
          // makes up for it, numbered in order of arrival, so the tool result sent back answers the same id.
          position = calls.findIndex((other) => other.wireIndex > wireIndex);
          if (position < 0) position = calls.length;
          const id = wireId === "" ? madeUpToolCallId(completionId, calls.length) : wireId;
          calls.splice(position, 0, { wireIndex, wireId, id, name: "", text: "", encoding: "json", started: false, complete: false });
        }
        const call = calls[position];
        if (call === undefined || call.complete) return;
        if (call.wireId === "") {
          call.wireId = nonEmpty(wire.id) ?? "";
          // An id that comes before the call started names it, as it replaces the made-up one in accumulateMessage.
          if (call.wireId !== "" && !call.started) call.id = call.wireId;
        }
        const custom = typeof wire.custom === "object" && wire.custom !== null ? wire.custom : undefined;
        if (wire.type === "custom" || custom !== undefined) call.encoding = "text";
        const fn: unknown = wire.function;
        const named = typeof fn === "object" && fn !== null && "name" in fn ? nonEmpty(fn.name) : undefined;
        const name = named ?? nonEmpty(custom?.name);
        if (!call.started && name !== undefined) call.name = name;
        const piece = (typeof fn === "object" && fn !== null && "arguments" in fn ? argumentsOf(fn.arguments) : undefined) ?? nonEmpty(custom?.input);
        if (piece !== undefined) call.text += piece;
        if (!call.started) {
          // The name comes with the call's first delta; the pieces before it, if any, are sent with the start. A call
          // that came without an id waits for its arguments to begin, in case its id comes late (with them).
          if (call.name !== "" && (call.wireId !== "" || call.text !== "")) startCall(call);
        } else if (piece !== undefined) subscriber.next({ type: "tool-input-delta", toolCallId: call.id, inputTextDelta: piece });
      };

      return source.subscribe({
        next: (chunk) => {
          // Azure's leading prompt-filter chunk has an empty id: the message starts on the first chunk with one.
          const id = nonEmpty(chunk.id);
          if (id !== undefined) {
            completionId = id;
            start(id);
          }
          const found = choiceOf(chunk, choice);
          const reasoning = reasoningOf(deltaOf(found));
          if (reasoning !== undefined) write("reasoning", reasoning);
          const text = contentOf(deltaOf(found));
          if (text !== undefined) write("text", text);
          for (const call of toolCallsOf(deltaOf(found))) writeToolCall(call);
          const reason = found?.finish_reason;
          if (typeof reason === "string") {
            finishReason = uiFinishReason(reason);
            cutBy = cuttingReason(reason);
            completeCalls(true);
          }
        },
        error: (error: unknown) => {
          start(undefined);
          close();
          subscriber.next({ type: "error", errorText: error instanceof Error ? error.message : String(error) });
          subscriber.complete();
        },
        complete: () => {
          start(undefined);
          completeCalls(true);
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

interface ToolCallState extends ToolCallKey {
  /** The id it came with, `""` until one comes. */
  wireId: string;
  /** The id the parts name it by: the one it came with (or that came before it started), else a made-up one. */
  id: string;
  name: string;
  /** The arguments (or a custom tool's input) so far. */
  text: string;
  encoding: "json" | "text";
  started: boolean;
  complete: boolean;
}

/** The call's input is whole: a custom tool's text (which cannot tell), or arguments that parse as JSON. */
function isWhole(call: ToolCallState): boolean {
  return call.encoding === "text" || isWholeJson(call.text);
}

/** A complete call's input part: the arguments parsed from JSON (none is `{}`), a custom tool's text as is, or the parse error. */
function inputOf(call: ToolCallState, cutBy: string | undefined): UIMessageStreamPart {
  const { id: toolCallId, name: toolName, text } = call;
  if (call.encoding === "text") return { type: "tool-input-available", toolCallId, toolName, input: text };
  if (text.trim() === "") return { type: "tool-input-available", toolCallId, toolName, input: {} };
  try {
    return { type: "tool-input-available", toolCallId, toolName, input: JSON.parse(text) as unknown };
  } catch (cause) {
    return { type: "tool-input-error", toolCallId, toolName, input: text, errorText: new ToolCallArgumentsError(toolName, toolCallId, text, cutBy === undefined ? { cause } : { cause, finishReason: cutBy }).message };
  }
}

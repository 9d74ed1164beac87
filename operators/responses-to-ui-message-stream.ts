import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import { Observable, type OperatorFunction } from "rxjs";
import { ToolCallArgumentsError } from "./tool-calls.js";
import type { UIMessageFinishReason, UIMessageStreamPart } from "./to-ui-message-stream.js";

/**
 * `toUIMessageStream` for a Responses API stream (`fromResponses`): turns its
 * events into the parts of the Vercel AI SDK's UI message stream, so `useChat`
 * front ends read a g4f-rx backend whose upstream speaks the Responses API.
 *
 * `response.created` opens the message (`start`, its `messageId` the
 * response's id, and `start-step`). `response.output_text.delta` becomes a text
 * part and `response.reasoning_summary_text.delta` (or a raw
 * `response.reasoning_text.delta`) a reasoning part, named after the event's
 * item (and summary part), each opened on its first delta and closed on its
 * `.done` event, when another part begins, or at the end. A function call
 * (`response.output_item.added` with a `function_call` item) becomes
 * `tool-input-start` (its `call_id` and name) and a `tool-input-delta` per
 * `response.function_call_arguments.delta`; its `response.output_item.done`
 * gives `tool-input-available` with the arguments parsed from JSON, or
 * `tool-input-error` when they are not valid JSON. A custom tool's call is
 * the same with text input (`inputEncoding: "text"`).
 *
 * Completion closes what is open and sends `finish-step` and `finish`:
 * after `response.completed`, with `"tool-calls"` when the answer called a
 * function and `"stop"` otherwise; after `response.incomplete`, with the
 * reason it gives (`max_output_tokens` is `"length"`, `content_filter`
 * `"content-filter"`, another is `"other"`, none, as after the relay's own
 * stop, no reason). An error, an `error` event or a `response.failed` becomes
 * one `error` part, after which the parts complete; calls not yet done then
 * get no input part. Serialise each part as an SSE data frame and end with
 * `data: [DONE]`, with the header `x-vercel-ai-ui-message-stream: v1`.
 *
 * ## Examples
 * ```ts
 * import OpenAI from "openai";
 * import { fromResponses } from "g4f-rx";
 * import { responsesToUIMessageStream } from "g4f-rx/operators";
 *
 * fromResponses(new OpenAI(), { model: "gpt-5-mini", input: "Say hello there!" })
 *   .pipe(responsesToUIMessageStream())
 *   .subscribe((part) => console.log(part.type));
 * // A live provider's answer, for instance:
 * // start
 * // start-step
 * // text-start
 * // text-delta
 * // text-end
 * // finish-step
 * // finish
 * ```
 */
export function responsesToUIMessageStream(): OperatorFunction<ResponseStreamEvent, UIMessageStreamPart> {
  return (source) =>
    new Observable<UIMessageStreamPart>((subscriber) => {
      let started = false;
      let open: { kind: "text" | "reasoning"; id: string } | undefined;
      let called = false;
      let finishReason: UIMessageFinishReason | undefined;
      let ended = false;
      // The calls begun and not yet done, by their item's id.
      const calls = new Map<string, { toolCallId: string; toolName: string; text: string; encoding: "json" | "text" }>();

      const start = (messageId?: string): void => {
        if (started) return;
        started = true;
        subscriber.next(messageId === undefined ? { type: "start" } : { type: "start", messageId });
        subscriber.next({ type: "start-step" });
      };
      /** Closes the open part: any, or only the one named `id`, or (with `item`) only one of that output item. */
      const close = (id?: string, item?: string): void => {
        if (open === undefined || (id !== undefined && open.id !== id)) return;
        if (item !== undefined && open.id !== item && !open.id.startsWith(`${item}:`)) return;
        subscriber.next(open.kind === "text" ? { type: "text-end", id: open.id } : { type: "reasoning-end", id: open.id });
        open = undefined;
      };
      const write = (kind: "text" | "reasoning", id: string, delta: string): void => {
        start();
        if (open?.kind !== kind || open.id !== id) {
          close();
          open = { kind, id };
          subscriber.next(kind === "text" ? { type: "text-start", id } : { type: "reasoning-start", id });
        }
        subscriber.next(kind === "text" ? { type: "text-delta", id, delta } : { type: "reasoning-delta", id, delta });
      };
      const fail = (message: string): void => {
        start();
        close();
        ended = true;
        subscriber.next({ type: "error", errorText: message });
        subscriber.complete();
      };
      const startCall = (itemId: string, toolCallId: string, toolName: string, encoding: "json" | "text"): void => {
        if (calls.has(itemId)) return;
        start();
        close();
        called = true;
        calls.set(itemId, { toolCallId, toolName, text: "", encoding });
        subscriber.next(encoding === "text" ? { type: "tool-input-start", toolCallId, toolName, inputEncoding: "text" } : { type: "tool-input-start", toolCallId, toolName });
      };
      const callDelta = (itemId: string, delta: string): void => {
        const call = calls.get(itemId);
        if (call === undefined) return;
        call.text += delta;
        subscriber.next({ type: "tool-input-delta", toolCallId: call.toolCallId, inputTextDelta: delta });
      };
      const endCall = (itemId: string, input: string): void => {
        const call = calls.get(itemId);
        if (call === undefined) return;
        calls.delete(itemId);
        subscriber.next(inputOf(call.toolCallId, call.toolName, call.encoding, input));
      };

      const read = (event: ResponseStreamEvent): void => {
        switch (event.type) {
          case "response.created":
            start(event.response.id);
            return;
          case "response.output_text.delta":
            write("text", event.item_id, event.delta);
            return;
          case "response.output_text.done":
            close(event.item_id);
            return;
          case "response.reasoning_summary_text.delta":
            write("reasoning", `${event.item_id}:${event.summary_index}`, event.delta);
            return;
          case "response.reasoning_summary_text.done":
            close(`${event.item_id}:${event.summary_index}`);
            return;
          case "response.reasoning_text.delta":
            write("reasoning", `${event.item_id}:${event.content_index}`, event.delta);
            return;
          case "response.reasoning_text.done":
            close(`${event.item_id}:${event.content_index}`);
            return;
          case "response.output_item.added": {
            const item = event.item;
            if (item.type === "function_call") startCall(item.id ?? item.call_id, item.call_id, item.name, "json");
            else if (item.type === "custom_tool_call") startCall(item.id ?? item.call_id, item.call_id, item.name, "text");
            return;
          }
          case "response.function_call_arguments.delta":
          case "response.custom_tool_call_input.delta":
            callDelta(event.item_id, event.delta);
            return;
          case "response.output_item.done": {
            const item = event.item;
            if (item.type === "function_call") endCall(item.id ?? item.call_id, item.arguments);
            else if (item.type === "custom_tool_call") endCall(item.id ?? item.call_id, item.input);
            else if ((item.type === "message" || item.type === "reasoning") && item.id !== undefined) close(undefined, item.id);
            return;
          }
          case "response.completed":
            finishReason = called ? "tool-calls" : "stop";
            return;
          case "response.incomplete":
            finishReason = incompleteReason(event.response.incomplete_details?.reason);
            return;
          case "response.failed":
            fail(event.response.error?.message ?? "The response failed");
            return;
          case "error":
            fail(event.message);
            return;
          default:
            return;
        }
      };

      return source.subscribe({
        next: (event) => {
          if (ended) return;
          try {
            read(event);
          } catch (error) {
            // An event not of the Responses shape (a JavaScript caller's, or a server's off the spec) ends the message with an error part, as an error would.
            fail(`responsesToUIMessageStream could not read a Responses event: ${error instanceof Error ? error.message : String(error)}`);
          }
        },
        error: (error: unknown) => {
          if (!ended) fail(error instanceof Error ? error.message : String(error));
        },
        complete: () => {
          if (ended) return;
          start();
          close();
          subscriber.next({ type: "finish-step" });
          subscriber.next(finishReason === undefined ? { type: "finish" } : { type: "finish", finishReason });
          subscriber.complete();
        },
      });
    });
}

function incompleteReason(reason: string | undefined): UIMessageFinishReason | undefined {
  if (reason === undefined) return undefined;
  if (reason === "max_output_tokens") return "length";
  if (reason === "content_filter") return "content-filter";
  // The relay's own stop (`"stopped"`) ends like a stopped chat stream: no finish reason.
  return reason === "stopped" ? undefined : "other";
}

/** A done call's input part: the arguments parsed from JSON (none is `{}`), a custom tool's text as is, or the parse error. */
function inputOf(toolCallId: string, toolName: string, encoding: "json" | "text", text: string): UIMessageStreamPart {
  if (encoding === "text") return { type: "tool-input-available", toolCallId, toolName, input: text };
  if (text.trim() === "") return { type: "tool-input-available", toolCallId, toolName, input: {} };
  try {
    return { type: "tool-input-available", toolCallId, toolName, input: JSON.parse(text) as unknown };
  } catch (cause) {
    return { type: "tool-input-error", toolCallId, toolName, input: text, errorText: new ToolCallArgumentsError(toolName, toolCallId, text, { cause }).message };
  }
}

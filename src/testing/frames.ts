import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import type { CompletionUsage } from "openai/resources/completions";
import { DONE_EVENT } from "../../operators/to-server-sent-events.js";
import type { Response, ResponseOutputItem, ResponseStatus, ResponseStreamEvent } from "openai/resources/responses/responses";
import type { ReplyStep, ScriptedReply } from "./test-server.js";

/** The frame that ends an OpenAI-format stream, the same constant as `g4f-rx`'s. */
export { DONE_EVENT };

/** One SSE data frame: a string is sent as is, anything else as JSON. */
export function sseFrame(data: unknown): string {
  return `data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`;
}

/**
 * An in-stream error frame: `data: {"error":{"message":…}}` as GPT4Free's API
 * and OpenAI send it, or with `{ event: true }` an `event: error` frame.
 */
export function errorFrame(message: string, options: { event?: boolean; type?: string } = {}): string {
  const payload = JSON.stringify({ error: { message, type: options.type ?? "server_error" } });
  return options.event ? `event: error\ndata: ${payload}\n\n` : `data: ${payload}\n\n`;
}

export interface StreamReplyOptions {
  /** Pause after each chunk, in milliseconds. Default 0. */
  delayMs?: number;
  /** End with `data: [DONE]`. Default true. */
  done?: boolean;
  /** Steps written after the chunks (and before `[DONE]`): an error frame, a stall, `{ destroy: true }`… */
  then?: readonly ReplyStep[];
  /** Write the body in pieces of this many bytes. */
  pieceSize?: number;
}

/** A 200 `text/event-stream` reply that sends `chunks` as data frames. */
export function streamReply(chunks: readonly ChatCompletionChunk[], options: StreamReplyOptions = {}): ScriptedReply {
  const { delayMs = 0, done = true, then = [], pieceSize } = options;
  const body: ReplyStep[] = [];
  for (const chunk of chunks) {
    body.push(sseFrame(chunk));
    if (delayMs > 0) body.push({ wait: delayMs });
  }
  body.push(...then);
  if (done) body.push(DONE_EVENT);
  return pieceSize === undefined ? { body } : { body, pieceSize };
}

export interface TextChunksOptions {
  id?: string;
  model?: string;
  created?: number;
  /** The final chunk's `finish_reason`; `null` leaves the answer unfinished. Default `"stop"`. */
  finishReason?: ChatCompletionChunk.Choice["finish_reason"];
  /** Choice index. Default 0. */
  index?: number;
  /**
   * Token usage, sent as OpenAI sends it when asked with `stream_options: { include_usage: true }`: one more
   * chunk at the end, with empty `choices`.
   */
  usage?: CompletionUsage;
}

/**
 * The chunks a provider sends for `pieces` of text: a role chunk with empty
 * content, one chunk per piece, a chunk with an empty delta and the
 * `finish_reason`, and with `usage` a last chunk with empty `choices` that
 * carries it.
 */
export function textChunks(pieces: readonly string[], options: TextChunksOptions = {}): ChatCompletionChunk[] {
  const { finishReason = "stop", ...rest } = options;
  const { chunk, ending } = answerChunks(rest);
  return [chunk({ role: "assistant", content: "" }), ...pieces.map((content) => chunk({ content })), ...ending(finishReason)];
}

/**
 * What `textChunks` and `toolCallChunks` build an answer of: a chunk of its one choice with a delta, and its ending:
 * a chunk with an empty delta and the `finish_reason` (none for `null`), and with `usage` a last chunk with empty
 * `choices` that carries it.
 */
function answerChunks(options: Omit<TextChunksOptions, "finishReason">): {
  readonly chunk: (delta: ChatCompletionChunk.Choice.Delta) => ChatCompletionChunk;
  readonly ending: (finishReason: ChatCompletionChunk.Choice["finish_reason"]) => ChatCompletionChunk[];
} {
  const { id = "chatcmpl-test", model = "gpt-4", created = 1_700_000_000, index = 0, usage } = options;
  const chunk = (delta: ChatCompletionChunk.Choice.Delta, finish: ChatCompletionChunk.Choice["finish_reason"] = null): ChatCompletionChunk => ({
    id,
    object: "chat.completion.chunk",
    created,
    model,
    choices: [{ index, delta, finish_reason: finish, logprobs: null }],
  });
  return {
    chunk: (delta) => chunk(delta),
    ending: (finishReason) => [
      ...(finishReason === null ? [] : [chunk({}, finishReason)]),
      ...(usage === undefined ? [] : [{ id, object: "chat.completion.chunk" as const, created, model, choices: [], usage }]),
    ],
  };
}

/** One tool call for `toolCallChunks`: its id, the function's name and its arguments (JSON text, or a value sent as JSON). */
export interface ToolCallSpec {
  id: string;
  name: string;
  arguments: string | object;
}

export interface ToolCallChunksOptions extends Omit<TextChunksOptions, "finishReason"> {
  /** Text the model writes before the calls, one chunk per piece. Default none. */
  text?: readonly string[];
  /** Sends each call's arguments in pieces of this many characters, as OpenAI streams them. Default: whole. */
  pieceLength?: number;
  /** The final chunk's `finish_reason`; `null` leaves the answer unfinished. Default `"tool_calls"`. */
  finishReason?: ChatCompletionChunk.Choice["finish_reason"];
}

/**
 * The chunks OpenAI sends for an answer that calls tools: a role chunk (with
 * `content: null`, or `""` before `text`), one chunk per piece of `text`,
 * then for each call (at `index` 0, 1, …) a chunk with its id, type and name
 * and empty arguments followed by its arguments (whole, or in pieces of
 * `pieceLength` characters), a chunk with an empty delta and the
 * `finish_reason`, and with `usage` a last chunk with empty `choices`.
 */
export function toolCallChunks(calls: readonly ToolCallSpec[], options: ToolCallChunksOptions = {}): ChatCompletionChunk[] {
  const { text = [], pieceLength, finishReason = "tool_calls", ...rest } = options;
  if (pieceLength !== undefined && !(Number.isInteger(pieceLength) && pieceLength > 0)) {
    throw new TypeError(`toolCallChunks: pieceLength must be a positive integer, got ${String(pieceLength)}`);
  }
  const { chunk, ending } = answerChunks(rest);
  const chunks = [chunk({ role: "assistant", content: text.length === 0 ? null : "" }), ...text.map((content) => chunk({ content }))];
  calls.forEach((call, position) => {
    const args = typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments);
    chunks.push(chunk({ tool_calls: [{ index: position, id: call.id, type: "function", function: { name: call.name, arguments: "" } }] }));
    const step = pieceLength ?? Math.max(args.length, 1);
    for (let at = 0; at < args.length; at += step) {
      chunks.push(chunk({ tool_calls: [{ index: position, function: { arguments: args.slice(at, at + step) } }] }));
    }
  });
  return [...chunks, ...ending(finishReason)];
}

export interface ResponseEventsOptions {
  id?: string;
  model?: string;
  createdAt?: number;
  /** Reasoning summary pieces, streamed as a reasoning item before the message. */
  reasoning?: readonly string[];
  /** How the response ends: `"completed"` (default), `"incomplete"` or `"failed"`; `null` ends after the last text delta. */
  end?: "completed" | "incomplete" | "failed" | null;
}

/**
 * The events OpenAI's Responses API streams for `pieces` of output text:
 * `response.created`, `response.in_progress`, an optional reasoning item with
 * its summary, a message item with one `output_text` part and one
 * `response.output_text.delta` per piece, the `.done` events, and
 * `response.completed` (or `.incomplete` / `.failed`) carrying the whole
 * response.
 */
export function responseEvents(pieces: readonly string[], options: ResponseEventsOptions = {}): ResponseStreamEvent[] {
  const { id = "resp_test", model = "gpt-5-mini", createdAt = 1_700_000_000, reasoning, end = "completed" } = options;
  const base = (status: ResponseStatus, output: ResponseOutputItem[]): Response => ({
    id,
    object: "response",
    created_at: createdAt,
    status,
    model,
    output,
    output_text: "",
    error: null,
    incomplete_details: null,
    instructions: null,
    metadata: {},
    parallel_tool_calls: true,
    temperature: 1,
    tool_choice: "auto",
    tools: [],
    top_p: 1,
  });
  const events: ResponseStreamEvent[] = [];
  let sequence = 0;
  const next = (): number => sequence++;
  const push = (event: ResponseStreamEvent): void => void events.push(event);
  const output: ResponseOutputItem[] = [];
  push({ sequence_number: next(), type: "response.created", response: base("in_progress", []) });
  push({ sequence_number: next(), type: "response.in_progress", response: base("in_progress", []) });
  if (reasoning !== undefined) {
    const output_index = output.length;
    const item_id = "rs_test";
    push({ sequence_number: next(), type: "response.output_item.added", output_index, item: { id: item_id, type: "reasoning", summary: [] } });
    push({ sequence_number: next(), type: "response.reasoning_summary_part.added", item_id, output_index, summary_index: 0, part: { type: "summary_text", text: "" } });
    for (const delta of reasoning) push({ sequence_number: next(), type: "response.reasoning_summary_text.delta", item_id, output_index, summary_index: 0, delta });
    const text = reasoning.join("");
    push({ sequence_number: next(), type: "response.reasoning_summary_text.done", item_id, output_index, summary_index: 0, text });
    push({ sequence_number: next(), type: "response.reasoning_summary_part.done", item_id, output_index, summary_index: 0, part: { type: "summary_text", text } });
    const item: ResponseOutputItem = { id: item_id, type: "reasoning", summary: [{ type: "summary_text", text }] };
    push({ sequence_number: next(), type: "response.output_item.done", output_index, item });
    output.push(item);
  }
  const output_index = output.length;
  const item_id = "msg_test";
  push({ sequence_number: next(), type: "response.output_item.added", output_index, item: { id: item_id, type: "message", status: "in_progress", role: "assistant", content: [] } });
  push({ sequence_number: next(), type: "response.content_part.added", item_id, output_index, content_index: 0, part: { type: "output_text", text: "", annotations: [] } });
  for (const delta of pieces) push({ sequence_number: next(), type: "response.output_text.delta", item_id, output_index, content_index: 0, delta, logprobs: [] });
  if (end === null) return events;
  const text = pieces.join("");
  const part = { type: "output_text" as const, text, annotations: [] };
  push({ sequence_number: next(), type: "response.output_text.done", item_id, output_index, content_index: 0, text, logprobs: [] });
  push({ sequence_number: next(), type: "response.content_part.done", item_id, output_index, content_index: 0, part });
  const message: ResponseOutputItem = { id: item_id, type: "message", status: end === "completed" ? "completed" : "incomplete", role: "assistant", content: [part] };
  push({ sequence_number: next(), type: "response.output_item.done", output_index, item: message });
  output.push(message);
  // The SDK's field, which servers leave out: a `Response` the openai client returns has its text here.
  const final = { ...base(end, output), output_text: text };
  if (end === "incomplete") final.incomplete_details = { reason: "max_output_tokens" };
  if (end === "failed") final.error = { code: "server_error", message: "The model failed to finish" };
  if (end !== "failed") final.usage = { input_tokens: 9, input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 }, output_tokens: pieces.length, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 9 + pieces.length };
  if (end === "completed") push({ sequence_number: next(), type: "response.completed", response: final });
  else if (end === "incomplete") push({ sequence_number: next(), type: "response.incomplete", response: final });
  else push({ sequence_number: next(), type: "response.failed", response: final });
  return events;
}

/** One Responses API frame, as OpenAI sends it: `event: <type>` and the event as JSON. */
export function responseFrame(event: ResponseStreamEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** A 200 `text/event-stream` reply that sends Responses API `events`, then the steps in `then`. */
export function responsesReply(events: readonly ResponseStreamEvent[], options: Omit<StreamReplyOptions, "done"> = {}): ScriptedReply {
  const { delayMs = 0, then = [], pieceSize } = options;
  const body: ReplyStep[] = [];
  for (const event of events) {
    body.push(responseFrame(event));
    if (delayMs > 0) body.push({ wait: delayMs });
  }
  body.push(...then);
  return pieceSize === undefined ? { body } : { body, pieceSize };
}

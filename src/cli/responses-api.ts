import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { Observable, type OperatorFunction, defer, map } from "rxjs";
import type OpenAI from "openai";
import type { EasyInputMessage, Response, ResponseStreamEvent } from "openai/resources/responses/responses";
import { MalformedChunkError, NotEventStreamError } from "../errors.js";
import { decodeEventStream } from "../sources/decode-event-stream.js";
import { errorFromFrame, isObject, parseFrameData } from "../sources/frames.js";
import type { ResponsesStreamParams } from "../sources/from-responses.js";
import { responsesProtocol } from "../sources/responses-protocol.js";
import type { RequestParams } from "./answer-source.js";
import { readWholeAnswer } from "./http-source.js";

/**
 * `--api responses`: the command asks through OpenAI's Responses API
 * (`POST /v1/responses`) and reads its events into the chat-completion chunks
 * the rest of the command prints, so every flag works alike. `--json` prints
 * the events themselves (see `live.ts`).
 */

/**
 * The Responses request for a chat request: system messages become `instructions`, the others `input`, `max_tokens`
 * `max_output_tokens`; `fields` (`-o`'s) go as they are, in the Responses API's own names (`-o reasoning={"effort":"high"}`).
 */
export function responsesParams(body: RequestParams, fields: Readonly<Record<string, unknown>> = {}): ResponsesStreamParams {
  const instructions: string[] = [];
  const input: EasyInputMessage[] = [];
  for (const message of body.messages) {
    const text = typeof message.content === "string" ? message.content : "";
    if (message.role === "system" || message.role === "developer") instructions.push(text);
    else if (message.role === "user" || message.role === "assistant") input.push({ role: message.role, content: text });
  }
  return {
    ...fields,
    model: body.model,
    input,
    ...(instructions.length === 0 ? {} : { instructions: instructions.join("\n\n") }),
    ...(typeof body.temperature === "number" ? { temperature: body.temperature } : {}),
    ...(typeof body.max_tokens === "number" ? { max_output_tokens: body.max_tokens } : {}),
  };
}

/** What `--json` prints for a chunk: the event it was read from (see live.ts). */
type Keep = (chunk: ChatCompletionChunk, whole: ResponseStreamEvent | Response) => ChatCompletionChunk;

/**
 * Reads a response's events into the chunks they stand for: output text is
 * `content`, the reasoning (its summary, or the raw reasoning text LM Studio
 * and gpt-oss send) `reasoning_content`, a refusal `refusal`, a function or
 * custom tool call `tool_calls` (so the command names the call, as it does
 * for chat), and the end of the response a `finish_reason` with its usage.
 * Any other event is a chunk without choices, so that `--json` can still
 * print every event. Each subscription reads its own response.
 */
export function chunksOfEvents(model: string, keep: Keep = (chunk) => chunk): OperatorFunction<ResponseStreamEvent, ChatCompletionChunk> {
  return (events) =>
    defer(() => {
      const calls = new ToolCalls();
      return events.pipe(map((event) => keep(chunkOfEvent(event, model, calls), event)));
    });
}

/**
 * A response's tool calls, numbered in the order they start, as chat numbers them. Arguments come as deltas, or
 * only whole in the call's `.done` events (LM Studio); they are taken once, whichever way they come.
 */
class ToolCalls {
  readonly #index = new Map<number, number>();
  readonly #taken = new Set<number>();

  /** A call starts at `outputIndex`: its chat index. Arguments it starts with count as taken. */
  start(outputIndex: number, startingArguments: string): number {
    const index = this.#index.size;
    this.#index.set(outputIndex, index);
    if (startingArguments !== "") this.#taken.add(outputIndex);
    return index;
  }

  /** The chat index a delta of arguments goes to; `undefined` for an output item that is not a call. */
  forDelta(outputIndex: number): number | undefined {
    const index = this.#index.get(outputIndex);
    if (index !== undefined) this.#taken.add(outputIndex);
    return index;
  }

  /** The chat index whole arguments go to, when none came before them. */
  forWhole(outputIndex: number): number | undefined {
    return this.#taken.has(outputIndex) ? undefined : this.forDelta(outputIndex);
  }
}

function chunkOfEvent(event: ResponseStreamEvent, model: string, calls: ToolCalls): ChatCompletionChunk {
  const chunk = (delta: ReasoningDelta, finish: ChatCompletionChunk.Choice["finish_reason"] = null): ChatCompletionChunk => ({
    id: "resp",
    object: "chat.completion.chunk",
    created: 0,
    model,
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
  });
  const call = (index: number, part: ChatCompletionChunk.Choice.Delta.ToolCall["function"], id?: string): ChatCompletionChunk =>
    chunk({ tool_calls: [{ index, ...(id === undefined ? {} : { id, type: "function" as const }), function: part }] });
  const args = (index: number | undefined, text: string): ChatCompletionChunk | undefined => (index === undefined || text === "" ? undefined : call(index, { arguments: text }));
  let read: ChatCompletionChunk | undefined;
  switch (event.type) {
    case "response.output_text.delta":
      return chunk({ content: event.delta });
    case "response.refusal.delta":
      return chunk({ refusal: event.delta });
    case "response.reasoning_summary_text.delta":
    case "response.reasoning_text.delta":
      return chunk({ reasoning_content: event.delta });
    case "response.output_item.added": {
      const { item } = event;
      if (item.type !== "function_call" && item.type !== "custom_tool_call") break;
      // Some servers leave the field out of the item that starts a call.
      const whole: unknown = item.type === "function_call" ? item.arguments : item.input;
      const starting = typeof whole === "string" ? whole : "";
      return call(calls.start(event.output_index, starting), { name: item.name, arguments: starting }, item.call_id);
    }
    case "response.function_call_arguments.delta":
    case "response.custom_tool_call_input.delta":
      read = args(calls.forDelta(event.output_index), event.delta);
      break;
    case "response.function_call_arguments.done":
      read = args(calls.forWhole(event.output_index), event.arguments);
      break;
    case "response.custom_tool_call_input.done":
      read = args(calls.forWhole(event.output_index), event.input);
      break;
    case "response.output_item.done":
      if (event.item.type === "function_call") read = args(calls.forWhole(event.output_index), event.item.arguments);
      else if (event.item.type === "custom_tool_call") read = args(calls.forWhole(event.output_index), event.item.input);
      break;
    case "response.completed":
    case "response.incomplete":
      return finalChunk(event.response, model);
  }
  return read ?? { id: "resp", object: "chat.completion.chunk", created: 0, model, choices: [] };
}

/** A chunk's delta as the command reads it: chat's, with the reasoning some servers add. */
type ReasoningDelta = ChatCompletionChunk.Choice.Delta & { reasoning_content?: string };

/** Why a response ended, in chat's words. */
function finishReason(response: Response): ChatCompletionChunk.Choice["finish_reason"] {
  if (response.status === "incomplete") return response.incomplete_details?.reason === "content_filter" ? "content_filter" : "length";
  // The whole response a server ends with is not checked: one without its output list says "stop", not a TypeError.
  const output: unknown = response.output;
  return Array.isArray(output) && output.some((item) => isObject(item) && (item.type === "function_call" || item.type === "custom_tool_call")) ? "tool_calls" : "stop";
}

/** The last chunk: the finish reason and the token usage of the whole response. */
function finalChunk(response: Response, model: string): ChatCompletionChunk {
  const usage = response.usage;
  return {
    id: response.id || "resp",
    object: "chat.completion.chunk",
    created: response.created_at,
    model: response.model || model,
    choices: [{ index: 0, delta: {}, finish_reason: finishReason(response), logprobs: null }],
    ...(usage === undefined ? {} : { usage: { prompt_tokens: usage.input_tokens, completion_tokens: usage.output_tokens, total_tokens: usage.total_tokens } }),
  };
}

/** A whole (non-streamed) response as one chunk, like `completionChunk` for a chat completion. */
export function chunkOfResponse(response: Response): ChatCompletionChunk {
  let text = "";
  let refusal = "";
  let reasoning = "";
  const toolCalls: ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
  for (const item of response.output) {
    if (item.type === "message") {
      for (const part of item.content) {
        if (part.type === "output_text") text += part.text;
        else if (part.type === "refusal") refusal += part.refusal;
      }
    }
    if (item.type === "reasoning") {
      const parts = item.summary.length > 0 ? item.summary : (item.content ?? []);
      for (const part of parts) reasoning += part.text;
    }
    if (item.type === "function_call" || item.type === "custom_tool_call") {
      const args = item.type === "function_call" ? item.arguments : item.input;
      toolCalls.push({ index: toolCalls.length, id: item.call_id, type: "function", function: { name: item.name, arguments: args } });
    }
  }
  const last = finalChunk(response, response.model);
  const delta: ReasoningDelta = { role: "assistant", content: text };
  if (refusal !== "") delta.refusal = refusal;
  if (reasoning !== "") delta.reasoning_content = reasoning;
  if (toolCalls.length > 0) delta.tool_calls = toolCalls;
  return { ...last, choices: [{ index: 0, delta, finish_reason: last.choices[0]?.finish_reason ?? "stop", logprobs: null }] };
}

/** How much of an odd body's start an error shows. */
const HEAD_LENGTH = 512;

/**
 * `--api responses --no-stream`: one whole response, as one chunk (`keep` ties it to the response for `--json`). The
 * client sends the request (its headers, retries and HTTP errors), and the body is read here, so that one that is not
 * a response gets the errors a stream gets, as with chat: an SSE reply is read as the stream it is, `{"error": …}` is
 * the server's message, anything else says what arrived. The client alone would fail on such bodies inside its own
 * code, with a `TypeError`. A body is read up to 64 MiB, as chat's (`readWholeAnswer`): the client would read an
 * endless one into memory.
 */
export function wholeResponse(client: OpenAI, params: ResponsesStreamParams, model: string, keep: Keep): Observable<ChatCompletionChunk> {
  return new Observable<ChatCompletionChunk>((subscriber) => {
    const controller = new AbortController();
    const { signal } = controller;
    const read = async (): Promise<void> => {
      const response = await client.responses.create({ ...params, stream: false }, { signal }).asResponse();
      const contentType = response.headers.get("content-type");
      if (contentType !== null && /^\s*text\/event-stream\b/i.test(contentType)) {
        const calls = new ToolCalls();
        await decodeEventStream(response, (event) => subscriber.next(keep(chunkOfEvent(event, model, calls), event)), signal, responsesProtocol);
        return;
      }
      const text = response.body === null ? "" : await readWholeAnswer(response.body, signal);
      const parsed = parseFrameData(text.trim());
      if (!parsed.json) throw new NotEventStreamError(contentType, text.slice(0, HEAD_LENGTH), { expected: "a JSON response or an event stream" });
      const { value } = parsed;
      if (isObject(value) && value.error !== undefined && value.error !== null) throw errorFromFrame(value, text, undefined, response.headers);
      if (!isResponse(value)) throw new MalformedChunkError(text, { expected: 'a response (no "output" list)' });
      subscriber.next(keep(chunkOfResponse(value), value));
    };
    read().then(
      () => subscriber.complete(),
      (error: unknown) => {
        if (!signal.aborted) subscriber.error(error);
      },
    );
    return () => controller.abort();
  });
}

function isResponse(value: unknown): value is Response {
  return isObject(value) && Array.isArray(value.output) && value.output.every((item) => isObject(item));
}

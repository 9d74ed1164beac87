import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import type { CompletionUsage } from "openai/resources/completions";
import type { ResponseStreamEvent } from "openai/resources/responses/responses";

/**
 * The one chunk reader every operator in this folder reads chunks with. Not
 * exported from the package: the operators are the public surface.
 *
 * Providers put on the wire what the types rule out, and sources that do not
 * validate (`fromCompletionStream`, a hand-made Observable) may pass on worse:
 * `choices` missing or not an array, `null` choices, choices without `index`
 * or `delta` (Azure's content-filter chunks), `"delta": "hi"`, `tool_calls:
 * [null]`… Every function here accepts any of it: a field of the wrong kind
 * reads as absent, so no operator can throw a `TypeError` on a chunk.
 *
 * One rule for which choice is which: a choice's `index` field, and a choice
 * without an integer `index` counts as choice 0.
 */

/** What the stream operators accept: chat-completion chunks, or Responses API events. */
export type StreamItem = ChatCompletionChunk | ResponseStreamEvent;

/** A Responses API event (an object with a string `type`) rather than a chat-completion chunk. */
export function isResponseEvent(item: StreamItem): item is ResponseStreamEvent {
  return isObject(item) && "type" in item && typeof item.type === "string";
}

/** The events that end a Responses stream: nothing after one is read (`responsesProtocol`'s rule, kept here, where the operators can read it too). */
const RESPONSES_END: ReadonlySet<string> = new Set(["response.completed", "response.incomplete", "response.failed"]);

/** Whether an event of this type ends a Responses stream: `response.completed`, `response.incomplete` or `response.failed`. */
export function endsResponsesStream(type: string): boolean {
  return RESPONSES_END.has(type);
}

/** The Responses events whose `delta` is content: something a consumer may already have shown or acted on. */
const CONTENT_EVENTS: ReadonlySet<string> = new Set([
  "response.output_text.delta",
  "response.refusal.delta",
  "response.reasoning_summary_text.delta",
  "response.reasoning_text.delta",
  "response.function_call_arguments.delta",
  "response.custom_tool_call_input.delta",
]);

/** The non-empty `delta` of a Responses event that carries content, and of which kind. */
export function eventContentOf(event: ResponseStreamEvent): { text: boolean; delta: string } | undefined {
  if (!CONTENT_EVENTS.has(event.type) || !("delta" in event)) return undefined;
  const delta = nonEmpty(event.delta);
  return delta === undefined ? undefined : { text: event.type === "response.output_text.delta", delta };
}

/** A chunk's choice as it may arrive: every field optional. */
export type WireChoice = Partial<ChatCompletionChunk.Choice>;

/** A delta as it may arrive, with the reasoning fields some providers add. */
export type WireDelta = Partial<ChatCompletionChunk.Choice.Delta> & { reasoning?: unknown; reasoning_content?: unknown; reasoning_details?: unknown };

/**
 * The delta's `reasoning_details` items (OpenRouter's, MiniMax's: `{ type, text | summary | data, signature, index… }`)
 * that are objects; none when the field is missing or not an array.
 */
export function reasoningDetailsOf(delta: WireDelta | undefined): readonly { readonly [key: string]: unknown }[] {
  const details: unknown = delta?.reasoning_details;
  if (!Array.isArray(details)) return [];
  return details.filter(isObject<{ readonly [key: string]: unknown }>);
}

/**
 * A tool-call delta as it may arrive: Mistral sends whole calls without
 * `index`; custom (free-form) tools send `type: "custom"` with
 * `custom: { name, input }` instead of `function`.
 */
export type WireToolCall = Partial<Omit<ChatCompletionChunk.Choice.Delta.ToolCall, "type">> & {
  type?: string;
  custom?: { name?: unknown; input?: unknown } | null;
  /** Provider data to send back with the call: Gemini's `{ google: { thought_signature } }`. */
  extra_content?: unknown;
};

/** The chunk's choices that are objects, in wire order. */
export function choicesOf(chunk: ChatCompletionChunk): readonly WireChoice[] {
  const choices: unknown = isObject(chunk) ? chunk.choices : undefined;
  if (!Array.isArray(choices)) return [];
  const list: readonly unknown[] = choices;
  // The array itself when all are objects, the usual case: this runs once per token.
  return allObjects(list) ? list : list.filter(isObject<WireChoice>);
}

/** A loop rather than `every`: this runs once per token. */
function allObjects(list: readonly unknown[]): list is readonly WireChoice[] {
  for (let i = 0; i < list.length; i += 1) if (!isObject(list[i])) return false;
  return true;
}

/** The choice's `index`; a choice without a non-negative integer `index` counts as 0. */
export function indexOf(choice: WireChoice): number {
  const index: unknown = choice.index;
  return typeof index === "number" && Number.isInteger(index) && index >= 0 ? index : 0;
}

/** The first choice whose index (by `indexOf`) is `index`, or `undefined`. */
export function choiceOf(chunk: ChatCompletionChunk, index: number): WireChoice | undefined {
  const choices: unknown = isObject(chunk) ? chunk.choices : undefined;
  if (!Array.isArray(choices)) return undefined;
  for (let i = 0; i < choices.length; i += 1) {
    const choice: unknown = choices[i];
    if (isObject(choice) && indexOf(choice) === index) return choice;
  }
  return undefined;
}

/** The choice's delta, or `undefined` when it is missing, `null` or not an object (`"delta": "hi"`). */
export function deltaOf(choice: WireChoice | undefined): WireDelta | undefined {
  const delta: unknown = choice?.delta;
  return isObject(delta) ? delta : undefined;
}

/** The delta's `content` when it is a non-empty string. */
export function contentOf(delta: WireDelta | undefined): string | undefined {
  return nonEmpty(delta?.content);
}

/**
 * The reasoning text of a delta: `reasoning_content` (DeepSeek, vLLM, xAI) or
 * `reasoning` (GPT4Free, OpenRouter, Groq, Ollama). Some servers (recent vLLM)
 * send both with the same text, so the first non-empty one wins and the two
 * are never added together.
 */
export function reasoningOf(delta: WireDelta | undefined): string | undefined {
  return nonEmpty(delta?.reasoning_content) ?? nonEmpty(delta?.reasoning);
}

/** The delta's tool-call deltas that are objects; none when `tool_calls` is missing or not an array. */
export function toolCallsOf(delta: WireDelta | undefined): readonly WireToolCall[] {
  const calls: unknown = delta?.tool_calls;
  if (!Array.isArray(calls)) return [];
  return calls.filter(isObject);
}

/** What matching a tool-call delta to its call needs to know of each call so far. */
export interface ToolCallKey {
  /** The `index` the call came with on the wire (for a call sent without one, the one after the highest so far). */
  readonly wireIndex: number;
  /** The call's id as received, `""` while none came. */
  readonly wireId: string;
}

/**
 * The one rule for which call a tool-call delta goes on: its position in
 * `calls`, or -1 when it starts a new call. A delta with an `index` goes on
 * the call with that index, or among several with it on the one with its id,
 * else the latest. Some servers give every parallel call `index: 0` (Ollama
 * through LiteLLM, Dynamo): a delta that brings another id and a name once
 * the latest call's arguments are whole JSON starts a new call, rather than
 * running two calls' arguments together. (Arguments still cut off keep the
 * delta on the call: some servers send a new id on every delta.) When
 * neither the delta nor the call has an id, the rule below for deltas
 * without `index` decides. A
 * delta without `index` (Mistral sends whole calls so) goes on the call with
 * its id, starts a new one when its id is new, and without an id continues
 * the last call — unless it brings a name while the last call's arguments
 * are whole JSON, and either another name or arguments of its own (not
 * blank): then it is another whole call, as nothing but blanks can follow
 * whole JSON. A delta that repeats the call's own name with no arguments (a
 * server that resends the name with every piece, to the last) continues it.
 */
export function continuedCall(delta: WireToolCall, calls: readonly ToolCallKey[], callAt: (position: number) => CallSoFar): number {
  const id = nonEmpty(delta.id);
  const index: unknown = delta.index;
  if (typeof index !== "number") {
    if (id === undefined) return startsAnotherCall(delta, callAt(calls.length - 1)) ? -1 : calls.length - 1;
    for (let i = calls.length - 1; i >= 0; i -= 1) if (calls[i]?.wireId === id) return i;
    return -1;
  }
  let latest = -1;
  for (let i = 0; i < calls.length; i += 1) {
    const call = calls[i];
    if (call === undefined || call.wireIndex !== index) continue;
    if (id !== undefined && call.wireId === id) return i;
    latest = i;
  }
  const current = calls[latest];
  if (current === undefined) return -1;
  // Every parallel call at one index (index 0): another id with a name starts one; with no ids at all, the rule of
  // calls without an index (another name, or a name with arguments, after whole arguments).
  const startsAnother =
    id !== undefined ? current.wireId !== "" && toolNameOf(delta) !== undefined && isWholeJson(callAt(latest).arguments) : current.wireId === "" && startsAnotherCall(delta, callAt(latest));
  return startsAnother ? -1 : latest;
}

/** What `continuedCall` reads of a call so far: its name and its arguments (a custom call's input), `""` while none came. */
export interface CallSoFar {
  readonly name: string;
  readonly arguments: string;
}

/** A delta without index or id is another call: it names one after whole arguments, and is not the call's name repeated alone. */
function startsAnotherCall(delta: WireToolCall, last: CallSoFar): boolean {
  const name = toolNameOf(delta);
  if (name === undefined || !isWholeJson(last.arguments)) return false;
  return name !== last.name || (toolInputOf(delta)?.trim() ?? "") !== "";
}

/** The arguments (or a custom tool's input) a tool-call delta carries, when non-empty. */
function toolInputOf(delta: WireToolCall): string | undefined {
  const fn: unknown = delta.function;
  const args = isObject(fn) && "arguments" in fn ? argumentsOf(fn.arguments) : undefined;
  const custom: unknown = delta.custom;
  return args ?? (isObject(custom) && "input" in custom ? nonEmpty(custom.input) : undefined);
}

/** The text is one whole JSON value: a tool call's arguments that nothing more can be added to. */
export function isWholeJson(text: string): boolean {
  if (text.trim() === "") return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    // Not JSON, or cut off so far.
    return false;
  }
}

/**
 * The id of a tool call that came without one (some OpenAI-compatible servers, Ollama and GPT4Free's providers among
 * them, leave it out or send `""`, and the next request must answer the call by an id): `call_`, the completion's id
 * (its letters, digits, `_` and `-`), `_`, and the call's number in its choice, counting calls from 0 in the order they
 * began. The same chunks give the same ids, so a replayed answer has them too, and so every part that reads the stream
 * (the snapshot's tool calls, `toolCalls`, `toUIMessageStream`) agrees on them.
 */
export function madeUpToolCallId(completionId: string, order: number): string {
  const safe = completionId.replace(/[^A-Za-z0-9_-]/g, "");
  return safe === "" ? `call_${order}` : `call_${safe}_${order}`;
}

/** The wire index of the call a delta starts: its `index`, or without one the one after the highest so far. */
export function newCallIndex(delta: WireToolCall, calls: readonly ToolCallKey[]): number {
  const index: unknown = delta.index;
  if (typeof index === "number") return index;
  let highest = -1;
  for (const call of calls) highest = Math.max(highest, call.wireIndex);
  return highest + 1;
}

/**
 * A tool-call delta's `extra_content`, when it is an object: data a provider needs back with the call in the next
 * request, such as the `thought_signature` Gemini 3 puts in `extra_content.google` (it refuses a request whose
 * earlier tool calls lack it).
 */
export function extraContentOf(delta: WireToolCall): { readonly [key: string]: unknown } | undefined {
  const extra: unknown = delta.extra_content;
  return isObject<{ readonly [key: string]: unknown }>(extra) ? extra : undefined;
}

/** The function's (or custom tool's) name a tool-call delta carries, when non-empty. */
export function toolNameOf(delta: WireToolCall): string | undefined {
  const fn: unknown = delta.function;
  const named = isObject(fn) && "name" in fn ? nonEmpty(fn.name) : undefined;
  const custom: unknown = delta.custom;
  return named ?? (isObject(custom) && "name" in custom ? nonEmpty(custom.name) : undefined);
}

/** The choice's `finish_reason` when it is a non-empty string. */
export function finishReasonOf(choice: WireChoice | undefined): string | undefined {
  return nonEmpty(choice?.finish_reason);
}

/** The chunk's `usage` when it is an object. */
export function usageOf(chunk: ChatCompletionChunk): CompletionUsage | undefined {
  const usage: unknown = isObject(chunk) ? chunk.usage : undefined;
  return isObject<CompletionUsage>(usage) ? usage : undefined;
}

/** `value` when it is a non-empty string, else `undefined`: providers repeat fields as `""` or `null`. */
export function nonEmpty(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/**
 * A tool call's `arguments` delta: text, as the API defines it; or, from a server that sends the arguments as a JSON
 * object instead (outside the spec), that object as JSON text, so that they are kept rather than lost.
 */
export function argumentsOf(value: unknown): string | undefined {
  return typeof value === "object" && value !== null ? JSON.stringify(value) : nonEmpty(value);
}

/** Validates the `choice` option shared by several operators, eagerly. */
export function choiceOption(operator: string, choice: unknown): number {
  if (typeof choice !== "number" || !Number.isInteger(choice) || choice < 0) {
    throw new TypeError(`${operator}: choice must be a non-negative integer, got ${String(choice)}`);
  }
  return choice;
}

// The guard admits any object: its fields are then read as `unknown` or optional, and each is checked before use.
function isObject<T extends object>(value: unknown): value is T {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

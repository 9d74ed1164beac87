import type { ChatCompletionSnapshot as OpenAIChatCompletionSnapshot } from "openai/lib/ChatCompletionStream";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import type { CompletionUsage } from "openai/resources/completions";
import { type OperatorFunction, defer, map } from "rxjs";
import {
  type CallSoFar,
  type WireChoice,
  type WireDelta,
  type WireToolCall,
  argumentsOf,
  choicesOf,
  continuedCall,
  deltaOf,
  extraContentOf,
  indexOf,
  madeUpToolCallId,
  newCallIndex,
  nonEmpty,
  reasoningDetailsOf,
  reasoningOf,
  toolCallsOf,
  usageOf,
} from "./chunk-reader.js";

/**
 * What a provider attaches to a tool call for the next request to send back with it, as it sent it: Gemini 3's
 * `{ google: { thought_signature } }`, without which it refuses the next request (HTTP 400).
 */
export interface ToolCallExtraContent {
  readonly [key: string]: unknown;
}

/** A function tool call as assembled so far: the `openai` package's snapshot tool call, with `extra_content` when sent. */
export type FunctionToolCallSnapshot = OpenAIChatCompletionSnapshot.Choice.Message.ToolCall & { extra_content?: ToolCallExtraContent };

/** A custom (free-form) tool call as assembled so far: its `custom.input` is the text the model wrote. */
export interface CustomToolCallSnapshot {
  id: string;
  type: "custom";
  custom: { name: string; input: string };
  extra_content?: ToolCallExtraContent;
}

/** One tool call as assembled so far. */
export type ToolCallSnapshot = FunctionToolCallSnapshot | CustomToolCallSnapshot;

/** One item of OpenRouter's (and MiniMax's) `reasoning_details`: `{ type, text | summary | data, signature, index… }`, as sent. */
export interface ReasoningDetail {
  readonly [key: string]: unknown;
}

/** The message of one choice so far, with the reasoning text that many providers stream beside the answer. */
export interface MessageSnapshot extends Omit<OpenAIChatCompletionSnapshot.Choice.Message, "tool_calls"> {
  /** Reasoning text, from `delta.reasoning_content` (DeepSeek, vLLM, xAI) or `delta.reasoning` (GPT4Free, OpenRouter, Ollama). */
  reasoning?: string;
  /**
   * OpenRouter's (and MiniMax's) structured reasoning, items merged by their `index` (`text` and `summary` pieces
   * concatenated, a `signature` or `data` kept): to send back with a tool-calling answer, which Claude and Gemini
   * models through OpenRouter need.
   */
  reasoning_details?: ReasoningDetail[];
  tool_calls?: ToolCallSnapshot[];
}

/** One choice so far. */
export interface ChoiceSnapshot extends Omit<OpenAIChatCompletionSnapshot.Choice, "message"> {
  message: MessageSnapshot;
}

/**
 * The completion so far: the `openai` package's `ChatCompletionSnapshot`
 * (from `openai/lib/ChatCompletionStream`), plus the `provider` GPT4Free names,
 * the `usage` of the final chunk, and `message.reasoning`.
 */
export interface ChatCompletionSnapshot extends Omit<OpenAIChatCompletionSnapshot, "choices"> {
  /** Choices sorted by `index`; for the usual streams `choices[i].index === i`. */
  choices: ChoiceSnapshot[];
  /** The provider that answered, as GPT4Free's API reports it. */
  provider?: string;
  /** Token usage, once a chunk carried it (usually the last one, often with empty `choices`). */
  usage?: CompletionUsage;
}

const EMPTY_SNAPSHOT: ChatCompletionSnapshot = Object.freeze({ id: "", created: 0, model: "", choices: [] });
const EMPTY_MESSAGE: MessageSnapshot = Object.freeze({});
const EMPTY_TOOL_CALL: FunctionToolCallSnapshot = Object.freeze({ id: "", type: "function", function: Object.freeze({ name: "", arguments: "" }) });

/**
 * Assembles the chunks of a streamed chat completion into the whole message,
 * emitting a snapshot after every chunk.
 *
 * Does the job of the `openai` package's `ChatCompletionStream` accumulation
 * as a pure operator. Choices are keyed by their `index` field (with `n > 1`
 * they arrive interleaved). In each choice's `message`: `role` is set when
 * sent; `content`, `refusal` and `reasoning` (from `delta.reasoning_content`
 * or `delta.reasoning`) are concatenated; `reasoning_details` (OpenRouter)
 * are merged by their `index`; `tool_calls` are merged by their
 * `index`, `id`, `type` and `function.name` set when present and non-empty
 * (Mistral repeats `name: ""`), `function.arguments` concatenated, so a tool
 * call sent whole in one delta and one sent in fragments give the same
 * result; a call's `extra_content` (Gemini's thought signature) is kept as
 * last sent, for `assistantMessage` to send back. A tool call without `index` (Mistral sends whole calls so) is
 * matched by `id`, or appended; one without `id` either continues the last call, unless it brings a name after
 * that call's arguments are whole JSON, with another name or arguments of its own: then it is another call. A call
 * that never gets an `id` (some servers leave it out or send `""`) has a made-up one, `call_<completion id>_<n>` for
 * the n-th call of its choice from 0, the same whenever the same chunks are read. A delta that brings another `id` and a name
 * at an `index` whose call's arguments are already whole JSON starts a new
 * call after it: some servers (Ollama through LiteLLM, Dynamo) give every
 * parallel call `index: 0`, and merging would run their arguments together.
 * `finish_reason` is kept once sent, and
 * `logprobs` are appended. At the top level, `id`, `model`, `created`,
 * `system_fingerprint` and `provider` take the latest non-empty value, and
 * `usage` the latest non-null one. Choices without a `delta` (Azure's
 * content-filter chunks) and chunks with empty `choices` are accepted.
 * A field appears in the snapshot only once a chunk sent it.
 *
 * Snapshots are immutable values (frozen), safe to keep: each one shares
 * every unchanged part with the one before it and only the parts a chunk
 * changed are new objects, so a chunk costs time and memory in proportion to
 * what it changed (strings are concatenated, never copied by hand). A chunk
 * that changes nothing emits the previous snapshot again. Each subscription
 * starts from an empty snapshot.
 *
 * ## Examples
 * ```ts
 * import { from, last } from "rxjs";
 * import { accumulateMessage } from "g4f-rx/operators";
 *
 * const chunk = (delta: object, finish_reason: "stop" | "tool_calls" | null = null) => ({
 *   id: "c1", object: "chat.completion.chunk" as const, created: 1, model: "gpt-4",
 *   choices: [{ index: 0, delta, finish_reason }],
 * });
 * from([
 *   chunk({ role: "assistant", content: "" }),
 *   chunk({ content: "Let me check." }),
 *   chunk({ tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "weather", arguments: "" } }] }),
 *   chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
 *   chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
 *   chunk({}, "tool_calls"),
 * ]).pipe(accumulateMessage(), last()).subscribe((snapshot) => {
 *   const choice = snapshot.choices[0];
 *   console.log(choice?.finish_reason, JSON.stringify(choice?.message));
 * });
 * // tool_calls {"role":"assistant","content":"Let me check.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Paris\"}"}}]}
 * ```
 */
export function accumulateMessage(): OperatorFunction<ChatCompletionChunk, ChatCompletionSnapshot> {
  return (source) =>
    defer(() => {
      // Per subscription: the latest snapshot, and for each choice the wire `index` and id of each tool call by
      // position, which the snapshot (shaped like openai's) has no field for.
      let snapshot = EMPTY_SNAPSHOT;
      const toolKeys = new Map<number, WireKey[]>();
      return source.pipe(
        map((chunk) => {
          snapshot = applyChunk(snapshot, chunk, toolKeys);
          return snapshot;
        }),
      );
    });
}

/** A tool call's wire `index` and id (`ToolCallKey`), kept up to date as its deltas arrive. */
interface WireKey {
  wireIndex: number;
  wireId: string;
}

function applyChunk(previous: ChatCompletionSnapshot, chunk: ChatCompletionChunk, toolKeys: Map<number, WireKey[]>): ChatCompletionSnapshot {
  const id = nonEmpty(chunk.id) ?? previous.id;
  let choices = previous.choices;
  for (const wire of choicesOf(chunk)) {
    const index = indexOf(wire);
    let position = choices.findIndex((choice) => choice.index >= index);
    if (position < 0) position = choices.length;
    const existing = choices[position]?.index === index ? choices[position] : undefined;
    let keys = toolKeys.get(index);
    if (keys === undefined) toolKeys.set(index, (keys = []));
    const merged = applyChoice(existing ?? emptyChoice(index), wire, keys, id);
    if (merged === existing) continue;
    if (choices === previous.choices) choices = choices.slice();
    if (existing === undefined) choices.splice(position, 0, merged);
    else choices[position] = merged;
  }

  const model = nonEmpty(chunk.model) ?? previous.model;
  const created = typeof chunk.created === "number" && chunk.created !== 0 ? chunk.created : previous.created;
  const fingerprint = nonEmpty(chunk.system_fingerprint) ?? previous.system_fingerprint;
  const provider = ("provider" in chunk ? nonEmpty(chunk.provider) : undefined) ?? previous.provider;
  const usage = usageOf(chunk) ?? previous.usage;
  if (
    choices === previous.choices &&
    id === previous.id &&
    model === previous.model &&
    created === previous.created &&
    fingerprint === previous.system_fingerprint &&
    provider === previous.provider &&
    usage === previous.usage
  ) {
    return previous;
  }
  return Object.freeze({
    id,
    created,
    model,
    choices: frozen(choices),
    ...(fingerprint === undefined ? {} : { system_fingerprint: fingerprint }),
    ...(provider === undefined ? {} : { provider }),
    ...(usage === undefined ? {} : { usage }),
  });
}

function emptyChoice(index: number): ChoiceSnapshot {
  return { index, message: EMPTY_MESSAGE, finish_reason: null, logprobs: null };
}

/** `completionId`: the completion's id so far, for the ids of tool calls that come without one (`madeUpToolCallId`). */
function applyChoice(previous: ChoiceSnapshot, wire: WireChoice, toolKeys: WireKey[], completionId: string): ChoiceSnapshot {
  const delta = deltaOf(wire);
  const message = delta === undefined ? previous.message : applyDelta(previous.message, delta, toolKeys, completionId);
  const finishReason = nonEmpty(wire.finish_reason) === undefined ? previous.finish_reason : (wire.finish_reason ?? null);
  const logprobs = isObject(wire.logprobs) ? appendLogprobs(previous.logprobs, wire.logprobs) : previous.logprobs;
  if (message === previous.message && finishReason === previous.finish_reason && logprobs === previous.logprobs) {
    return previous;
  }
  return Object.freeze({ index: previous.index, message, finish_reason: finishReason, logprobs });
}

function applyDelta(previous: MessageSnapshot, delta: WireDelta, toolKeys: WireKey[], completionId: string): MessageSnapshot {
  const role = roleOf(delta.role);
  const content = nonEmpty(delta.content);
  const refusal = nonEmpty(delta.refusal);
  const reasoning = reasoningOf(delta);
  const details = reasoningDetailsOf(delta);
  const wireCalls = toolCallsOf(delta);
  const toolCalls = wireCalls.length > 0 ? wireCalls : undefined;
  const functionCall = isObject(delta.function_call) ? delta.function_call : undefined;
  if (
    (role === undefined || role === previous.role) &&
    content === undefined &&
    refusal === undefined &&
    reasoning === undefined &&
    details.length === 0 &&
    toolCalls === undefined &&
    functionCall === undefined
  ) {
    return previous;
  }
  const next: MessageSnapshot = { ...previous };
  if (role !== undefined) next.role = role;
  if (content !== undefined) next.content = (previous.content ?? "") + content;
  if (refusal !== undefined) next.refusal = (previous.refusal ?? "") + refusal;
  if (reasoning !== undefined) next.reasoning = (previous.reasoning ?? "") + reasoning;
  if (details.length > 0) next.reasoning_details = applyReasoningDetails(previous.reasoning_details ?? [], details);
  if (toolCalls !== undefined) next.tool_calls = applyToolCalls(previous.tool_calls ?? [], toolCalls, toolKeys, completionId);
  if (functionCall !== undefined) {
    // The deprecated single `function_call`, merged like a tool call's function.
    const before = previous.function_call ?? {};
    const name = nonEmpty(functionCall.name) ?? before.name;
    const args = (before.arguments ?? "") + (argumentsOf(functionCall.arguments) ?? "");
    next.function_call = Object.freeze({ ...(name === undefined ? {} : { name }), arguments: args });
  }
  return Object.freeze(next);
}

function applyToolCalls(previous: readonly ToolCallSnapshot[], deltas: readonly WireToolCall[], toolKeys: WireKey[], completionId: string): ToolCallSnapshot[] {
  const calls = previous.slice();
  for (const delta of deltas) {
    const position = positionOf(delta, calls, toolKeys, completionId);
    calls[position] = applyToolCall(calls[position] ?? EMPTY_TOOL_CALL, delta);
    // Matching goes by the ids the server sent, never by one made up for a call that came without.
    const key = toolKeys[position];
    if (key !== undefined) key.wireId = nonEmpty(delta.id) ?? key.wireId;
  }
  return frozen(calls);
}

/**
 * Where a tool-call delta belongs in `calls` (by `continuedCall`, the one
 * rule for it), inserting an empty call when it starts a new one: calls are
 * kept in wire-index order, and a call at an index already taken goes after
 * those with it. `toolKeys[i]` is the wire `index` and id of `calls[i]`. A new call starts with a made-up id
 * (`madeUpToolCallId`), numbered by how many calls began before it (`toolKeys` only grows), which an id from the
 * server replaces.
 */
function positionOf(delta: WireToolCall, calls: ToolCallSnapshot[], toolKeys: WireKey[], completionId: string): number {
  const found = continuedCall(delta, toolKeys, (position) => soFar(calls[position]));
  if (found >= 0) return found;
  const wireIndex = newCallIndex(delta, toolKeys);
  let position = toolKeys.findIndex((other) => other.wireIndex > wireIndex);
  if (position < 0) position = toolKeys.length;
  calls.splice(position, 0, Object.freeze({ ...EMPTY_TOOL_CALL, id: madeUpToolCallId(completionId, toolKeys.length) }));
  toolKeys.splice(position, 0, { wireIndex, wireId: "" });
  return position;
}

/** A call's name and arguments (a custom call's input) so far. */
function soFar(call: ToolCallSnapshot | undefined): CallSoFar {
  if (call === undefined) return { name: "", arguments: "" };
  return call.type === "custom" ? { name: call.custom.name, arguments: call.custom.input } : call.function;
}

function applyToolCall(previous: ToolCallSnapshot, delta: WireToolCall): ToolCallSnapshot {
  const id = nonEmpty(delta.id) ?? previous.id;
  const custom = isObject(delta.custom) ? delta.custom : undefined;
  // Kept as the provider last sent it, whole: a signature is one opaque value, never a piece to concatenate.
  const extra = extraContentOf(delta) ?? previous.extra_content;
  const withExtra = extra === undefined ? {} : { extra_content: extra };
  // A custom (free-form) tool call: `custom.input` is text, concatenated like a function's arguments.
  if (previous.type === "custom" || delta.type === "custom" || custom !== undefined) {
    const before = previous.type === "custom" ? previous.custom : { name: previous.function.name, input: previous.function.arguments };
    const name = nonEmpty(custom?.name) ?? before.name;
    const input = nonEmpty(custom?.input);
    if (previous.type === "custom" && id === previous.id && name === before.name && input === undefined && extra === previous.extra_content) return previous;
    return Object.freeze({ id, type: "custom", custom: Object.freeze({ name, input: before.input + (input ?? "") }), ...withExtra });
  }
  const fn: unknown = delta.function;
  const name = (isObject(fn) && "name" in fn ? nonEmpty(fn.name) : undefined) ?? previous.function.name;
  const args = isObject(fn) && "arguments" in fn ? argumentsOf(fn.arguments) : undefined;
  if (id === previous.id && name === previous.function.name && args === undefined && extra === previous.extra_content) return previous;
  const merged = Object.freeze({ ...previous.function, name, arguments: previous.function.arguments + (args ?? "") });
  return Object.freeze({ ...previous, id, function: merged, ...withExtra });
}

/**
 * Merges `reasoning_details` pieces: one with the `index` of an item so far continues it (its `text` and `summary`
 * concatenated, any other non-empty field, such as the closing `signature`, set); one without an index, or with a
 * new one, is a new item.
 */
function applyReasoningDetails(previous: readonly ReasoningDetail[], pieces: readonly ReasoningDetail[]): ReasoningDetail[] {
  const items = previous.slice();
  for (const piece of pieces) {
    const index = piece.index;
    const at = typeof index === "number" ? items.findIndex((item) => item.index === index) : -1;
    const before = items[at];
    if (before === undefined) {
      items.push(Object.freeze({ ...piece }));
      continue;
    }
    // A Map, then Object.fromEntries: the server chooses the keys, and `merged[key] = value` with "__proto__" would set
    // the item's prototype to what it sent, where fromEntries makes an own field as JSON.parse did.
    const merged = new Map<string, unknown>(Object.entries(before));
    for (const [key, value] of Object.entries(piece)) {
      const earlier = merged.get(key);
      if ((key === "text" || key === "summary") && typeof value === "string" && typeof earlier === "string") merged.set(key, earlier + value);
      else if (value !== null && value !== undefined && value !== "") merged.set(key, value);
    }
    items[at] = Object.freeze(Object.fromEntries(merged));
  }
  return frozen(items);
}

type Logprobs = NonNullable<ChoiceSnapshot["logprobs"]>;

/** Appends a chunk's token logprobs: a new array per chunk that carries some (copying references, not tokens). */
function appendLogprobs(previous: Logprobs | null, wire: NonNullable<WireChoice["logprobs"]>): Logprobs {
  const join = <T>(before: T[] | null | undefined, added: T[] | null | undefined): T[] | null => {
    if (!Array.isArray(added) || added.length === 0) return before ?? null;
    return frozen(before ? before.concat(added) : added.slice());
  };
  return Object.freeze({ content: join(previous?.content, wire.content), refusal: join(previous?.refusal, wire.refusal) });
}

/** Freezes `value` and returns it with its own type (`Object.freeze` would make arrays `readonly` in the types). */
function frozen<T extends object>(value: T): T {
  Object.freeze(value);
  return value;
}

function isObject<T>(value: T): value is T & object {
  return typeof value === "object" && value !== null;
}

/** The delta's role when it is one a message can have. */
function roleOf(role: unknown): MessageSnapshot["role"] | undefined {
  return role === "assistant" || role === "user" || role === "system" || role === "developer" || role === "tool" ? role : undefined;
}

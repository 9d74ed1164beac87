import type { ChatCompletion, ChatCompletionChunk, ChatCompletionMessage } from "openai/resources/chat/completions";
import { type OperatorFunction, defaultIfEmpty, map, pipe, takeLast } from "rxjs";
import { type ChatCompletionSnapshot, type ReasoningDetail, accumulateMessage } from "../../operators/index.js";

/**
 * A completion message that may carry the model's reasoning, as DeepSeek's and GPT4Free's APIs send it, and
 * OpenRouter's (MiniMax's) structured `reasoning_details`.
 */
type MessageWithReasoning = ChatCompletionMessage & { reasoning_content?: string; reasoning?: string; reasoning_details?: readonly ReasoningDetail[] };

/**
 * A whole (non-streamed) completion as one chunk, so that a `--no-stream`
 * answer runs through the same chunk operators as a streamed one.
 *
 * Each choice's message becomes its `delta`: role, content, refusal, function
 * tool calls (numbered by position), and the reasoning when the message has
 * it (`reasoning_content` or `reasoning`, and OpenRouter's
 * `reasoning_details`). The usage comes along.
 *
 * ## Example
 * ```ts
 * import { of, map } from "rxjs";
 * import { completionChunk, extractDelta } from "g4f-rx";
 *
 * const completion = {
 *   id: "c1", object: "chat.completion" as const, created: 0, model: "gpt-4",
 *   choices: [{ index: 0, finish_reason: "stop" as const, logprobs: null,
 *     message: { role: "assistant" as const, content: "Hello there!", refusal: null } }],
 * };
 * of(completion).pipe(map(completionChunk), extractDelta()).subscribe(console.log);
 * // Hello there!
 * ```
 */
export function completionChunk(completion: ChatCompletion): ChatCompletionChunk {
  const message = (choice: ChatCompletion.Choice): MessageWithReasoning => choice.message;
  return {
    id: completion.id,
    object: "chat.completion.chunk",
    created: completion.created,
    model: completion.model,
    ...(completion.system_fingerprint === undefined ? {} : { system_fingerprint: completion.system_fingerprint }),
    ...(completion.usage === undefined ? {} : { usage: completion.usage }),
    choices: completion.choices.map((choice) => ({
      index: choice.index,
      finish_reason: choice.finish_reason,
      logprobs: choice.logprobs ?? null,
      delta: deltaOf(message(choice)),
    })),
  };
}

function deltaOf(message: MessageWithReasoning): ChatCompletionChunk.Choice.Delta {
  const toolCalls: ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
  for (const call of message.tool_calls ?? []) {
    // Custom (free-form) tool calls have no delta form; function calls are the ones a stream can carry.
    // A provider's extra_content (Gemini's thought signature) goes along, for accumulateMessage to keep.
    const extra: unknown = "extra_content" in call ? call.extra_content : undefined;
    if (call.type === "function") toolCalls.push({ index: toolCalls.length, id: call.id, type: "function", function: call.function, ...(extra === undefined ? {} : { extra_content: extra }) });
  }
  const delta: ChatCompletionChunk.Choice.Delta & { reasoning_content?: string; reasoning_details?: readonly ReasoningDetail[] } = {
    role: message.role,
    content: message.content,
    refusal: message.refusal,
    ...(toolCalls.length === 0 ? {} : { tool_calls: toolCalls }),
  };
  const reasoning = message.reasoning_content ?? message.reasoning;
  if (typeof reasoning === "string" && reasoning !== "") delta.reasoning_content = reasoning;
  // Whole items, each with its own index, so accumulateMessage keeps them as they are.
  if (Array.isArray(message.reasoning_details) && message.reasoning_details.length > 0) delta.reasoning_details = message.reasoning_details;
  return delta;
}

/**
 * Emits the whole completion a chunk stream adds up to, when it completes:
 * what a non-streaming request would have answered.
 *
 * Built on `accumulateMessage`. A choice that never finished gets
 * `finish_reason: "stop"` (the stream completed, so nothing says otherwise);
 * reasoning goes into the message as `reasoning_content`, and OpenRouter's
 * (MiniMax's) `reasoning_details` as `accumulateMessage` merged them, as its
 * non-streaming answers carry them (a request that sends a tool-calling
 * answer back needs them).
 *
 * ## Example
 * ```ts
 * import { assembleCompletion, fromCassette } from "g4f-rx";
 *
 * fromCassette("examples/cassettes/say-hello-there.cassette.jsonl", { speed: Infinity })
 *   .pipe(assembleCompletion())
 *   .subscribe((completion) => console.log(completion.choices[0]?.message.content));
 * // Hello there! How can I help you today?
 * ```
 */
export function assembleCompletion(): OperatorFunction<ChatCompletionChunk, ChatCompletion> {
  return pipe(
    accumulateMessage(),
    takeLast(1),
    defaultIfEmpty<ChatCompletionSnapshot, ChatCompletionSnapshot>({ id: "", created: 0, model: "", choices: [] }),
    map(snapshotCompletion),
  );
}

function snapshotCompletion(snapshot: ChatCompletionSnapshot): ChatCompletion {
  return {
    id: snapshot.id,
    object: "chat.completion",
    created: snapshot.created,
    model: snapshot.model,
    ...(snapshot.system_fingerprint === undefined ? {} : { system_fingerprint: snapshot.system_fingerprint }),
    ...(snapshot.usage === undefined ? {} : { usage: snapshot.usage }),
    choices: snapshot.choices.map((choice): ChatCompletion.Choice => {
      const message: MessageWithReasoning = {
        role: "assistant",
        content: choice.message.content ?? null,
        refusal: choice.message.refusal ?? null,
      };
      const toolCalls = choice.message.tool_calls ?? [];
      if (toolCalls.length > 0) {
        message.tool_calls = toolCalls.map((call) => {
          // Kept, as a request that sends this message back needs it (Gemini 3 refuses tool calls without their signature).
          const extra = call.extra_content === undefined ? {} : { extra_content: call.extra_content };
          return call.type === "custom"
            ? { id: call.id, type: "custom", custom: { name: call.custom.name, input: call.custom.input }, ...extra }
            : { id: call.id, type: "function", function: { name: call.function.name, arguments: call.function.arguments }, ...extra };
        });
      }
      if (choice.message.reasoning !== undefined && choice.message.reasoning !== "") message.reasoning_content = choice.message.reasoning;
      if (choice.message.reasoning_details !== undefined) message.reasoning_details = choice.message.reasoning_details;
      return { index: choice.index, finish_reason: choice.finish_reason ?? "stop", logprobs: choice.logprobs, message };
    }),
  };
}

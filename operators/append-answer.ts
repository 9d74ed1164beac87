import type { ChatCompletionAssistantMessageParam, ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { type OperatorFunction, map } from "rxjs";
import type { ChatCompletionSnapshot, ReasoningDetail, ToolCallSnapshot } from "./accumulate-message.js";
import { isWholeJson } from "./chunk-reader.js";
import { finishedWhole } from "./tool-calls.js";

export interface AppendAnswerOptions {
  /** Which choice answers, for `n > 1`. Default 0. */
  choice?: number;
  /**
   * Sends the reasoning back in this field of the assistant message. DeepSeek's thinking mode needs
   * `"reasoning_content"` on every answer of a turn that called tools, and fails the next request with HTTP 400
   * without it (it ignores the field on other answers). Default: the reasoning is left out, as most providers
   * neither expect it back nor all accept it.
   */
  reasoningField?: "reasoning_content" | "reasoning";
  /**
   * Keeps the tool calls cut off mid-arguments (see `isCutOffToolCall`) in the message. Default `false`: they are
   * left out, as no tool can answer them and providers refuse the next request that carries them (HTTP 400: OpenAI
   * wants every `tool_calls` id answered by a tool message, several refuse arguments that are not JSON). The
   * snapshot still holds them.
   */
  keepCutOffToolCalls?: boolean;
}

/** An assistant message, with the reasoning when `reasoningField` asked for it back. */
export type AssistantMessage = ChatCompletionAssistantMessageParam & {
  reasoning_content?: string;
  reasoning?: string;
  /** OpenRouter's structured reasoning, sent back as received. */
  reasoning_details?: readonly ReasoningDetail[];
};

/**
 * Whether a tool call was cut off mid-arguments: its choice did not finish with its answer whole (`finishReason` is
 * not `"tool_calls"`, `"function_call"` or `"stop"`: the token limit, a content filter, or no finish at all because
 * the stream failed or was unsubscribed), and its arguments are not whole JSON (none yet counts as not whole). A
 * custom (free-form) tool's input is text that cannot tell, so a custom call is never cut off by this rule. The one
 * rule for which calls `assistantMessage` leaves out, for the library and the command alike.
 */
export function isCutOffToolCall(call: ToolCallSnapshot, finishReason: string | null | undefined): boolean {
  return call.type !== "custom" && !finishedWhole(finishReason) && !isWholeJson(call.function.arguments);
}

/**
 * The assistant message a snapshot of `accumulateMessage` stands for, as the
 * next request must carry it: its text (`null` when it is only tool calls),
 * its refusal, and its tool calls (with the `extra_content` a provider
 * attached to one, such as Gemini's thought signature), and OpenRouter's
 * `reasoning_details` when they came. The reasoning text is left out unless
 * `reasoningField` names the field to send it back in (DeepSeek's thinking
 * mode with tools needs `reasoning_content`). A snapshot without the choice
 * (nothing arrived yet) gives an empty text.
 *
 * Tool calls cut off mid-arguments (`isCutOffToolCall`: the answer stopped at
 * the token limit, failed or was cancelled while a call's arguments were not
 * yet whole JSON) are left out, the text and the whole calls kept, since a
 * request that carries them is refused; an answer that was only such calls
 * gives an empty text; while an answer streams, a call appears once its
 * arguments are whole JSON. They stay in the snapshot
 * (`snapshot.choices[i].message.tool_calls`) for an app to show or log;
 * `keepCutOffToolCalls: true` keeps them in the message too.
 */
export function assistantMessage(snapshot: ChatCompletionSnapshot, options: AppendAnswerOptions = {}): AssistantMessage {
  const { choice = 0, reasoningField, keepCutOffToolCalls = false } = options;
  const found = snapshot.choices.find((candidate) => candidate.index === choice);
  const message = found?.message;
  const sent = (message?.tool_calls ?? []).filter((call) => keepCutOffToolCalls || !isCutOffToolCall(call, found?.finish_reason));
  const toolCalls = sent.map((call) => {
    // Sent back as received: Gemini 3 refuses a request whose earlier tool calls lack their thought signature.
    const extra = call.extra_content === undefined ? {} : { extra_content: call.extra_content };
    return call.type === "custom"
      ? { id: call.id, type: "custom" as const, custom: { name: call.custom.name, input: call.custom.input }, ...extra }
      : { id: call.id, type: "function" as const, function: { name: call.function.name, arguments: call.function.arguments }, ...extra };
  });
  const content = message?.content ?? (toolCalls.length > 0 ? null : "");
  return {
    role: "assistant",
    content,
    ...(message?.refusal == null ? {} : { refusal: message.refusal }),
    ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
    ...(reasoningField === undefined || message?.reasoning === undefined ? {} : { [reasoningField]: message.reasoning }),
    // Sent back whenever it came: OpenRouter needs it with a tool-calling answer (Claude, Gemini), and no provider
    // that does not send it ever gets it.
    ...(message?.reasoning_details === undefined ? {} : { reasoning_details: message.reasoning_details }),
  };
}

/**
 * The messages without the tool calls that no `tool` message right after
 * answers, as a request may carry them: providers refuse a request with an
 * unanswered call (OpenAI, HTTP 400: "An assistant message with 'tool_calls'
 * must be followed by tool messages"), and every later question of the
 * conversation would fail. For a conversation that goes on without running
 * the tools an answer asked for (the `g4f-rx` command runs none; an app that
 * stops its tool loop, or whose user cancelled it). The text of such an
 * answer stays; an answer that was only calls is left out. Each message left
 * as it is is the same object; `messages` is never changed.
 *
 * ## Examples
 * ```ts
 * import { withoutUnansweredToolCalls } from "g4f-rx/operators";
 *
 * const call = { id: "call_1", type: "function" as const, function: { name: "weather", arguments: '{"city":"Paris"}' } };
 * console.log(withoutUnansweredToolCalls([
 *   { role: "user", content: "Weather in Paris?" },
 *   { role: "assistant", content: "Let me check.", tool_calls: [call] },
 * ]));
 * // [
 * //   { role: 'user', content: 'Weather in Paris?' },
 * //   { role: 'assistant', content: 'Let me check.' }
 * // ]
 * ```
 */
export function withoutUnansweredToolCalls(messages: readonly ChatCompletionMessageParam[]): ChatCompletionMessageParam[] {
  return messages.flatMap((message, index) => {
    if (message.role !== "assistant" || message.tool_calls === undefined) return [message];
    const answered = new Set<string>();
    for (const next of messages.slice(index + 1)) {
      if (next.role !== "tool") break;
      answered.add(next.tool_call_id);
    }
    const calls = message.tool_calls.filter((call) => answered.has(call.id));
    if (calls.length === message.tool_calls.length) return [message];
    const kept: ChatCompletionAssistantMessageParam = { ...message, tool_calls: calls };
    if (calls.length > 0) return [kept];
    delete kept.tool_calls;
    const content = kept.content ?? "";
    return content === "" || (Array.isArray(content) && content.length === 0) ? [] : [kept];
  });
}

/**
 * Turns the snapshots of an answer into the messages of the next request:
 * the messages so far, then the answer as an assistant message.
 *
 * This is how a conversation grows: `messages` is what was sent (the
 * earlier turns and the new question), and each snapshot from
 * `accumulateMessage` gives the conversation as it stands with the answer so
 * far. Take the last value for the finished answer — or, when the answer was
 * cancelled or failed part-way, the last value before that, so the partial
 * answer stays in the conversation. Each emitted array is new; `messages`
 * is never changed.
 *
 * ## Examples
 * ```ts
 * import type { ChatCompletionMessageParam } from "openai/resources/chat/completions";
 * import { from, last } from "rxjs";
 * import { accumulateMessage, appendAnswer } from "g4f-rx/operators";
 *
 * // The chunks of an answer, as fromChatCompletion(client, { model: "gpt-4", messages }) streams them.
 * const chunk = (delta: object, finish_reason: "stop" | null = null) => ({
 *   id: "c1", object: "chat.completion.chunk" as const, created: 0, model: "gpt-4",
 *   choices: [{ index: 0, delta, finish_reason }],
 * });
 * let messages: ChatCompletionMessageParam[] = [{ role: "user", content: "Say hello there!" }];
 * from([chunk({ role: "assistant", content: "" }), chunk({ content: "Hello there!" }), chunk({}, "stop")])
 *   .pipe(accumulateMessage(), appendAnswer(messages), last())
 *   .subscribe((next) => {
 *     console.log(next);
 *     messages = [...next, { role: "user", content: "And in French?" }];
 *   });
 * // [
 * //   { role: 'user', content: 'Say hello there!' },
 * //   { role: 'assistant', content: 'Hello there!' }
 * // ]
 * ```
 */
export function appendAnswer(
  messages: readonly ChatCompletionMessageParam[],
  options: AppendAnswerOptions = {},
): OperatorFunction<ChatCompletionSnapshot, ChatCompletionMessageParam[]> {
  const { choice = 0, reasoningField, keepCutOffToolCalls = false } = options;
  if (!Number.isInteger(choice) || choice < 0) throw new TypeError(`choice must be an integer ≥ 0, got ${String(choice)}`);
  if (reasoningField !== undefined && reasoningField !== "reasoning_content" && reasoningField !== "reasoning") {
    throw new TypeError(`reasoningField must be "reasoning_content" or "reasoning", got ${JSON.stringify(reasoningField)}`);
  }
  if (typeof keepCutOffToolCalls !== "boolean") throw new TypeError(`keepCutOffToolCalls must be a boolean, got ${String(keepCutOffToolCalls)}`);
  const before = [...messages];
  return map((snapshot) => [...before, assistantMessage(snapshot, { choice, reasoningField, keepCutOffToolCalls })]);
}

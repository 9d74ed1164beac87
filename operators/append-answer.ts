import type { ChatCompletionAssistantMessageParam, ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { type OperatorFunction, map } from "rxjs";
import type { ChatCompletionSnapshot, ReasoningDetail } from "./accumulate-message.js";

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
}

/** An assistant message, with the reasoning when `reasoningField` asked for it back. */
export type AssistantMessage = ChatCompletionAssistantMessageParam & {
  reasoning_content?: string;
  reasoning?: string;
  /** OpenRouter's structured reasoning, sent back as received. */
  reasoning_details?: readonly ReasoningDetail[];
};

/**
 * The assistant message a snapshot of `accumulateMessage` stands for, as the
 * next request must carry it: its text (`null` when it is only tool calls),
 * its refusal, and its tool calls (with the `extra_content` a provider
 * attached to one, such as Gemini's thought signature), and OpenRouter's
 * `reasoning_details` when they came. The reasoning text is left out unless
 * `reasoningField` names the field to send it back in (DeepSeek's thinking
 * mode with tools needs `reasoning_content`). A snapshot without the choice
 * (nothing arrived yet) gives an empty text.
 */
export function assistantMessage(snapshot: ChatCompletionSnapshot, options: AppendAnswerOptions = {}): AssistantMessage {
  const { choice = 0, reasoningField } = options;
  const message = snapshot.choices.find((candidate) => candidate.index === choice)?.message;
  const toolCalls = (message?.tool_calls ?? []).map((call) => {
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
  const { choice = 0, reasoningField } = options;
  if (!Number.isInteger(choice) || choice < 0) throw new TypeError(`choice must be an integer ≥ 0, got ${String(choice)}`);
  if (reasoningField !== undefined && reasoningField !== "reasoning_content" && reasoningField !== "reasoning") {
    throw new TypeError(`reasoningField must be "reasoning_content" or "reasoning", got ${JSON.stringify(reasoningField)}`);
  }
  const before = [...messages];
  return map((snapshot) => [...before, assistantMessage(snapshot, { choice, reasoningField })]);
}

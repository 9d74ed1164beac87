import { type StreamItem, type WireDelta, choiceOf, choicesOf, contentOf, deltaOf, indexOf, eventContentOf, isResponseEvent, nonEmpty, reasoningOf, toolCallsOf } from "./chunk-reader.js";

/**
 * Tells whether a chunk carries content: something a consumer may already have
 * shown or acted on, so that starting the answer again would duplicate it.
 *
 * A chunk has content when the delta of any of its choices has a non-empty
 * `content`, `refusal`, `reasoning_content` or `reasoning` string, or at least
 * one tool-call delta. A role-only chunk (`{ role: "assistant", content: "" }`),
 * a finish-reason chunk with an empty delta, a usage chunk, Azure's
 * content-filter chunks and malformed ones (a `null` or missing delta, `null`
 * choices, `choices` that is not an array) have none; it never throws.
 * `retryBeforeContent`, `fallback` and `streamStats` all draw the line here.
 * A Responses API event has content when it is a non-empty
 * `response.output_text.delta`, `.refusal.delta`, `.reasoning_summary_text.delta`,
 * `.reasoning_text.delta`, `.function_call_arguments.delta` or
 * `.custom_tool_call_input.delta` (and `contentText` of it is the output-text delta).
 *
 * ## Examples
 * ```ts
 * import { isContentChunk } from "g4f-rx/operators";
 *
 * const chunk = (delta: object) => ({
 *   id: "c1", object: "chat.completion.chunk" as const, created: 0, model: "gpt-4",
 *   choices: [{ index: 0, delta, finish_reason: null }],
 * });
 * console.log(isContentChunk(chunk({ role: "assistant", content: "" })));
 * console.log(isContentChunk(chunk({ content: "Hi" })));
 * console.log(isContentChunk(chunk({ reasoning_content: "Let me think" })));
 * // false
 * // true
 * // true
 * ```
 */
export function isContentChunk(chunk: StreamItem): boolean {
  if (isResponseEvent(chunk)) return eventContentOf(chunk) !== undefined;
  return choicesOf(chunk).some((choice) => {
    const delta = deltaOf(choice);
    if (delta === undefined) return false;
    return contentOf(delta) !== undefined || hasContentBesidesText(delta);
  });
}

/**
 * Whether whatever content the chunk has is `delta.content` text of the choice
 * whose `index` is `choice`: no refusal, reasoning or tool-call delta, and no
 * content in another choice. True for a chunk without content. `fallback`
 * resumes an answer only while this held for everything delivered, since a
 * continuation can carry on text only. Internal to the operators.
 */
export function isTextOnlyChunk(chunk: StreamItem, choice = 0): boolean {
  if (isResponseEvent(chunk)) return eventContentOf(chunk)?.text ?? true;
  return choicesOf(chunk).every((candidate) => {
    const delta = deltaOf(candidate);
    if (delta === undefined) return true;
    if (hasContentBesidesText(delta)) return false;
    return indexOf(candidate) === choice || contentOf(delta) === undefined;
  });
}

function hasContentBesidesText(delta: WireDelta): boolean {
  return nonEmpty(delta.refusal) !== undefined || reasoningOf(delta) !== undefined || toolCallsOf(delta).length > 0;
}

/**
 * The `delta.content` text of the choice whose `index` is `choice`, or `""`
 * (also for a chunk without that choice, or whose delta is `null` or missing).
 */
export function contentText(chunk: StreamItem, choice = 0): string {
  if (isResponseEvent(chunk)) {
    const content = eventContentOf(chunk);
    return content?.text === true ? content.delta : "";
  }
  return contentOf(deltaOf(choiceOf(chunk, choice))) ?? "";
}

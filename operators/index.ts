export {
  type ChatCompletionSnapshot,
  type ChoiceSnapshot,
  type CustomToolCallSnapshot,
  type FunctionToolCallSnapshot,
  type MessageSnapshot,
  type ReasoningDetail,
  type ToolCallExtraContent,
  type ToolCallSnapshot,
  accumulateMessage,
} from "./accumulate-message.js";
export { accumulate } from "./accumulate.js";
export { accumulateResponse } from "./accumulate-response.js";
export { type AppendAnswerOptions, type AssistantMessage, appendAnswer, assistantMessage, isCutOffToolCall, withoutUnansweredToolCalls } from "./append-answer.js";
export { contentText, isContentChunk } from "./content.js";
export { type ExtractDeltaOptions, extractDelta } from "./extract-delta.js";
export { extractOutputText } from "./extract-output-text.js";
export { extractReasoningSummary } from "./extract-reasoning-summary.js";
export { type ExtractReasoningOptions, extractReasoning } from "./extract-reasoning.js";
export { FinishReasonError, type FinishReason, failOnFinishReason } from "./fail-on-finish-reason.js";
export { CONTINUE_INSTRUCTION, type Continuation, type FallbackOptions, type FallbackSource, PartialResponseError, fallback, withContinuation } from "./fallback.js";
export { InvalidJsonError, partialJson } from "./partial-json.js";
export { type TextWritable, printTo } from "./print-to.js";
export { type RetryBeforeContentOptions, retryBeforeContent } from "./retry-before-content.js";
export { type SmoothChunking, type SmoothOptions, smooth } from "./smooth.js";
export { type ThinkingPart, splitThinking } from "./split-thinking.js";
export { type StreamStats, type StreamStatsOptions, streamStats } from "./stream-stats.js";
export { type StreamTimeoutOptions, type StreamTimeoutPhase, StreamTimeoutError, streamTimeout } from "./stream-timeout.js";
export { type CompletedToolCall, ToolCallArgumentsError, type ToolCallsOptions, toolCalls } from "./tool-calls.js";
export { usage } from "./usage.js";
export { DONE_EVENT, serverSentEvent, toServerSentEvents } from "./to-server-sent-events.js";
export { type ToUIMessageStreamOptions, type UIMessageFinishReason, type UIMessageStreamPart, toUIMessageStream } from "./to-ui-message-stream.js";
export { responsesToUIMessageStream } from "./responses-to-ui-message-stream.js";

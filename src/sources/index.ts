export { decodeEventStream } from "./decode-event-stream.js";
export { type ChatCompletionRequestOptions, type ChatCompletionStreamParams, fromChatCompletion } from "./from-chat-completion.js";
export { fromCompletionStream } from "./from-completion-stream.js";
export { type EventStreamInput, fromEventStream } from "./from-event-stream.js";

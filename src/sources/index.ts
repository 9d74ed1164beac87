export { chatCompletionProtocol, isPlainChunk } from "./chat-completion-protocol.js";
export { decodeEventStream } from "./decode-event-stream.js";
export { EventStreamDecoder, type EventStreamDecoderHandlers, type ServerSentEventFrame } from "./event-stream.js";
export { type ChatCompletionRequestOptions, type ChatCompletionStreamParams, fromChatCompletion } from "./from-chat-completion.js";
export { fromCompletionStream } from "./from-completion-stream.js";
export { type EventStreamInput, fromEventStream } from "./from-event-stream.js";
export type { FrameOutcome, ProtocolReader, Shortfall, StreamProtocol } from "./protocol.js";
export { responsesProtocol } from "./responses-protocol.js";
export { Utf8Text } from "./text.js";

export {
  DONE_EVENT,
  type ResponseEventsOptions,
  type StreamReplyOptions,
  type TextChunksOptions,
  errorFrame,
  responseEvents,
  responseFrame,
  responsesReply,
  sseFrame,
  streamReply,
  textChunks,
} from "./frames.js";
export {
  type ErrorReplyOptions,
  type RecordedRequest,
  type Reply,
  type ReplyStep,
  type ScriptedReply,
  type TestServer,
  type TestServerOptions,
  errorReply,
  startTestServer,
} from "./test-server.js";

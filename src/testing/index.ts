export { DONE_EVENT, type StreamReplyOptions, type TextChunksOptions, errorFrame, sseFrame, streamReply, textChunks } from "./frames.js";
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

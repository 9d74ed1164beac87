export {
  CASSETTE_EXTENSION,
  CASSETTE_VERSION,
  type Cassette,
  CassetteError,
  type CassetteFrame,
  type CassetteRequest,
  type CassetteResponse,
  parseCassette,
  readCassette,
  messagesOfResponsesRequest,
  readCassettes,
  serializeCassette,
} from "./cassette.js";
export { type FromCassetteOptions, fromCassette, fromResponsesCassette, playFrames, playStreamFrames } from "./from-cassette.js";
export { type CassetteAnswer, type CassetteMatch, CassettePlays, type NearCassette, matchCassette } from "./match.js";
export { type RecordCassetteOptions, recordCassette } from "./record-cassette.js";
export { type ReplayServer, type ReplayServerOptions, startReplayServer } from "./replay-server.js";

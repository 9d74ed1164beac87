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
  readCassettes,
  serializeCassette,
} from "./cassette.js";
export { type FromCassetteOptions, fromCassette, playFrames } from "./from-cassette.js";
export { type CassetteMatch, type NearCassette, matchCassette } from "./match.js";
export { type RecordCassetteOptions, recordCassette } from "./record-cassette.js";
export { type ReplayServer, type ReplayServerOptions, startReplayServer } from "./replay-server.js";

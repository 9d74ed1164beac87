export { type RelayFormat, RELAY_FORMATS } from "./formats.js";
export { createRelayFetchHandler } from "./fetch-handler.js";
export { MemoryRelayStore, type MemoryRelayStoreOptions } from "./memory-store.js";
export { type CloseOptions, type ReadOptions, Relay, type RelayOptions, type StartOptions } from "./relay.js";
export { DEFAULT_UPSTREAM_TIMEOUT } from "./upstream-timeout.js";
export { type RelayAnswer, RelayHttpError, type RelayRequest, type RelayRoutesOptions, type RelayUpstream, answerRelayRequest } from "./routes.js";
export type { RelayEnd, RelayFrame, RelayStore, RelayStreamInfo } from "./store.js";

export { type RelayCluster, type RelayClusterOptions, startRelayCluster } from "./edges/relay/cluster.js";
export { type RelayRequestHandler, createRelayRequestHandler } from "./edges/relay/node-handler.js";
export { RedisRelayStore, type RedisRelayStoreOptions } from "./edges/relay/redis-store.js";
export { type RelayServer, type RelayServerOptions, startRelayServer } from "./edges/relay/relay-server.js";
export { type PipeToResponseOptions, SlowClientError, pipeToResponse } from "./relay/pipe-to-response.js";

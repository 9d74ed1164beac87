// The Node-only entry (`g4f-rx/node`): what needs node:fs, node:http or a Redis connection. Everything universal
// comes from `g4f-rx`.
export { type PipeToResponseOptions, pipeToResponse } from "./edges/pipe-to-response.js";
// Also in g4f-rx (src/errors.ts), where the web-standard edges raise it too; still here, where it was.
export { SlowClientError } from "./errors.js";
export { type RelayCluster, type RelayClusterOptions, startRelayCluster } from "./edges/relay/cluster.js";
export { type RelayRequestHandler, createRelayRequestHandler } from "./edges/relay/node-handler.js";
export { type RedisConnection, RedisRelayStore, type RedisRelayStoreOptions } from "./edges/relay/redis-store.js";
export { type RelayServer, type RelayServerOptions, startRelayServer } from "./edges/relay/relay-server.js";
export * from "./replay/index.js";

// The universal entry: runs in Node, browsers and workers, so nothing here may import a Node built-in
// (test/consumers checks it with esbuild --platform=browser). Node-only parts live in ./node.ts.
export * from "../operators/index.js";
export {
  type BuiltInEndpoint,
  type Endpoint,
  EndpointConfigError,
  type EndpointFlags,
  type EndpointName,
  ENDPOINTS,
  type EndpointSettings,
  type Environment,
  type ResolvedEndpoint,
  type SettingSource,
  type UserEndpoint,
  resolveEndpoint,
} from "./endpoints.js";
export * from "./edges/index.js";
export * from "./errors.js";
export * from "./recipes/index.js";
export * from "./sources/index.js";
export type { CorsOrigins } from "./edges/cors.js";
export * from "./edges/relay/index.js";

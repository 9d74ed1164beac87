export * from "../operators/index.js";
export * from "./endpoints.js";
export * from "./errors.js";
export * from "./recipes/index.js";
export * from "./relay/index.js";
export * from "./replay/index.js";
export * from "./sources/index.js";
export * from "./edges/relay/index.js";

export * from "../operators/index.js";
export * from "./errors.js";
export * from "./sources/index.js";

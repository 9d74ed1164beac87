// The Node-only entry (`g4f-rx/node`): what needs node:fs or node:http. Everything universal comes from `g4f-rx`.
export { type PipeToResponseOptions, SlowClientError, pipeToResponse } from "./edges/pipe-to-response.js";
export * from "./replay/index.js";

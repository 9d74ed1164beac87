export { type PipeToResponseOptions, SlowClientError, pipeToResponse } from "./pipe-to-response.js";

export { toReadableStream, toResponse } from "./web-stream.js";

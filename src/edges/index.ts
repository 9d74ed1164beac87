export { type ToReadableStreamOptions, toReadableStream, toResponse } from "./web-stream.js";

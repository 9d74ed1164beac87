export { accumulate } from "./accumulate.js";
export { type ExtractDeltaOptions, extractDelta } from "./extract-delta.js";
export { type TextWritable, printTo } from "./print-to.js";

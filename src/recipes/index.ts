export { printJsonLines } from "./json-lines.js";
export { type ChatCompletionOnceParams, completionText, requestCompletion } from "./request-completion.js";
export { type SettleOptions, type Settled, settle } from "./settle.js";
export { typewriter } from "./typewriter.js";
export { thinkingParts } from "./thinking-parts.js";
export { assembleCompletion, completionChunk } from "./whole-completion.js";

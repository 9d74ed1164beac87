export { printJsonLines } from "./json-lines.js";
export { type ChatCompletionOnceParams, completionText, requestCompletion } from "./request-completion.js";
export { type SettleOptions, type Settled, settle } from "./settle.js";
export { typewriter } from "./typewriter.js";

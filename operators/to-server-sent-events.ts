import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { type OperatorFunction, catchError, endWith, map, of, pipe } from "rxjs";

/** The frame that ends an OpenAI-format stream. */
export const DONE_EVENT = "data: [DONE]\n\n";

const LINE_BREAK = /[\r\n]/;
const LINE_BREAKS = /\r\n|\r|\n/;

/**
 * One Server-Sent Events frame: `data` as JSON (a string is sent as is),
 * with an `event:` line when `event` is given. Multi-line strings become
 * several `data:` lines, as the SSE format requires.
 */
export function serverSentEvent(data: unknown, event?: string): string {
  const text = typeof data === "string" ? data : JSON.stringify(data);
  const head = event === undefined ? "" : `event: ${event}\n`;
  // JSON.stringify escapes line breaks, so a frame of JSON (every chunk a relay sends) is always one line.
  if (typeof data !== "string" || !LINE_BREAK.test(text)) return `${head}data: ${text}\n\n`;
  const lines = text.split(LINE_BREAKS).map((line) => `data: ${line}\n`).join("");
  return `${head}${lines}\n`;
}

/**
 * Turns chunks into OpenAI-format SSE frames, ready to relay to a browser or
 * any OpenAI client.
 *
 * Each chunk becomes `data: <json>`; completion adds `data: [DONE]`; an error
 * becomes one `data: {"error":{"message":…}}` frame (with the error's `type`,
 * `code` and `param` when it has them, as the `openai` package's errors do),
 * after which the frames complete: the error travels in-band, as OpenAI and
 * GPT4Free's API send it, so the reader knows the answer failed.
 *
 * ## Examples
 * ```ts
 * import { of } from "rxjs";
 * import { toServerSentEvents } from "g4f-rx/operators";
 *
 * const chunk = { id: "c1", object: "chat.completion.chunk" as const, created: 0, model: "gpt-4",
 *   choices: [{ index: 0, delta: { content: "Hi" }, finish_reason: null }] };
 * of(chunk).pipe(toServerSentEvents()).subscribe((frame) => process.stdout.write(frame));
 * // data: {"id":"c1","object":"chat.completion.chunk","created":0,"model":"gpt-4","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}
 * //
 * // data: [DONE]
 * //
 * ```
 */
export function toServerSentEvents(): OperatorFunction<ChatCompletionChunk, string> {
  return pipe(
    map((chunk) => serverSentEvent(chunk)),
    endWith(DONE_EVENT),
    catchError((error: unknown) => of(serverSentEvent({ error: errorBody(error) }))),
  );
}

function errorBody(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error), type: "server_error" };
  const details: Record<string, unknown> = { message: error.message };
  for (const key of ["type", "code", "param"] as const) {
    const value: unknown = Reflect.get(error, key);
    if (value !== undefined && value !== null) details[key] = value;
  }
  details.type ??= "server_error";
  return details;
}

import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { EMPTY, type OperatorFunction, catchError, concatWith, defer, map, of } from "rxjs";
import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import { type StreamItem, endsResponsesStream, isResponseEvent } from "./chunk-reader.js";

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
 * Responses API events (from `fromResponses`) are framed as OpenAI frames
 * them: `event: <type>` then `data: <json>`, so a browser's `EventSource` can
 * listen by type; no `[DONE]` follows (the stream's own `response.completed`
 * ends it), and an error becomes an `event: error` frame holding
 * `{"type":"error","message",…,"error":{…}}`, which the `openai` client and
 * `fromResponses` read as the error it was; an error after the stream's last
 * event (`fromResponses` errors after `response.failed`) adds nothing, as
 * OpenAI's own stream ends with `response.failed`.
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
export function toServerSentEvents<T extends StreamItem = ChatCompletionChunk>(): OperatorFunction<T, string> {
  return (source) =>
    defer(() => {
      // Until a Responses event passes, the stream is framed as chat: an empty or at once failing stream reads as one either way.
      let responses = false;
      let ended = false;
      return source.pipe(
        map((item) => {
          if (!isResponseEvent(item)) return serverSentEvent(item);
          responses = true;
          if (endsResponsesStream(item.type)) ended = true;
          return responseEventFrame(item);
        }),
        concatWith(defer(() => (responses ? EMPTY : of(DONE_EVENT)))),
        catchError((error: unknown) => {
          // After a Responses stream's last event (fromResponses errors after response.failed) its readers read no
          // more: an error frame there would make the openai client throw where OpenAI's own stream ends quietly.
          if (ended) return EMPTY;
          const details = errorDetails(error);
          return of(responses ? responsesErrorEvent(details) : serverSentEvent({ error: details }));
        }),
      );
    });
}

/** A Responses event's frame: `event: <type>`, then its data. */
export function responseEventFrame(event: ResponseStreamEvent): string {
  // A type that would break the frame's line is left out of the `event:` field; the data still carries it.
  return serverSentEvent(event, LINE_BREAK.test(event.type) ? undefined : event.type);
}

/**
 * The `event: error` frame of a Responses stream for an error's `details` (`message`, `type`, `code`…): OpenAI's
 * Responses error event nests the error (which the `openai` client reads); its documented shape has the fields at the
 * top, so both are there.
 */
export function responsesErrorEvent(details: Readonly<Record<string, unknown>>): string {
  return serverSentEvent({ ...details, type: "error", error: details }, "error");
}

/** An error's `message`, `type`, `code` and `param`, as an error frame carries them. */
export function errorDetails(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error), type: "server_error" };
  const details: Record<string, unknown> = { message: error.message };
  for (const key of ["type", "code", "param"] as const) {
    const value: unknown = Reflect.get(error, key);
    if (value !== undefined && value !== null) details[key] = value;
  }
  details.type ??= "server_error";
  return details;
}

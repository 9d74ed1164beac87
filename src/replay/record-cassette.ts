import { closeSync, openSync, writeSync } from "node:fs";
import { APIError } from "openai/core/error";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import { type MonoTypeOperatorFunction, Observable, type SchedulerLike, asyncScheduler } from "rxjs";
import { StreamErrorFrameError } from "../errors.js";
import type { ChatCompletionStreamParams } from "../sources/from-chat-completion.js";
import type { ResponsesStreamParams } from "../sources/from-responses.js";
import { parseFrameData } from "../sources/frames.js";
import { isoTime } from "../iso-time.js";
import { type CassetteFrame, type CassetteRequest, type CassetteResponse, frameLine, headerLine, messagesOfResponsesRequest } from "./cassette.js";

export interface RecordCassetteOptions {
  /** The clock for frame offsets. Default `asyncScheduler`. */
  scheduler?: SchedulerLike;
}

/** The mode of a new cassette file (the umask may take more away, never add). */
const PRIVATE_FILE = 0o600;

/** Response headers worth keeping in a cassette. */
const KEPT_HEADERS = ["content-type", "retry-after", "retry-after-ms", "x-request-id", "openai-model", "openai-processing-ms"];

/**
 * Records the stream passing through into a cassette file, and passes every
 * chunk on unchanged.
 *
 * Offsets are measured from the subscription, which is when the request is
 * sent. Each frame is written as it arrives, so an interrupted recording keeps
 * what came (and replays as the incomplete stream it was). An error status is
 * recorded with its body; an error frame as the frame. A file that cannot be
 * written errors the stream.
 *
 * ## Example
 * ```ts
 * import OpenAI from "openai";
 * import { fromChatCompletion } from "g4f-rx";
 * import { recordCassette } from "g4f-rx/node";
 *
 * const params = { model: "gpt-4", messages: [{ role: "user" as const, content: "Say hello there!" }] };
 * fromChatCompletion(new OpenAI(), params)
 *   .pipe(recordCassette("hello.cassette.jsonl", params))
 *   .subscribe();
 * ```
 */
export function recordCassette(file: string, request: CassetteRequest | ChatCompletionStreamParams, options?: RecordCassetteOptions): MonoTypeOperatorFunction<ChatCompletionChunk>;
export function recordCassette(file: string, request: ResponsesStreamParams, options?: RecordCassetteOptions): MonoTypeOperatorFunction<ResponseStreamEvent>;
export function recordCassette<T extends ChatCompletionChunk | ResponseStreamEvent>(
  file: string,
  request: CassetteRequest | ChatCompletionStreamParams | ResponsesStreamParams,
  options: RecordCassetteOptions = {},
): MonoTypeOperatorFunction<T> {
  const { scheduler = asyncScheduler } = options;
  // A request with `input` and no `messages` is a Responses API request: its stream has events, and no [DONE].
  const responses = !("messages" in request) && "input" in request;
  // The request as sent: `stream` is always true there, so it says nothing.
  const sent: Record<string, unknown> = { ...request };
  delete sent.stream;
  const model = typeof sent.model === "string" ? sent.model : undefined;
  return (source) =>
    new Observable<T>((subscriber) => {
      const start = scheduler.now();
      let descriptor: number | undefined;
      const at = (): number => Math.round(scheduler.now() - start);
      const write = (line: string): void => {
        if (descriptor === undefined) throw new Error("recordCassette: the cassette is closed");
        writeSync(descriptor, line + "\n");
      };
      const open = (response: CassetteResponse): void => {
        if (descriptor !== undefined) return;
        // A cassette holds the questions and answers, as a conversation's turn does: readable by its user alone.
        descriptor = openSync(file, "w", PRIVATE_FILE);
        const messages = Array.isArray(sent.messages) ? sent.messages : messagesOfResponsesRequest(sent);
        const recorded: CassetteRequest = { ...sent, ...(model === undefined ? {} : { model }), messages };
        write(headerLine({ ...(responses ? { api: "responses" as const } : {}), recordedAt: isoTime(new Date()), request: recorded, response }));
      };
      const frame = (recorded: CassetteFrame): void => {
        open({ status: 200, headers: { "content-type": "text/event-stream" } });
        write(frameLine(recorded));
      };
      const close = (): void => {
        if (descriptor !== undefined) closeSync(descriptor);
        descriptor = undefined;
      };
      // A failed write must reach the subscriber, not vanish as an unhandled error.
      const guarded = (action: () => void): boolean => {
        try {
          action();
          return true;
        } catch (error) {
          close();
          subscriber.error(error);
          return false;
        }
      };
      const subscription = source.subscribe({
        next: (chunk) => {
          if (guarded(() => frame({ at: at(), data: chunk }))) subscriber.next(chunk);
        },
        error: (error: unknown) => {
          const recorded = guarded(() => {
            // A response.failed event was recorded as it passed; the error it stands for needs no second frame.
            if (error instanceof StreamErrorFrameError && error.event === "response.failed") {
              // recorded already
            } else if (error instanceof StreamErrorFrameError) {
              const data = parseFrameData(error.data).value;
              frame(error.event === undefined ? { at: at(), data } : { at: at(), event: error.event, data });
            } else if (descriptor === undefined) {
              const response = httpErrorResponse(error);
              if (response !== undefined) open(response);
            }
            close();
          });
          if (recorded) subscriber.error(error);
        },
        complete: () => {
          if (guarded(() => (responses ? undefined : frame({ at: at(), data: "[DONE]" }), close()))) subscriber.complete();
        },
      });
      return () => {
        subscription.unsubscribe();
        close();
      };
    });
}

/** The response an `APIError` from an HTTP status stands for; none for other errors. */
function httpErrorResponse(error: unknown): CassetteResponse | undefined {
  if (!isApiError(error) || error.status === undefined) return undefined;
  return { status: error.status, headers: keptHeaders(error.headers), body: { error: error.error } };
}

// A guard, rather than `instanceof` inline, types the error's status and headers instead of leaving them `any`.
function isApiError(error: unknown): error is APIError {
  return error instanceof APIError;
}

function keptHeaders(headers: Headers | undefined): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of KEPT_HEADERS) {
    const value = headers?.get(name);
    if (value !== null && value !== undefined) kept[name] = value;
  }
  return kept;
}

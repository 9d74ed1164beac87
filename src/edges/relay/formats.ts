import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import type { Response, ResponseStreamEvent } from "openai/resources/responses/responses";
import { EMPTY, Observable, type OperatorFunction, Subject, type Subscription, catchError, concatWith, defer, endWith, finalize, map, of, pipe, tap } from "rxjs";
import { accumulateResponse } from "../../../operators/accumulate-response.js";
import { type StreamItem, endsResponsesStream, isResponseEvent } from "../../../operators/chunk-reader.js";
import { DONE_EVENT, errorDetails, responseEventFrame, responsesErrorEvent, serverSentEvent, toServerSentEvents } from "../../../operators/to-server-sent-events.js";
import { responsesToUIMessageStream } from "../../../operators/responses-to-ui-message-stream.js";
import { type UIMessageStreamPart, toUIMessageStream } from "../../../operators/to-ui-message-stream.js";

/**
 * The wire formats a relay streams: `"openai"`, chat completion chunks as
 * OpenAI sends them (any OpenAI client reads it); `"ui-message"`, the Vercel AI
 * SDK's UI message stream (what `useChat` reads); `"responses"`, Responses API
 * events as OpenAI sends them (`event: <type>` frames, no `[DONE]`: what
 * `client.responses.create({ stream: true })` reads).
 *
 * This file is the one place that knows each format's framing: its frames, the
 * frames that end a stream the relay stopped or could not carry on, and its headers.
 */
export type RelayFormat = "openai" | "ui-message" | "responses";

export const RELAY_FORMATS: readonly RelayFormat[] = ["openai", "ui-message", "responses"];

export function isRelayFormat(value: unknown): value is RelayFormat {
  return value === "openai" || value === "ui-message" || value === "responses";
}

/**
 * Items → the format's SSE frames, ending with its end frame; an error travels in-band as the format's error frame.
 * `stopped` tells whether the items completed because the stream was stopped: a Responses stream then ends with
 * `response.incomplete` (see `responsesEncoder`), naming `model` when it must open the response itself. An item of the
 * other API (a Responses event in a chat stream, or the reverse) ends the stream with an error frame saying so.
 */
export function encoderFor(format: RelayFormat, stopped: () => boolean, model?: string): OperatorFunction<StreamItem, string> {
  if (format === "responses") return responsesEncoder(stopped, model);
  if (format === "openai") return pipe(map(chatChunk), toServerSentEvents());
  return pipe(
    uiMessageParts(),
    map((part) => serverSentEvent(part)),
    endWith(DONE_EVENT),
  );
}

function chatChunk(item: StreamItem): ChatCompletionChunk {
  if (isResponseEvent(item)) throw new TypeError(`A Responses API event (${item.type}) came in a chat-completion stream: start a Responses stream with { format: "responses" }`);
  return item;
}

function responseEvent(item: StreamItem): ResponseStreamEvent {
  if (!isResponseEvent(item)) throw new TypeError("A chat-completion chunk came in a Responses stream");
  return item;
}

/**
 * The UI message stream of either API: `toUIMessageStream` for chat-completion chunks, `responsesToUIMessageStream`
 * for Responses events, chosen by the first item (an empty stream, or one failing at once, reads the same either way);
 * an item of the other API after it ends the message with an error part.
 */
function uiMessageParts(): OperatorFunction<StreamItem, UIMessageStreamPart> {
  return (source) =>
    new Observable<UIMessageStreamPart>((subscriber) => {
      const items = new Subject<StreamItem>();
      let parts: Subscription | undefined;
      const begin = (responses: boolean): void => {
        if (parts !== undefined) return;
        parts = items.pipe(responses ? pipe(map(responseEvent), responsesToUIMessageStream()) : pipe(map(chatChunk), toUIMessageStream())).subscribe(subscriber);
      };
      const upstream = source.subscribe({
        next: (item) => {
          begin(isResponseEvent(item));
          items.next(item);
        },
        error: (error: unknown) => {
          begin(false);
          items.error(error);
        },
        complete: () => {
          begin(false);
          items.complete();
        },
      });
      return () => {
        upstream.unsubscribe();
        parts?.unsubscribe();
      };
    });
}

/**
 * Responses events framed as OpenAI frames them (as `toServerSentEvents` does, an error too, even before the first
 * event; none after the stream's last event). A Responses stream has no `[DONE]`: its readers (the `openai` client's `ResponseStream`, `responsesProtocol`) take it as complete only after
 * `response.completed`, `response.incomplete` or `response.failed`, and call a body that ends without one cut short.
 * So a stopped stream ends with `response.incomplete`: the response so far (as `accumulateResponse` builds it) with
 * `status: "incomplete"` and `incomplete_details.reason: "stopped"`, which every reader takes as a complete,
 * incomplete answer, as chat's readers take `[DONE]` after a stop. A stream stopped before the upstream's first event
 * has no response yet, and the `openai` client's `responses.stream()` accepts nothing before `response.created`: the
 * relay then opens it as OpenAI does, with a `response.created` of its own (see `relayResponse`), before the
 * `response.incomplete`. Items that end without one of those events, not stopped, end with an error frame, as
 * `fromResponses` itself reports a body cut short; an error frame needs no `response.created` before it (every reader
 * raises it as the error it is).
 */
function responsesEncoder(stopped: () => boolean, model: string | undefined): OperatorFunction<StreamItem, string> {
  return (source) =>
    defer(() => {
      // When the stream began: a response.created of the relay's own says the response was created then.
      const startedAt = Math.floor(Date.now() / 1000);
      let seen = false;
      let ended = false;
      let failed = false;
      let sequence = -1;
      let snapshot: Response | undefined;
      const events = new Subject<ResponseStreamEvent>();
      const snapshots = events.pipe(accumulateResponse()).subscribe((response) => (snapshot = response));
      const checked: Observable<ResponseStreamEvent> = source.pipe(
        map((item) => {
          if (!isResponseEvent(item)) throw new TypeError('A chat-completion chunk came in a Responses stream: start a chat stream without { format: "responses" }');
          return item;
        }),
        tap((event) => {
          seen = true;
          events.next(event);
          if (typeof event.sequence_number === "number") sequence = event.sequence_number;
          if (endsResponsesStream(event.type)) ended = true;
        }),
      );
      return checked.pipe(
        map(responseEventFrame),
        catchError((error: unknown) => {
          failed = true;
          // After its last event (fromResponses errors after response.failed) the stream is over for every reader: an
          // error frame there would make the openai client throw where OpenAI's own stream ends with response.failed.
          return ended ? EMPTY : of(responsesErrorEvent(errorDetails(error)));
        }),
        concatWith(
          defer(() => {
            if (ended || failed) return EMPTY;
            if (!stopped()) return of(responsesErrorEvent({ message: "The upstream's events ended without response.completed, response.incomplete or response.failed: the answer is incomplete", type: "relay_error", code: "incomplete" }));
            if (seen) return of(serverSentEvent(stoppedEvent(snapshot, sequence + 1), "response.incomplete"));
            const created = relayResponse(model, startedAt);
            return of(serverSentEvent({ type: "response.created", sequence_number: 0, response: created }, "response.created"), serverSentEvent(stoppedEvent(created, 1), "response.incomplete"));
          }),
        ),
        finalize(() => snapshots.unsubscribe()),
      );
    });
}

/**
 * The response a stream stopped before the upstream's first event opens with, in the shape of OpenAI's own
 * `response.created`: an id of OpenAI's form (`resp_` and 48 hex digits), made here as the upstream's never came;
 * `created_at` when the stream began; the model the request named (`""` when the relay was not told, as a Responses
 * request may name a stored prompt rather than a model); no output yet. The fields OpenAI echoes from the request
 * (instructions, tools…) are left out: the relay does not know them, and no reader needs them.
 */
function relayResponse(model: string | undefined, createdAt: number): Record<string, unknown> {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  const id = `resp_${Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("")}`;
  return { id, object: "response", created_at: createdAt, status: "in_progress", model: model ?? "", output: [], error: null, incomplete_details: null, usage: null };
}

/** The `response.incomplete` event that ends a stopped Responses stream; plain data, as its `reason` is not among OpenAI's. */
function stoppedEvent(snapshot: object | undefined, sequence: number): Record<string, unknown> {
  const response: Record<string, unknown> = { ...(snapshot ?? { object: "response", output: [] }), status: "incomplete", incomplete_details: { reason: "stopped" } };
  // `output_text` is the SDK's convenience (accumulateResponse sets it), which no server sends.
  delete response.output_text;
  return { type: "response.incomplete", sequence_number: sequence, response };
}

/** The frames that end a stream the relay could not carry on, in the stream's own format, so its readers recognise the error. */
export function failureFrames(format: string, message: string, code: string): string[] {
  if (format === "ui-message") return [serverSentEvent({ type: "error", errorText: message }), DONE_EVENT];
  if (format === "responses") return [responsesErrorEvent({ message, type: "relay_error", code })];
  return [serverSentEvent({ error: { message, type: "relay_error", code } })];
}

/** The response headers for a stream in this format. */
export function formatHeaders(format: string): Record<string, string> {
  return format === "ui-message" ? { "x-vercel-ai-ui-message-stream": "v1" } : {};
}

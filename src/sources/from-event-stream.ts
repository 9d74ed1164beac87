import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { Observable } from "rxjs";
import { type ClientErrorClasses, OWN_ERROR_CLASSES, clientErrorClasses, errorForClient } from "./client.js";
import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import { chatCompletionProtocol } from "./chat-completion-protocol.js";
import { decodeEventStream } from "./decode-event-stream.js";
import type { StreamProtocol } from "./protocol.js";
import { responsesProtocol } from "./responses-protocol.js";

/** What `fromEventStream` reads: a URL to fetch, a `Request` to send, or a `Response` already received. */
export type EventStreamInput = string | URL | Request | Response;

export interface EventStreamOptions {
  /**
   * Your `openai` package's `OpenAI` class (or a client), whose error classes the errors are made of. Needed in a
   * CommonJS app: its `require("openai")` is another copy of the classes than the ES module one this package
   * imports, so without it `instanceof APIError` fails there. Default: this package's import of `openai`.
   */
  openai?: object;
}

/**
 * A cold Observable of the chunks of an OpenAI-format Server-Sent Events
 * stream read over plain `fetch`: a relay of yours (`toResponse`,
 * `pipeToResponse`, `g4f-rx serve`), from a browser or from Node, with no
 * `openai` client.
 *
 * Given a URL or a `Request`, each subscription fetches it with `init` (a
 * `POST` body, headers…; a `Request` is copied, body and all, for each);
 * unsubscribing aborts that request at once, and a signal in `init` aborts
 * it too. Given a `Response`, its body is read, so it can be subscribed to
 * once.
 *
 * The contract is `fromChatCompletion`'s, after every chunk before the
 * failure was delivered:
 * - an HTTP error status gives the `openai` package's `APIError` subclass
 *   for it (`NotFoundError`, `RateLimitError`…) with the server's message;
 *   a failed connection gives `APIConnectionError`; the caller's abort,
 *   `APIUserAbortError` (in a CommonJS app, give `{ openai: OpenAI }` for these to be
 *   your `openai`'s classes);
 * - an error frame gives `StreamErrorFrameError`;
 * - a body that ends with neither `data: [DONE]` nor a `finish_reason`
 *   gives `IncompleteStreamError`;
 * - malformed JSON, a body that is not SSE and invalid UTF-8 give
 *   `MalformedChunkError`, `NotEventStreamError`, `InvalidEncodingError`.
 *
 * ## Example
 * ```ts
 * import { accumulate, extractDelta, fromEventStream } from "g4f-rx";
 *
 * fromEventStream("/api/chat", { method: "POST", body: JSON.stringify({ prompt: "Say hello there!" }) })
 *   .pipe(extractDelta(), accumulate())
 *   .subscribe((text) => (document.querySelector("#answer")!.textContent = text));
 * // Hello there! How can I help you today?
 * ```
 */
export function fromEventStream(input: EventStreamInput, init?: RequestInit, options: EventStreamOptions = {}): Observable<ChatCompletionChunk> {
  return eventStream(input, init, options, chatCompletionProtocol, "fromEventStream");
}

/**
 * `fromEventStream` for a Responses API stream: a cold Observable of the
 * `ResponseStreamEvent`s of an SSE stream in OpenAI's Responses framing read
 * over plain `fetch`, such as a relay's `POST /v1/responses` or its
 * `GET /v1/streams/{id}` for a Responses stream (`Relay`,
 * `g4f-rx serve`), from a browser or from Node, with no `openai` client.
 *
 * Its contract is `fromEventStream`'s with the Responses end-of-stream rule
 * (`responsesProtocol`, as for `fromResponses`): it completes after
 * `response.completed` or `response.incomplete` (which ends a stopped relay
 * stream); an `error` event, or `response.failed` after it is emitted, gives
 * `StreamErrorFrameError` with the server's message; a body that ends before
 * one of those gives `IncompleteStreamError`; HTTP errors give the `openai`
 * package's `APIError` classes.
 *
 * ## Example
 * ```ts
 * import { extractOutputText, fromResponsesEventStream } from "g4f-rx";
 *
 * fromResponsesEventStream("http://127.0.0.1:8080/v1/responses", {
 *   method: "POST",
 *   headers: { "content-type": "application/json" },
 *   body: JSON.stringify({ model: "gpt-4o", input: "Say hello there!", stream: true }),
 * })
 *   .pipe(extractOutputText())
 *   .subscribe((text) => process.stdout.write(text));
 * // Hello there! How can I help you today?
 * ```
 */
export function fromResponsesEventStream(input: EventStreamInput, init?: RequestInit, options: EventStreamOptions = {}): Observable<ResponseStreamEvent> {
  return eventStream(input, init, options, responsesProtocol, "fromResponsesEventStream");
}

/** Both readers: fetch (or take) the response, and decode its body by `protocol`. */
function eventStream<T>(input: EventStreamInput, init: RequestInit | undefined, options: EventStreamOptions, protocol: StreamProtocol<T>, name: string): Observable<T> {
  const classes = options.openai === undefined ? OWN_ERROR_CLASSES : clientErrorClasses(options.openai);
  let used = false;
  return new Observable<T>((subscriber) => {
    const controller = new AbortController();
    const userSignal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
    const signal = userSignal ? AbortSignal.any([controller.signal, userSignal]) : controller.signal;
    let response: Promise<Response>;
    if (input instanceof Response) {
      if (used) {
        subscriber.error(new TypeError(`${name}: a Response body can be read once; pass a URL or a Request to fetch again on each subscription`));
        return;
      }
      used = true;
      // The decoder cancels its body when the subscriber unsubscribes or `init.signal` aborts.
      response = Promise.resolve(input);
    } else {
      // A Request's body can be sent once: each subscription sends a copy.
      response = fetch(input instanceof Request ? input.clone() : input, { ...init, signal }).catch((cause: unknown) => {
        throw userSignal?.aborted === true ? new classes.APIUserAbortError() : new classes.APIConnectionError({ cause: asError(cause) });
      });
    }
    response
      .then(async (received) => {
        if (!received.ok) throw await statusError(received, classes);
        return decodeEventStream(received, (item: T) => subscriber.next(item), signal, protocol);
      })
      .then(
        () => {
          if (userSignal?.aborted === true) subscriber.error(new classes.APIUserAbortError());
          else subscriber.complete();
        },
        (error: unknown) => {
          // After an unsubscribe nobody listens, and the abort error is ours.
          if (controller.signal.aborted) return;
          subscriber.error(errorForClient(error, classes, userSignal?.aborted === true));
        },
      );
    return () => controller.abort();
  });
}

/** The `openai` package's error for an HTTP error status, with the server's message as the SDK would read it. */
async function statusError(response: Response, classes: ClientErrorClasses): Promise<Error> {
  const text = await response.text().catch(() => "");
  const json = parseJSON(text);
  return classes.APIError.generate(response.status, json, json === undefined ? text || undefined : undefined, response.headers);
}

function parseJSON(text: string): object | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

function asError(cause: unknown): Error {
  return cause instanceof Error ? cause : new Error(String(cause));
}

import { type Observable, Subject, takeUntil } from "rxjs";
import { SlowClientError } from "../errors.js";
import { checkMaxQueuedBytes } from "./queued-bytes.js";

export interface ToReadableStreamOptions {
  /**
   * Most bytes held for a reader that is not reading. Past it the stream
   * errors with `SlowClientError` and `frames$` is unsubscribed (aborting a
   * `fromChatCompletion` request), rather than let memory grow. Default 1 MiB,
   * as `pipeToResponse`'s; `Infinity` turns the limit off. Anything but a
   * number above 0 throws a `TypeError` at once.
   */
  maxQueuedBytes?: number;
}

/** The headers `toResponse` sends unless `init.headers` says otherwise. */
const SSE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  // Stops nginx and similar proxies from buffering the stream.
  "x-accel-buffering": "no",
};

/**
 * A web `ReadableStream` of the UTF-8 bytes of text frames (from
 * `toServerSentEvents()`), for fetch-style handlers and anything else that
 * takes a web stream.
 *
 * It subscribes to `frames$` when created. Each frame is enqueued as it
 * arrives; the stream closes when `frames$` completes, and errors when it
 * errors once the reader has taken every frame before the error. Cancelling the stream (the client went away, the
 * runtime dropped the `Response`) unsubscribes from `frames$`, which for a
 * `fromChatCompletion` source aborts the upstream HTTP request at once.
 *
 * RxJS cannot pause a source, so frames wait in the stream's queue for a
 * slow reader, up to `maxQueuedBytes` (1 MiB): a reader that stops reading
 * is then cut off, as `pipeToResponse` cuts off a Node client. The stream
 * errors with `SlowClientError` (the frames still queued are dropped) and
 * `frames$` is unsubscribed. Frames that arrive all at once while the reader
 * has taken everything (a relay's catch-up, a replay at full speed) are not
 * counted, as `pipeToResponse` writes such a batch whole; what comes after
 * them while they still wait is.
 *
 * ## Example
 * ```ts
 * import { fromChatCompletion, toReadableStream, toServerSentEvents } from "g4f-rx";
 *
 * const body = toReadableStream(fromChatCompletion(client, params).pipe(toServerSentEvents()));
 * // new Response(body, { headers: { "content-type": "text/event-stream" } })
 * ```
 */
export function toReadableStream(frames$: Observable<string>, options: ToReadableStreamOptions = {}): ReadableStream<Uint8Array> {
  const maxQueuedBytes = checkMaxQueuedBytes("toReadableStream", options.maxQueuedBytes);
  const encoder = new TextEncoder();
  // Stops the source, also from inside its own synchronous emissions (before subscribe() has returned).
  const stop = new Subject<void>();
  // False once the stream was cut off or cancelled: the source's completion, which stopping it causes, then ends nothing.
  let open = true;
  // An error waits until the reader has taken every frame before it: erroring a stream discards its queue.
  let failure: { error: unknown } | undefined;
  // Frames that come together (in one synchronous run) while the reader has taken everything are not counted against
  // maxQueuedBytes, as pipeToResponse writes such a batch to the socket whole: a relay's catch-up of all a stream
  // already holds, a replay at full speed. `batched` is what may still wait of the last such batch; only what comes
  // after it, while it or more still waits, counts.
  let batched = 0;
  let inBatch = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        // Subscribing at once, not on the first pull, keeps the upstream running while the reader is busy: RxJS pushes.
        frames$.pipe(takeUntil(stop)).subscribe({
          next: (frame) => {
            // Counted in bytes with a high-water mark of 0, the queue's size is minus the desired size.
            const waiting = -(controller.desiredSize ?? 0);
            if (!inBatch && waiting === 0) {
              inBatch = true;
              queueMicrotask(() => {
                inBatch = false;
                batched = -(controller.desiredSize ?? 0);
              });
            }
            controller.enqueue(encoder.encode(frame));
            if (inBatch) return;
            // The reader takes the oldest bytes first, so no more of the batch than is waiting can still wait.
            batched = Math.min(batched, waiting);
            const queuedBytes = -(controller.desiredSize ?? 0);
            if (queuedBytes - batched <= maxQueuedBytes) return;
            open = false;
            controller.error(new SlowClientError(queuedBytes));
            stop.next();
          },
          error: (error: unknown) => {
            if (controller.desiredSize === 0) controller.error(error);
            else failure = { error };
          },
          complete: () => {
            if (open) controller.close();
          },
        });
      },
      pull(controller) {
        // Called with a read waiting and nothing queued (high-water mark 0).
        if (failure !== undefined) controller.error(failure.error);
      },
      cancel() {
        open = false;
        stop.next();
      },
    },
    { highWaterMark: 0, size: (bytes) => bytes.byteLength },
  );
}

/**
 * A web `Response` whose body is `toReadableStream(frames$)`, with the
 * headers of a Server-Sent Events stream (`content-type:
 * text/event-stream`, `cache-control: no-cache`, `x-accel-buffering: no`).
 * `init` sets the status and adds or replaces headers; `options` are
 * `toReadableStream`'s (`maxQueuedBytes`).
 *
 * Return it from a fetch-style handler (Hono, Next.js route handlers, Bun,
 * Deno, Cloudflare Workers): when the client goes away the runtime cancels
 * the body, which unsubscribes and aborts the upstream request.
 *
 * ## Example
 * ```ts
 * import OpenAI from "openai";
 * import { fromChatCompletion, toResponse, toServerSentEvents } from "g4f-rx";
 *
 * const client = new OpenAI({ baseURL: "http://localhost:1337/v1", apiKey: "none" });
 * export async function POST(request: Request): Promise<Response> {
 *   const { prompt } = (await request.json()) as { prompt: string };
 *   return toResponse(
 *     fromChatCompletion(client, { model: "gpt-4", messages: [{ role: "user", content: prompt }] }).pipe(toServerSentEvents()),
 *   );
 * }
 * ```
 */
export function toResponse(frames$: Observable<string>, init: ResponseInit = {}, options: ToReadableStreamOptions = {}): Response {
  const headers = new Headers(SSE_HEADERS);
  new Headers(init.headers).forEach((value, name) => headers.set(name, value));
  return new Response(toReadableStream(frames$, options), { ...init, headers });
}

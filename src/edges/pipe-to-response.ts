import type { ServerResponse } from "node:http";
import { Observable, type OperatorFunction, Subject, takeUntil } from "rxjs";
import { SlowClientError } from "../errors.js";
import { checkMaxQueuedBytes } from "./queued-bytes.js";

export interface PipeToResponseOptions {
  /** Status to send when the response has not started. Default 200. */
  status?: number;
  /** Headers added to (or replacing) the SSE headers sent when the response has not started. */
  headers?: Record<string, string>;
  /**
   * Most bytes held for a client that is not reading. Past it the response
   * is closed and the upstream unsubscribed, rather than let memory grow.
   * Default 1 MiB.
   */
  maxQueuedBytes?: number;
}

const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  connection: "keep-alive",
  // Stops nginx and similar proxies from buffering the stream.
  "x-accel-buffering": "no",
};

/**
 * Writes text frames (from `toServerSentEvents()`) to a Node
 * `http.ServerResponse`, and completes once the response has ended.
 *
 * It honours backpressure: when `write()` returns false, frames wait for
 * `'drain'` and are then written together. RxJS cannot pause a source, so a
 * client that stops reading is cut off at `maxQueuedBytes` with
 * `SlowClientError`. When the client disconnects, the upstream is
 * unsubscribed at once, which aborts the upstream HTTP request, and the
 * Observable completes. An upstream error ends the response and passes on.
 *
 * ## Example
 * ```ts
 * import { createServer } from "node:http";
 * import OpenAI from "openai";
 * import { fromChatCompletion, toServerSentEvents } from "g4f-rx";
 * import { pipeToResponse } from "g4f-rx/node";
 *
 * const client = new OpenAI({ baseURL: "http://localhost:1337/v1", apiKey: "none" });
 * createServer((req, res) => {
 *   fromChatCompletion(client, { model: "gpt-4", messages: [{ role: "user", content: "Say hello there!" }] })
 *     .pipe(toServerSentEvents(), pipeToResponse(res))
 *     .subscribe({ error: (error) => console.error(error) });
 * }).listen(8080);
 * ```
 */
export function pipeToResponse(res: ServerResponse, options: PipeToResponseOptions = {}): OperatorFunction<string, never> {
  const { status = 200, headers = {} } = options;
  const maxQueuedBytes = checkMaxQueuedBytes("pipeToResponse", options.maxQueuedBytes);
  return (source) =>
    new Observable<never>((subscriber) => {
      // The client may have left while the handler was still busy (reading the body, checking a key): then nobody reads.
      if (res.destroyed || res.writableEnded) {
        subscriber.complete();
        return;
      }
      if (!res.headersSent) {
        res.writeHead(status, { ...SSE_HEADERS, ...headers });
        res.flushHeaders();
      }
      // Frames that arrive together (one upstream read, a reader catching up) are written together, in one
      // write at the end of the microtask: one chunk and one system call rather than one per frame.
      let batch: string[] = [];
      let batchScheduled = false;
      let queue: string[] = [];
      let queuedBytes = 0;
      let draining = false;
      let upstreamDone = false;
      // Stops the upstream even from inside its own synchronous emissions.
      const stop = new Subject<void>();
      let halted = false;
      const halt = (): void => {
        halted = true;
        stop.next();
      };

      const writeBatch = (): void => {
        batchScheduled = false;
        if (batch.length === 0) return;
        const text = batch.length === 1 ? (batch[0] ?? "") : batch.join("");
        batch = [];
        if (res.destroyed || res.writableEnded) return;
        if (!res.write(text)) draining = true;
      };
      const finish = (): void => {
        writeBatch();
        if (!res.writableEnded && !res.destroyed) res.end();
      };
      const onDrain = (): void => {
        draining = false;
        const pending = queue.join("");
        queue = [];
        queuedBytes = 0;
        if (pending !== "" && !res.write(pending)) draining = true;
        else if (upstreamDone) finish();
      };
      const onClose = (): void => {
        // The client left before the end: stop the upstream, nobody will read it.
        halt();
        subscriber.complete();
      };
      const onFinish = (): void => subscriber.complete();
      res.on("drain", onDrain);
      res.on("close", onClose);
      res.on("finish", onFinish);

      const upstream = source.pipe(takeUntil(stop)).subscribe({
        next: (frame) => {
          if (res.destroyed) return;
          if (!draining) {
            batch.push(frame);
            if (!batchScheduled) {
              batchScheduled = true;
              queueMicrotask(writeBatch);
            }
            return;
          }
          queue.push(frame);
          queuedBytes += Buffer.byteLength(frame);
          if (queuedBytes > maxQueuedBytes) {
            const error = new SlowClientError(queuedBytes);
            queue = [];
            halt();
            res.destroy();
            subscriber.error(error);
          }
        },
        error: (error: unknown) => {
          upstreamDone = true;
          writeBatch();
          // Frames still waiting for 'drain' go out first; the writable buffers them.
          if (queue.length > 0 && !res.destroyed) res.write(queue.join(""));
          queue = [];
          finish();
          subscriber.error(error);
        },
        complete: () => {
          if (halted) return;
          upstreamDone = true;
          if (!draining) finish();
        },
      });

      return () => {
        upstream.unsubscribe();
        res.off("drain", onDrain);
        res.off("close", onClose);
        res.off("finish", onFinish);
        // Unsubscribed from outside (a shutdown, a disposed request scope): end the response rather than leave
        // the client waiting. Frames are written whole, so the body still ends on a frame boundary.
        finish();
      };
    });
}

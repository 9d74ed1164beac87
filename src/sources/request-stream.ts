import { Observable } from "rxjs";
import { type ClientErrorClasses, OWN_ERROR_CLASSES, errorForClient } from "./client.js";
import { decodeEventStream } from "./decode-event-stream.js";
import type { StreamProtocol } from "./protocol.js";

/**
 * The Observable every request source returns: on each subscription, `send`
 * makes one request with the given signal and resolves with its raw
 * `Response`, whose body is decoded by `protocol`. Unsubscribing aborts the
 * request at once; errors reach the subscriber after every item before them,
 * an error frame and the caller's abort in the client's own `classes`.
 */
export function streamOfRequest<T>(
  send: (signal: AbortSignal) => Promise<Response>,
  protocol: StreamProtocol<T>,
  userSignal: AbortSignal | undefined,
  classes: ClientErrorClasses = OWN_ERROR_CLASSES,
): Observable<T> {
  return new Observable<T>((subscriber) => {
    const controller = new AbortController();
    const signal = userSignal ? AbortSignal.any([controller.signal, userSignal]) : controller.signal;
    send(signal)
      .then((response) => decodeEventStream(response, (item: T) => subscriber.next(item), controller.signal, protocol))
      .then(
        () => subscriber.complete(),
        (error: unknown) => {
          // After an unsubscribe nobody listens, and the abort error is ours.
          if (controller.signal.aborted) return;
          // The caller's own signal can also cut the body mid-read, which the decoder sees as a broken connection.
          subscriber.error(errorForClient(error, classes, userSignal?.aborted === true));
        },
      );
    return () => controller.abort();
  });
}

import { type OperatorFunction, catchError, concat, defer, fromEvent, ignoreElements, of, takeUntil, tap } from "rxjs";

/** How a stream ended, with the last value it emitted before that. */
export type Settled<T> =
  | { readonly end: "complete"; readonly last: T }
  | { readonly end: "error"; readonly last: T; readonly error: unknown }
  | { readonly end: "aborted"; readonly last: T };

export interface SettleOptions {
  /** Stops the stream when it aborts: the source is unsubscribed (for a request, the HTTP request is aborted). */
  signal?: AbortSignal;
}

/**
 * Emits one value when the stream ends, however it ends: the last value
 * before the end, and whether it completed, errored or was aborted.
 *
 * Errors become a value instead of an error notification, so the work done
 * before a failure is not lost: after `typewriter`, `last` is the partial
 * answer that was already printed. `initial` is `last` when nothing was
 * emitted. With `signal`, an abort unsubscribes from the source at once and
 * settles as `"aborted"` (at subscription, if it is already aborted).
 *
 * ## Example
 * ```ts
 * import { concat, of, throwError } from "rxjs";
 * import { settle } from "g4f-rx";
 *
 * concat(of("Hel", "Hello"), throwError(() => new Error("cut off")))
 *   .pipe(settle(""))
 *   .subscribe(console.log);
 * // { end: "error", last: "Hello", error: Error: cut off }
 * ```
 */
export function settle<T>(initial: T, options: SettleOptions = {}): OperatorFunction<T, Settled<T>> {
  const { signal } = options;
  return (source) =>
    defer(() => {
      if (signal?.aborted) return of<Settled<T>>({ end: "aborted", last: initial });
      let last = initial;
      let aborted = false;
      const run$ =
        signal === undefined
          ? source
          : source.pipe(takeUntil(fromEvent(signal, "abort").pipe(tap(() => (aborted = true)))));
      return concat(
        run$.pipe(
          tap((value) => (last = value)),
          ignoreElements(),
        ),
        defer(() => of<Settled<T>>(aborted ? { end: "aborted", last } : { end: "complete", last })),
      ).pipe(catchError((error: unknown) => of<Settled<T>>({ end: "error", last, error })));
    });
}

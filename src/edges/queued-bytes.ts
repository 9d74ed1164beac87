/**
 * The one rule for a reader that stops reading, shared by every edge that serves frames (`pipeToResponse`,
 * `toReadableStream`, `toResponse`, the relay's handlers): RxJS cannot pause a source, so at most this many bytes wait
 * for a reader; past it the edge fails with `SlowClientError` and unsubscribes the source. 1 MiB: hundreds of
 * answers' worth of frames, reached only by a reader that has stopped.
 */
export const DEFAULT_MAX_QUEUED_BYTES = 1024 * 1024;

/** `maxQueuedBytes` as given (default `DEFAULT_MAX_QUEUED_BYTES`), or a `TypeError` naming `caller` for nonsense. */
export function checkMaxQueuedBytes(caller: string, maxQueuedBytes: unknown = DEFAULT_MAX_QUEUED_BYTES): number {
  // Infinity is allowed: the cap turned off, by choice.
  if (typeof maxQueuedBytes !== "number" || !(maxQueuedBytes > 0)) {
    throw new TypeError(`${caller}: maxQueuedBytes must be a number of bytes above 0, got ${typeof maxQueuedBytes === "string" ? JSON.stringify(maxQueuedBytes) : String(maxQueuedBytes)}`);
  }
  return maxQueuedBytes;
}

import { StreamErrorFrameError } from "../errors.js";

/**
 * Helpers shared by the protocols (layer ③): reading a frame's `data` and
 * turning an error frame into `StreamErrorFrameError`.
 */

/** Parses a frame's `data` as JSON, or returns it unchanged when it is not JSON. */
export function parseFrameData(data: string): { json: true; value: unknown } | { json: false; value: string } {
  try {
    return { json: true, value: JSON.parse(data) as unknown };
  } catch {
    return { json: false, value: data };
  }
}

/**
 * The error an error frame stands for, with the server's message: from
 * `{"error":{"message":…}}`, `{"error":"…"}`, `{"message":…}`, or plain text;
 * else the frame's data as received.
 */
export function errorFromFrame(value: unknown, raw: string, event?: string, headers?: Headers): StreamErrorFrameError {
  const payload = isObject(value) ? value : undefined;
  const error = payload?.error ?? payload;
  const message =
    messageOf(error) ?? messageOf(payload) ?? (typeof error === "string" && error !== "" ? error : undefined) ?? (raw.trim() === "" ? "an error frame with no message" : typeof value === "string" ? value : raw);
  return new StreamErrorFrameError(isObject(error) ? error : payload, message, raw, event, headers);
}

function messageOf(value: unknown): string | undefined {
  return isObject(value) && typeof value.message === "string" ? value.message : undefined;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { MalformedChunkError, StreamErrorFrameError } from "../errors.js";

/** What one SSE frame of an OpenAI-format stream means. */
export type FrameMeaning =
  | { kind: "chunk"; chunk: ChatCompletionChunk }
  | { kind: "done" }
  | { kind: "ignored" }
  | { kind: "error"; error: Error };

/** The same, for a frame whose `data` was already parsed from JSON (a cassette's frames). */
export function meaningOfParsedFrame(event: string | undefined, value: unknown, raw: () => string): FrameMeaning {
  if (event === "error") return { kind: "error", error: errorFromFrame(value, raw(), "error") };
  if (event !== undefined && event !== "message") return { kind: "ignored" };
  if (value === "[DONE]") return { kind: "done" };
  if (!isObject(value)) return { kind: "error", error: new MalformedChunkError(raw()) };
  if (value.error !== undefined && value.error !== null) return { kind: "error", error: errorFromFrame(value, raw()) };
  if (!isChunk(value)) return { kind: "error", error: new MalformedChunkError(raw()) };
  return { kind: "chunk", chunk: value };
}

/**
 * The error an error frame stands for, with the server's message: from
 * `{"error":{"message":…}}`, `{"error":"…"}`, `{"message":…}`, or plain text.
 */
export function errorFromFrame(value: unknown, raw: string, event?: string): StreamErrorFrameError {
  const payload = isObject(value) ? value : undefined;
  const error = payload?.error ?? payload;
  const message =
    messageOf(error) ?? messageOf(payload) ?? (typeof error === "string" ? error : undefined) ?? (typeof value === "string" ? value : raw);
  return new StreamErrorFrameError(isObject(error) ? error : payload, message, raw, event);
}

/** Parses a frame's `data` as JSON, or returns it unchanged when it is not JSON. */
export function parseFrameData(data: string): { json: true; value: unknown } | { json: false; value: string } {
  try {
    return { json: true, value: JSON.parse(data) as unknown };
  } catch {
    return { json: false, value: data };
  }
}

function messageOf(value: unknown): string | undefined {
  return isObject(value) && typeof value.message === "string" ? value.message : undefined;
}

/** A chunk with no error field: the frame nearly every event is. */
export function isPlainChunk(value: unknown): value is ChatCompletionChunk {
  return (
    typeof value === "object" &&
    value !== null &&
    "choices" in value &&
    Array.isArray(value.choices) &&
    allChoices(value.choices) &&
    !("error" in value && value.error !== null && value.error !== undefined)
  );
}

function isChunk(value: Record<string, unknown>): value is Record<string, unknown> & ChatCompletionChunk {
  return Array.isArray(value.choices) && allChoices(value.choices);
}

/** A loop rather than `every`: this runs once per token. */
function allChoices(choices: readonly unknown[]): boolean {
  for (let i = 0; i < choices.length; i += 1) if (!isChoice(choices[i])) return false;
  return true;
}

/** Every choice must at least be an object, so that reading its fields cannot throw downstream. */
function isChoice(choice: unknown): boolean {
  return typeof choice === "object" && choice !== null;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

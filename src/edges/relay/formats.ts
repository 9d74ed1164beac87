import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { type OperatorFunction, endWith, map, pipe } from "rxjs";
import { DONE_EVENT, serverSentEvent, toServerSentEvents } from "../../../operators/to-server-sent-events.js";
import { toUIMessageStream } from "../../../operators/to-ui-message-stream.js";

/**
 * The wire formats a relay streams: `"openai"`, chat completion chunks as
 * OpenAI sends them (any OpenAI client reads it); `"ui-message"`, the Vercel AI
 * SDK's UI message stream (what `useChat` reads).
 */
export type RelayFormat = "openai" | "ui-message";

export const RELAY_FORMATS: readonly RelayFormat[] = ["openai", "ui-message"];

export function isRelayFormat(value: unknown): value is RelayFormat {
  return value === "openai" || value === "ui-message";
}

/** Chunks → the format's SSE frames, ending with its end frame; an error travels in-band as the format's error frame. */
export function encoderFor(format: RelayFormat): OperatorFunction<ChatCompletionChunk, string> {
  if (format === "openai") return toServerSentEvents();
  return pipe(
    toUIMessageStream(),
    map((part) => serverSentEvent(part)),
    endWith(DONE_EVENT),
  );
}

/** The frames that end a stream the relay could not carry on, in the stream's own format, so its readers recognise the error. */
export function failureFrames(format: string, message: string, code: string): string[] {
  if (format === "ui-message") return [serverSentEvent({ type: "error", errorText: message }), DONE_EVENT];
  return [serverSentEvent({ error: { message, type: "relay_error", code } })];
}

/** The response headers for a stream in this format. */
export function formatHeaders(format: string): Record<string, string> {
  return format === "ui-message" ? { "x-vercel-ai-ui-message-stream": "v1" } : {};
}

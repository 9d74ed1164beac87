import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { IncompleteStreamError, NotEventStreamError } from "../errors.js";
import { chatCompletionProtocol } from "./chat-completion-protocol.js";
import { EventStreamDecoder } from "./event-stream.js";
import type { FrameOutcome, StreamProtocol } from "./protocol.js";
import { Utf8Text } from "./text.js";

/** How much of the body's start is kept to say what arrived when it is not an event stream. */
const HEAD_LENGTH = 512;

/**
 * Reads an SSE body and calls `emit` for each item of `protocol` (default: the
 * chat-completion protocol, whose items are `ChatCompletionChunk`s), in order:
 * bytes → text (`Utf8Text`) → frames (`EventStreamDecoder`) → items
 * (`protocol`).
 *
 * Resolves when the answer is complete by the protocol's end-of-stream rule;
 * rejects with a project or `APIError` class otherwise. When `signal` aborts
 * it stops at once, also while the server is silent: it cancels the body,
 * emits nothing more, and resolves. The outcome never depends on how the body
 * was split into reads.
 */
export function decodeEventStream(response: Response, emit: (chunk: ChatCompletionChunk) => void, signal: AbortSignal): Promise<void>;
export function decodeEventStream<T>(response: Response, emit: (item: T) => void, signal: AbortSignal, protocol: StreamProtocol<T>): Promise<void>;
export async function decodeEventStream<T>(
  response: Response,
  emit: (item: T | ChatCompletionChunk) => void,
  signal: AbortSignal,
  protocol: StreamProtocol<T> | StreamProtocol<ChatCompletionChunk> = chatCompletionProtocol,
): Promise<void> {
  const body = response.body;
  if (body === null) throw new IncompleteStreamError("The response has no body", 0);
  if (signal.aborted) {
    await body.cancel().catch(() => undefined);
    return;
  }
  const contentType = response.headers.get("content-type");
  const eventStream = contentType !== null && /^\s*text\/event-stream\b/i.test(contentType);
  const reader = protocol.reader(response.headers);
  const text = new Utf8Text();
  let head = "";
  // A holder, since the frame callbacks change it between the read loop's checks.
  const state: { outcome: FrameOutcome } = { outcome: "more" };
  let unknownLines = 0;

  const deliver = (item: T | ChatCompletionChunk): void => {
    // Items read before an abort are not delivered after it.
    if (!signal.aborted) emit(item);
  };
  const frames = new EventStreamDecoder({
    frame: (frame, terminated) => {
      state.outcome = signal.aborted ? "end" : reader.frame(frame.event, frame.data, deliver, terminated);
      if (state.outcome !== "more") frames.stop();
    },
    oversized: (error) => {
      state.outcome = error;
    },
    unknownField: () => {
      unknownLines += 1;
      // The standard says to ignore a line that is not a field. But when the body does not even claim to be an
      // event stream and such a line comes first, it is something else (a proxy's HTML page, a JSON document).
      if (!eventStream && frames.fields === 0) {
        state.outcome = new NotEventStreamError(contentType, head);
        frames.stop();
      }
    },
  });

  const bytes = body.getReader();
  // Cancelling settles a read that waits on a silent server.
  const onAbort = (): void => void bytes.cancel().catch(() => undefined);
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    for (;;) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await bytes.read();
      } catch (cause) {
        if (signal.aborted) return;
        const error = reader.ended({ broken: cause });
        if (error === undefined) return;
        throw error;
      }
      if (signal.aborted) return;
      if (result.done) break;
      const decoded = text.decode(result.value);
      if (head.length < HEAD_LENGTH) head += decoded.text.slice(0, HEAD_LENGTH - head.length);
      // The frames before a bad byte are delivered first: nothing already received is lost.
      frames.feed(decoded.text);
      if (state.outcome === "end" || signal.aborted) return;
      if (state.outcome !== "more") throw state.outcome;
      if (decoded.error !== undefined) throw decoded.error;
    }

    const cut = text.end();
    if (cut !== undefined) throw cut;
    frames.end();
    if (state.outcome === "end") return;
    if (state.outcome !== "more") throw state.outcome;
    if (frames.frames === 0 && unknownLines > 0) throw new NotEventStreamError(contentType, head);
    const error = reader.ended("body");
    if (error !== undefined) throw error;
  } finally {
    signal.removeEventListener("abort", onAbort);
    // Releases the connection when we stop early (the protocol's end, an error, or an abort).
    bytes.cancel().catch(() => undefined);
  }
}

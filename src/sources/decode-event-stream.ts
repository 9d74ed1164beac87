import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { IncompleteStreamError, NotEventStreamError } from "../errors.js";
import { chatCompletionProtocol } from "./chat-completion-protocol.js";
import { EventStreamDecoder } from "./event-stream.js";
import { type FrameOutcome, type ProtocolReader, type StreamProtocol, counted, reasonOf } from "./protocol.js";
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
 * was split into reads, nor on whether it ended cleanly or the connection
 * broke after the same bytes (a break only adds its reason to the error).
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
  const decoder = new BodyDecoder(response.headers.get("content-type"), response.headers, emit, signal, protocol);

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
        const error = decoder.broken(cause);
        if (error === undefined) return;
        throw error;
      }
      if (signal.aborted) return;
      if (result.done) break;
      const outcome = decoder.feed(result.value);
      if (outcome === "end" || signal.aborted) return;
      if (outcome !== "more") throw outcome;
    }
    const error = decoder.end();
    if (error !== undefined) throw error;
  } finally {
    signal.removeEventListener("abort", onAbort);
    // Releases the connection when we stop early (the protocol's end, an error, or an abort).
    bytes.cancel().catch(() => undefined);
  }
}

/**
 * One body's decoding state, whatever reads its bytes (a fetch `Response` here, a Node stream in the command):
 * bytes → text → frames → items, with the protocol's end-of-stream rule. Each read loop only moves bytes.
 */
export class BodyDecoder<T> {
  readonly #text = new Utf8Text();
  readonly #frames: EventStreamDecoder;
  readonly #reader: ProtocolReader<T>;
  readonly #contentType: string | null;
  /** What one item is called: "chunk", "event". */
  readonly #item: string;
  #head = "";
  #outcome: FrameOutcome = "more";
  #unknownLines = 0;
  /** A line that is not SSE came first in a body not labelled as an event stream: it is read on only to fill `#head`. */
  #notEventStream = false;

  constructor(contentType: string | null, headers: Headers, emit: (item: T) => void, signal: AbortSignal, protocol: StreamProtocol<T>) {
    this.#contentType = contentType;
    this.#item = protocol.items.replace(/s$/, "");
    const eventStream = contentType !== null && /^\s*text\/event-stream\b/i.test(contentType);
    const reader = protocol.reader(headers);
    this.#reader = reader;
    // Items read before an abort are not delivered after it.
    const deliver = (item: T): void => {
      if (!signal.aborted) emit(item);
    };
    const frames = new EventStreamDecoder({
      frame: (frame, terminated) => {
        this.#outcome = signal.aborted ? "end" : reader.frame(frame.event, frame.data, deliver, terminated);
        if (this.#outcome !== "more") frames.stop();
      },
      oversized: (error) => {
        this.#outcome = error;
      },
      unknownField: () => {
        this.#unknownLines += 1;
        // The standard says to ignore a line that is not a field. But when the body does not even claim to be an
        // event stream and such a line comes first, it is something else (a proxy's HTML page, a JSON document).
        if (!eventStream && frames.fields === 0) {
          this.#notEventStream = true;
          frames.stop();
        }
      },
    });
    this.#frames = frames;
  }

  /** Reads the next bytes: `"more"` to go on, `"end"` when the protocol's end arrived, else the error to raise. */
  feed(bytes: Uint8Array): FrameOutcome {
    const decoded = this.#text.decode(bytes);
    if (this.#head.length < HEAD_LENGTH) this.#head += decoded.text.slice(0, HEAD_LENGTH - this.#head.length);
    // The frames before a bad byte are delivered first: nothing already received is lost.
    this.#frames.feed(decoded.text);
    // Named by its first HEAD_LENGTH characters (all of it when shorter, or up to a bad byte), never by where a read ended.
    if (this.#notEventStream) return this.#head.length >= HEAD_LENGTH || decoded.error !== undefined ? new NotEventStreamError(this.#contentType, this.#head) : "more";
    if (this.#outcome !== "more") return this.#outcome;
    return decoded.error ?? "more";
  }

  /**
   * The connection broke: the error to raise, or `undefined` when the answer is complete. Decided as `end` decides
   * from the same bytes (a last frame without its blank line counts), so the outcome never depends on how the body
   * stopped; an `IncompleteStreamError` then carries the break as its `cause`.
   */
  broken(cause: unknown): Error | undefined {
    return this.#stopped({ broken: cause });
  }

  /** The body ended cleanly: the error to raise, or `undefined` when the answer is complete. */
  end(): Error | undefined {
    return this.#stopped("body");
  }

  #stopped(how: "body" | { broken: unknown }): Error | undefined {
    if (this.#notEventStream) return new NotEventStreamError(this.#contentType, this.#head);
    if (this.#text.end() !== undefined) {
      // A character cut in two is a body cut short, whichever way it stopped: the bytes so far are valid UTF-8.
      const count = counted(this.#reader.count, this.#item);
      return this.#broke(new IncompleteStreamError(`The stream ended in the middle of a character after ${count}: the answer is incomplete`, this.#reader.count), how);
    }
    this.#frames.end();
    if (this.#outcome === "end") return undefined;
    if (this.#outcome !== "more") return this.#broke(this.#outcome, how);
    if (this.#frames.fields === 0 && this.#unknownLines > 0) return new NotEventStreamError(this.#contentType, this.#head);
    return this.#reader.ended(how);
  }

  /** `error`, saying that the connection broke and keeping why, when it did and `error` says the body ended short. */
  #broke(error: Error, how: "body" | { broken: unknown }): Error {
    if (how === "body" || !(error instanceof IncompleteStreamError) || error.cause !== undefined) return error;
    return new IncompleteStreamError(`${error.message} (the connection closed: ${reasonOf(how.broken)})`, error.chunks, { cause: how.broken });
  }
}

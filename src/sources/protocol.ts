import type { IncompleteStreamError } from "../errors.js";

/**
 * Layer ③ of the decoder: what the frames of one protocol mean, and when its
 * stream has ended. One `StreamProtocol` per protocol (chat completions,
 * Responses), and one rule each, shared by the live decoder, cassette replay
 * and the replay server.
 */

/** What a frame did: `"more"` (read on), `"end"` (the protocol's end: stop reading, complete), or the error it stands for. */
export type FrameOutcome = "more" | "end" | Error;

/** How a stream stopped short of the protocol's end, for the wording of `IncompleteStreamError`. */
export type Shortfall = "body" | "recording" | { broken: unknown };

/** Reads the frames of one stream, in order. */
export interface ProtocolReader<T> {
  /** A frame as received; `terminated` is false for a last frame the body cut off before its blank line. Calls `emit` for the item it carries. */
  frame(event: string | undefined, data: string, emit: (item: T) => void, terminated?: boolean): FrameOutcome;
  /** A frame whose data was already parsed from JSON, or is text that was not JSON (a cassette's frames). */
  parsed(event: string | undefined, value: unknown, emit: (item: T) => void): FrameOutcome;
  /** Items emitted so far. */
  readonly count: number;
  /**
   * The stream stopped without the protocol's end: `undefined` when the
   * answer may end there (the rule is the protocol's), else the
   * `IncompleteStreamError` that says so.
   */
  ended(how: Shortfall): IncompleteStreamError | undefined;
}

export interface StreamProtocol<T> {
  /** `"chat"` (chat-completion chunks) or `"responses"` (Responses API events). */
  readonly api: "chat" | "responses";
  /** What an item is called in messages: "chunks", "events". */
  readonly items: string;
  /** A reader for one stream; `headers` (the response's) go into the errors it raises. */
  reader(headers?: Headers): ProtocolReader<T>;
}

/** The reason a broken connection gave, for a message. */
export function reasonOf(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/** "1 chunk", "3 chunks": a count for an error message. */
export function counted(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

import { FrameTooLargeError } from "../errors.js";

/**
 * Layer ② of the decoder: text → Server-Sent Events frames, knowing nothing of
 * what the frames mean. Exported for apps that read other SSE APIs.
 */

/** One Server-Sent Events frame, as the HTML standard's event stream interpretation dispatches it. */
export interface ServerSentEventFrame {
  /** The `event:` field, or `undefined` when the frame has none (an unnamed "message"). */
  event: string | undefined;
  /** The `data:` lines, joined with `\n`. */
  data: string;
  /** The last event id so far (`id:` persists from frame to frame), or `undefined` when none was sent. */
  id: string | undefined;
}

export interface EventStreamDecoderHandlers {
  /**
   * Called for each frame, in order. `terminated` is false only for a last
   * frame that the end of the text cut off before its blank line.
   */
  frame(frame: ServerSentEventFrame, terminated: boolean): void;
  /** Called for a line whose field is not `data`, `event`, `id` or `retry` (which the standard says to ignore). */
  unknownField?(line: string): void;
  /**
   * Called once when a line or a frame's data grows past `maxFrameLength`; the decoder then stops. Without this
   * handler, `feed` throws the `FrameTooLargeError` instead.
   */
  oversized?(error: FrameTooLargeError): void;
}

export interface EventStreamDecoderOptions {
  /**
   * The longest line or frame `data`, in characters, the decoder keeps before it gives up, so a server that never
   * ends a line cannot grow memory without bound. Default: 64 Mi characters (a whole long answer fits in one frame).
   */
  maxFrameLength?: number;
}

/** The default `maxFrameLength`: 64 Mi characters. */
export const MAX_FRAME_LENGTH = 64 * 1024 * 1024;

const LF = 10;
const COLON = 58;
const SPACE = 32;
const BOM = 0xfeff;

/**
 * Splits text into lines and lines into frames, by the HTML standard's rules:
 * a line ends at `\n`, `\r\n` or a lone `\r`; a blank line dispatches the
 * frame; `:` starts a comment; a frame without `data:` lines is not
 * dispatched. A lone `\r` at the end of a piece ends its line at once (a `\n`
 * starting the next piece is then skipped), so a server that ends lines with
 * `\r` alone never makes a frame wait for the next read. Byte-order marks
 * before the first field are dropped. A line or a frame's data longer than
 * `maxFrameLength` stops the decoder with `FrameTooLargeError`.
 *
 * Feed it text in pieces of any size; the frames are the same however the
 * text was split.
 *
 * ## Example
 * ```ts
 * import { EventStreamDecoder } from "g4f-rx";
 *
 * const decoder = new EventStreamDecoder({ frame: (frame) => console.log(frame) });
 * decoder.feed("event: greeting\ndata: hel");
 * decoder.feed("lo\r\r");
 * // { event: "greeting", data: "hello", id: undefined }
 * decoder.end();
 * ```
 */
export class EventStreamDecoder {
  readonly #handlers: EventStreamDecoderHandlers;
  /**
   * The start of a line the text so far has not ended, piece by piece, and its length. The pieces are joined once,
   * when the line ends: joining and searching the whole line again at every piece made a long line quadratic.
   */
  #pending: string[] = [];
  #pendingLength = 0;
  /** The last piece ended with `\r`: a `\n` at the start of the next one belongs to it. */
  #afterCR = false;
  #data = "";
  #hasData = false;
  #event: string | undefined = undefined;
  #id: string | undefined = undefined;
  #fields = 0;
  #frames = 0;
  #stopped = false;
  readonly #maxFrameLength: number;

  constructor(handlers: EventStreamDecoderHandlers, options: EventStreamDecoderOptions = {}) {
    const { maxFrameLength = MAX_FRAME_LENGTH } = options;
    if (!(maxFrameLength > 0)) throw new TypeError(`EventStreamDecoder: maxFrameLength must be a positive number, got ${String(maxFrameLength)}`);
    this.#handlers = handlers;
    this.#maxFrameLength = maxFrameLength;
  }

  /** How many frames were dispatched. */
  get frames(): number {
    return this.#frames;
  }

  /** How many lines were SSE fields or comments. */
  get fields(): number {
    return this.#fields;
  }

  /** Dispatches nothing more: the reader has what it needs (or failed). */
  stop(): void {
    this.#stopped = true;
  }

  /** Reads the next piece of text. */
  feed(piece: string): void {
    if (this.#stopped || piece === "") return;
    let text = piece;
    let position = 0;
    if (this.#afterCR) {
      this.#afterCR = false;
      if (text.charCodeAt(0) === LF) position = 1;
    }
    if (this.#pendingLength !== 0) {
      const joined = this.#joined(text, position);
      if (joined === undefined) return;
      text = joined;
      position = 0;
    }
    const length = text.length;
    // Most servers never send `\r`: one search tells, and the loop then looks for `\n` alone.
    let cr = text.indexOf("\r", position);
    while (position < length && !this.#stopped) {
      const lf = text.indexOf("\n", position);
      if (cr !== -1 && cr < position) cr = text.indexOf("\r", position);
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        end = cr;
        if (cr + 1 < length) {
          next = text.charCodeAt(cr + 1) === LF ? cr + 2 : cr + 1;
        } else {
          next = length;
          this.#afterCR = true;
        }
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else {
        this.#keep(position === 0 ? text : text.slice(position));
        return;
      }
      if (end - position > this.#maxFrameLength) return this.#oversized(end - position);
      this.#line(text, position, end);
      position = next;
    }
  }

  /**
   * The pending start of a line joined to `text` from `position`, to be read as one text; `undefined` when the start
   * is long (over 4 Ki characters) and `text` does not end it: the piece is then only kept, since joining and
   * searching a long line again at every piece made it quadratic. A short start is always joined, as the text
   * searched fastest: the frame decoder alone took 4× as long on 16 KiB reads when it searched each piece apart from
   * the start of its first line (measured side by side, one process each).
   */
  #joined(text: string, position: number): string | undefined {
    const rest = position === 0 ? text : text.slice(position);
    if (this.#pendingLength > 4096 && rest.indexOf("\n") === -1 && rest.indexOf("\r") === -1) {
      this.#keep(rest);
      return undefined;
    }
    const joined = this.#pending.join("") + rest;
    this.#pending = [];
    this.#pendingLength = 0;
    return joined;
  }

  /** Keeps the start of a line that this piece does not end; past the limit, it stops the decoder. */
  #keep(part: string): void {
    this.#pending.push(part);
    this.#pendingLength += part.length;
    if (this.#pendingLength > this.#maxFrameLength) this.#oversized(this.#pendingLength);
  }

  /**
   * The text ended. A last line without its line ending still counts, and a
   * last frame without its blank line is dispatched (with `terminated` false),
   * because several servers end the body right after `data: [DONE]`.
   */
  end(): void {
    if (this.#stopped) return;
    const pending = this.#pending.join("");
    this.#pending = [];
    this.#pendingLength = 0;
    if (pending !== "") this.#line(pending, 0, pending.length);
    if (!this.#stopped) this.#dispatch(false);
  }

  #line(text: string, from: number, end: number): void {
    if (from === end) return this.#dispatch(true);
    let start = from;
    if (this.#fields === 0 && text.charCodeAt(start) === BOM) {
      // Dropped before the first field, so that what follows them is read as it would be without them (a comment too).
      while (start < end && text.charCodeAt(start) === BOM) start += 1;
      if (start === end) return;
    }
    const first = text.charCodeAt(start);
    if (first === COLON) {
      this.#fields += 1;
      return;
    }
    // The usual line, `data: …`, takes the shortest path: this runs once per token.
    if (first === 100 && text.startsWith("data:", start)) {
      const from = text.charCodeAt(start + 5) === SPACE ? start + 6 : start + 5;
      this.#fields += 1;
      return this.#append(text.slice(from, end));
    }
    const line = text.slice(start, end);
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? "" : line.slice(line.charCodeAt(colon + 1) === SPACE ? colon + 2 : colon + 1);
    switch (field) {
      case "data":
        this.#fields += 1;
        return this.#append(value);
      case "event":
        this.#fields += 1;
        this.#event = value === "" ? undefined : value;
        return;
      case "id":
        this.#fields += 1;
        if (!value.includes("\0")) this.#id = value;
        return;
      case "retry":
        this.#fields += 1;
        return;
      default:
        this.#handlers.unknownField?.(line);
    }
  }

  #append(value: string): void {
    if (this.#hasData) {
      this.#data += "\n" + value;
    } else {
      this.#data = value;
      this.#hasData = true;
    }
    if (this.#data.length > this.#maxFrameLength) this.#oversized(this.#data.length);
  }

  #oversized(length: number): void {
    this.#stopped = true;
    this.#pending = [];
    this.#pendingLength = 0;
    this.#data = "";
    const error = new FrameTooLargeError(this.#maxFrameLength, length);
    if (this.#handlers.oversized === undefined) throw error;
    this.#handlers.oversized(error);
  }

  #dispatch(terminated: boolean): void {
    const event = this.#event;
    this.#event = undefined;
    if (!this.#hasData) return;
    const data = this.#data;
    this.#data = "";
    this.#hasData = false;
    this.#frames += 1;
    this.#handlers.frame({ event, data, id: this.#id }, terminated);
  }
}

import { createParser, type EventSourceMessage, type ParseError } from "eventsource-parser";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { IncompleteStreamError, InvalidEncodingError, MalformedChunkError, NotEventStreamError } from "../errors.js";
import { isPlainChunk, meaningOfParsedFrame, parseFrameData } from "./frames.js";

/** How much of the body's start is kept to say what arrived when it is not an event stream. */
const HEAD_LENGTH = 512;

/**
 * Reads an OpenAI-format SSE body and calls `emit` for each chunk, in order.
 *
 * Resolves when the answer is complete (`data: [DONE]`, or the body ended
 * after a `finish_reason`); rejects with a project or `APIError` class
 * otherwise. Stops reading, without rejecting, as soon as `signal` aborts.
 */
export async function decodeEventStream(
  response: Response,
  emit: (chunk: ChatCompletionChunk) => void,
  signal: AbortSignal,
): Promise<void> {
  const body = response.body;
  if (body === null) throw new IncompleteStreamError("The response has no body", 0);

  const contentType = response.headers.get("content-type");
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  let chunks = 0;
  let done = false;
  let finished = false;
  let atEnd = false;
  let head = "";
  let bytesRead = 0;
  // The bytes of a character still split across pieces, which the decoder holds and forgets on an error.
  let carry: Uint8Array = NO_BYTES;
  // A parser callback cannot reject our promise: it records the failure and the read loop throws it.
  let failure: Error | undefined;

  const accept = (chunk: ChatCompletionChunk): void => {
    chunks += 1;
    if (!finished) {
      for (const choice of chunk.choices) if (choice.finish_reason != null) finished = true;
    }
    emit(chunk);
  };

  const onEvent = (event: EventSourceMessage): void => {
    if (failure !== undefined || done) return;
    const { data } = event;
    const name = event.event;
    // Other named events (pings, provider extras) are not part of the answer.
    if (name !== undefined && name !== "error" && name !== "message") return;
    if (name !== "error") {
      if (data === "[DONE]") {
        done = true;
        return;
      }
      if (data === "") return;
    }
    const parsed = parseFrameData(data);
    // The common frame, a chunk, takes the shortest path: this runs once per token.
    if (parsed.json && name === undefined && isPlainChunk(parsed.value)) return accept(parsed.value);
    if (!parsed.json && name !== "error") {
      if (data.trim() === "") return;
      failure = atEnd
        ? new IncompleteStreamError(
            `The stream ended in the middle of a frame after ${chunks} chunks: ${JSON.stringify(data.slice(0, 200))}`,
            chunks,
          )
        : new MalformedChunkError(data);
      return;
    }
    const meaning = meaningOfParsedFrame(name, parsed.value, () => data);
    if (meaning.kind === "chunk") accept(meaning.chunk);
    else if (meaning.kind === "done") done = true;
    else if (meaning.kind === "error") failure = meaning.error;
  };

  const onError = (error: ParseError): void => {
    if (failure !== undefined) return;
    // Before the first event, a line that is not an SSE field means the body is something else
    // (an HTML error page from a proxy, a JSON document). Later, the SSE rules say: ignore it.
    if (error.type === "unknown-field" && chunks === 0 && !done) {
      failure = new NotEventStreamError(contentType, head);
    } else if (error.type === "max-buffer-size-exceeded") {
      failure = new MalformedChunkError(head, { cause: error });
    }
  };

  const parser = createParser({ onEvent, onError });
  const reader = body.getReader();
  try {
    for (;;) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
      } catch (cause) {
        if (signal.aborted) return;
        if (finished) return;
        const reason = cause instanceof Error ? cause.message : String(cause);
        throw new IncompleteStreamError(
          `The connection closed after ${chunks} chunks, before the stream ended (${reason})`,
          chunks,
          { cause },
        );
      }
      if (signal.aborted) return;
      if (result.done) break;
      const bytes = result.value;
      let text: string;
      try {
        text = decoder.decode(bytes, { stream: true });
      } catch {
        // Deliver the frames before the bad byte first: nothing already received is lost.
        const at = firstInvalidByte(carry, bytes);
        parser.feed(new TextDecoder().decode(concat(carry, bytes.subarray(0, at))));
        if (failure !== undefined) throw failure;
        throw new InvalidEncodingError(bytesRead + at, hex(bytes.subarray(at, at + 8)));
      }
      carry = incompleteTail(carry, bytes);
      bytesRead += bytes.length;
      if (head.length < HEAD_LENGTH) head += text.slice(0, HEAD_LENGTH - head.length);
      parser.feed(text);
      if (failure !== undefined) throw failure;
      if (done) return;
    }

    try {
      parser.feed(decoder.decode());
    } catch {
      throw new InvalidEncodingError(bytesRead, "the body ends inside a multi-byte character");
    }
    // A last frame without its closing blank line still counts, as browsers' EventSource would not do,
    // because several servers end the body right after `data: [DONE]`.
    atEnd = true;
    parser.feed("\n\n");
    if (failure !== undefined) throw failure;
    if (done || finished) return;
    throw new IncompleteStreamError(
      `The stream ended after ${chunks} chunks without "data: [DONE]" or a finish_reason: the answer is incomplete`,
      chunks,
    );
  } finally {
    // Releases the connection when we stop early ([DONE], an error, or an abort).
    reader.cancel().catch(() => undefined);
  }
}

const NO_BYTES = new Uint8Array(0);

function concat(first: Uint8Array, second: Uint8Array): Uint8Array {
  if (first.length === 0) return second;
  const joined = new Uint8Array(first.length + second.length);
  joined.set(first);
  joined.set(second, first.length);
  return joined;
}

/** The bytes at the end of `carry + bytes` that begin a character not yet complete. */
function incompleteTail(carry: Uint8Array, bytes: Uint8Array): Uint8Array {
  const joined = carry.length === 0 ? bytes : concat(carry, bytes);
  for (let back = 1; back <= 3 && back <= joined.length; back += 1) {
    const byte = joined[joined.length - back] ?? 0;
    if ((byte & 0xc0) === 0x80) continue;
    return sequenceLength(byte) > back ? joined.slice(joined.length - back) : NO_BYTES;
  }
  return NO_BYTES;
}

/** How many bytes a UTF-8 sequence starting with `lead` has; 0 when `lead` cannot start one. */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/**
 * Where the UTF-8 in `carry + bytes` first goes wrong, as an index into `bytes` (0 when the fault lies in
 * `carry`), by the rules of the Encoding standard's decoder: overlong forms and surrogates are errors too.
 */
function firstInvalidByte(carry: Uint8Array, bytes: Uint8Array): number {
  const all = concat(carry, bytes);
  let i = 0;
  while (i < all.length) {
    const lead = all[i] ?? 0;
    const length = sequenceLength(lead);
    if (length === 0) return Math.max(0, i - carry.length);
    // The second byte's range narrows for these leads, ruling out overlong forms, surrogates and code points above U+10FFFF.
    const low = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80;
    const high = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf;
    for (let k = 1; k < length && i + k < all.length; k += 1) {
      const byte = all[i + k] ?? 0;
      if (byte < (k === 1 ? low : 0x80) || byte > (k === 1 ? high : 0xbf)) return Math.max(0, i - carry.length);
    }
    i += length;
  }
  return Math.max(0, all.length - carry.length);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => `0x${byte.toString(16).padStart(2, "0")}`).join(" ");
}

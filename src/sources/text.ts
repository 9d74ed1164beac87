import { InvalidEncodingError } from "../errors.js";

/**
 * Layer ① of the decoder: bytes → UTF-8 text, one read at a time.
 *
 * `decode` returns the text of every complete character so far. When the bytes
 * are not valid UTF-8 it returns the text before the fault together with an
 * `InvalidEncodingError` whose `offset` is the fault's position in the whole
 * body (the first byte of the bad sequence), the same however the body was
 * split into reads, so the caller can deliver what came before and then fail.
 * A byte-order mark at the very start is dropped.
 */
export class Utf8Text {
  /**
   * Decodes whole characters only, one call at a time: Node's non-streaming UTF-8 decoder is several times faster
   * than its streaming one, and `#carry` already holds a character split across reads. It keeps every BOM; the one
   * at the body's start is dropped by hand.
   */
  readonly #decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  /** The bytes of a character still split across reads. */
  #carry: Uint8Array = NO_BYTES;
  /** Bytes of the body before this read, carried bytes included. */
  #offset = 0;

  /** Bytes read so far. */
  get bytesRead(): number {
    return this.#offset + this.#carry.length;
  }

  decode(bytes: Uint8Array): { text: string; error?: InvalidEncodingError } {
    const all = concat(this.#carry, bytes);
    const tail = incompleteTail(all);
    const whole = all.length - tail.length;
    let text: string;
    try {
      text = whole === 0 ? "" : this.#decoder.decode(tail.length === 0 ? all : all.subarray(0, whole));
    } catch {
      return this.#fault(all);
    }
    // A streaming decoder fails as soon as a sequence cannot be completed (`0xE0 0x80`): so does this one.
    if (tail.length !== 0 && firstInvalidByte(tail) !== tail.length) return this.#fault(all);
    // A BOM is dropped only at the body's start, as a streaming decoder does.
    if (this.#offset === 0 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    this.#offset += whole;
    this.#carry = tail.length === 0 ? NO_BYTES : tail.slice();
    return { text };
  }

  /** The text before the first bad byte of `all` (this read with the bytes carried into it), and the error at it. */
  #fault(all: Uint8Array): { text: string; error: InvalidEncodingError } {
    const at = firstInvalidByte(all);
    // A BOM is dropped only at the body's start, as the fatal decoder would have done.
    const text = new TextDecoder("utf-8", { ignoreBOM: this.#offset !== 0 }).decode(all.subarray(0, at));
    // The bad sequence through the byte that broke it: every read that finds the fault has those bytes, and only those.
    const { length, valid } = sequenceAt(all, at);
    return { text, error: new InvalidEncodingError(this.#offset + at, hex(all.subarray(at, length === 0 ? at + 1 : at + valid + 1))) };
  }

  /** The body ended: an error when it ends inside a character. */
  end(): InvalidEncodingError | undefined {
    if (this.#carry.length === 0) return undefined;
    return new InvalidEncodingError(this.#offset, `${hex(this.#carry)}: the body ends inside a multi-byte character`);
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

/** The bytes at the end of `bytes` that begin a character not yet complete (a view into `bytes`). */
function incompleteTail(bytes: Uint8Array): Uint8Array {
  for (let back = 1; back <= 3 && back <= bytes.length; back += 1) {
    const byte = bytes[bytes.length - back] ?? 0;
    if ((byte & 0xc0) === 0x80) continue;
    return sequenceLength(byte) > back ? bytes.subarray(bytes.length - back) : NO_BYTES;
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
 * Where the UTF-8 in `bytes` first goes wrong: the first byte of the first sequence that is invalid, by the
 * Encoding standard's decoder (overlong forms, surrogates and code points above U+10FFFF included). A sequence
 * cut short by the end of `bytes` is not a fault here: the next read may complete it.
 */
export function firstInvalidByte(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const { length, valid } = sequenceAt(bytes, i);
    if (length === 0 || (valid < length && i + valid < bytes.length)) return i;
    i += length;
  }
  return bytes.length;
}

/**
 * The sequence starting at `bytes[i]`: its `length` (0 when that byte cannot start one) and how many of its bytes
 * are `valid`, counting from its lead (`length` when whole; fewer when a byte breaks it or `bytes` ends first).
 */
function sequenceAt(bytes: Uint8Array, i: number): { length: number; valid: number } {
  const lead = bytes[i] ?? 0;
  const length = sequenceLength(lead);
  if (length === 0) return { length, valid: 0 };
  // The second byte's range narrows for these leads, ruling out overlong forms, surrogates and code points above U+10FFFF.
  const low = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80;
  const high = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf;
  for (let k = 1; k < length && i + k < bytes.length; k += 1) {
    const byte = bytes[i + k] ?? 0;
    if (byte < (k === 1 ? low : 0x80) || byte > (k === 1 ? high : 0xbf)) return { length, valid: k };
  }
  return { length, valid: Math.min(length, bytes.length - i) };
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => `0x${byte.toString(16).padStart(2, "0")}`).join(" ");
}

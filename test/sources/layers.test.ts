import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EventStreamDecoder, InvalidEncodingError, type ServerSentEventFrame, Utf8Text } from "g4f-rx";

/** Every frame the decoder dispatches for `pieces`, with whether each was terminated, then `end()`. */
function framesOf(pieces: readonly string[]): Array<[ServerSentEventFrame, boolean]> {
  const frames: Array<[ServerSentEventFrame, boolean]> = [];
  const decoder = new EventStreamDecoder({ frame: (frame, terminated) => frames.push([frame, terminated]) });
  for (const piece of pieces) decoder.feed(piece);
  decoder.end();
  return frames;
}

function splitAt(text: string, points: readonly number[]): string[] {
  return [0, ...points].map((start, i) => text.slice(start, points[i] ?? text.length));
}

const cutsOf = (length: number): fc.Arbitrary<number[]> =>
  fc.uniqueArray(fc.integer({ min: 1, max: Math.max(1, length - 1) }), { maxLength: 20 }).map((points) => [...points].sort((a, b) => a - b));

describe("EventStreamDecoder (layer ②: text → frames)", () => {
  it("reads event, data and id fields, joins data lines with \\n, and keeps the last id", () => {
    expect(framesOf(["event: greeting\nid: 7\ndata: hel\ndata: lo\n\n", "data:x\n\n"])).toEqual([
      [{ event: "greeting", data: "hel\nlo", id: "7" }, true],
      [{ event: undefined, data: "x", id: "7" }, true],
    ]);
  });

  it("ends lines at \\n, \\r\\n and a lone \\r alike", () => {
    const expected = [[{ event: "e", data: "a", id: undefined }, true], [{ event: undefined, data: "b", id: undefined }, true]];
    expect(framesOf(["event: e\ndata: a\n\ndata: b\n\n"])).toEqual(expected);
    expect(framesOf(["event: e\r\ndata: a\r\n\r\ndata: b\r\n\r\n"])).toEqual(expected);
    expect(framesOf(["event: e\rdata: a\r\rdata: b\r\r"])).toEqual(expected);
  });

  it("dispatches a frame whose blank line is a lone \\r at the end of a piece at once, without waiting for the next piece", () => {
    const frames: ServerSentEventFrame[] = [];
    const decoder = new EventStreamDecoder({ frame: (frame) => frames.push(frame) });
    decoder.feed("data: [DONE]\r\r");
    expect(frames).toEqual([{ event: undefined, data: "[DONE]", id: undefined }]);
    // The \n of a \r\n split across pieces is not a second, blank line.
    decoder.feed("\ndata: next\r");
    decoder.feed("\n\r\n");
    expect(frames).toHaveLength(2);
  });

  it("skips comments, retry, frames without data, and ignores unknown fields (reporting them)", () => {
    const unknown: string[] = [];
    const frames: ServerSentEventFrame[] = [];
    const decoder = new EventStreamDecoder({ frame: (frame) => frames.push(frame), unknownField: (line) => unknown.push(line) });
    decoder.feed(": ping\nretry: 10\nevent: lonely\n\nfoo: bar\ndata: 1\n\n");
    expect(frames).toEqual([{ event: undefined, data: "1", id: undefined }]);
    expect(unknown).toEqual(["foo: bar"]);
  });

  it("drops byte-order marks before the first field", () => {
    expect(framesOf(["\uFEFF\uFEFFdata: 1\n\n"])).toEqual([[{ event: undefined, data: "1", id: undefined }, true]]);
  });

  it("reads a comment behind dropped byte-order marks as a comment, so a later BOM is no longer before the first field", () => {
    // The HTML standard drops one BOM at the start; this decoder drops every BOM before the first field. Either way
    // `\uFEFF: c` is a comment, and `\uFEFFdata` after it is an unknown field, not data.
    const unknown: string[] = [];
    const frames: ServerSentEventFrame[] = [];
    const decoder = new EventStreamDecoder({ frame: (frame) => frames.push(frame), unknownField: (line) => unknown.push(line) });
    decoder.feed("\uFEFF\uFEFF: c\n\uFEFFdata: 1\n\n");
    decoder.end();
    expect(frames).toEqual([]);
    expect(unknown).toEqual(["\uFEFFdata: 1"]);
    expect(decoder.fields).toBe(1);
  });

  it("dispatches a last frame without its blank line at the end, marked as not terminated", () => {
    expect(framesOf(["data: 1\n\ndata: [DONE]"])).toEqual([
      [{ event: undefined, data: "1", id: undefined }, true],
      [{ event: undefined, data: "[DONE]", id: undefined }, false],
    ]);
  });

  it("gives the same frames however the text is split, with every kind of line ending", () => {
    const text = "\uFEFF: hi\r\nevent: a\rdata: x\r\rdata: y\ndata: z\n\n\r\nid: 3\r\ndata: é👋\r\n\r\ndata: end";
    const whole = framesOf([text]);
    expect(whole).toHaveLength(4);
    fc.assert(fc.property(cutsOf(text.length), (points) => {
      expect(framesOf(splitAt(text, points))).toEqual(whole);
    }), { numRuns: 500 });
  });
});

describe("Utf8Text (layer ①: bytes → text)", () => {
  const decodeAll = (pieces: readonly Uint8Array[]): { text: string; error?: InvalidEncodingError } => {
    const decoder = new Utf8Text();
    let text = "";
    for (const piece of pieces) {
      const result = decoder.decode(piece);
      text += result.text;
      if (result.error !== undefined) return { text, error: result.error };
    }
    const error = decoder.end();
    return error === undefined ? { text } : { text, error };
  };
  const piecesOf = (bytes: Uint8Array, points: readonly number[]): Uint8Array[] => [0, ...points].map((start, i) => bytes.subarray(start, points[i] ?? bytes.length));

  it("decodes multi-byte characters split anywhere, dropping a BOM at the start only", () => {
    const bytes = Buffer.from("\uFEFFПривет 世界 👋 \uFEFF", "utf8");
    fc.assert(fc.property(cutsOf(bytes.length), (points) => {
      expect(decodeAll(piecesOf(bytes, points))).toEqual({ text: "Привет 世界 👋 \uFEFF" });
    }));
  });

  it.each([
    ["a lead byte followed by ASCII", [0xc3, 0x28]],
    ["a stray continuation byte", [0x80]],
    ["a surrogate", [0xed, 0xa0, 0x80]],
    ["an overlong form", [0xe0, 0x80, 0x80]],
    ["a code point above U+10FFFF", [0xf4, 0x90, 0x80, 0x80]],
    ["a truncated 4-byte sequence", [0xf0, 0x9f, 0x91, 0x41]],
  ])("reports %s at the same offset, with the text before it, however the bytes were split", (_name, invalid) => {
    const before = Buffer.from("data: ok é\n", "utf8");
    const bytes = Buffer.concat([before, Buffer.from(invalid), Buffer.from("tail")]);
    fc.assert(
      fc.property(cutsOf(bytes.length), (points) => {
        const result = decodeAll(piecesOf(bytes, points));
        expect(result.error).toBeInstanceOf(InvalidEncodingError);
        expect(result.error?.offset).toBe(before.length);
        expect(result.text).toBe("data: ok é\n");
      }),
      { numRuns: 300 },
    );
  });

  it.each([
    ["a lead byte followed by NUL bytes", [0xf0, 0x00, 0x00], "0xf0 0x00"],
    ["a stray byte followed by more", [0xff, 0xfe, 0x41], "0xff"],
    ["an overlong form", [0xe0, 0x80, 0x80], "0xe0 0x80"],
    ["a truncated 4-byte sequence", [0xf0, 0x9f, 0x91, 0x41, 0x42], "0xf0 0x9f 0x91 0x41"],
  ])("names the same bytes for %s however the bytes were split: the bad sequence through the byte that broke it", (_name, invalid, shown) => {
    const bytes = Buffer.concat([Buffer.from("data: é", "utf8"), Buffer.from(invalid)]);
    fc.assert(
      fc.property(cutsOf(bytes.length), (points) => {
        const error = decodeAll(piecesOf(bytes, points)).error;
        expect(error?.bytes).toBe(shown);
        expect(error?.message).toBe(`Response body is not valid UTF-8: invalid byte sequence at offset 8 (${shown})`);
      }),
      { numRuns: 100 },
    );
  });

  it("reports a body that ends inside a character at that character's first byte", () => {
    const bytes = Buffer.concat([Buffer.from("ab", "utf8"), Buffer.from([0xe4, 0xb8])]);
    for (const at of [1, 2, 3]) expect(decodeAll(piecesOf(bytes, [at])).error?.offset).toBe(2);
  });

  it.each([
    ["an overlong lead pair", [0xe0, 0x80]],
    ["a surrogate's start", [0xed, 0xa0]],
    ["the start of a code point above U+10FFFF", [0xf4, 0x90]],
  ])("reports %s at the body's end as invalid, not as a character cut short, with every read before it decoded", (_name, start) => {
    // Such a start can never be completed, so it is a fault at once (as a streaming decoder has it), even before the next read.
    const bytes = Buffer.concat([Buffer.from("data: é", "utf8"), Buffer.from(start)]);
    fc.assert(
      fc.property(cutsOf(bytes.length), (points) => {
        const result = decodeAll(piecesOf(bytes, points));
        expect(result.error).toBeInstanceOf(InvalidEncodingError);
        expect(result.error?.offset).toBe(bytes.length - start.length);
        expect(result.error?.message).not.toMatch(/ends inside/);
        expect(result.text).toBe("data: é");
      }),
      { numRuns: 100 },
    );
  });
});

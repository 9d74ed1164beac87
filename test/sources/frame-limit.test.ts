import { describe, expect, it } from "vitest";
import { EventStreamDecoder, FrameTooLargeError, MAX_FRAME_LENGTH, type ServerSentEventFrame, decodeEventStream } from "g4f-rx";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";

function decoderWithLimit(maxFrameLength: number): { decoder: EventStreamDecoder; frames: ServerSentEventFrame[]; errors: FrameTooLargeError[] } {
  const frames: ServerSentEventFrame[] = [];
  const errors: FrameTooLargeError[] = [];
  const decoder = new EventStreamDecoder({ frame: (frame) => frames.push(frame), oversized: (error) => errors.push(error) }, { maxFrameLength });
  return { decoder, frames, errors };
}

describe("EventStreamDecoder's frame limit", () => {
  it("delivers the frames before a line that never ends, then stops once with FrameTooLargeError", () => {
    const { decoder, frames, errors } = decoderWithLimit(16);
    decoder.feed("data: a\n\ndata: 0123");
    decoder.feed("456789");
    expect(errors).toEqual([]);
    decoder.feed("X");
    decoder.feed("more\n\ndata: b\n\n");
    decoder.end();
    expect(frames.map((frame) => frame.data)).toEqual(["a"]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ name: "FrameTooLargeError", limit: 16, length: 17 });
  });

  it("counts a frame's data lines together", () => {
    // Each line fits the limit; the data they make together does not.
    const { decoder, frames, errors } = decoderWithLimit(10);
    decoder.feed("data:12345\ndata:67890\n\n");
    expect(frames).toEqual([]);
    expect(errors[0]?.length).toBe(11);
  });

  it("stops at a line longer than the limit whether the line came in one piece or several", () => {
    // A field other than data, and a data line whose data alone fits but whose line does not.
    for (const line of ["event: 0123456789abcdef", "data: 0123456789ab"]) {
      const text = `data: a\n\n${line}\ndata: b\n\n`;
      for (const pieces of [[text], [...text]]) {
        const { decoder, frames, errors } = decoderWithLimit(16);
        for (const piece of pieces) decoder.feed(piece);
        decoder.end();
        expect(frames.map((frame) => frame.data)).toEqual(["a"]);
        expect(errors.map((error) => error.limit)).toEqual([16]);
      }
    }
  });

  it("reads a long line fed in many small pieces in time linear in its length", () => {
    // Searching the whole pending line again at every piece made this quadratic: 8 MiB in 16 KiB pieces took ~30 s.
    const piece = "x".repeat(16 * 1024);
    const frames: ServerSentEventFrame[] = [];
    const decoder = new EventStreamDecoder({ frame: (frame) => frames.push(frame) });
    const started = performance.now();
    decoder.feed("data: ");
    for (let fed = 0; fed < 8 * 1024 * 1024; fed += piece.length) decoder.feed(piece);
    decoder.feed("\n\n");
    expect(frames[0]?.data.length).toBe(8 * 1024 * 1024);
    // Linear takes well under a second here; the wide margin is for a loaded machine.
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it("throws from feed when no oversized handler is given", () => {
    const decoder = new EventStreamDecoder({ frame: () => undefined }, { maxFrameLength: 4 });
    expect(() => decoder.feed("data: 12345")).toThrow(FrameTooLargeError);
  });

  it("rejects a limit that is not a positive number before reading anything", () => {
    expect(() => new EventStreamDecoder({ frame: () => undefined }, { maxFrameLength: 0 })).toThrow(TypeError);
    expect(() => new EventStreamDecoder({ frame: () => undefined }, { maxFrameLength: Number.NaN })).toThrow(TypeError);
  });

  it("decodeEventStream errors with FrameTooLargeError after the chunks before a line longer than the default limit", async () => {
    const chunk = { id: "c", object: "chat.completion.chunk", created: 0, model: "m", choices: [{ index: 0, delta: { content: "Hi" }, finish_reason: null }] };
    const piece = "x".repeat(16 * 1024 * 1024);
    const pieces = [`data: ${JSON.stringify(chunk)}\n\n`, "data: ", ...Array.from({ length: Math.ceil(MAX_FRAME_LENGTH / piece.length) + 1 }, () => piece)];
    let pulled = 0;
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = pieces[pulled++];
        if (next === undefined) controller.close();
        else controller.enqueue(encoder.encode(next));
      },
    });
    const received: ChatCompletionChunk[] = [];
    const response = new Response(body, { headers: { "content-type": "text/event-stream" } });
    await expect(decodeEventStream(response, (item) => received.push(item), new AbortController().signal)).rejects.toBeInstanceOf(FrameTooLargeError);
    expect(received.map((item) => item.choices[0]?.delta.content)).toEqual(["Hi"]);
    // It stopped reading at the limit rather than reading the whole body.
    expect(pulled).toBeLessThan(pieces.length + 1);
  });
});

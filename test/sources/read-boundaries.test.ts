import OpenAI from "openai";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  IncompleteStreamError,
  InvalidEncodingError,
  MalformedChunkError,
  NotEventStreamError,
  StreamErrorFrameError,
  decodeEventStream,
  fromChatCompletion,
} from "g4f-rx";
import { type TestServer, sseFrame, textChunks } from "g4f-rx/testing";
import { collect } from "../support/collect.js";
import { serverAndClient } from "../support/server.js";

const params = { model: "gpt-4", messages: [{ role: "user" as const, content: "Hi" }] };
const [role, hello] = textChunks(["Hello"]);

/** A Response whose body yields `pieces` one read each, then closes, or errors with `failWith`, or stays open. */
function bodyOf(pieces: readonly Uint8Array[], end: "close" | "stall" | { failWith: Error } = "close", onCancel?: () => void): Response {
  let index = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const piece = pieces[index];
      index += 1;
      if (piece !== undefined) return controller.enqueue(piece);
      if (end === "close") return controller.close();
      if (end === "stall") return new Promise<void>(() => undefined);
      controller.error(end.failWith);
    },
    cancel: () => onCancel?.(),
  }, { highWaterMark: 0 });
  return new Response(stream, { headers: { "content-type": "text/event-stream" } });
}

async function decode(response: Response, signal = new AbortController().signal): Promise<{ values: ChatCompletionChunk[]; error: unknown }> {
  const values: ChatCompletionChunk[] = [];
  try {
    await decodeEventStream(response, (chunk) => values.push(chunk), signal);
    return { values, error: undefined };
  } catch (error) {
    return { values, error };
  }
}

/** `bytes` cut at one point, for every point. */
function everySplit(bytes: Uint8Array): Uint8Array[][] {
  return Array.from({ length: bytes.length + 1 }, (_, at) => [bytes.subarray(0, at), bytes.subarray(at)].filter((piece) => piece.length > 0));
}

describe("the outcome never depends on how the bytes were split", () => {
  it("completes when [DONE] is followed by an invalid UTF-8 byte, wherever the reads were cut", async () => {
    const bytes = Buffer.concat([Buffer.from(sseFrame(hello!) + "data: [DONE]\n\n"), Buffer.from([0xff, 0x0a])]);
    for (const pieces of everySplit(bytes)) {
      const outcome = await decode(bodyOf(pieces));
      expect(outcome).toEqual({ values: [hello], error: undefined });
    }
  });

  it("gives InvalidEncodingError the same offset wherever a read cuts the bad sequence", async () => {
    const good = Buffer.from(sseFrame(hello!) + 'data: {"x":"é');
    const bytes = Buffer.concat([good, Buffer.from([0xe4, 0x28]), Buffer.from('"}\n\n')]);
    for (const pieces of everySplit(bytes)) {
      const outcome = await decode(bodyOf(pieces));
      expect(outcome.values).toEqual([hello]);
      expect(outcome.error).toBeInstanceOf(InvalidEncodingError);
      expect(outcome.error).toMatchObject({ offset: good.length });
    }
  });

  it("delivers a frame whose blank line is a lone CR at the end of a read, even when the next read fails", async () => {
    const outcome = await decode(bodyOf([Buffer.from(`data: ${JSON.stringify(hello)}\r\r`)], { failWith: new Error("read ECONNRESET") }));
    expect(outcome.values).toEqual([hello]);
    expect(outcome.error).toBeInstanceOf(IncompleteStreamError);
    expect((outcome.error as Error).message).toContain("ECONNRESET");
  });

  it("completes on `data: [DONE]\\r\\r` while the server keeps the socket open", async () => {
    const outcome = await decode(bodyOf([Buffer.from(`data: ${JSON.stringify(hello)}\r\r`), Buffer.from("data: [DONE]\r\r")], "stall"));
    expect(outcome).toEqual({ values: [hello], error: undefined });
  });
});

describe("a body that is not an event stream", () => {
  it("is named by the same start of the body wherever the reads were cut", async () => {
    const page = "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>bad gateway</body>\n</html>\n";
    const bytes = Buffer.from(page);
    for (const pieces of everySplit(bytes)) {
      const response = bodyOf(pieces);
      const html = new Response(response.body, { headers: { "content-type": "text/html" } });
      const outcome = await decode(html);
      expect(outcome.error).toBeInstanceOf(NotEventStreamError);
      expect((outcome.error as NotEventStreamError).received).toBe(page);
    }
  });
});

describe("a text/event-stream body that ends before any frame", () => {
  it.each([
    ["a comment", ": ping\nstray line\n"],
    ["an event field", "event: ping\nstray line\n"],
  ])("is an incomplete stream, not a body without Server-Sent Events, when it holds %s and a stray line", async (_name, text) => {
    const outcome = await decode(bodyOf([Buffer.from(text)]));
    expect(outcome.error).toBeInstanceOf(IncompleteStreamError);
  });

  it("holds no Server-Sent Events when none of its lines is an SSE field", async () => {
    const outcome = await decode(bodyOf([Buffer.from("stray line\nanother\n")]));
    expect(outcome.error).toBeInstanceOf(NotEventStreamError);
  });
});

describe("valid SSE that is unusual is still read", () => {
  it.each([
    ["a stray unknown field before the first event", "x-custom: 1\n"],
    ["a second byte-order mark before the first event", "\uFEFF\uFEFF"],
  ])("reads the chunks after %s", async (_name, prefix) => {
    const outcome = await decode(bodyOf([Buffer.from(prefix + sseFrame(role!) + "data: [DONE]\n\n")]));
    expect(outcome).toEqual({ values: [role], error: undefined });
  });

  it("says a frame is JSON but not a chunk rather than not JSON", async () => {
    const outcome = await decode(bodyOf([Buffer.from('data: {"object":"chat.completion.chunk"}\n\n')]));
    expect(outcome.error).toBeInstanceOf(MalformedChunkError);
    expect((outcome.error as Error).message).toBe(
      'Received a stream frame that is JSON but not a chat-completion chunk (an object with a "choices" array of objects): "{\\"object\\":\\"chat.completion.chunk\\"}"',
    );
  });
});

describe("decodeEventStream and its signal", () => {
  it("settles and cancels the body when the signal aborts while the server is silent", async () => {
    const controller = new AbortController();
    let cancelled = false;
    const decoding = decode(bodyOf([Buffer.from(sseFrame(role!))], "stall", () => (cancelled = true)), controller.signal);
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort();
    expect(await decoding).toEqual({ values: [role], error: undefined });
    expect(cancelled).toBe(true);
  });

  it("emits nothing read before the abort once the signal has aborted", async () => {
    const controller = new AbortController();
    const values: ChatCompletionChunk[] = [];
    const body = bodyOf([Buffer.from(sseFrame(role!) + sseFrame(hello!) + sseFrame(hello!))], "stall");
    await decodeEventStream(body, (chunk) => (values.push(chunk), controller.abort()), controller.signal);
    expect(values).toEqual([role]);
  });
});

describe("error frames", () => {
  let server: TestServer;
  let client: OpenAI;
  beforeEach(async () => ({ server, client } = await serverAndClient()));
  afterEach(() => server.close());

  it("gives StreamErrorFrameError, not RangeError, for an error frame nested 10,000 levels deep", async () => {
    const deep = '{"error":{"details":' + '{"a":'.repeat(10_000) + "1" + "}".repeat(10_000) + "}}";
    server.reply({ body: [sseFrame(hello!), `data: ${deep}\n\n`] });
    const outcome = await collect(fromChatCompletion(client, params));
    expect(outcome.values).toEqual([hello]);
    expect(outcome.error).toBeInstanceOf(StreamErrorFrameError);
    expect((outcome.error as Error).message).toBe(deep);
  });

  it("takes the message of {\"error\":\"text\"} as the text", async () => {
    server.reply({ body: ['data: {"error":"Model is overloaded"}\n\n'] });
    const outcome = await collect(fromChatCompletion(client, params));
    expect((outcome.error as Error).message).toBe("Model is overloaded");
  });

  it("gives an error without a string message the frame as received, and keeps the error's code and type", async () => {
    const data = '{"error":{"code":"quota","type":"insufficient_quota"}}';
    server.reply({ body: [`data: ${data}\n\n`] });
    const outcome = await collect(fromChatCompletion(client, params));
    expect(outcome.error).toMatchObject({ message: data, code: "quota", type: "insufficient_quota", error: { code: "quota", type: "insufficient_quota" } });
  });

  it("carries the response's headers and request id, as the SDK's own in-stream errors do", async () => {
    server.reply({ headers: { "content-type": "text/event-stream", "x-request-id": "req_abc123" }, body: ['data: {"error":{"message":"boom"}}\n\n'] });
    const outcome = await collect(fromChatCompletion(client, params));
    expect(outcome.error).toBeInstanceOf(StreamErrorFrameError);
    const error = outcome.error as StreamErrorFrameError;
    expect(error.requestID).toBe("req_abc123");
    expect(error.headers?.get("x-request-id")).toBe("req_abc123");
  });
});

import { type IncomingMessage, type Server, createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { once } from "node:events";
import OpenAI, { APIError } from "openai";
import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import { Observable, Subject, concat, from, lastValueFrom, of, throwError, toArray } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DONE_EVENT, Relay, SlowClientError, StreamErrorFrameError, createRelayFetchHandler, fromChatCompletion, fromResponses, toReadableStream, toResponse, toServerSentEvents } from "g4f-rx";
import { type TestServer, errorFrame, responseEvents, responsesReply, streamReply, textChunks } from "g4f-rx/testing";
import { serverAndClient } from "../support/server.js";
import { chatBody, endlessFrames, readEvents, textOf } from "./support.js";

let server: TestServer;
let client: OpenAI;
beforeEach(async () => ({ server, client } = await serverAndClient()));
afterEach(() => server.close());

const decoder = new TextDecoder();
async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  let text = "";
  for await (const bytes of stream) text += decoder.decode(bytes, { stream: true });
  return text + decoder.decode();
}

describe("toResponse", () => {
  it("answers with the frames as the body and the headers of an event stream", async () => {
    const response = toResponse(of("data: 1\n\n", "data: 2\n\n", DONE_EVENT));
    expect(response.status).toBe(200);
    expect(Object.fromEntries(response.headers)).toEqual({
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
    });
    expect(await response.text()).toBe("data: 1\n\ndata: 2\n\ndata: [DONE]\n\n");
  });

  it("takes the status and headers of init, which add to or replace its own", () => {
    const response = toResponse(of("data: x\n\n"), { status: 201, headers: { "cache-control": "no-store", "x-request-id": "r1" } });
    expect(response.status).toBe(201);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("x-request-id")).toBe("r1");
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
  });

  it("encodes multi-byte text as UTF-8", async () => {
    const bytes = new Uint8Array(await toResponse(of("data: Привет 👋\n\n")).arrayBuffer());
    expect(decoder.decode(bytes)).toBe("data: Привет 👋\n\n");
  });
});

describe("toReadableStream", () => {
  it("delivers the frames before an error, then errors the stream with it", async () => {
    const failure = new Error("upstream failed");
    const reader = toReadableStream(new Observable<string>((subscriber) => {
      subscriber.next("data: 1\n\n");
      subscriber.error(failure);
    })).getReader();
    expect(decoder.decode((await reader.read()).value)).toBe("data: 1\n\n");
    await expect(reader.read()).rejects.toBe(failure);
  });

  it("errors at once for a source that fails before any frame", async () => {
    await expect(readAll(toReadableStream(throwError(() => new Error("no"))))).rejects.toThrow("no");
  });

  it("unsubscribes from the frames when the reader cancels", async () => {
    const frames = new Subject<string>();
    const reader = toReadableStream(frames).getReader();
    frames.next("data: 1\n\n");
    expect(decoder.decode((await reader.read()).value)).toBe("data: 1\n\n");
    expect(frames.observed).toBe(true);
    await reader.cancel();
    expect(frames.observed).toBe(false);
  });

  it("aborts the upstream chat completion request when the client goes away (cancel)", async () => {
    server.reply(streamReply(textChunks(["Hello"]).slice(0, 2), { done: false, then: [{ wait: 10_000 }] }));
    const response = toResponse(fromChatCompletion(client, { model: "gpt-4", messages: [] }).pipe(toServerSentEvents()));
    const reader = response.body!.getReader();
    let received = "";
    while (!received.includes("Hello")) received += decoder.decode((await reader.read()).value);
    const request = await server.waitForRequest(0);
    expect(request.disconnected).toBe(false);
    await reader.cancel();
    await request.closed;
    expect(request.disconnected).toBe(true);
  });
});

describe("a reader that stops reading (toReadableStream, toResponse, createRelayFetchHandler)", () => {
  const maxQueuedBytes = 256 * 1024;
  /** Slightly more than one of endlessFrames' batches, which come together on one macrotask: 64 frames of about 1 KiB. */
  const ONE_BATCH = 70 * 1024;

  /** The outcome of the reader's next read: the error it rejects with, or what it read. */
  const nextRead = (reader: ReadableStreamDefaultReader<Uint8Array>): Promise<unknown> => reader.read().catch((error: unknown) => error);

  it("is cut off past maxQueuedBytes: the stream errors with SlowClientError, and the endless source is unsubscribed", async () => {
    const endless = endlessFrames();
    const reader = toReadableStream(endless.frames$, { maxQueuedBytes }).getReader();
    // Read once, then left: the source goes on pushing.
    expect((await reader.read()).done).toBe(false);
    expect(await endless.stopped).toBe("unsubscribed");
    const failure = await nextRead(reader);
    expect(failure).toBeInstanceOf(SlowClientError);
    const { queuedBytes, message } = failure as SlowClientError;
    // Past the limit by less than one of the source's batches (64 frames of about 1 KiB, 66 KB): its first batch came
    // while the reader had taken everything, so it was not counted; nothing was produced after the frame that crossed it.
    expect(queuedBytes).toBeGreaterThan(maxQueuedBytes);
    expect(queuedBytes).toBeLessThan(maxQueuedBytes + ONE_BATCH);
    expect(endless.producedBytes()).toBeLessThan(maxQueuedBytes + 2 * ONE_BATCH);
    expect(message).toBe(`The client stopped reading: ${queuedBytes} bytes were waiting for it, so it was cut off and its source unsubscribed`);
  });

  it("delivers whole a batch of more than maxQueuedBytes that comes all at once, before the reader reads (a catch-up)", async () => {
    const frames = Array.from({ length: 3000 }, (_, i) => `data: ${String(i)} ${"x".repeat(1000)}\n\n`);
    expect(await readAll(toReadableStream(from(frames)))).toBe(frames.join(""));
    expect(await readAll(toReadableStream(from(frames), { maxQueuedBytes }))).toBe(frames.join(""));
  });

  it("still cuts off a reader that stops after such a batch, once more than maxQueuedBytes came after it", async () => {
    const endless = endlessFrames();
    const batch = "x".repeat(2 * 1024 * 1024);
    const reader = toReadableStream(concat(of(batch), endless.frames$), { maxQueuedBytes }).getReader();
    expect((await reader.read()).done).toBe(false);
    expect(await endless.stopped).toBe("unsubscribed");
    const failure = await nextRead(reader);
    expect(failure).toBeInstanceOf(SlowClientError);
    // The batch (read whole by the first read, as one piece) is gone: what waited came after it.
    expect((failure as SlowClientError).queuedBytes).toBeLessThan(maxQueuedBytes + ONE_BATCH);
    expect(endless.producedBytes()).toBeLessThan(maxQueuedBytes + 2 * ONE_BATCH);
  });

  it("holds at most 1 MiB by default, in toResponse's body too", async () => {
    const endless = endlessFrames();
    const reader = toResponse(endless.frames$).body!.getReader();
    expect((await reader.read()).done).toBe(false);
    expect(await endless.stopped).toBe("unsubscribed");
    const failure = await nextRead(reader);
    expect(failure).toBeInstanceOf(SlowClientError);
    expect((failure as SlowClientError).queuedBytes).toBeLessThan(1024 * 1024 + ONE_BATCH);
  });

  it("refuses a nonsensical maxQueuedBytes at once with a TypeError, before subscribing", () => {
    let subscribed = false;
    const frames$ = new Observable<string>(() => void (subscribed = true));
    for (const bad of [0, -1, Number.NaN, "1e6", null]) {
      expect(() => toReadableStream(frames$, { maxQueuedBytes: bad as number })).toThrow(new TypeError(`toReadableStream: maxQueuedBytes must be a number of bytes above 0, got ${typeof bad === "string" ? JSON.stringify(bad) : String(bad)}`));
      expect(() => toResponse(frames$, {}, { maxQueuedBytes: bad as number })).toThrow(TypeError);
    }
    expect(subscribed).toBe(false);
  });

  it("cuts off a real HTTP client that stops reading from a fetch-style server on Node, and unsubscribes the source", async () => {
    const endless = endlessFrames();
    let served: Promise<unknown> = Promise.resolve();
    const app = createServer((_req, res) => {
      // As fetch-style frameworks serve a Response on Node: its body written to the socket, waiting for it to drain
      // (or for the body to fail meanwhile).
      const response = toResponse(endless.frames$, {}, { maxQueuedBytes });
      res.writeHead(response.status, Object.fromEntries(response.headers));
      served = (async () => {
        const reader = response.body!.getReader();
        try {
          for (let read = await reader.read(); !read.done; read = await reader.read()) {
            if (!res.write(read.value)) await Promise.race([once(res, "drain"), reader.closed]);
          }
          res.end();
          return "complete";
        } catch (error) {
          res.destroy();
          return error;
        }
      })();
    });
    await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
    try {
      const client = await new Promise<IncomingMessage>((resolve, reject) => httpRequest(`http://127.0.0.1:${(app.address() as AddressInfo).port}/`, resolve).on("error", reject).end());
      // Reads the first piece, then stops reading: the socket's buffers fill, then the stream's queue.
      client.once("data", () => client.pause());
      client.on("error", () => undefined);
      expect(await endless.stopped).toBe("unsubscribed");
      const outcome = await served;
      expect(outcome).toBeInstanceOf(SlowClientError);
      expect((outcome as SlowClientError).queuedBytes).toBeLessThan(maxQueuedBytes + ONE_BATCH);
      client.destroy();
    } finally {
      app.closeAllConnections();
      await new Promise<void>((resolve) => app.close(() => resolve()));
    }
  });

  it("createRelayFetchHandler cuts off a reader that stopped past 1 MiB, and the generation goes on for the others", async () => {
    // About 3 MB of frames, more than the relay's reader may hold.
    const pieces = Array.from({ length: 6000 }, (_, i) => `${String(i)} ${"x".repeat(400)}`);
    server.reply(streamReply(textChunks(pieces)));
    const handle = createRelayFetchHandler({ relay: new Relay(), upstream: client });
    const started = await handle(new Request("http://relay.test/v1/chat/completions", { method: "POST", headers: { "x-stream-id": "slow" }, body: chatBody() }));
    const slow = started.body!.getReader();
    expect((await slow.read()).done).toBe(false);
    // Another reader takes the whole stream: the generation ran to its end while the first one read nothing.
    const whole = await readEvents(await handle(new Request("http://relay.test/v1/streams/slow")));
    expect(whole.at(-1)?.data).toBe("[DONE]");
    const failure = await nextRead(slow);
    expect(failure).toBeInstanceOf(SlowClientError);
    expect((failure as SlowClientError).queuedBytes).toBeLessThan(1024 * 1024 + ONE_BATCH);
    // The message is true of a relay reader too: its generation was not aborted, the others read it whole.
    expect((failure as Error).message).not.toMatch(/abort/);
  });

  it("createRelayFetchHandler gives a reader that comes after the end a stream of more than 1 MiB whole", async () => {
    const pieces = Array.from({ length: 6000 }, (_, i) => `${String(i)} ${"x".repeat(400)}`);
    server.reply(streamReply(textChunks(pieces)));
    const handle = createRelayFetchHandler({ relay: new Relay(), upstream: client });
    const first = await readEvents(await handle(new Request("http://relay.test/v1/chat/completions", { method: "POST", headers: { "x-stream-id": "late" }, body: chatBody() })));
    expect(textOf(first)).toBe(pieces.join(""));
    // The stream has ended; all of it (about 3 MB of frames) is there at once for the next reader.
    const late = await readEvents(await handle(new Request("http://relay.test/v1/streams/late")));
    expect(textOf(late)).toBe(pieces.join(""));
    expect(late.at(-1)?.data).toBe("[DONE]");
  });
});

describe("relaying a Responses API stream: fromResponses, toServerSentEvents, toResponse", () => {
  let relay: Server;
  let relayURL: string;
  beforeEach(async () => {
    // An app's route: the upstream's Responses events, relayed as they come.
    relay = createServer((req, res) => {
      let body = "";
      req.on("data", (piece: Buffer) => (body += piece.toString()));
      req.on("end", () => {
        const { model, input } = JSON.parse(body) as { model: string; input: string };
        const response = toResponse(fromResponses(client, { model, input }).pipe(toServerSentEvents()));
        res.writeHead(response.status, Object.fromEntries(response.headers));
        void (async () => {
          if (response.body !== null) for await (const bytes of response.body) res.write(bytes);
          res.end();
        })();
      });
    });
    await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
    relayURL = `http://127.0.0.1:${(relay.address() as AddressInfo).port}/v1`;
  });
  afterEach(() => new Promise<void>((resolve) => relay.close(() => resolve())));

  const events = responseEvents(["Hello", " there!"], { reasoning: ["Greet."] });
  const params = { model: "gpt-5-mini", input: "Say hello there!" };

  it("frames each event as OpenAI does, event: <type> and its data, with no [DONE]", async () => {
    server.reply(responsesReply(events));
    const body = await (await fetch(`${relayURL}/responses`, { method: "POST", body: JSON.stringify(params) })).text();
    expect(body).toBe(events.map((event) => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`).join(""));
  });

  it("gives the openai client's responses.stream() the same final Response, and fromResponses the same events", async () => {
    server.reply(responsesReply(events));
    server.reply(responsesReply(events));
    const relayed = new OpenAI({ baseURL: relayURL, apiKey: "none", maxRetries: 0 });
    const completed = events.at(-1);
    const final = await relayed.responses.stream(params).finalResponse();
    expect(final).toMatchObject(completed?.type === "response.completed" ? completed.response : {});
    expect(await lastValueFrom(fromResponses(relayed, params).pipe(toArray()))).toEqual(events);
  });

  it("relays an upstream error event as an error event both the openai client and fromResponses report, after the events before it", async () => {
    const before = events.slice(0, 2);
    server.reply(responsesReply(before, { then: [errorFrame("The server is overloaded", { event: true })] }));
    server.reply(responsesReply(before, { then: [errorFrame("The server is overloaded", { event: true })] }));
    const relayed = new OpenAI({ baseURL: relayURL, apiKey: "none", maxRetries: 0 });
    const failure = await relayed.responses.stream(params).finalResponse().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(APIError);
    expect(failure).toHaveProperty("message", expect.stringContaining("The server is overloaded"));
    const received: ResponseStreamEvent[] = [];
    const error = await new Promise((resolve) => fromResponses(relayed, params).subscribe({ next: (event) => received.push(event), error: resolve }));
    expect(received).toEqual(before);
    expect(error).toBeInstanceOf(StreamErrorFrameError);
    expect(error).toHaveProperty("message", "The server is overloaded");
  });
});

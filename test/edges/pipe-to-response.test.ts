import { type IncomingMessage, type Server, createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { Observable, firstValueFrom, map, range, take } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { extractDelta, fromChatCompletion, toServerSentEvents } from "g4f-rx";
import { SlowClientError, pipeToResponse } from "g4f-rx/node";
import { type TestServer, startTestServer, streamReply, textChunks } from "g4f-rx/testing";
import { collect } from "../support/collect.js";

type Relay = { url: string; server: Server; outcomes: Array<Promise<unknown>> };

/** A relay on 127.0.0.1 that answers each request with `frames()` through pipeToResponse. */
async function startRelay(frames: () => Observable<string>, maxQueuedBytes?: number): Promise<Relay> {
  const outcomes: Array<Promise<unknown>> = [];
  const server = createServer((_req, res) => {
    outcomes.push(
      new Promise((resolve) =>
        frames()
          .pipe(pipeToResponse(res, maxQueuedBytes === undefined ? {} : { maxQueuedBytes }))
          .subscribe({ complete: () => resolve("complete"), error: (error: unknown) => resolve(error) }),
      ),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, outcomes };
}

function closeRelay(relay: Relay): Promise<void> {
  const closed = new Promise<void>((resolve) => relay.server.close(() => resolve()));
  relay.server.closeAllConnections();
  return closed;
}

let upstream: TestServer;
let client: OpenAI;
const params = { model: "gpt-4", messages: [{ role: "user" as const, content: "Say hello there!" }] };
beforeEach(async () => {
  upstream = await startTestServer();
  client = new OpenAI({ baseURL: upstream.baseURL, apiKey: "k", maxRetries: 0 });
});
afterEach(() => upstream.close());

describe("a relay built from toServerSentEvents and pipeToResponse", () => {
  it("passes the upstream chunks to an openai client unchanged", async () => {
    const sent = textChunks(["Hello", " there", "!"]);
    upstream.reply(streamReply(sent, { delayMs: 5 }));
    const relay = await startRelay(() => fromChatCompletion(client, params).pipe(toServerSentEvents()));
    try {
      const relayed = new OpenAI({ baseURL: relay.url, apiKey: "k", maxRetries: 0 });
      const outcome = await collect(fromChatCompletion(relayed, params));
      expect(outcome).toEqual({ values: sent, error: undefined, completed: true });
      expect(await relay.outcomes[0]).toBe("complete");
    } finally {
      await closeRelay(relay);
    }
  });

  it("aborts the upstream request when the browser disconnects", async () => {
    upstream.reply(streamReply(textChunks(["Hello"]).slice(0, 2), { done: false, then: [{ wait: 10_000 }] }));
    const relay = await startRelay(() => fromChatCompletion(client, params).pipe(toServerSentEvents()));
    try {
      const relayed = new OpenAI({ baseURL: relay.url, apiKey: "k", maxRetries: 0 });
      const first = await firstValueFrom(fromChatCompletion(relayed, params).pipe(extractDelta(), take(1)));
      expect(first).toBe("Hello");
      const upstreamRequest = await upstream.waitForRequest(0);
      await upstreamRequest.closed;
      expect(upstreamRequest.disconnected).toBe(true);
      expect(await relay.outcomes[0]).toBe("complete");
    } finally {
      await closeRelay(relay);
    }
  });

  it("relays an upstream failure as an error frame the reader sees as an error", async () => {
    upstream.reply(streamReply(textChunks(["Hel"], { finishReason: null }), { done: false }));
    const relay = await startRelay(() => fromChatCompletion(client, params).pipe(toServerSentEvents()));
    try {
      const relayed = new OpenAI({ baseURL: relay.url, apiKey: "k", maxRetries: 0 });
      const outcome = await collect(fromChatCompletion(relayed, params).pipe(extractDelta()));
      expect(outcome.values).toEqual(["Hel"]);
      expect((outcome.error as Error).message).toMatch(/without "data: \[DONE\]" or a finish_reason/);
    } finally {
      await closeRelay(relay);
    }
  });
});

describe("pipeToResponse backpressure", () => {
  const frame = (i: number): string => `data: ${JSON.stringify({ i, pad: "x".repeat(1000) })}\n\n`;

  it("delivers every frame, in order, to a client that reads slowly", async () => {
    const relay = await startRelay(() => range(0, 3000).pipe(map(frame)), 8 * 1024 * 1024);
    try {
      const response = await open(relay.url);
      let text = "";
      for await (const piece of response) {
        text += String(piece);
        // A reader slower than the writer: the socket fills and write() returns false.
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      const indices = [...text.matchAll(/"i":(\d+)/g)].map((match) => Number(match[1]));
      expect(indices).toEqual(Array.from({ length: 3000 }, (_, i) => i));
      expect(await relay.outcomes[0]).toBe("complete");
    } finally {
      await closeRelay(relay);
    }
  });

  it("cuts off a client that stops reading, and stops the upstream, instead of queueing without bound", async () => {
    let produced = 0;
    const endless = new Observable<string>((subscriber) => {
      // A fast producer: a frame per macrotask, forever, until unsubscribed.
      let stopped = false;
      const tick = (): void => {
        if (stopped) return;
        for (let k = 0; k < 50; k += 1) subscriber.next(frame((produced += 1)));
        setImmediate(tick);
      };
      tick();
      return () => void (stopped = true);
    });
    const maxQueuedBytes = 256 * 1024;
    const relay = await startRelay(() => endless, maxQueuedBytes);
    try {
      const response = await open(relay.url);
      response.pause();
      const outcome = await relay.outcomes[0];
      expect(outcome).toBeInstanceOf(SlowClientError);
      expect((outcome as SlowClientError).queuedBytes).toBeLessThan(maxQueuedBytes + 2 * frame(0).length);
      const producedAtCutOff = produced;
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(produced).toBe(producedAtCutOff);
      response.destroy();
    } finally {
      await closeRelay(relay);
    }
  });
});

/** Opens a GET to `url` and resolves with the response stream, unread. */
function open(url: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => httpRequest(url, resolve).on("error", reject).end());
}


describe("pipeToResponse edge cases", () => {
  it("does not subscribe upstream when the client left before the handler got to it", async () => {
    let subscribed = false;
    const upstream$ = new Observable<string>(() => {
      subscribed = true;
    });
    let outcome: Promise<unknown> = Promise.resolve();
    const server = createServer((req, res) => {
      // The handler is still busy (a body, a key check) when the client goes away.
      req.socket.destroy();
      outcome = new Promise((resolve) => setTimeout(() => upstream$.pipe(pipeToResponse(res)).subscribe({ complete: () => resolve("complete") }), 20));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await new Promise((resolve) => httpRequest(url).on("error", resolve).end());
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(await outcome).toBe("complete");
    expect(subscribed).toBe(false);
    await closeRelay({ url, server, outcomes: [] });
  });

  it("ends the response when the pipeline is unsubscribed from outside", async () => {
    let stop = (): void => undefined;
    const server = createServer((_req, res) => {
      const subscription = new Observable<string>((subscriber) => subscriber.next("data: first\n\n")).pipe(pipeToResponse(res)).subscribe();
      stop = () => subscription.unsubscribe();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const response = await open(url);
    let body = "";
    response.on("data", (piece: Buffer) => {
      body += piece.toString();
      stop();
    });
    await new Promise((resolve) => response.on("end", resolve));
    expect(body).toBe("data: first\n\n");
    await closeRelay({ url, server, outcomes: [] });
  });

  it("adds custom headers to the SSE headers instead of replacing them", async () => {
    const server = createServer((_req, res) => {
      range(0, 1).pipe(map(() => "data: x\n\n"), pipeToResponse(res, { headers: { "access-control-allow-origin": "*" } })).subscribe();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const response = await fetch(url);
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(await response.text()).toBe("data: x\n\n");
    await closeRelay({ url, server, outcomes: [] });
  });
});

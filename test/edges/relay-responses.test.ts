import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import { EventSourceParserStream } from "eventsource-parser/stream";
import OpenAI, { APIError } from "openai";
import { Observable, firstValueFrom, toArray } from "rxjs";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { IncompleteStreamError, Relay, StreamErrorFrameError, createRelayFetchHandler, fromResponses, fromResponsesEventStream } from "g4f-rx";
import { type RelayServer, startRelayServer } from "g4f-rx/node";
import { type TestServer, responseEvents, responsesReply, startTestServer, textChunks } from "g4f-rx/testing";
import { type TestRedis, redisServerAvailable, startRedis } from "../support/redis.js";
import { eventually } from "./support.js";

const PIECES = ["Hello", " there", "!", " How", " can", " I", " help", "?"];
const FULL = PIECES.join("");
const EVENTS = responseEvents(PIECES);

/** One SSE event with its name, as a browser's EventSource sees it. */
interface NamedEvent {
  id: string | undefined;
  event: string | undefined;
  data: string;
}

async function readNamed(response: Response, limit = Infinity): Promise<NamedEvent[]> {
  if (response.body === null) return [];
  const reader = response.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream()).getReader();
  const events: NamedEvent[] = [];
  while (events.length < limit) {
    const { done, value } = await reader.read();
    if (done) return events;
    events.push({ id: value.id, event: value.event, data: value.data });
  }
  await reader.cancel();
  return events;
}

/** The events as their data and name, without the relay's frame numbers. */
const asFrames = (events: readonly ResponseStreamEvent[]): { event: string; data: string }[] => events.map((event) => ({ event: event.type, data: JSON.stringify(event) }));
const named = (events: readonly NamedEvent[]): { event: string | undefined; data: string }[] => events.map(({ event, data }) => ({ event, data }));

const responsesBody = (extra: Record<string, unknown> = {}): string => JSON.stringify({ model: "gpt-5-mini", input: "Say hello there!", stream: true, ...extra });

/** Reads the events of a Responses stream with the real openai client; resolves with them and the error that ended them, if any. */
async function readWithClient(stream: AsyncIterable<ResponseStreamEvent>): Promise<{ events: ResponseStreamEvent[]; error: unknown }> {
  const events: ResponseStreamEvent[] = [];
  try {
    for await (const event of stream) events.push(event);
  } catch (error) {
    return { events, error };
  }
  return { events, error: undefined };
}

const textOf = (events: readonly ResponseStreamEvent[]): string => events.map((event) => (event.type === "response.output_text.delta" ? event.delta : "")).join("");

/** What an untyped JavaScript caller does: hand over any value as a Responses event (the relay must check it itself). */
function passedAsEvent(value: unknown): value is ResponseStreamEvent {
  return value !== undefined;
}

/** The same for a chat-completion chunk. */
function passedAsChunk(value: unknown): value is ChatCompletionChunk {
  return value !== undefined;
}

/** An upstream `event: error` frame, as OpenAI sends one mid-stream. */
const upstreamError = (message: string): string => `event: error\ndata: ${JSON.stringify({ type: "error", code: "server_error", message, param: null, sequence_number: 99 })}\n\n`;

/** The tests every relay setup passes: run against the memory store and a real redis-server. */
function relaysResponses(setup: () => { baseURL: () => string; upstream: () => TestServer }): void {
  it("streams POST /v1/responses to the real openai client, every event with its name, the stream named in x-stream-id", async () => {
    setup().upstream().reply(responsesReply(EVENTS));
    const client = new OpenAI({ baseURL: setup().baseURL(), apiKey: "none", maxRetries: 0 });
    const { data: stream, response } = await client.responses.create({ model: "gpt-5-mini", input: "Hi", stream: true }).withResponse();
    const { events, error } = await readWithClient(stream);
    expect(error).toBeUndefined();
    expect(events).toEqual(EVENTS);
    expect(textOf(events)).toBe(FULL);
    const id = response.headers.get("x-stream-id") ?? "";
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    // The upstream was asked on its Responses API, with the request as sent.
    expect(setup().upstream().requests[0]?.path).toMatch(/\/responses$/);
    // The stored stream replays the same frames, names and all, from the start.
    const replayed = await readNamed(await fetch(`${setup().baseURL()}/streams/${id}`));
    expect(named(replayed)).toEqual(asFrames(EVENTS));
    expect(replayed.map((event) => event.id)).toEqual(EVENTS.map((_, index) => String(index + 1)));
  });

  it("resumes after a disconnect with Last-Event-ID: exactly the missed events, names and all, read back by fromResponsesEventStream", async () => {
    setup().upstream().reply(responsesReply(EVENTS, { delayMs: 30 }));
    const first = await fetch(`${setup().baseURL()}/responses`, { method: "POST", headers: { "content-type": "application/json", "x-stream-id": "resp-resume" }, body: responsesBody() });
    const before = await readNamed(first, 4);
    expect(before.map((event) => event.id)).toEqual(["1", "2", "3", "4"]);
    const after = await firstValueFrom(fromResponsesEventStream(`${setup().baseURL()}/streams/resp-resume`, { headers: { "last-event-id": "4" } }).pipe(toArray()));
    expect(after).toEqual(EVENTS.slice(4));
    expect(named(before)).toEqual(asFrames(EVENTS.slice(0, 4)));
    // ?after=n reads the same, as raw frames with their event names.
    expect(named(await readNamed(await fetch(`${setup().baseURL()}/streams/resp-resume?after=4`)))).toEqual(asFrames(EVENTS.slice(4)));
    expect(setup().upstream().requests).toHaveLength(1);
  });

  it("stops: the upstream request is aborted and the stream ends with response.incomplete, which the openai client and fromResponsesEventStream take as an end", async () => {
    setup().upstream().reply(responsesReply(responseEvents(["Hello", " there"], { end: null }), { then: [{ wait: 60_000 }] }));
    const client = new OpenAI({ baseURL: setup().baseURL(), apiKey: "none", maxRetries: 0 });
    const stream = await client.responses.create({ model: "gpt-5-mini", input: "Hi", stream: true }, { headers: { "x-stream-id": "resp-stop" } });
    const reading = readWithClient(stream);
    await eventually(() => setup().upstream().requests.length === 1, "the upstream request");
    // Stopping before the events have reached the relay would stop an empty stream: wait for the text.
    await eventually(async () => (await fetch(`${setup().baseURL()}/streams/resp-stop?after=0`).then((r) => readNamed(r, 5))).length === 5, "the first events");
    const stop = await fetch(`${setup().baseURL()}/streams/resp-stop/stop`, { method: "POST" });
    expect(await stop.json()).toEqual({ id: "resp-stop", stopped: true });
    const { events, error } = await reading;
    expect(error).toBeUndefined();
    expect(textOf(events)).toBe("Hello there");
    const last = events.at(-1);
    expect(last?.type).toBe("response.incomplete");
    if (last?.type !== "response.incomplete") return;
    expect(last.sequence_number).toBe((events.at(-2)?.sequence_number ?? 0) + 1);
    expect(last.response).toMatchObject({ id: "resp_test", status: "incomplete", incomplete_details: { reason: "stopped" } });
    expect(last.response.output[0]).toMatchObject({ type: "message", content: [{ type: "output_text", text: "Hello there" }] });
    await setup().upstream().requests[0]?.closed;
    expect(setup().upstream().requests[0]?.disconnected).toBe(true);
    const again = await firstValueFrom(fromResponsesEventStream(`${setup().baseURL()}/streams/resp-stop`).pipe(toArray()));
    expect(again).toEqual(events);
  });

  it("stopped before the upstream's first event, the stream still opens with a response.created (a resp_ id, the request's model) that the openai client's create() and responses.stream() and fromResponsesEventStream read as an empty incomplete answer", async () => {
    setup().upstream().reply(responsesReply([], { then: [{ wait: 60_000 }] }));
    const client = new OpenAI({ baseURL: setup().baseURL(), apiKey: "none", maxRetries: 0 });
    const helper = client.responses.stream({ model: "gpt-5-mini", input: "Hi" }, { headers: { "x-stream-id": "resp-early-stop" } });
    await eventually(() => setup().upstream().requests.length === 1, "the upstream request");
    expect(await (await fetch(`${setup().baseURL()}/streams/resp-early-stop/stop`, { method: "POST" })).json()).toEqual({ id: "resp-early-stop", stopped: true });
    const final = await helper.finalResponse();
    expect(final).toMatchObject({ object: "response", status: "incomplete", incomplete_details: { reason: "stopped" }, model: "gpt-5-mini", output: [], output_text: "" });
    expect(final.id).toMatch(/^resp_[0-9a-f]{48}$/);
    expect(final.created_at).toBeGreaterThan(1_700_000_000);

    // The stream as fromResponsesEventStream reads it back from the store.
    const events = await firstValueFrom(fromResponsesEventStream(`${setup().baseURL()}/streams/resp-early-stop`).pipe(toArray()));
    expect(events.map((event) => [event.type, event.sequence_number])).toEqual([
      ["response.created", 0],
      ["response.incomplete", 1],
    ]);
    const [created, incomplete] = events;
    if (created?.type !== "response.created" || incomplete?.type !== "response.incomplete") return;
    expect(created.response).toMatchObject({ id: final.id, object: "response", created_at: final.created_at, status: "in_progress", model: "gpt-5-mini", output: [] });
    expect(incomplete.response).toMatchObject({ id: final.id, status: "incomplete", incomplete_details: { reason: "stopped" }, output: [] });

    // And as the openai client's create({ stream: true }) iterates a stream stopped the same way.
    setup().upstream().reply(responsesReply([], { then: [{ wait: 60_000 }] }));
    const stream = await client.responses.create({ model: "gpt-5-mini", input: "Hi", stream: true }, { headers: { "x-stream-id": "resp-early-stop-2" } });
    const reading = readWithClient(stream);
    await eventually(() => setup().upstream().requests.length === 2, "the second upstream request");
    await fetch(`${setup().baseURL()}/streams/resp-early-stop-2/stop`, { method: "POST" });
    const read = await reading;
    expect(read.error).toBeUndefined();
    expect(read.events.map((event) => event.type)).toEqual(["response.created", "response.incomplete"]);
    const opened = read.events[0];
    expect(opened?.type === "response.created" ? [opened.response.id.slice(0, 5), opened.response.model] : []).toEqual(["resp_", "gpt-5-mini"]);
  });

  it("carries an upstream error mid-stream to the openai client after the events before it, with the server's message", async () => {
    const events = responseEvents(["Hello", " there"], { end: null });
    setup().upstream().reply({ body: [...responsesReply(events).body ?? [], upstreamError("The model crashed mid-answer")] });
    const client = new OpenAI({ baseURL: setup().baseURL(), apiKey: "none", maxRetries: 0 });
    const { data: stream, response } = await client.responses.create({ model: "gpt-5-mini", input: "Hi", stream: true }).withResponse();
    const read = await readWithClient(stream);
    expect(read.events).toEqual(events);
    expect(read.error).toBeInstanceOf(APIError);
    expect(read.error instanceof Error ? read.error.message : "").toContain("The model crashed mid-answer");
    // Read back from the store, the same error reaches fromResponsesEventStream as a StreamErrorFrameError.
    const seen: ResponseStreamEvent[] = [];
    const failure = await new Promise<unknown>((resolve) =>
      fromResponsesEventStream(`${setup().baseURL()}/streams/${response.headers.get("x-stream-id") ?? ""}`).subscribe({ next: (event) => seen.push(event), error: resolve, complete: () => resolve(undefined) }),
    );
    expect(seen).toEqual(events);
    expect(failure).toBeInstanceOf(StreamErrorFrameError);
    expect(failure instanceof Error ? failure.message : "").toContain("The model crashed mid-answer");
  });

  it("passes a response.failed on as OpenAI sends it: the openai client gets it as the last event, and fromResponsesEventStream errors with its message", async () => {
    const events = responseEvents(["Hel"], { end: "failed" });
    setup().upstream().reply(responsesReply(events));
    const client = new OpenAI({ baseURL: setup().baseURL(), apiKey: "none", maxRetries: 0 });
    const { data: stream, response } = await client.responses.create({ model: "gpt-5-mini", input: "Hi", stream: true }).withResponse();
    expect(await readWithClient(stream)).toEqual({ events, error: undefined });
    const replayed = await readNamed(await fetch(`${setup().baseURL()}/streams/${response.headers.get("x-stream-id") ?? ""}`));
    expect(named(replayed)).toEqual(asFrames(events));
    const failure = await firstValueFrom(fromResponsesEventStream(`${setup().baseURL()}/streams/${response.headers.get("x-stream-id") ?? ""}`).pipe(toArray())).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StreamErrorFrameError);
  });
}

describe("the relay carries Responses API streams (memory store)", () => {
  let upstream: TestServer;
  let relay: RelayServer;
  beforeEach(async () => {
    upstream = await startTestServer();
    relay = await startRelayServer({ upstream: upstream.baseURL });
  });
  afterEach(async () => {
    await relay.close();
    await upstream.close();
  });

  relaysResponses(() => ({ baseURL: () => relay.baseURL, upstream: () => upstream }));

  it("serves the openai client's responses.stream(): its finalResponse() is the whole answer, and after a stop the incomplete one so far", async () => {
    const client = new OpenAI({ baseURL: relay.baseURL, apiKey: "none", maxRetries: 0 });
    upstream.reply(responsesReply(EVENTS));
    const whole = await client.responses.stream({ model: "gpt-5-mini", input: "Hi" }).finalResponse();
    expect(whole).toMatchObject({ status: "completed", output_text: FULL });

    upstream.reply(responsesReply(responseEvents(["Hello", " there"], { end: null }), { then: [{ wait: 60_000 }] }));
    const stream = client.responses.stream({ model: "gpt-5-mini", input: "Hi" }, { headers: { "x-stream-id": "helper-stop" } });
    let text = "";
    stream.on("response.output_text.delta", (event) => {
      text += event.delta;
      if (text === "Hello there") void fetch(`${relay.baseURL}/streams/helper-stop/stop`, { method: "POST" });
    });
    const final = await stream.finalResponse();
    // The client's accumulator takes the response of the relay's response.incomplete as the final one.
    expect(final).toMatchObject({ id: "resp_test", status: "incomplete", incomplete_details: { reason: "stopped" }, output_text: "Hello there" });
    expect(final.output[0]).toMatchObject({ type: "message", content: [{ type: "output_text", text: "Hello there" }] });
  });

  it("passes a Responses request without stream: true through, and refuses a ?format other than ui-message and a body that is not a JSON object", async () => {
    const whole = { id: "resp_whole", object: "response", status: "completed", output: [] };
    upstream.reply({ headers: { "content-type": "application/json" }, body: [JSON.stringify(whole)] });
    const passed = await fetch(`${relay.baseURL}/responses`, { method: "POST", headers: { "content-type": "application/json" }, body: responsesBody({ stream: false }) });
    expect(await passed.json()).toEqual(whole);
    const formatted = await fetch(`${relay.baseURL}/responses?format=openai`, { method: "POST", body: responsesBody() });
    expect(formatted.status).toBe(400);
    expect(await formatted.text()).toContain("use responses or ui-message");
    const notObject = await fetch(`${relay.baseURL}/responses`, { method: "POST", body: "[1]" });
    expect(notObject.status).toBe(400);
    expect(await notObject.text()).toContain("Responses API request");
    expect((await fetch(`${relay.baseURL}/responses`)).status).toBe(405);
    // A page on this machine may call it from a browser (the CORS preflight), as for chat.
    const preflight = await fetch(`${relay.baseURL}/responses`, { method: "OPTIONS", headers: { origin: "http://localhost:5173", "access-control-request-method": "POST", "access-control-request-headers": "content-type" } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
  });
});

describe("the relay's own ends of a Responses stream", () => {
  let upstream: TestServer;
  let relay: RelayServer | undefined;
  beforeEach(async () => {
    upstream = await startTestServer();
  });
  afterEach(async () => {
    await relay?.close();
    await upstream.close();
  });

  it("a stalled upstream ends it with an event: error frame (upstream-stalled) the openai client raises with the relay's message", async () => {
    relay = await startRelayServer({ upstream: upstream.baseURL, upstreamTimeout: { idle: 300 } });
    upstream.reply(responsesReply(responseEvents(["Hello"], { end: null }), { then: [{ wait: 60_000 }] }));
    const client = new OpenAI({ baseURL: relay.baseURL, apiKey: "none", maxRetries: 0 });
    const { data: stream, response } = await client.responses.create({ model: "gpt-5-mini", input: "Hi", stream: true }).withResponse();
    const read = await readWithClient(stream);
    expect(textOf(read.events)).toBe("Hello");
    expect(read.error).toBeInstanceOf(APIError);
    expect(read.error instanceof Error ? read.error.message : "").toContain("The upstream stalled: no chunk for 300 ms");
    const frames = await readNamed(await fetch(`${relay.baseURL}/streams/${response.headers.get("x-stream-id") ?? ""}`));
    const last = frames.at(-1);
    expect(last?.event).toBe("error");
    expect(JSON.parse(last?.data ?? "{}")).toMatchObject({ type: "error", code: "upstream-stalled", error: { type: "relay_error", code: "upstream-stalled" } });
  });

  it("a stream past maxStreamLength is cut with an event: error frame (too-large) after the events before it", async () => {
    relay = await startRelayServer({ upstream: upstream.baseURL, maxStreamLength: 2000 });
    upstream.reply(responsesReply(responseEvents(Array.from({ length: 40 }, () => "word "))));
    const events: ResponseStreamEvent[] = [];
    const failure = await new Promise<unknown>((resolve) =>
      fromResponsesEventStream(`${relay?.baseURL ?? ""}/responses`, { method: "POST", headers: { "content-type": "application/json" }, body: responsesBody() }).subscribe({
        next: (event) => events.push(event),
        error: resolve,
        complete: () => resolve(undefined),
      }),
    );
    expect(events.length).toBeGreaterThan(0);
    expect(failure).toBeInstanceOf(StreamErrorFrameError);
    expect(failure instanceof StreamErrorFrameError ? failure.error : undefined).toMatchObject({ code: "too-large" });
  });

  it("shutdown ends a live Responses stream with an event: error frame (shutdown)", async () => {
    const server = await startRelayServer({ upstream: upstream.baseURL });
    relay = undefined;
    upstream.reply(responsesReply(responseEvents(["Hello"], { end: null }), { then: [{ wait: 60_000 }] }));
    const response = await fetch(`${server.baseURL}/responses`, { method: "POST", headers: { "content-type": "application/json" }, body: responsesBody() });
    const reading = readNamed(response);
    await eventually(() => upstream.requests.length === 1, "the upstream request");
    await server.close();
    const last = (await reading).at(-1);
    expect(last?.event).toBe("error");
    expect(JSON.parse(last?.data ?? "{}")).toMatchObject({ type: "error", code: "shutdown" });
  });
});

describe("Relay.start with a Responses source", () => {
  let upstream: TestServer;
  beforeEach(async () => {
    upstream = await startTestServer();
  });
  afterEach(async () => {
    await upstream.close();
  });

  it("stores fromResponses' events and replays them with their names; a chat source in a Responses stream ends it with an error saying so", async () => {
    upstream.reply(responsesReply(EVENTS));
    const relay = new Relay();
    const client = new OpenAI({ baseURL: upstream.baseURL, apiKey: "none", maxRetries: 0 });
    const id = await relay.start(fromResponses(client, { model: "gpt-5-mini", input: "Hi" }), { format: "responses" });
    const frames = await firstValueFrom(relay.read(id).pipe(toArray()));
    expect(frames.map((frame) => frame.frame)).toEqual(EVENTS.map((event) => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`));
    expect(await relay.info(id)).toMatchObject({ format: "responses", status: "done" });

    // A JavaScript caller (no types to stop it) may pass chat chunks as a Responses stream: the relay says so in the stream's own format.
    const chunks: unknown[] = textChunks(["Hi"]);
    const mixed = await relay.start(new Observable<ResponseStreamEvent>((subscriber) => chunks.filter(passedAsEvent).forEach((chunk) => subscriber.next(chunk))), { format: "responses" });
    const ended = await firstValueFrom(relay.read(mixed).pipe(toArray()));
    expect(ended.map((frame) => frame.frame)).toEqual([expect.stringMatching(/^event: error\ndata: .*A chat-completion chunk came in a Responses stream/)]);

    // And the other way: Responses events started as a chat stream (no format) end it with a chat error frame naming the option.
    const events: unknown[] = EVENTS;
    const chat = await relay.start(new Observable<ChatCompletionChunk>((subscriber) => events.filter(passedAsChunk).forEach((event) => subscriber.next(event))));
    const chatEnd = await firstValueFrom(relay.read(chat).pipe(toArray()));
    expect(chatEnd.map((frame) => frame.frame)).toEqual([expect.stringMatching(/^data: \{"error":\{"message":"A Responses API event \(response.created\) came in a chat-completion stream: start a Responses stream with \{ format: \\"responses\\" \}"/)]);
    await relay.close();
  });

  it("streams Responses events as the UI message stream with { format: \"ui-message\" }, a chat chunk after them ending it with an error part saying so", async () => {
    const relay = new Relay();
    const events = responseEvents(["Hi"]);
    const chunks: unknown[] = textChunks(["!"]);
    const id = await relay.start(new Observable<ResponseStreamEvent>((subscriber) => {
      events.forEach((event) => subscriber.next(event));
      chunks.filter(passedAsEvent).forEach((chunk) => subscriber.next(chunk));
      subscriber.complete();
    }), { format: "ui-message" });
    const frames = (await firstValueFrom(relay.read(id).pipe(toArray()))).map((frame) => frame.frame);
    const parts = frames.filter((frame) => frame.startsWith("data: {")).map((frame): unknown => JSON.parse(frame.slice("data: ".length)));
    expect(parts).toEqual([
      { type: "start", messageId: "resp_test" },
      { type: "start-step" },
      { type: "text-start", id: "msg_test" },
      { type: "text-delta", id: "msg_test", delta: "Hi" },
      { type: "text-end", id: "msg_test" },
      { type: "error", errorText: "A chat-completion chunk came in a Responses stream" },
    ]);
    expect(frames.filter((frame) => frame !== "").at(-1)).toBe("data: [DONE]\n\n");
    expect(await relay.info(id)).toMatchObject({ format: "ui-message" });
    await relay.close();
  });

  it("fromResponsesEventStream errors with IncompleteStreamError on a body cut short, as fromResponses does", async () => {
    upstream.reply(responsesReply(responseEvents(["Hi"], { end: null })));
    const error = await firstValueFrom(fromResponsesEventStream(`${upstream.baseURL}/responses`, { method: "POST", body: responsesBody() }).pipe(toArray())).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IncompleteStreamError);
  });
});

describe("createRelayFetchHandler carries Responses streams", () => {
  let upstream: TestServer;
  beforeEach(async () => {
    upstream = await startTestServer();
  });
  afterEach(async () => {
    await upstream.close();
  });

  it("starts a Responses stream, resumes it after Last-Event-ID and stops one, as the Node handler does", async () => {
    upstream.reply(responsesReply(EVENTS, { delayMs: 20 }));
    const client = new OpenAI({ baseURL: upstream.baseURL, apiKey: "none", maxRetries: 0 });
    const relay = new Relay();
    const handle = createRelayFetchHandler({ relay, upstream: client });
    const started = await handle(new Request("http://relay.test/v1/responses", { method: "POST", headers: { "x-stream-id": "web-resp" }, body: responsesBody() }));
    expect(started.headers.get("x-stream-id")).toBe("web-resp");
    const before = await readNamed(started, 3);
    const resumed = await handle(new Request("http://relay.test/v1/streams/web-resp", { headers: { "last-event-id": "3" } }));
    const after = await readNamed(resumed);
    expect(named([...before, ...after])).toEqual(asFrames(EVENTS));
    expect(upstream.requests).toHaveLength(1);

    upstream.reply(responsesReply(responseEvents(["Hello"], { end: null }), { then: [{ wait: 60_000 }] }));
    const live = await handle(new Request("http://relay.test/v1/responses", { method: "POST", headers: { "x-stream-id": "web-stop" }, body: responsesBody() }));
    const reading = firstValueFrom(fromResponsesEventStream(live).pipe(toArray()));
    await eventually(() => upstream.requests.length === 2, "the second upstream request");
    await eventually(async () => (await relay.info("web-stop"))?.frames === 5, "the first events");
    expect(await (await handle(new Request("http://relay.test/v1/streams/web-stop/stop", { method: "POST" }))).json()).toEqual({ id: "web-stop", stopped: true });
    const read = await reading;
    expect(read.at(-1)).toMatchObject({ type: "response.incomplete", response: { status: "incomplete", incomplete_details: { reason: "stopped" } } });
    expect(read.slice(0, -1)).toEqual(responseEvents(["Hello"], { end: null }));

    // An upstream client without a Responses API: the route is not there, preflight included.
    const chatOnly = createRelayFetchHandler({ relay, upstream: { chat: client.chat } });
    expect((await chatOnly(new Request("http://relay.test/v1/responses", { method: "POST", body: responsesBody() }))).status).toBe(404);
    expect((await chatOnly(new Request("http://relay.test/v1/responses", { method: "OPTIONS", headers: { origin: "http://localhost:5173", "access-control-request-method": "POST" } }))).status).toBe(404);
    await relay.close();
  });
});

describe.runIf(redisServerAvailable())("the relay carries Responses API streams (real redis-server)", () => {
  let redis: TestRedis;
  let upstream: TestServer;
  let relay: RelayServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });
  beforeEach(async () => {
    upstream = await startTestServer();
    relay = await startRelayServer({ upstream: upstream.baseURL, redis: redis.url });
  });
  afterEach(async () => {
    await relay.close();
    await upstream.close();
  });

  relaysResponses(() => ({ baseURL: () => relay.baseURL, upstream: () => upstream }));
});

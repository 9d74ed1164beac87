import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { NEVER, type Observable, concat, of, switchMap, timer } from "rxjs";
import { describe, expect, it } from "vitest";
import { DEFAULT_UPSTREAM_TIMEOUT, DONE_EVENT, MemoryRelayStore, Relay, RelayCapacityError, StreamExistsError, UnknownStreamError, serverSentEvent, streamTimeout } from "g4f-rx";
import { contentChunk } from "../support/chunks.js";
import { marbles } from "../support/marbles.js";

const chunks = { a: contentChunk("Hel"), b: contentChunk("lo"), c: contentChunk("!") };
/** The relay's frame for a chunk or text, numbered. */
const frame = (id: number, data: unknown): { id: number; frame: string } => ({ id, frame: typeof data === "string" && data.startsWith("data: ") ? data : serverSentEvent(data) });
const frames = {
  x: frame(1, chunks.a),
  y: frame(2, chunks.b),
  z: frame(3, chunks.c),
  d: frame(4, DONE_EVENT),
};

describe("Relay (the resume logic, in virtual time over the memory store)", () => {
  it("numbers every frame from 1 and ends a reader from the start after [DONE]", marbles((m) => {
    const relay = new Relay();
    const source = m.cold("-a-b-c|", chunks);
    void relay.start(source, { id: "s1" });
    m.expect(relay.read("s1")).toBeObservable("-x-y-z(d|)", frames);
    m.expect(source).toHaveSubscriptions("^-----!");
  }));

  it("gives a reader who joins late with Last-Event-ID exactly the frames it missed at once, then the live ones", marbles((m) => {
    const relay = new Relay();
    const source = m.cold("-a-b-c|", chunks);
    void relay.start(source, { id: "s1" });
    // Joins at 4 having seen frame 1: frame 2 (sent at 3) comes at once, frame 3 when it is made.
    const late = timer(4).pipe(switchMap(() => relay.read("s1", { after: 1 })));
    m.expect(late).toBeObservable("----yz(d|)", frames);
    m.expect(source).toHaveSubscriptions("^-----!");
  }));

  it("lets several readers share one generation, with one upstream subscription", marbles((m) => {
    const relay = new Relay();
    const source = m.cold("-a-b-c|", chunks);
    void relay.start(source, { id: "s1" });
    m.expect(relay.read("s1")).toBeObservable("-x-y-z(d|)", frames);
    m.expect(timer(2).pipe(switchMap(() => relay.read("s1")))).toBeObservable("--xy-z(d|)", frames);
    m.expect(timer(8).pipe(switchMap(() => relay.read("s1", { after: 2 })))).toBeObservable("--------(zd|)", frames);
    m.expect(source).toHaveSubscriptions("^-----!");
  }));

  it("keeps generating when a reader leaves: a disconnect is not a stop", marbles((m) => {
    const relay = new Relay();
    const source = m.cold("-a-b-c|", chunks);
    void relay.start(source, { id: "s1" });
    m.expect(relay.read("s1"), "^-!").toBeObservable("-x-", frames);
    m.expect(timer(7).pipe(switchMap(() => relay.read("s1", { after: 3 })))).toBeObservable("-------(d|)", frames);
    m.expect(source).toHaveSubscriptions("^-----!");
  }));

  it("stops on request: the upstream is unsubscribed and readers see a clean end with the text so far", marbles((m) => {
    const relay = new Relay();
    const source = m.cold("-a-b-c|", chunks);
    void relay.start(source, { id: "s1" });
    m.scheduler.schedule(() => void relay.stop("s1"), 2);
    m.expect(relay.read("s1")).toBeObservable("-x(D|)", { ...frames, D: frame(2, DONE_EVENT) });
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("turns an upstream error into an error frame, after the frames before it", marbles((m) => {
    const relay = new Relay();
    const source = m.cold("-a-#", chunks, new Error("upstream broke"));
    void relay.start(source, { id: "s1" });
    m.expect(relay.read("s1")).toBeObservable("-x-(e|)", { ...frames, e: frame(2, { error: { message: "upstream broke", type: "server_error" } }) });
    m.expect(source).toHaveSubscriptions("^--!");
  }));

  it("relays an empty answer as [DONE] alone", marbles((m) => {
    const relay = new Relay();
    const source = m.cold("---|", chunks);
    void relay.start(source, { id: "s1" });
    m.expect(relay.read("s1")).toBeObservable("---(D|)", { D: frame(1, DONE_EVENT) });
    m.expect(source).toHaveSubscriptions("^--!");
  }));

  it("keeps readers of a never-ending answer waiting, without ending anything, with upstreamTimeout: false", marbles((m) => {
    const relay = new Relay({ upstreamTimeout: false });
    const source = m.cold("-a-", chunks);
    void relay.start(source, { id: "s1" });
    m.expect(relay.read("s1")).toBeObservable("-x-", frames);
    m.expect(source).toHaveSubscriptions("^--");
  }));

  it("cuts a live stream that passes its cap, with a clear error frame, and unsubscribes its upstream", marbles((m) => {
    const relay = new Relay({ maxStreamLength: frames.x.frame.length + frames.y.frame.length });
    const source = m.cold("-a-b-c|", chunks);
    void relay.start(source, { id: "s1" });
    const cut = frame(3, { error: { message: "The stream passed the relay's limit of " + String(frames.x.frame.length + frames.y.frame.length) + " characters, so it was cut", type: "relay_error", code: "too-large" } });
    m.expect(relay.read("s1")).toBeObservable("-x-y-(e|)", { ...frames, e: cut });
    m.expect(source).toHaveSubscriptions("^----!");
  }));

  it("errors a reader of an unknown stream with UnknownStreamError", marbles((m) => {
    const relay = new Relay();
    m.expect(relay.read("nope")).toBeObservable("#", undefined, new UnknownStreamError("nope"));
  }));

  it("streams the AI SDK's UI message protocol when asked, ending the same way on stop", marbles((m) => {
    const relay = new Relay();
    const source = m.cold("-a--------b|", chunks);
    void relay.start(source, { id: "s1", format: "ui-message" });
    // A group occupies as many frames as its characters: the stop at 8 lands right after "(pqrs)".
    m.scheduler.schedule(() => void relay.stop("s1"), 8);
    const part = (id: number, value: object): { id: number; frame: string } => frame(id, value);
    m.expect(relay.read("s1")).toBeObservable("-(pqrs)-(tuvw|)", {
      p: part(1, { type: "start", messageId: "chatcmpl-1" }),
      q: part(2, { type: "start-step" }),
      r: part(3, { type: "text-start", id: "text-0" }),
      s: part(4, { type: "text-delta", id: "text-0", delta: "Hel" }),
      t: part(5, { type: "text-end", id: "text-0" }),
      u: part(6, { type: "finish-step" }),
      v: part(7, { type: "finish" }),
      w: frame(8, DONE_EVENT),
    });
    m.expect(source).toHaveSubscriptions("^-------!");
  }));
});

/** The error frame a reader gets when the upstream stalled, numbered. */
const stalled = (id: number, silence: string): { id: number; frame: string } =>
  frame(id, { error: { message: `The upstream stalled: ${silence}, so the relay aborted its request`, type: "relay_error", code: "upstream-stalled" } });

describe("Relay's upstreamTimeout: an upstream that stalls ends its stream (virtual time, memory store)", () => {
  it("gives up by default after 5 minutes of silence mid-answer: the frames before stay, then an error frame, then the end", marbles((m) => {
    expect(DEFAULT_UPSTREAM_TIMEOUT).toEqual({ first: 600_000, idle: 300_000 });
    const store = new MemoryRelayStore();
    const relay = new Relay({ store });
    const source = m.cold("-a-b-", chunks);
    void relay.start(source, { id: "s1" });
    // b comes at 3; 300,000 ms later the relay gives up.
    m.expect(relay.read("s1")).toBeObservable("-x-y 299999ms (e|)", { ...frames, e: stalled(3, "no chunk for 300000 ms after 2 chunks") });
    m.expect(source).toHaveSubscriptions("^-- 300000ms !");
    m.scheduler.schedule(() => expect(store.info("s1")).toMatchObject({ status: "failed", frames: 4 }), 300_010);
  }));

  it("gives up by default after 10 minutes without a first chunk", marbles((m) => {
    const relay = new Relay();
    const source = m.cold<ChatCompletionChunk>("-");
    void relay.start(source, { id: "s1" });
    m.expect(relay.read("s1")).toBeObservable("600000ms (e|)", { e: stalled(1, "no first chunk within 600000 ms") });
    m.expect(source).toHaveSubscriptions("^ 599999ms !");
  }));

  it("bounds the first chunk and the silence between chunks as given, and lets a stream within them run to its end", marbles((m) => {
    const relay = new Relay({ upstreamTimeout: { first: 4, idle: 2 } });
    const late = m.cold("-----a|", chunks);
    const stalling = m.cold("---a-b---c|", chunks);
    const healthy = m.cold("---a-b-c|", chunks);
    void relay.start(late, { id: "late" });
    void relay.start(stalling, { id: "stalling" });
    void relay.start(healthy, { id: "healthy" });
    m.expect(relay.read("late")).toBeObservable("----(e|)", { e: stalled(1, "no first chunk within 4 ms") });
    m.expect(late).toHaveSubscriptions("^---!");
    m.expect(relay.read("stalling")).toBeObservable("---x-y-(e|)", { ...frames, e: stalled(3, "no chunk for 2 ms after 2 chunks") });
    m.expect(stalling).toHaveSubscriptions("^------!");
    m.expect(relay.read("healthy")).toBeObservable("---x-y-z(d|)", frames);
    m.expect(healthy).toHaveSubscriptions("^-------!");
  }));

  it("tells a reader who resumes after the stall the same end, after the frames it missed", marbles((m) => {
    const relay = new Relay({ upstreamTimeout: { idle: 3 } });
    const source = m.cold("-a-b-----c|", chunks);
    void relay.start(source, { id: "s1" });
    const e = stalled(3, "no chunk for 3 ms after 2 chunks");
    m.expect(relay.read("s1")).toBeObservable("-x-y--(e|)", { ...frames, e });
    m.expect(timer(2).pipe(switchMap(() => relay.read("s1", { after: 1 })))).toBeObservable("---y--(e|)", { ...frames, e });
    m.expect(timer(9).pipe(switchMap(() => relay.read("s1", { after: 1 })))).toBeObservable("---------(ye|)", { ...frames, e });
    m.expect(source).toHaveSubscriptions("^-----!");
  }));

  it("does not count a stop as a stall: a stop before the limit ends the stream cleanly", marbles((m) => {
    const relay = new Relay({ upstreamTimeout: { idle: 3 } });
    const source = m.cold("-a------", chunks);
    void relay.start(source, { id: "s1" });
    m.scheduler.schedule(() => void relay.stop("s1"), 2);
    m.expect(relay.read("s1")).toBeObservable("-x(D|)", { ...frames, D: frame(2, DONE_EVENT) });
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("passes an upstream error before the limit on as it is", marbles((m) => {
    const relay = new Relay({ upstreamTimeout: { idle: 3 } });
    const source = m.cold("-a-#", chunks, new Error("upstream broke"));
    void relay.start(source, { id: "s1" });
    m.expect(relay.read("s1")).toBeObservable("-x-(e|)", { ...frames, e: frame(2, { error: { message: "upstream broke", type: "server_error" } }) });
    m.expect(source).toHaveSubscriptions("^--!");
  }));

  it("ends a UI message stream with its own error part and end", marbles((m) => {
    const relay = new Relay({ upstreamTimeout: { first: 2 } });
    const source = m.cold<ChatCompletionChunk>("-");
    void relay.start(source, { id: "s1", format: "ui-message" });
    m.expect(relay.read("s1")).toBeObservable("--(ed|)", {
      e: frame(1, { type: "error", errorText: "The upstream stalled: no first chunk within 2 ms, so the relay aborted its request" }),
      d: frame(2, DONE_EVENT),
    });
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("ends the stream the same way when the source's own streamTimeout runs out", marbles((m) => {
    const relay = new Relay({ upstreamTimeout: false });
    const source = m.cold("-a------", chunks);
    void relay.start(source.pipe(streamTimeout({ idle: 2 })), { id: "s1" });
    m.expect(relay.read("s1")).toBeObservable("-x-(e|)", { ...frames, e: stalled(2, "no chunk for 2 ms after 1 chunk") });
    m.expect(source).toHaveSubscriptions("^--!");
  }));

  it("refuses nonsense before anything starts", () => {
    expect(() => new Relay({ upstreamTimeout: { idle: 0 } })).toThrow("Relay: upstreamTimeout.idle must be a number of milliseconds above 0 up to 2147483647 (or upstreamTimeout: false for no limit), got 0");
    expect(() => new Relay({ upstreamTimeout: { first: 2 ** 31 } })).toThrow(/upstreamTimeout.first must be .* got 2147483648/);
    expect(() => new Relay({ upstreamTimeout: { first: Number.NaN } })).toThrow(TypeError);
    expect(() => new Relay({ upstreamTimeout: {} })).toThrow("Relay: upstreamTimeout needs first, idle or both (or upstreamTimeout: false for no limit)");
  });
});

describe("Relay.start and stop", () => {
  it("refuses a stream id in use, and a malformed one", async () => {
    const relay = new Relay();
    const source = contentChunkSource();
    await relay.start(source, { id: "taken" });
    await expect(relay.start(source, { id: "taken" })).rejects.toBeInstanceOf(StreamExistsError);
    await expect(relay.start(source, { id: "has space" })).rejects.toThrow(TypeError);
    await expect(relay.start(source, { id: "" })).rejects.toThrow(/1 to 128 letters/);
  });

  it("answers stop with false for an ended stream and rejects it for an unknown one", async () => {
    const relay = new Relay();
    const id = await relay.start(contentChunkSource());
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await expect(relay.stop(id)).resolves.toBe(false);
    await expect(relay.stop("unknown")).rejects.toBeInstanceOf(UnknownStreamError);
  });
});

describe("MemoryRelayStore", () => {
  it("gives a finished stream's frames back exactly, whole or after any frame, once it has compacted them", async () => {
    const store = new MemoryRelayStore();
    const relay = new Relay({ store });
    const id = await relay.start(of(contentChunk("Hel"), contentChunk("lo\nthere"), contentChunk("", 0, "stop")));
    const expected = [serverSentEvent(contentChunk("Hel")), serverSentEvent(contentChunk("lo\nthere")), serverSentEvent(contentChunk("", 0, "stop")), DONE_EVENT];
    const read = async (after: number): Promise<Array<{ id: number; frame: string }>> => {
      const frames: Array<{ id: number; frame: string }> = [];
      await new Promise<void>((resolve, reject) => relay.read(id, { after }).subscribe({ next: (frame) => frames.push({ ...frame }), error: reject, complete: resolve }));
      return frames;
    };
    expect(store.info(id)).toMatchObject({ status: "done", frames: expected.length + 1 });
    for (const after of [0, 1, 3, 4, 5]) {
      expect(await read(after)).toEqual(expected.slice(after).map((frame, index) => ({ id: after + index + 1, frame })));
    }
  });

  it("drops a finished stream after its time-to-live", async () => {
    const store = new MemoryRelayStore({ ttlMs: 20 });
    const relay = new Relay({ store });
    const id = await relay.start(contentChunkSource());
    expect(store.info(id)?.status).toBe("done");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(store.info(id)).toBeUndefined();
    expect(store.totalLength).toBe(0);
  });

  it("drops the oldest finished streams first when full, and refuses a new stream when live ones fill it", async () => {
    const store = new MemoryRelayStore({ maxTotalLength: 400 });
    const relay = new Relay({ store });
    const first = await relay.start(contentChunkSource(), { id: "first" });
    const second = await relay.start(contentChunkSource(), { id: "second" });
    expect(store.totalLength).toBeGreaterThanOrEqual(400);
    await relay.start(contentChunkSource(), { id: "third" });
    expect(store.info(first)).toBeUndefined();
    expect(store.info(second)?.status).toBe("done");

    const full = new MemoryRelayStore({ maxTotalLength: 10 });
    const live = new Relay({ store: full });
    await live.start(neverEnding(), { id: "live" });
    expect(full.totalLength).toBeGreaterThanOrEqual(10);
    await expect(live.start(neverEnding(), { id: "refused" })).rejects.toBeInstanceOf(RelayCapacityError);
    expect(full.info("live")?.status).toBe("live");
  });
});

/** A whole answer of about 250 characters of frames, synchronously. */
function contentChunkSource(): Observable<ChatCompletionChunk> {
  return of(contentChunk("x".repeat(100)));
}

/** An answer that sends one chunk and never ends. */
function neverEnding(): Observable<ChatCompletionChunk> {
  return concat(of(contentChunk("x".repeat(100))), NEVER);
}

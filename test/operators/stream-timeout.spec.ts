import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { TimeoutError, map } from "rxjs";
import { describe, expect, it } from "vitest";
import { StreamTimeoutError, streamTimeout } from "../../operators/index.js";
import { chunkWith, contentChunk } from "../support/chunks.js";
import { marbles } from "../support/marbles.js";

const values = {
  r: chunkWith([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]),
  a: contentChunk("Hel"),
  b: contentChunk("lo"),
  f: contentChunk(undefined, 0, "stop"),
};

/** A StreamTimeoutError as rxjs-marbles compares errors: by name and message. */
const timedOut = (message: string) => ({ name: "StreamTimeoutError", message });
const firstTimeout = (ms: number) => timedOut(`No chunk arrived within ${ms} ms`);
const idleTimeout = (ms: number, chunks: number, characters: number) =>
  timedOut(`The stream stalled: no chunk for ${ms} ms after ${chunks} chunks and ${characters} characters of text`);

describe("streamTimeout", () => {
  it("errors with phase \"first\" when no chunk arrives in time", marbles((m) => {
    const source = m.cold<ChatCompletionChunk>("  -");
    const expected = m.cold("----#", values, firstTimeout(4));
    m.expect(source.pipe(streamTimeout({ first: 4, idle: 2 }))).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^---!");
  }));

  it("errors with phase \"idle\" and the partial text when the stream stalls mid-answer", marbles((m) => {
    const source = m.cold("  r-a-b------|", values);
    const expected = m.cold("r-a-b--#", values, idleTimeout(3, 3, 5));
    m.expect(source.pipe(streamTimeout({ first: 10, idle: 3 }))).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^------!");
  }));

  it("allows a long first wait and a short idle one", marbles((m) => {
    const source = m.cold("  ------r-a-b-f|", values);
    m.expect(source.pipe(streamTimeout({ first: 8, idle: 2 }))).toBeObservable(m.cold("------r-a-b-f|", values));
    m.expect(source).toHaveSubscriptions("^------------!");
  }));

  it("bounds the first chunk by idle when first is not given, as timeout's each does", marbles((m) => {
    const source = m.cold("  -----r|", values);
    m.expect(source.pipe(streamTimeout({ idle: 3 }))).toBeObservable(m.cold("---#", values, firstTimeout(3)));
    m.expect(source).toHaveSubscriptions("^--!");
  }));

  it("bounds only the first chunk when idle is not given", marbles((m) => {
    const source = m.cold("  r 100ms a|", values);
    m.expect(source.pipe(streamTimeout({ first: 3 }))).toBeObservable(m.cold("r 100ms a|", values));
    m.expect(source).toHaveSubscriptions("^ 100ms -!");
  }));

  it("carries the phase, the limit, the partial text and the chunk count, and is an RxJS TimeoutError", marbles((m) => {
    const stalled = m.cold("r-a-b----", values);
    const silent = m.cold<ChatCompletionChunk>("-");
    const caught: unknown[] = [];
    stalled.pipe(streamTimeout({ first: 5, idle: 2 })).subscribe({ error: (error: unknown) => (caught[0] = error) });
    silent.pipe(streamTimeout({ first: 5, idle: 2 })).subscribe({ error: (error: unknown) => (caught[1] = error) });
    m.flush();
    expect(caught[0]).toBeInstanceOf(StreamTimeoutError);
    expect(caught[0]).toBeInstanceOf(TimeoutError);
    expect(caught[0]).toMatchObject({ phase: "idle", limitMs: 2, text: "Hello", chunks: 3, info: { seen: 3 } });
    expect(caught[1]).toMatchObject({ phase: "first", limitMs: 5, text: "", chunks: 0, info: { seen: 0 } });
    const stack = caught[1] instanceof Error ? caught[1].stack : undefined;
    expect(stack).toMatch(/^StreamTimeoutError: No chunk arrived within 5 ms\n/);
  }));

  it("completes without values on an empty source", marbles((m) => {
    const source = m.cold<ChatCompletionChunk>("  |");
    m.expect(source.pipe(streamTimeout({ first: 5, idle: 5 }))).toBeObservable("|");
    m.expect(source).toHaveSubscriptions("(^!)");
  }));

  it("passes an error through before any limit runs out", marbles((m) => {
    const failure = new Error("boom");
    const source = m.cold("  r-#", values, failure);
    m.expect(source.pipe(streamTimeout({ first: 5, idle: 5 }))).toBeObservable(m.cold("r-#", values, failure));
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("stops its timers when the subscriber leaves early", marbles((m) => {
    const source = m.cold("  r-a---------", values);
    const unsub = "          ---!";
    m.expect(source.pipe(streamTimeout({ idle: 4 })), unsub).toBeObservable(m.cold("r-a------", values));
    m.expect(source).toHaveSubscriptions("^--!");
  }));

  it("tracks the text of each subscription separately", marbles((m) => {
    const source = m.cold("  r-a---", values);
    const limited = source.pipe(streamTimeout({ idle: 2 }));
    m.expect(limited).toBeObservable(m.cold("r-a-#", values, idleTimeout(2, 2, 3)));
    m.expect(limited).toBeObservable(m.cold("r-a-#", values, idleTimeout(2, 2, 3)));
    m.expect(source).toHaveSubscriptions(["^---!", "^---!"]);
  }));

  it("errors when a callback downstream of it throws", marbles((m) => {
    const failure = new Error("callback failed");
    const source = m.cold("  r-a-|", values);
    const failing = source.pipe(
      streamTimeout({ idle: 5 }),
      map((chunk) => {
        if (chunk === values.a) throw failure;
        return chunk;
      }),
    );
    m.expect(failing).toBeObservable(m.cold("r-#", values, failure));
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("rejects nonsense options before anything subscribes", () => {
    expect(() => streamTimeout({})).toThrow(/first, idle or both/);
    expect(() => streamTimeout({ first: -1 })).toThrow(TypeError);
    expect(() => streamTimeout({ idle: Number.NaN })).toThrow(/idle/);
    // Past 2^31 − 1 ms a timer fires at once: a long wait must not become none.
    expect(() => streamTimeout({ idle: 2 ** 31 })).toThrow("streamTimeout: idle must be a number of milliseconds from 0 to 2147483647, got 2147483648");
    expect(() => streamTimeout({ first: 2 ** 31 - 1 })).not.toThrow();
  });
});

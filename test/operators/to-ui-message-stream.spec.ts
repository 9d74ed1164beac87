import { describe, expect, it } from "vitest";
import { toUIMessageStream } from "../../operators/index.js";
import { contentChunk } from "../support/chunks.js";
import { marbles } from "../support/marbles.js";
import { asChunk } from "../support/wire.js";

const parts = {
  S: { type: "start", messageId: "chatcmpl-1" },
  s: { type: "start" },
  p: { type: "start-step" },
  t: { type: "text-start", id: "text-0" },
  a: { type: "text-delta", id: "text-0", delta: "Hel" },
  b: { type: "text-delta", id: "text-0", delta: "lo" },
  e: { type: "text-end", id: "text-0" },
  q: { type: "finish-step" },
  f: { type: "finish" },
  F: { type: "finish", finishReason: "stop" },
} as const;

describe("toUIMessageStream", () => {
  it("opens the message on the first chunk, streams text deltas, and closes with the finish reason", marbles((m) => {
    // A group takes as many frames as it has characters, so the source leaves room for them.
    const source = m.cold("  -a------b-c-|", { a: contentChunk("Hel"), b: contentChunk("lo"), c: contentChunk(undefined, 0, "stop") });
    const subs = "           ^-----------!";
    m.expect(source.pipe(toUIMessageStream())).toBeObservable("-(Spta)-b---(eqF|)", parts);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("puts reasoning in its own part, closed when the text begins", marbles((m) => {
    const source = m.cold("  -r-----a----|", { r: asChunk({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { reasoning_content: "Hmm" }, finish_reason: null }] }), a: contentChunk("Hel") });
    m.expect(source.pipe(toUIMessageStream())).toBeObservable("-(SpRr)(Xta)(eqf|)", {
      ...parts,
      R: { type: "reasoning-start", id: "reasoning-0" },
      r: { type: "reasoning-delta", id: "reasoning-0", delta: "Hmm" },
      X: { type: "reasoning-end", id: "reasoning-0" },
      t: { type: "text-start", id: "text-1" },
      a: { type: "text-delta", id: "text-1", delta: "Hel" },
      e: { type: "text-end", id: "text-1" },
    });
    m.expect(source).toHaveSubscriptions("^-----------!");
  }));

  it("answers an empty source with a message that starts and finishes", marbles((m) => {
    const source = m.cold("  --|");
    m.expect(source.pipe(toUIMessageStream())).toBeObservable("--(spqf|)", parts);
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("emits nothing more for a source that never ends", marbles((m) => {
    const source = m.cold("  -a-", { a: contentChunk("Hel") });
    m.expect(source.pipe(toUIMessageStream())).toBeObservable("-(Spta)-", parts);
    m.expect(source).toHaveSubscriptions("^--");
  }));

  it("turns an error into one error part after the parts before it, then completes", marbles((m) => {
    const source = m.cold("  -a------#", { a: contentChunk("Hel") }, new Error("upstream broke"));
    m.expect(source.pipe(toUIMessageStream())).toBeObservable("-(Spta)-(eE|)", { ...parts, E: { type: "error", errorText: "upstream broke" } });
    m.expect(source).toHaveSubscriptions("^-------!");
  }));

  it("unsubscribes the source when unsubscribed early", marbles((m) => {
    const source = m.cold("  -a-b-|", { a: contentChunk("Hel"), b: contentChunk("lo") });
    m.expect(source.pipe(toUIMessageStream()), "^-!").toBeObservable("-(Spta)", parts);
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("reads the chosen choice, and rejects a bad one before anything subscribes", marbles((m) => {
    const source = m.cold("  -a------|", { a: contentChunk("Hel", 1) });
    m.expect(source.pipe(toUIMessageStream({ choice: 1 }))).toBeObservable("-(Spta)-(eqf|)", parts);
    m.expect(source).toHaveSubscriptions("^-------!");
    expect(() => toUIMessageStream({ choice: -1 })).toThrow(TypeError);
  }));
});

import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { defer, lastValueFrom, of, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { type ThinkingPart, thinkingParts } from "g4f-rx";
import { contentChunk } from "../support/chunks.js";
import { marbles } from "../support/marbles.js";
import { asChunk } from "../support/wire.js";

const reasoning = (fields: object): ChatCompletionChunk =>
  asChunk({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: fields, finish_reason: null }] });

describe("thinkingParts", () => {
  it("marks reasoning from either wire field and from <think> tags, in stream order", marbles((m) => {
    const values = {
      a: reasoning({ reasoning_content: "Count" }),
      b: reasoning({ reasoning: " r's." }),
      c: contentChunk("<think>Three.</think>"),
      d: contentChunk("3"),
    };
    const source = m.cold("  a-b-c-d-|", values);
    const subs = "           ^-------!";
    const expected = m.cold<ThinkingPart>("x-y-z-w-|", {
      x: { kind: "reasoning", text: "Count" },
      y: { kind: "reasoning", text: " r's." },
      z: { kind: "reasoning", text: "Three." },
      w: { kind: "content", text: "3" },
    });
    m.expect(thinkingParts(source)).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("completes empty for an empty stream, and never emits for a silent one", marbles((m) => {
    const empty = m.cold("  |");
    const never = m.cold("  -");
    m.expect(thinkingParts(empty)).toBeObservable(m.cold("|"));
    m.expect(empty).toHaveSubscriptions("(^!)");
    m.expect(thinkingParts(never), "^--!").toBeObservable(m.cold("----"));
    m.expect(never).toHaveSubscriptions("^--!");
  }));

  it("passes an error on after the parts before it", marbles((m) => {
    const error = new Error("cut off");
    const source = m.cold("  a-#", { a: contentChunk("Hi") }, error);
    const subs = "           ^-!";
    m.expect(thinkingParts(source)).toBeObservable(m.cold<ThinkingPart>("x-#", { x: { kind: "content", text: "Hi" } }, error));
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("subscribes a synchronous source once and keeps its order", async () => {
    let subscriptions = 0;
    const source = defer(() => {
      subscriptions += 1;
      return of(reasoning({ reasoning_content: "Think." }), contentChunk("Answer."));
    });
    const parts = await lastValueFrom(thinkingParts(source).pipe(toArray()));
    expect(parts).toEqual([
      { kind: "reasoning", text: "Think." },
      { kind: "content", text: "Answer." },
    ]);
    expect(subscriptions).toBe(1);
  });
});

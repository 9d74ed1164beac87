import type { ChatCompletionChunk, ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { type Observable, map } from "rxjs";
import { describe, expect, it } from "vitest";
import {
  CONTINUE_INSTRUCTION,
  type Continuation,
  PartialResponseError,
  fallback,
  streamTimeout,
  withContinuation,
} from "../../operators/index.js";
import { chunkWith, contentChunk } from "../support/chunks.js";
import { asChunk } from "../support/wire.js";
import { marbles } from "../support/marbles.js";

const values = {
  r: chunkWith([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]),
  a: contentChunk("Hel"),
  b: contentChunk("lo"),
  c: contentChunk(" there"),
  f: contentChunk(undefined, 0, "stop"),
};
/** Content a continuation cannot carry on: not choice 0's `delta.content` text. */
const notText = {
  "a tool-call delta": chunkWith([{ index: 0, delta: { tool_calls: [{ index: 0, id: "call_1", function: { name: "f", arguments: "{" } }] }, finish_reason: null }]),
  "a reasoning delta": asChunk({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { reasoning_content: "Hmm" }, finish_reason: null }] }),
  "a refusal delta": chunkWith([{ index: 0, delta: { refusal: "No" }, finish_reason: null }]),
  "text of choice 1": contentChunk("Bye", 1),
};
const first = new Error("g4f: connection refused");
const second = new Error("ollama: model not found");
const third = new Error("openai: 503");

/** A PartialResponseError as rxjs-marbles compares errors: by name and message. */
const partial = (characters: number, cause: Error, besidesText = false) => ({
  name: "PartialResponseError",
  message: `The answer broke off after ${characters} characters${besidesText ? " of text and other content (a tool call, reasoning, a refusal or another choice)" : ""}: ${cause.message}`,
});

describe("fallback", () => {
  it("streams the first source when it works, and never subscribes to the others", marbles((m) => {
    const s0 = m.cold("      r-a-b-f|", values);
    const s1 = m.cold<ChatCompletionChunk>("c|", values);
    m.expect(fallback([s0, s1])).toBeObservable(m.cold("r-a-b-f|", values));
    m.expect(s0).toHaveSubscriptions("^------!");
    m.expect(s1).toHaveSubscriptions([]);
  }));

  it("moves on to the next source when one fails before content", marbles((m) => {
    const s0 = m.cold("      r-#", values, first);
    const s1 = m.cold("        r-a-b|", values);
    const expected = m.cold("r-r-a-b|", values);
    m.expect(fallback([s0, s1])).toBeObservable(expected);
    m.expect(s0).toHaveSubscriptions("^-!");
    m.expect(s1).toHaveSubscriptions("--^----!");
  }));

  it("errors with the last source's error, untouched, when every source fails before content", marbles((m) => {
    const s0 = m.cold("      #", values, first);
    const s1 = m.cold("      -#", values, second);
    const s2 = m.cold("       -r-#", values, third);
    const expected = m.cold("--r-#", values, third);
    m.expect(fallback([s0, s1, s2])).toBeObservable(expected);
    m.expect(s0).toHaveSubscriptions("(^!)");
    m.expect(s1).toHaveSubscriptions("^!");
    m.expect(s2).toHaveSubscriptions("-^--!");
  }));

  it("never appends a second answer: after content, errors with PartialResponseError", marbles((m) => {
    const s0 = m.cold("      r-a-#", values, first);
    const s1 = m.cold<ChatCompletionChunk>("c|", values);
    m.expect(fallback([s0, s1])).toBeObservable(m.cold("r-a-#", values, partial(3, first)));
    m.expect(s0).toHaveSubscriptions("^---!");
    m.expect(s1).toHaveSubscriptions([]);
  }));

  it("puts the delivered text and the cause on the PartialResponseError", marbles((m) => {
    const s0 = m.cold("r-a-b-#", values, first);
    let caught: unknown;
    fallback([s0]).subscribe({ error: (error: unknown) => (caught = error) });
    m.flush();
    expect(caught).toBeInstanceOf(PartialResponseError);
    expect(caught).toMatchObject({ text: "Hello", cause: first });
  }));

  it("with resume, asks the next source to continue and emits only its new text", marbles((m) => {
    const continuations: Array<Continuation | undefined> = [];
    const s0 = m.cold("      r-a-b-#", values, first);
    const s1 = m.cold("            r-c-f|", values);
    const expected = m.cold("r-a-b-r-c-f|", values);
    const continuing = (continuation?: Continuation): Observable<ChatCompletionChunk> => {
      continuations.push(continuation);
      return s1;
    };
    m.expect(fallback([s0, continuing], { resume: true })).toBeObservable(expected);
    m.expect(s0).toHaveSubscriptions("^-----!");
    m.expect(s1).toHaveSubscriptions("------^----!");
    m.flush();
    expect(continuations).toStrictEqual([{ text: "Hello" }]);
  }));

  it("with resume, gives a source that fails before content an undefined continuation while nothing was delivered", marbles((m) => {
    const calls: Array<Continuation | undefined> = [];
    const s0 = m.cold("      r-#", values, first);
    const s1 = m.cold("        a|", values);
    const source = (stream: Observable<ChatCompletionChunk>) => (continuation?: Continuation) => {
      calls.push(continuation);
      return stream;
    };
    m.expect(fallback([source(s0), source(s1)], { resume: true })).toBeObservable(m.cold("r-a|", values));
    m.expect(s1).toHaveSubscriptions("--^!");
    m.flush();
    expect(calls).toStrictEqual([undefined, undefined]);
  }));

  it("with resume, moves past a continuing source that fails, keeping the text so far", marbles((m) => {
    const continuations: Array<Continuation | undefined> = [];
    const s0 = m.cold("      a-#", values, first);
    const s1 = m.cold("        #", values, second);
    const s2 = m.cold("        b|", values);
    const recorded = (stream: Observable<ChatCompletionChunk>) => (continuation?: Continuation) => {
      continuations.push(continuation);
      return stream;
    };
    m.expect(fallback([s0, recorded(s1), recorded(s2)], { resume: true })).toBeObservable(m.cold("a-b|", values));
    m.expect(s1).toHaveSubscriptions("--(^!)");
    m.expect(s2).toHaveSubscriptions("--^!");
    m.flush();
    expect(continuations).toStrictEqual([{ text: "Hel" }, { text: "Hel" }]);
  }));

  it("with resume, errors with PartialResponseError and all the text when the last source breaks off too", marbles((m) => {
    const s0 = m.cold("      a-#", values, first);
    const s1 = m.cold("        b-#", values, second);
    m.expect(fallback([s0, () => s1], { resume: true })).toBeObservable(m.cold("a-b-#", values, partial(5, second)));
    m.expect(s1).toHaveSubscriptions("--^-!");
  }));

  for (const [what, chunk] of Object.entries(notText)) {
    it(`with resume, errors with PartialResponseError, asking no source to continue, after ${what}`, marbles((m) => {
      const calls: Array<Continuation | undefined> = [];
      const s0 = m.cold("      a-x-#", { ...values, x: chunk }, first);
      const s1 = m.cold<ChatCompletionChunk>("c|", values);
      const continuing = (continuation?: Continuation): Observable<ChatCompletionChunk> => {
        calls.push(continuation);
        return s1;
      };
      const expected = m.cold("a-x-#", { ...values, x: chunk }, partial(3, first, true));
      m.expect(fallback([s0, continuing], { resume: true })).toBeObservable(expected);
      m.expect(s0).toHaveSubscriptions("^---!");
      m.expect(s1).toHaveSubscriptions([]);
      m.flush();
      expect(calls).toStrictEqual([]);
    }));
  }

  it("with resume, does not continue an answer whose only content was a tool call, and says more than 0 characters came", marbles((m) => {
    const withCall = { ...values, t: notText["a tool-call delta"] };
    const s0 = m.cold("      r-t-#", withCall, first);
    const s1 = m.cold<ChatCompletionChunk>("c|", values);
    const expected = m.cold("r-t-#", withCall, partial(0, first, true));
    m.expect(fallback([s0, () => s1], { resume: true })).toBeObservable(expected);
    m.expect(s0).toHaveSubscriptions("^---!");
    m.expect(s1).toHaveSubscriptions([]);
  }));

  it("with resume, stops resuming once a continuing source delivers more than text", marbles((m) => {
    const x = notText["a reasoning delta"];
    const s0 = m.cold("      a-#", values, first);
    const s1 = m.cold("        x-b-#", { ...values, x }, second);
    const s2 = m.cold<ChatCompletionChunk>("c|", values);
    const expected = m.cold("a-x-b-#", { ...values, x }, partial(5, second, true));
    m.expect(fallback([s0, () => s1, () => s2], { resume: true })).toBeObservable(expected);
    m.expect(s1).toHaveSubscriptions("--^---!");
    m.expect(s2).toHaveSubscriptions([]);
  }));

  it("reports each attempt to onAttempt with the source index and the previous error", marbles((m) => {
    const attempts: Array<[number, unknown]> = [];
    const s0 = m.cold("      #", values, first);
    const s1 = m.cold("      -#", values, second);
    const s2 = m.cold("       -a|", values);
    const onAttempt = (index: number, error: unknown): void => void attempts.push([index, error]);
    m.expect(fallback([s0, s1, s2], { onAttempt })).toBeObservable(m.cold("--a|", values));
    m.expect(s2).toHaveSubscriptions("-^-!");
    m.flush();
    expect(attempts).toStrictEqual([[0, undefined], [1, first], [2, second]]);
  }));

  it("errors, and subscribes to no further source, when onAttempt throws", marbles((m) => {
    const failure = new Error("onAttempt failed");
    const s0 = m.cold("      #", values, first);
    const s1 = m.cold<ChatCompletionChunk>("a|", values);
    const onAttempt = (index: number): void => {
      if (index === 1) throw failure;
    };
    m.expect(fallback([s0, s1], { onAttempt })).toBeObservable(m.cold("#", values, failure));
    m.expect(s0).toHaveSubscriptions("(^!)");
    m.expect(s1).toHaveSubscriptions([]);
  }));

  it("counts a source function that throws as a failed source", marbles((m) => {
    const s1 = m.cold("      a|", values);
    const broken = (): Observable<ChatCompletionChunk> => {
      throw first;
    };
    m.expect(fallback([broken, s1])).toBeObservable(m.cold("a|", values));
    m.expect(s1).toHaveSubscriptions("^!");
  }));

  it("completes on an empty source, which counts as a success", marbles((m) => {
    const s0 = m.cold<ChatCompletionChunk>("  |");
    const s1 = m.cold<ChatCompletionChunk>("  a|", values);
    m.expect(fallback([s0, s1])).toBeObservable("|");
    m.expect(s0).toHaveSubscriptions("(^!)");
    m.expect(s1).toHaveSubscriptions([]);
  }));

  it("never emits on a source that never emits, unless a timeout makes it a failure", marbles((m) => {
    const silent = m.cold<ChatCompletionChunk>("-");
    const s1 = m.cold<ChatCompletionChunk>("    a|", values);
    m.expect(fallback([silent, s1])).toBeObservable("-");
    m.expect(silent).toHaveSubscriptions("^");
    m.expect(s1).toHaveSubscriptions([]);
  }));

  it("moves on from a stalled source cut by a timeout, unsubscribing from it first", marbles((m) => {
    const stalled = m.cold<ChatCompletionChunk>("-");
    const s1 = m.cold("         a|", values);
    const expected = m.cold("---a|", values);
    m.expect(fallback([stalled.pipe(streamTimeout({ first: 3 })), s1])).toBeObservable(expected);
    // For fromChatCompletion, this unsubscription is what aborts the stalled request.
    m.expect(stalled).toHaveSubscriptions("^--!");
    m.expect(s1).toHaveSubscriptions("     ---^!");
  }));

  it("unsubscribes from the current source when the subscriber leaves early", marbles((m) => {
    const s0 = m.cold("      #", values, first);
    const s1 = m.cold("      a-b-c|", values);
    const unsub = "          ---!";
    m.expect(fallback([s0, s1]), unsub).toBeObservable(m.cold("a-b", values));
    m.expect(s1).toHaveSubscriptions("^--!");
  }));

  it("starts from the first source again for each subscription", marbles((m) => {
    const s0 = m.cold("      -#", values, first);
    const s1 = m.cold("       a|", values);
    const stream = fallback([s0, s1]);
    m.expect(stream).toBeObservable(m.cold("-a|", values));
    m.expect(stream).toBeObservable(m.cold("-a|", values));
    m.expect(s0).toHaveSubscriptions(["^!", "^!"]);
    m.expect(s1).toHaveSubscriptions(["-^!", "-^!"]);
  }));

  it("errors when a callback downstream of it throws, without trying another source", marbles((m) => {
    const failure = new Error("callback failed");
    const s0 = m.cold("      r-a-|", values);
    const s1 = m.cold<ChatCompletionChunk>("c|", values);
    const failing = fallback([s0, s1]).pipe(
      map((chunk) => {
        if (chunk === values.a) throw failure;
        return chunk;
      }),
    );
    m.expect(failing).toBeObservable(m.cold("r-#", values, failure));
    m.expect(s0).toHaveSubscriptions("^-!");
    m.expect(s1).toHaveSubscriptions([]);
  }));

  it("rejects nonsense before anything subscribes", marbles((m) => {
    const s0 = m.cold<ChatCompletionChunk>("a|", values);
    expect(() => fallback([])).toThrow(/non-empty/);
    // With resume, a later source must be able to take the continuation.
    expect(() => fallback([s0, s0], { resume: true })).toThrow(/source 1 must be a function/);
    // Values the types already forbid, as plain JavaScript could pass them.
    expect(() => {
      Reflect.apply(fallback, undefined, [[s0, "not a source"]]);
    }).toThrow(/source 1 is neither/);
    expect(() => {
      Reflect.apply(fallback, undefined, [[s0], { onAttempt: 42 }]);
    }).toThrow(/onAttempt/);
    m.expect(s0).toHaveSubscriptions([]);
  }));
});

describe("withContinuation", () => {
  const messages: ChatCompletionMessageParam[] = [{ role: "user", content: "Count to five" }];

  it("adds the partial answer as an assistant message and asks to continue", () => {
    expect(withContinuation(messages, { text: "1, 2, 3" })).toStrictEqual([
      { role: "user", content: "Count to five" },
      { role: "assistant", content: "1, 2, 3" },
      { role: "user", content: CONTINUE_INSTRUCTION },
    ]);
    expect(withContinuation(messages, { text: "1" }, "Go on.").at(-1)).toStrictEqual({ role: "user", content: "Go on." });
  });

  it("leaves the messages as they are without a continuation or without text", () => {
    expect(withContinuation(messages, undefined)).toStrictEqual(messages);
    expect(withContinuation(messages, { text: "" })).toStrictEqual(messages);
    expect(withContinuation(messages, undefined)).not.toBe(messages);
  });
});

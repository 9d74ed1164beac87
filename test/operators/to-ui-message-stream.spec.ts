import { describe, expect, it } from "vitest";
import { last, map } from "rxjs";
import { ToolCallArgumentsError, accumulateMessage, toUIMessageStream } from "../../operators/index.js";
import { chunkWith, contentChunk } from "../support/chunks.js";
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

  it("takes the messageId from the first chunk with an id, after Azure's prompt-filter chunk with an empty one", marbles((m) => {
    const promptFilter = asChunk({ id: "", object: "", created: 0, model: "", choices: [], prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }] });
    const source = m.cold("  -z-a------b-c-|", { z: promptFilter, a: contentChunk("Hel"), b: contentChunk("lo"), c: contentChunk(undefined, 0, "stop") });
    m.expect(source.pipe(toUIMessageStream())).toBeObservable("---(Spta)-b---(eqF|)", parts);
    m.expect(source).toHaveSubscriptions("^-------------!");
  }));

  it("opens the message without a messageId when text comes before any id", marbles((m) => {
    const source = m.cold("  -a------b-|", { a: chunkWith([{ index: 0, delta: { content: "Hel" }, finish_reason: null }], { id: "" }), b: contentChunk("lo") });
    m.expect(source.pipe(toUIMessageStream())).toBeObservable("-(spta)-b-(eqf|)", parts);
    m.expect(source).toHaveSubscriptions("^---------!");
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

  describe("tool calls", () => {
    /** The message of `toolCalls`' own error for these arguments. */
    const argumentsError = (name: string, id: string, raw: string): string => {
      try {
        JSON.parse(raw);
      } catch (cause) {
        return new ToolCallArgumentsError(name, id, raw, { cause }).message;
      }
      throw new Error(`${raw} is valid JSON`);
    };
    const call = (toolCalls: unknown[], finishReason: "tool_calls" | null = null) =>
      asChunk({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { tool_calls: toolCalls }, finish_reason: finishReason }] });
    const tools = {
      ...parts,
      T: { type: "finish", finishReason: "tool-calls" },
      w: { type: "tool-input-start", toolCallId: "call_w", toolName: "weather" },
      x: { type: "tool-input-delta", toolCallId: "call_w", inputTextDelta: '{"city":' },
      y: { type: "tool-input-delta", toolCallId: "call_w", inputTextDelta: '"Paris"}' },
      W: { type: "tool-input-available", toolCallId: "call_w", toolName: "weather", input: { city: "Paris" } },
      k: { type: "tool-input-start", toolCallId: "call_k", toolName: "clock" },
      K: { type: "tool-input-available", toolCallId: "call_k", toolName: "clock", input: {} },
    } as const;

    it("streams a call's argument pieces and gives its input, parsed, when the choice finishes", marbles((m) => {
      const source = m.cold("  -a-----b-----c------|", {
        a: call([{ index: 0, id: "call_w", type: "function", function: { name: "weather", arguments: '{"city":' } }]),
        b: call([{ index: 0, function: { arguments: '"Paris"}' } }]),
        c: chunkWith([{ index: 0, delta: {}, finish_reason: "tool_calls" }]),
      });
      m.expect(source.pipe(toUIMessageStream())).toBeObservable("-(Spwx)y-----W------(qT|)", tools);
      m.expect(source).toHaveSubscriptions("^" + "-".repeat(19) + "!");
    }));

    it("completes a call when the next begins, closing the text before it", marbles((m) => {
      const source = m.cold("  -a------b-----c-----|", {
        a: contentChunk("Hel"),
        b: call([{ index: 0, id: "call_k", type: "function", function: { name: "clock", arguments: "{}" } }]),
        c: call([{ index: 1, id: "call_w", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } }]),
      });
      m.expect(source.pipe(toUIMessageStream())).toBeObservable("-(Spta)-(ekv)-(Kwz)-(Wqf|)", {
        ...tools,
        v: { type: "tool-input-delta", toolCallId: "call_k", inputTextDelta: "{}" },
        z: { type: "tool-input-delta", toolCallId: "call_w", inputTextDelta: '{"city":"Paris"}' },
      });
      m.expect(source).toHaveSubscriptions("^" + "-".repeat(19) + "!");
    }));

    it("keeps a call open while its arguments are empty or cut off, as some servers interleave parallel calls, and parses none as {}", marbles((m) => {
      const source = m.cold("  -a------b-----c-----|", {
        a: call([{ index: 0, id: "call_k", type: "function", function: { name: "clock", arguments: "" } }]),
        b: call([{ index: 1, id: "call_w", type: "function", function: { name: "weather", arguments: '{"city":' } }]),
        c: call([{ index: 1, function: { arguments: '"Paris"}' } }]),
      });
      m.expect(source.pipe(toUIMessageStream())).toBeObservable("-(Spk)--(wx)--y-----(KWqf|)", tools);
      m.expect(source).toHaveSubscriptions("^" + "-".repeat(19) + "!");
    }));

    it("parses no arguments as {}", marbles((m) => {
      const source = m.cold("  -a------b----c-----|", {
        a: contentChunk("Hel"),
        b: call([{ index: 0, id: "call_k", type: "function", function: { name: "clock", arguments: "" } }]),
        c: call([{ index: 1, id: "call_w", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } }]),
      });
      m.expect(source.pipe(toUIMessageStream())).toBeObservable("-(Spta)-(ek)-(wz)--(KWqf|)", {
        ...tools,
        z: { type: "tool-input-delta", toolCallId: "call_w", inputTextDelta: '{"city":"Paris"}' },
      });
      m.expect(source).toHaveSubscriptions("^" + "-".repeat(18) + "!");
    }));

    it("reports arguments that are not JSON with tool-input-error, and a custom tool's input as text", marbles((m) => {
      const source = m.cold("  -a------b-------|", {
        a: call([{ index: 0, id: "call_w", type: "function", function: { name: "weather", arguments: '{"city":' } }]),
        b: call([{ index: 1, id: "call_g", type: "custom", custom: { name: "grep", input: "needle" } }], "tool_calls"),
      });
      m.expect(source.pipe(toUIMessageStream())).toBeObservable("-(Spwx)-(gnEG)--(qT|)", {
        ...tools,
        E: { type: "tool-input-error", toolCallId: "call_w", toolName: "weather", input: '{"city":', errorText: argumentsError("weather", "call_w", '{"city":') },
        g: { type: "tool-input-start", toolCallId: "call_g", toolName: "grep", inputEncoding: "text" },
        n: { type: "tool-input-delta", toolCallId: "call_g", inputTextDelta: "needle" },
        G: { type: "tool-input-available", toolCallId: "call_g", toolName: "grep", input: "needle" },
      });
      m.expect(source).toHaveSubscriptions("^" + "-".repeat(15) + "!");
    }));

    it("says a call's arguments were cut off when the choice finished with length", marbles((m) => {
      const source = m.cold("  -a------b-|", {
        a: call([{ index: 0, id: "call_w", type: "function", function: { name: "weather", arguments: '{"city":' } }]),
        b: chunkWith([{ index: 0, delta: {}, finish_reason: "length" }]),
      });
      // The parser's own words, which differ between Node versions.
      const parserSays = (() => {
        try {
          JSON.parse('{"city":');
        } catch (error) {
          return error instanceof Error ? error.message : String(error);
        }
        return "";
      })();
      const errorText = `The arguments of tool call "weather" (call_w) are cut off: the choice finished with "length" (the token limit (max_tokens or the context window) was reached) before they were whole JSON (${parserSays}): "{\\"city\\":"`;
      m.expect(source.pipe(toUIMessageStream())).toBeObservable("-(Spwx)-E-(qL|)", {
        ...tools,
        E: { type: "tool-input-error", toolCallId: "call_w", toolName: "weather", input: '{"city":', errorText },
        L: { type: "finish", finishReason: "length" },
      });
      m.expect(source).toHaveSubscriptions("^---------!");
    }));

    it("sends no input for a call cut short by an error, only the error part", marbles((m) => {
      const source = m.cold("  -a------#", { a: call([{ index: 0, id: "call_w", type: "function", function: { name: "weather", arguments: '{"city":' } }]) }, new Error("upstream broke"));
      m.expect(source.pipe(toUIMessageStream())).toBeObservable("-(Spwx)-(E|)", { ...tools, E: { type: "error", errorText: "upstream broke" } });
      m.expect(source).toHaveSubscriptions("^-------!");
    }));

    it("tells apart parallel calls a server sends all with index 0, by their ids", marbles((m) => {
      const source = m.cold("  -a------b------|", {
        a: call([{ index: 0, id: "call_k", type: "function", function: { name: "clock", arguments: "{}" } }]),
        b: call([{ index: 0, id: "call_w", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } }]),
      });
      m.expect(source.pipe(toUIMessageStream())).toBeObservable("-(Spkv)-(Kwz)--(Wqf|)", {
        ...tools,
        v: { type: "tool-input-delta", toolCallId: "call_k", inputTextDelta: "{}" },
        z: { type: "tool-input-delta", toolCallId: "call_w", inputTextDelta: '{"city":"Paris"}' },
      });
      m.expect(source).toHaveSubscriptions("^" + "-".repeat(14) + "!");
    }));

    it("tells apart whole calls sent with neither index nor id, giving each the id accumulateMessage makes up", marbles((m) => {
      const source = m.cold("  -a------b------|", {
        a: call([{ type: "function", function: { name: "clock", arguments: "{}" } }]),
        b: call([{ type: "function", function: { name: "clock", arguments: '{"tz":"UTC"}' } }]),
      });
      m.expect(source.pipe(toUIMessageStream())).toBeObservable("-(Spkv)-(KlL)--(Mqf|)", {
        ...tools,
        k: { type: "tool-input-start", toolCallId: "call_chatcmpl-1_0", toolName: "clock" },
        v: { type: "tool-input-delta", toolCallId: "call_chatcmpl-1_0", inputTextDelta: "{}" },
        K: { type: "tool-input-available", toolCallId: "call_chatcmpl-1_0", toolName: "clock", input: {} },
        l: { type: "tool-input-start", toolCallId: "call_chatcmpl-1_1", toolName: "clock" },
        L: { type: "tool-input-delta", toolCallId: "call_chatcmpl-1_1", inputTextDelta: '{"tz":"UTC"}' },
        M: { type: "tool-input-available", toolCallId: "call_chatcmpl-1_1", toolName: "clock", input: { tz: "UTC" } },
      });
      m.expect(source).toHaveSubscriptions("^" + "-".repeat(14) + "!");
    }));

    it("names a call whose id comes after its name by that id, as accumulateMessage does, so a tool result answers both", marbles((m) => {
      // Its name came first and alone: the call starts only when its arguments or its id come, here together.
      const source = m.cold("  -a------b------c|", {
        a: call([{ index: 0, type: "function", function: { name: "clock", arguments: "" } }]),
        b: call([{ index: 0, id: "call_srv", function: { arguments: "{}" } }]),
        c: call([], "tool_calls"),
      });
      m.expect(source.pipe(toUIMessageStream())).toBeObservable("-(Sp)---(kv)---K(qT|)", {
        ...tools,
        k: { type: "tool-input-start", toolCallId: "call_srv", toolName: "clock" },
        v: { type: "tool-input-delta", toolCallId: "call_srv", inputTextDelta: "{}" },
        K: { type: "tool-input-available", toolCallId: "call_srv", toolName: "clock", input: {} },
      });
      m.expect(source.pipe(accumulateMessage(), last(), map((snapshot) => snapshot.choices[0]?.message.tool_calls?.map((c) => c.id)))).toBeObservable("----------------(i|)", { i: ["call_srv"] });
    }));

    it("completes parallel calls in index order when their fragments interleave, a later call waiting for an earlier one", marbles((m) => {
      const source = m.cold("  -a------b------c------d------|", {
        a: call([{ index: 1, id: "call_k", type: "function", function: { name: "clock", arguments: "{}" } }]),
        b: call([{ index: 0, id: "call_w", type: "function", function: { name: "weather", arguments: '{"city":' } }]),
        c: call([{ index: 2, id: "call_n", type: "function", function: { name: "news", arguments: "{}" } }]),
        d: call([{ index: 0, function: { arguments: '"Paris"}' } }], "tool_calls"),
      });
      m.expect(source.pipe(toUIMessageStream())).toBeObservable("-(Spkv)-(wx)---(nN)---(yWKO)-(qT|)", {
        ...tools,
        v: { type: "tool-input-delta", toolCallId: "call_k", inputTextDelta: "{}" },
        n: { type: "tool-input-start", toolCallId: "call_n", toolName: "news" },
        N: { type: "tool-input-delta", toolCallId: "call_n", inputTextDelta: "{}" },
        O: { type: "tool-input-available", toolCallId: "call_n", toolName: "news", input: {} },
      });
      m.expect(source).toHaveSubscriptions("^" + "-".repeat(28) + "!");
    }));

    it("follows calls without an index (whole calls, as Mistral sends them) by their ids", marbles((m) => {
      const source = m.cold("  -a------b------|", {
        a: call([{ id: "call_k", type: "function", function: { name: "clock", arguments: "{}" } }]),
        b: call([{ id: "call_w", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } }]),
      });
      m.expect(source.pipe(toUIMessageStream())).toBeObservable("-(Spkv)-(Kwz)--(Wqf|)", {
        ...tools,
        v: { type: "tool-input-delta", toolCallId: "call_k", inputTextDelta: "{}" },
        z: { type: "tool-input-delta", toolCallId: "call_w", inputTextDelta: '{"city":"Paris"}' },
      });
      m.expect(source).toHaveSubscriptions("^" + "-".repeat(14) + "!");
    }));
  });
});

import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { catchError, last, map, of } from "rxjs";
import { describe, expect, it } from "vitest";
import { type CompletedToolCall, ToolCallArgumentsError, accumulateMessage, assistantMessage, failOnFinishReason, toolCalls } from "../../operators/index.js";
import { contentChunk } from "../support/chunks.js";
import { marbles } from "../support/marbles.js";
import { asChunk } from "../support/wire.js";

const calls = (toolCallDeltas: object[], finish: string | null = null, index = 0): ChatCompletionChunk =>
  asChunk({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index, delta: { tool_calls: toolCallDeltas }, finish_reason: finish }] });
const finish = (reason = "tool_calls", index = 0): ChatCompletionChunk =>
  asChunk({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index, delta: {}, finish_reason: reason }] });
const done = (index: number, id: string, name: string, args: unknown, raw: string): CompletedToolCall => ({ index, id, type: "function", name, arguments: args, rawArguments: raw });

describe("toolCalls", () => {
  it("emits each call when a higher index begins, and the last one when its choice finishes", marbles((m) => {
    const values = {
      a: calls([{ index: 0, id: "c1", type: "function", function: { name: "weather", arguments: '{"city":' } }]),
      b: calls([{ index: 0, function: { arguments: '"Oslo"}' } }]),
      c: calls([{ index: 1, id: "c2", type: "function", function: { name: "time", arguments: "" } }]),
      d: calls([{ index: 1, function: { arguments: "{}" } }]),
      f: finish(),
    };
    const source = m.cold("  a-b-c-d-f-|", values);
    const subs = "           ^---------!";
    const expected = m.cold("----x---y-|", { x: done(0, "c1", "weather", { city: "Oslo" }, '{"city":"Oslo"}'), y: done(1, "c2", "time", {}, "{}") });
    m.expect(source.pipe(toolCalls())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("tells apart parallel calls a server sends all with index 0, by their ids (Ollama through LiteLLM, Dynamo)", marbles((m) => {
    const values = {
      a: calls([{ index: 0, id: "c1", type: "function", function: { name: "add", arguments: '{"a":2,"b":2}' } }]),
      b: calls([{ index: 0, id: "c2", type: "function", function: { name: "weather", arguments: '{"city":"Tokyo"}' } }]),
      f: finish(),
    };
    const source = m.cold("  a-b-f-|", values);
    const expected = m.cold("--x-y-|", { x: done(0, "c1", "add", { a: 2, b: 2 }, '{"a":2,"b":2}'), y: done(1, "c2", "weather", { city: "Tokyo" }, '{"city":"Tokyo"}') });
    m.expect(source.pipe(toolCalls())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^-----!");
  }));

  it("tells apart parallel calls a server sends all with index 0 and no ids, by a new name after whole arguments", marbles((m) => {
    const values = {
      a: calls([{ index: 0, type: "function", function: { name: "add", arguments: '{"a":2,"b":2}' } }]),
      b: calls([{ index: 0, type: "function", function: { name: "weather", arguments: '{"city":"Tokyo"}' } }]),
      f: finish(),
    };
    const source = m.cold("  a-b-f-|", values);
    const expected = m.cold("--x-y-|", {
      x: done(0, "call_c_0", "add", { a: 2, b: 2 }, '{"a":2,"b":2}'),
      y: done(1, "call_c_1", "weather", { city: "Tokyo" }, '{"city":"Tokyo"}'),
    });
    m.expect(source.pipe(toolCalls())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^-----!");
  }));

  it("waits for a call's arguments to be whole JSON when a higher index begins, as some servers interleave parallel calls", marbles((m) => {
    const values = {
      a: calls([{ index: 0, id: "c1", type: "function", function: { name: "add", arguments: "" } }]),
      b: calls([{ index: 1, id: "c2", type: "function", function: { name: "weather", arguments: "" } }]),
      c: calls([{ index: 0, function: { arguments: '{"a":' } }]),
      d: calls([{ index: 1, function: { arguments: '{"city":"Tokyo"}' } }]),
      e: calls([{ index: 0, function: { arguments: "2}" } }]),
      f: finish(),
    };
    const source = m.cold("  a-b-c-d-e-f-|", values);
    const expected = m.cold("--------x-y-|", { x: done(0, "c1", "add", { a: 2 }, '{"a":2}'), y: done(1, "c2", "weather", { city: "Tokyo" }, '{"city":"Tokyo"}') });
    m.expect(source.pipe(toolCalls())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^-----------!");
  }));

  it("emits a call whose arguments never became whole when its choice finishes: {} for none, else ToolCallArgumentsError", marbles((m) => {
    const values = {
      a: calls([{ index: 0, id: "c1", type: "function", function: { name: "clock", arguments: "" } }]),
      b: calls([{ index: 1, id: "c2", type: "function", function: { name: "weather", arguments: '{"city":' } }]),
      c: calls([{ index: 2, id: "c3", type: "function", function: { name: "time", arguments: "{}" } }]),
      f: finish(),
    };
    const source = m.cold("  a-b-c-f-|", values);
    const failing = source.pipe(
      toolCalls(),
      catchError((error: unknown) => of(error instanceof ToolCallArgumentsError ? `${error.toolName}: ${error.rawArguments}` : "other error")),
    );
    m.expect(failing).toBeObservable(m.cold("------(xe|)", { x: done(0, "c1", "clock", {}, ""), e: 'weather: {"city":' }));
    m.expect(source).toHaveSubscriptions("^-----!");
  }));

  it("emits a call sent whole in one delta (GPT4Free, xAI, Groq) when its choice finishes", marbles((m) => {
    const values = {
      w: calls([{ index: 0, id: "c1", type: "function", function: { name: "weather", arguments: '{"city":"Oslo"}' } }]),
      f: finish(),
    };
    const source = m.cold("  w-f-|", values);
    m.expect(source.pipe(toolCalls())).toBeObservable(m.cold("--x-|", { x: done(0, "c1", "weather", { city: "Oslo" }, '{"city":"Oslo"}') }));
    m.expect(source).toHaveSubscriptions("^---!");
  }));

  it("gives a call sent without an id (Ollama, GPT4Free providers) the id assistantMessage sends back with it", marbles((m) => {
    const values = {
      w: calls([{ index: 0, type: "function", function: { name: "weather", arguments: '{"city":"Oslo"}' } }]),
      t: calls([{ index: 1, id: "", type: "function", function: { name: "time", arguments: "{}" } }]),
      f: finish(),
    };
    const source = m.cold("  w-t-f-|", values);
    m.expect(source.pipe(toolCalls())).toBeObservable(
      m.cold("--x-y-|", { x: done(0, "call_c_0", "weather", { city: "Oslo" }, '{"city":"Oslo"}'), y: done(1, "call_c_1", "time", {}, "{}") }),
    );
    m.expect(source.pipe(accumulateMessage(), last(), map((snapshot) => assistantMessage(snapshot).tool_calls?.map((call) => call.id)))).toBeObservable(
      m.cold("------(i|)", { i: ["call_c_0", "call_c_1"] }),
    );
    m.expect(source).toHaveSubscriptions(["^-----!", "^-----!"]);
  }));

  it("keeps arguments a server sends as a JSON object (outside the spec) instead of dropping them", marbles((m) => {
    const values = {
      w: calls([{ index: 0, id: "c1", type: "function", function: { name: "weather", arguments: { city: "Oslo" } } }]),
      f: finish(),
    };
    const source = m.cold("  w-f-|", values);
    m.expect(source.pipe(toolCalls())).toBeObservable(m.cold("--x-|", { x: done(0, "c1", "weather", { city: "Oslo" }, '{"city":"Oslo"}') }));
    m.expect(source).toHaveSubscriptions("^---!");
  }));

  it("emits the calls still open when the source completes without a finish_reason", marbles((m) => {
    const source = m.cold("  a-|", { a: calls([{ index: 0, id: "c1", function: { name: "ping", arguments: "" } }]) });
    m.expect(source.pipe(toolCalls())).toBeObservable(m.cold("--(x|)", { x: done(0, "c1", "ping", {}, "") }));
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("reads the choice selected by the choice option", marbles((m) => {
    const values = {
      a: calls([{ index: 0, id: "zero", function: { name: "f", arguments: "{}" } }], "tool_calls", 0),
      b: calls([{ index: 0, id: "one", function: { name: "g", arguments: "[1]" } }], "tool_calls", 1),
    };
    const source = m.cold("  a-b-|", values);
    m.expect(source.pipe(toolCalls({ choice: 1 }))).toBeObservable(m.cold("--y-|", { y: done(0, "one", "g", [1], "[1]") }));
    m.expect(source).toHaveSubscriptions("^---!");
  }));

  it("errors with ToolCallArgumentsError, naming the tool and the raw text, after the calls before it", marbles((m) => {
    const values = {
      a: calls([{ index: 0, id: "c1", function: { name: "ok", arguments: "{}" } }, { index: 1, id: "c2", function: { name: "weather", arguments: '{"city": Oslo}' } }]),
      f: finish(),
    };
    const source = m.cold("  a-f-|", values);
    const failing = source.pipe(
      toolCalls(),
      catchError((error: unknown) => {
        expect(error).toBeInstanceOf(ToolCallArgumentsError);
        return of(error instanceof ToolCallArgumentsError ? `${error.toolName}: ${error.rawArguments}` : "other error");
      }),
    );
    m.expect(failing).toBeObservable(m.cold("x-(e|)", { x: done(0, "c1", "ok", {}, "{}"), e: 'weather: {"city": Oslo}' }));
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("says which tool and what text in the error message", () => {
    const error = new ToolCallArgumentsError("weather", "c2", '{"city": Oslo}', { cause: new SyntaxError("Unexpected token 'O'") });
    expect(error.message).toBe('The arguments of tool call "weather" (c2) are not valid JSON (Unexpected token \'O\'): "{\\"city\\": Oslo}"');
    expect(error.name).toBe("ToolCallArgumentsError");
    expect(error.rawArguments).toBe('{"city": Oslo}');
  });

  it("says the arguments were cut off when the choice finished with length, even behind failOnFinishReason", marbles((m) => {
    const values = {
      a: calls([{ index: 0, id: "c1", type: "function", function: { name: "write_file", arguments: '{"path":"a.txt","text":"lorem ip' } }]),
      f: finish("length"),
    };
    const source = m.cold("  a-f-|", values);
    const failing = source.pipe(
      failOnFinishReason(["length", "content_filter"]),
      toolCalls(),
      catchError((error: unknown) => of(error instanceof ToolCallArgumentsError ? `${error.finishReason ?? "none"}: ${error.message}` : "other error")),
    );
    const message =
      'length: The arguments of tool call "write_file" (c1) are cut off: the choice finished with "length" (the token limit (max_tokens or the context window) was reached) before they were whole JSON';
    m.expect(failing.pipe(map((value) => (typeof value === "string" ? value.slice(0, message.length) : value)))).toBeObservable(m.cold("--(e|)", { e: message }));
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("keeps finishReason undefined when the model wrote invalid JSON and finished as usual", () => {
    const error = new ToolCallArgumentsError("weather", "c2", "{", { cause: new SyntaxError("x") });
    expect(error.finishReason).toBeUndefined();
    expect(new ToolCallArgumentsError("weather", "c2", "{", { finishReason: "max_tokens" }).message).toBe(
      'The arguments of tool call "weather" (c2) are cut off: the choice finished with "max_tokens" before they were whole JSON: "{"',
    );
  });

  it("completes without values on an empty source or a text-only answer", marbles((m) => {
    const empty = m.cold<ChatCompletionChunk>("|");
    const text = m.cold("  a-f-|", { a: contentChunk("Hi"), f: finish("stop") });
    m.expect(empty.pipe(toolCalls())).toBeObservable("|");
    m.expect(text.pipe(toolCalls())).toBeObservable("----|");
    m.expect(empty).toHaveSubscriptions("(^!)");
    m.expect(text).toHaveSubscriptions("^---!");
  }));

  it("never emits on a source that never emits", marbles((m) => {
    const source = m.cold<ChatCompletionChunk>("-");
    m.expect(source.pipe(toolCalls())).toBeObservable("-");
    m.expect(source).toHaveSubscriptions("^");
  }));

  it("passes an error through without emitting the open call", marbles((m) => {
    const source = m.cold("  a-#", { a: calls([{ index: 0, id: "c1", function: { name: "f", arguments: "{" } }]) }, new Error("boom"));
    m.expect(source.pipe(toolCalls())).toBeObservable(m.cold("--#", {}, new Error("boom")));
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("unsubscribes from the source when the subscriber leaves early", marbles((m) => {
    const values = { a: calls([{ index: 0, id: "c1", function: { name: "f", arguments: "{}" } }]), b: calls([{ index: 1, id: "c2", function: { name: "g", arguments: "{}" } }]), f: finish() };
    const source = m.cold("  a-b-f-|", values);
    m.expect(source.pipe(toolCalls()), "---!").toBeObservable(m.cold("--x", { x: done(0, "c1", "f", {}, "{}") }));
    m.expect(source).toHaveSubscriptions("^--!");
  }));

  it("errors when a callback downstream of it throws", marbles((m) => {
    const source = m.cold("  a-f-|", { a: calls([{ index: 0, id: "c1", function: { name: "f", arguments: "{}" } }]), f: finish() });
    const failing = source.pipe(
      toolCalls(),
      map(() => {
        throw new Error("callback failed");
      }),
    );
    m.expect(failing).toBeObservable(m.cold("--#", {}, new Error("callback failed")));
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("rejects a choice that is not a non-negative integer before anything subscribes", () => {
    expect(() => toolCalls({ choice: -2 })).toThrow(TypeError);
  });
});

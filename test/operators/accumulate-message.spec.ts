import type { ChatCompletionChunk, ChatCompletionTokenLogprob } from "openai/resources/chat/completions";
import { last, lastValueFrom, map, of, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import {
  type ChatCompletionSnapshot,
  type ChoiceSnapshot,
  type FinishReason,
  type MessageSnapshot,
  type ReasoningDetail,
  type ToolCallSnapshot,
  accumulateMessage,
} from "../../operators/index.js";
import { chunkWith, contentChunk } from "../support/chunks.js";
import { marbles } from "../support/marbles.js";
import { asChunk } from "../support/wire.js";

/** A one-choice chunk as a provider sends it (any delta fields, any top-level fields). */
function wire(delta: object | undefined, options: { index?: number; finish?: string | null; logprobs?: object | null; top?: object } = {}): ChatCompletionChunk {
  const { index = 0, finish = null, logprobs, top = {} } = options;
  const choice = { index, ...(delta === undefined ? {} : { delta }), finish_reason: finish, ...(logprobs === undefined ? {} : { logprobs }) };
  return asChunk({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model: "gpt-4", choices: [choice], ...top });
}

/** The snapshot of a one-choice completion with the given message. */
function snapshotOf(message: MessageSnapshot, finish: FinishReason | null = null, extra: Partial<ChatCompletionSnapshot> = {}): ChatCompletionSnapshot {
  return { id: "chatcmpl-1", created: 1, model: "gpt-4", choices: [{ index: 0, message, finish_reason: finish, logprobs: null }], ...extra };
}

describe("accumulateMessage", () => {
  it("emits the message so far after every chunk", marbles((m) => {
    const values = {
      r: chunkWith([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]),
      a: contentChunk("Hello"),
      b: contentChunk(" there!"),
      f: contentChunk(undefined, 0, "stop"),
    };
    const source = m.cold("  r-a-b-f-|", values);
    const subs = "           ^-------!";
    const expected = m.cold("R-A-B-F-|", {
      R: snapshotOf({ role: "assistant" }),
      A: snapshotOf({ role: "assistant", content: "Hello" }),
      B: snapshotOf({ role: "assistant", content: "Hello there!" }),
      F: snapshotOf({ role: "assistant", content: "Hello there!" }, "stop"),
    });
    m.expect(source.pipe(accumulateMessage())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("takes usage from the final chunk with empty choices, and ignores usage: null before it", marbles((m) => {
    const usage = { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 };
    const values = {
      a: wire({ content: "Hi" }, { top: { usage: null, system_fingerprint: "fp_1" } }),
      f: wire({}, { finish: "stop", top: { usage: null, system_fingerprint: "fp_1" } }),
      u: chunkWith([], { usage }),
    };
    const source = m.cold("  a-f-u-|", values);
    const subs = "           ^-----!";
    const expected = m.cold("A-F-U-|", {
      A: snapshotOf({ content: "Hi" }, null, { system_fingerprint: "fp_1" }),
      F: snapshotOf({ content: "Hi" }, "stop", { system_fingerprint: "fp_1" }),
      U: snapshotOf({ content: "Hi" }, "stop", { system_fingerprint: "fp_1", usage }),
    });
    m.expect(source.pipe(accumulateMessage())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("reads reasoning from reasoning_content or reasoning, and never doubles it when both are sent", marbles((m) => {
    const values = {
      d: wire({ role: "assistant", content: null, reasoning_content: "Think" }),
      g: wire({ reasoning: " harder" }),
      v: wire({ reasoning: ", twice", reasoning_content: ", twice" }),
      a: wire({ content: "Done.", reasoning_content: null }),
    };
    const source = m.cold("  d-g-v-a-|", values);
    const subs = "           ^-------!";
    const expected = m.cold("D-G-V-A-|", {
      D: snapshotOf({ role: "assistant", reasoning: "Think" }),
      G: snapshotOf({ role: "assistant", reasoning: "Think harder" }),
      V: snapshotOf({ role: "assistant", reasoning: "Think harder, twice" }),
      A: snapshotOf({ role: "assistant", reasoning: "Think harder, twice", content: "Done." }),
    });
    m.expect(source.pipe(accumulateMessage())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("gives the same tool call whether it arrives whole or in fragments", marbles((m) => {
    const whole = wire({ tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } }] });
    const fragments = {
      a: wire({ tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "weather", arguments: "" } }] }),
      b: wire({ tool_calls: [{ index: 0, function: { arguments: '{"ci' } }] }),
      c: wire({ tool_calls: [{ index: 0, function: { arguments: 'ty":"Paris"}' } }] }),
      f: wire({}, { finish: "tool_calls" }),
    };
    const call: ToolCallSnapshot = { id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } };
    const final = snapshotOf({ tool_calls: [call] }, "tool_calls");
    const fragmented = m.cold("a-b-c-f-|", fragments);
    const oneDelta = m.cold("  w-----f-|", { w: whole, f: fragments.f });
    m.expect(fragmented.pipe(accumulateMessage(), last())).toBeObservable(m.cold("--------(x|)", { x: final }));
    m.expect(oneDelta.pipe(accumulateMessage(), last())).toBeObservable(m.cold("  --------(x|)", { x: final }));
    m.expect(fragmented).toHaveSubscriptions("^-------!");
    m.expect(oneDelta).toHaveSubscriptions("  ^-------!");
  }));

  it("keeps a tool call's name when later fragments repeat it as an empty string (Mistral)", marbles((m) => {
    const values = {
      a: wire({ content: "", tool_calls: [{ id: "t1", type: "function", function: { name: "search", arguments: "" }, index: 0 }] }),
      b: wire({ content: "", tool_calls: [{ type: "function", function: { name: "", arguments: '{"q": "x"}' }, index: 0 }] }),
    };
    const source = m.cold("  a-b-|", values);
    const subs = "           ^---!";
    const expected = m.cold("A-B-|", {
      A: snapshotOf({ tool_calls: [{ id: "t1", type: "function", function: { name: "search", arguments: "" } }] }),
      B: snapshotOf({ tool_calls: [{ id: "t1", type: "function", function: { name: "search", arguments: '{"q": "x"}' } }] }),
    });
    m.expect(source.pipe(accumulateMessage())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("matches tool calls sent without index by id, and appends new ids", marbles((m) => {
    const values = {
      a: wire({ tool_calls: [{ id: "A", function: { name: "one", arguments: "{}" } }] }),
      b: wire({ tool_calls: [{ id: "B", function: { name: "two", arguments: '{"n":' } }] }),
      c: wire({ tool_calls: [{ id: "B", function: { arguments: "2}" } }] }),
    };
    const source = m.cold("  a-b-c-|", values);
    const subs = "           ^-----!";
    const one: ToolCallSnapshot = { id: "A", type: "function", function: { name: "one", arguments: "{}" } };
    const expected = m.cold("A-B-C-|", {
      A: snapshotOf({ tool_calls: [one] }),
      B: snapshotOf({ tool_calls: [one, { id: "B", type: "function", function: { name: "two", arguments: '{"n":' } }] }),
      C: snapshotOf({ tool_calls: [one, { id: "B", type: "function", function: { name: "two", arguments: '{"n":2}' } }] }),
    });
    m.expect(source.pipe(accumulateMessage())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("tells apart whole calls sent with neither index nor id, and continues a call whose name is repeated alone", marbles((m) => {
    const values = {
      a: wire({ tool_calls: [{ type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } }] }),
      b: wire({ tool_calls: [{ type: "function", function: { name: "weather", arguments: "" } }] }),
      c: wire({ tool_calls: [{ type: "function", function: { name: "weather", arguments: '{"city":"Rome"}' } }] }),
      d: wire({ tool_calls: [{ type: "function", function: { name: "time", arguments: "" } }] }),
      e: wire({ tool_calls: [{ function: { arguments: "{}" } }] }),
    };
    const source = m.cold("  a-b-c-d-e-|", values);
    const subs = "           ^---------!";
    // Each gets an id of its own (see "gives a tool call that comes without an id…").
    const call = (order: number, name: string, args: string): ToolCallSnapshot => ({ id: `call_chatcmpl-1_${order}`, type: "function", function: { name, arguments: args } });
    const paris = call(0, "weather", '{"city":"Paris"}');
    const rome = call(1, "weather", '{"city":"Rome"}');
    const expected = m.cold("A-A-C-D-E-|", {
      A: snapshotOf({ tool_calls: [paris] }),
      C: snapshotOf({ tool_calls: [paris, rome] }),
      D: snapshotOf({ tool_calls: [paris, rome, call(2, "time", "")] }),
      E: snapshotOf({ tool_calls: [paris, rome, call(2, "time", "{}")] }),
    });
    m.expect(source.pipe(accumulateMessage())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("gives a tool call that comes without an id, or with id \"\", one made of the completion's id and the call's order; an id sent later wins", marbles((m) => {
    const values = {
      a: wire({ tool_calls: [{ index: 0, id: "", type: "function", function: { name: "weather", arguments: '{"city":"Oslo"}' } }] }),
      b: wire({ tool_calls: [{ index: 1, function: { name: "time", arguments: "{}" } }] }),
      c: wire({ tool_calls: [{ index: 2, type: "function", function: { name: "news", arguments: "" } }] }),
      d: wire({ tool_calls: [{ index: 2, id: "call_sent", function: { arguments: "{}" } }] }, { finish: "tool_calls" }),
    };
    const source = m.cold("  a-b-c-d-|", values);
    const subs = ["           ^-------!", "           ^-------!"];
    const call = (id: string, name: string, args: string): ToolCallSnapshot => ({ id, type: "function", function: { name, arguments: args } });
    const weather = call("call_chatcmpl-1_0", "weather", '{"city":"Oslo"}');
    const time = call("call_chatcmpl-1_1", "time", "{}");
    const expected = m.cold("A-B-C-D-|", {
      A: snapshotOf({ tool_calls: [weather] }),
      B: snapshotOf({ tool_calls: [weather, time] }),
      C: snapshotOf({ tool_calls: [weather, time, call("call_chatcmpl-1_2", "news", "")] }),
      D: snapshotOf({ tool_calls: [weather, time, call("call_sent", "news", "{}")] }, "tool_calls"),
    });
    // The same chunks give the same ids, as a replayed answer must.
    m.expect(source.pipe(accumulateMessage())).toBeObservable(expected);
    m.expect(source.pipe(accumulateMessage())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("numbers made-up ids in the order calls arrive, not by place, and keeps only an id's safe characters (or none)", marbles((m) => {
    const values = {
      // A call with a higher index first: the one that comes second is placed before it, with its own number.
      b: wire({ tool_calls: [{ index: 1, function: { name: "time", arguments: "{}" } }] }, { top: { id: "gen:42/x" } }),
      a: wire({ tool_calls: [{ index: 0, function: { name: "weather", arguments: "{}" } }] }, { top: { id: "" } }),
    };
    const source = m.cold("  b-a-|", values);
    const subs = "           ^---!";
    const call = (id: string, name: string): ToolCallSnapshot => ({ id, type: "function", function: { name, arguments: "{}" } });
    const expected = m.cold("B-A-|", {
      B: snapshotOf({ tool_calls: [call("call_gen42x_0", "time")] }, null, { id: "gen:42/x" }),
      A: snapshotOf({ tool_calls: [call("call_gen42x_1", "weather"), call("call_gen42x_0", "time")] }, null, { id: "gen:42/x" }),
    });
    m.expect(source.pipe(accumulateMessage())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
    const anonymous = m.cold("  a-|", { a: wire({ tool_calls: [{ function: { name: "time", arguments: "{}" } }] }, { top: { id: "" } }) });
    m.expect(anonymous.pipe(accumulateMessage())).toBeObservable("A-|", { A: snapshotOf({ tool_calls: [call("call_0", "time")] }, null, { id: "" }) });
    m.expect(anonymous).toHaveSubscriptions("^-!");
  }));

  it("merges parallel tool calls by index, in index order, with interleaved fragments", marbles((m) => {
    const values = {
      b: wire({ tool_calls: [{ index: 1, id: "c2", type: "function", function: { name: "time", arguments: '{"tz"' } }] }),
      a: wire({ tool_calls: [{ index: 0, id: "c1", type: "function", function: { name: "weather", arguments: '{"city"' } }] }),
      x: wire({ tool_calls: [{ index: 1, function: { arguments: ':"UTC"}' } }, { index: 0, function: { arguments: ':"Oslo"}' } }] }),
    };
    const source = m.cold("  b-a-x-|", values);
    const subs = "           ^-----!";
    const time = (args: string): ToolCallSnapshot => ({ id: "c2", type: "function", function: { name: "time", arguments: args } });
    const weather = (args: string): ToolCallSnapshot => ({ id: "c1", type: "function", function: { name: "weather", arguments: args } });
    const expected = m.cold("B-A-X-|", {
      B: snapshotOf({ tool_calls: [time('{"tz"')] }),
      A: snapshotOf({ tool_calls: [weather('{"city"'), time('{"tz"')] }),
      X: snapshotOf({ tool_calls: [weather('{"city":"Oslo"}'), time('{"tz":"UTC"}')] }),
    });
    m.expect(source.pipe(accumulateMessage())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("tells apart parallel calls all at index 0 with no ids: another name after whole arguments starts one; the name repeated alone continues", marbles((m) => {
    const values = {
      a: wire({ tool_calls: [{ index: 0, type: "function", function: { name: "add", arguments: '{"a":' } }] }),
      b: wire({ tool_calls: [{ index: 0, function: { arguments: "2}" } }] }),
      c: wire({ tool_calls: [{ index: 0, type: "function", function: { name: "add", arguments: "" } }] }),
      d: wire({ tool_calls: [{ index: 0, type: "function", function: { name: "weather", arguments: "" } }] }),
      e: wire({ tool_calls: [{ index: 0, function: { arguments: '{"city":"Tokyo"}' } }] }),
    };
    const source = m.cold("  a-b-c-d-e-|", values);
    const subs = "           ^---------!";
    const call = (order: number, name: string, args: string): ToolCallSnapshot => ({ id: `call_chatcmpl-1_${order}`, type: "function", function: { name, arguments: args } });
    const expected = m.cold("A-B-B-D-E-|", {
      A: snapshotOf({ tool_calls: [call(0, "add", '{"a":')] }),
      B: snapshotOf({ tool_calls: [call(0, "add", '{"a":2}')] }),
      D: snapshotOf({ tool_calls: [call(0, "add", '{"a":2}'), call(1, "weather", "")] }),
      E: snapshotOf({ tool_calls: [call(0, "add", '{"a":2}'), call(1, "weather", '{"city":"Tokyo"}')] }),
    });
    m.expect(source.pipe(accumulateMessage())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("starts a new call when a delta at a taken index brings another id and a name (every parallel call at index 0)", marbles((m) => {
    const values = {
      a: wire({ tool_calls: [{ index: 0, id: "c1", type: "function", function: { name: "add", arguments: '{"a":' } }] }),
      b: wire({ tool_calls: [{ index: 0, function: { arguments: "2}" } }] }),
      c: wire({ tool_calls: [{ index: 0, id: "c2", type: "function", function: { name: "weather", arguments: "" } }] }),
      d: wire({ tool_calls: [{ index: 0, function: { arguments: '{"city":"Tokyo"}' } }] }),
      e: wire({ tool_calls: [{ index: 0, id: "c1", function: { arguments: " " } }] }),
    };
    const source = m.cold("  a-b-c-d-e-|", values);
    const subs = "           ^---------!";
    const add = (args: string): ToolCallSnapshot => ({ id: "c1", type: "function", function: { name: "add", arguments: args } });
    const weather = (args: string): ToolCallSnapshot => ({ id: "c2", type: "function", function: { name: "weather", arguments: args } });
    const expected = m.cold("A-B-C-D-E-|", {
      A: snapshotOf({ tool_calls: [add('{"a":')] }),
      B: snapshotOf({ tool_calls: [add('{"a":2}')] }),
      C: snapshotOf({ tool_calls: [add('{"a":2}'), weather("")] }),
      D: snapshotOf({ tool_calls: [add('{"a":2}'), weather('{"city":"Tokyo"}')] }),
      E: snapshotOf({ tool_calls: [add('{"a":2} '), weather('{"city":"Tokyo"}')] }),
    });
    m.expect(source.pipe(accumulateMessage())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("keeps one call while its arguments are cut off, even when each delta brings a new id and the name", marbles((m) => {
    const values = {
      a: wire({ tool_calls: [{ index: 0, id: "x1", type: "function", function: { name: "add", arguments: "" } }] }),
      b: wire({ tool_calls: [{ index: 0, id: "x2", type: "function", function: { name: "add", arguments: '{"a":' } }] }),
      c: wire({ tool_calls: [{ index: 0, id: "x3", type: "function", function: { name: "add", arguments: "2}" } }] }),
    };
    const source = m.cold("  a-b-c-|", values);
    const call = (id: string, args: string): ToolCallSnapshot => ({ id, type: "function", function: { name: "add", arguments: args } });
    const expected = m.cold("A-B-C-|", {
      A: snapshotOf({ tool_calls: [call("x1", "")] }),
      B: snapshotOf({ tool_calls: [call("x2", '{"a":')] }),
      C: snapshotOf({ tool_calls: [call("x3", '{"a":2}')] }),
    });
    m.expect(source.pipe(accumulateMessage())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^-----!");
  }));

  it("keeps one call when every delta repeats its id and name, or a later delta brings an id without a name", marbles((m) => {
    const values = {
      a: wire({ tool_calls: [{ index: 0, id: "c1", type: "function", function: { name: "add", arguments: '{"a":' } }] }),
      b: wire({ tool_calls: [{ index: 0, id: "c1", type: "function", function: { name: "add", arguments: "2" } }] }),
      c: wire({ tool_calls: [{ index: 0, id: "c1-late", function: { arguments: "}" } }] }),
    };
    const source = m.cold("  a-b-c-|", values);
    const call = (id: string, args: string): ToolCallSnapshot => ({ id, type: "function", function: { name: "add", arguments: args } });
    const expected = m.cold("A-B-C-|", {
      A: snapshotOf({ tool_calls: [call("c1", '{"a":')] }),
      B: snapshotOf({ tool_calls: [call("c1", '{"a":2')] }),
      C: snapshotOf({ tool_calls: [call("c1-late", '{"a":2}')] }),
    });
    m.expect(source.pipe(accumulateMessage())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^-----!");
  }));

  it("keeps a tool call's extra_content (Gemini's thought signature) as last sent, also from a delta that carries only it", marbles((m) => {
    const signature = { google: { thought_signature: "CrICAdHt…" } };
    const values = {
      a: wire({ tool_calls: [{ id: "function-call-1", type: "function", function: { name: "get_weather", arguments: '{"city":' } }] }),
      b: wire({ tool_calls: [{ function: { arguments: '"Sydney"}' } }] }),
      c: wire({ tool_calls: [{ extra_content: signature }] }),
      d: wire({}, { finish: "stop" }),
    };
    const source = m.cold("  a-b-c-d-|", values);
    const call = (args: string): ToolCallSnapshot => ({ id: "function-call-1", type: "function", function: { name: "get_weather", arguments: args } });
    const expected = m.cold("A-B-C-D-|", {
      A: snapshotOf({ tool_calls: [call('{"city":')] }),
      B: snapshotOf({ tool_calls: [call('{"city":"Sydney"}')] }),
      C: snapshotOf({ tool_calls: [{ ...call('{"city":"Sydney"}'), extra_content: signature }] }),
      D: snapshotOf({ tool_calls: [{ ...call('{"city":"Sydney"}'), extra_content: signature }] }, "stop"),
    });
    m.expect(source.pipe(accumulateMessage())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^-------!");
  }));

  it("merges OpenRouter's reasoning_details by index: text pieces joined, the closing signature kept", marbles((m) => {
    const item = { type: "reasoning.text", format: "anthropic-claude-v1", index: 0 };
    const values = {
      a: wire({ reasoning: "Need", reasoning_details: [{ ...item, text: "Need", signature: null }] }),
      b: wire({ reasoning: " weather.", reasoning_details: [{ ...item, text: " weather.", signature: null }] }),
      c: wire({ reasoning_details: [{ ...item, text: "", signature: "EqMBCkgI…" }, { type: "reasoning.encrypted", data: "gAAA…" }] }),
    };
    const source = m.cold("  a-b-c-|", values);
    const expected = m.cold("A-B-C-|", {
      A: snapshotOf({ reasoning: "Need", reasoning_details: [{ ...item, text: "Need", signature: null }] }),
      B: snapshotOf({ reasoning: "Need weather.", reasoning_details: [{ ...item, text: "Need weather.", signature: null }] }),
      C: snapshotOf({
        reasoning: "Need weather.",
        reasoning_details: [{ ...item, text: "Need weather.", signature: "EqMBCkgI…" }, { type: "reasoning.encrypted", data: "gAAA…" }],
      }),
    });
    m.expect(source.pipe(accumulateMessage())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^-----!");
  }));

  it("keeps a reasoning_details piece's \"__proto__\" key as an own field, as JSON.parse made it, never as the item's prototype", marbles((m) => {
    // An untrusted server chooses every key; JSON.parse makes "__proto__" an own key, which merging must not turn into a prototype.
    const detail = (json: string): ReasoningDetail => JSON.parse(json) as ReasoningDetail;
    const values = {
      a: wire({ reasoning_details: [detail('{"type":"reasoning.text","index":0,"text":"a"}')] }),
      b: wire({ reasoning_details: [detail('{"index":0,"text":"b","__proto__":{"signature":"forged"}}')] }),
    };
    const source = m.cold("  a-b-|", values);
    const expected = m.cold("A-B-|", {
      A: snapshotOf({ reasoning_details: [detail('{"type":"reasoning.text","index":0,"text":"a"}')] }),
      B: snapshotOf({ reasoning_details: [detail('{"type":"reasoning.text","index":0,"text":"ab","__proto__":{"signature":"forged"}}')] }),
    });
    m.expect(source.pipe(accumulateMessage())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^---!");
  }));

  it("merging a \"__proto__\" key sets no prototype: the item inherits nothing the server sent", async () => {
    const piece = JSON.parse('{"index":0,"text":"b","__proto__":{"signature":"forged"}}') as ReasoningDetail;
    const snapshot = await lastValueFrom(of(wire({ reasoning_details: [{ type: "reasoning.text", index: 0, text: "a" }] }), wire({ reasoning_details: [piece] })).pipe(accumulateMessage()));
    const item = snapshot.choices[0]?.message.reasoning_details?.[0];
    expect(item === undefined ? undefined : Object.getPrototypeOf(item)).toBe(Object.prototype);
    expect(item?.signature).toBeUndefined();
  });

  it("keys choices by index when n > 1 interleaves them, sorted by index", marbles((m) => {
    const values = {
      b: wire({ role: "assistant", content: "B" }, { index: 1 }),
      a: wire({ role: "assistant", content: "A" }, { index: 0 }),
      c: asChunk({
        id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model: "gpt-4",
        choices: [{ index: 1, delta: { content: "b" }, finish_reason: "stop" }, { index: 0, delta: { content: "a" }, finish_reason: null }],
      }),
    };
    const source = m.cold("  b-a-c-|", values);
    const subs = "           ^-----!";
    const choice = (index: number, content: string, finish: FinishReason | null = null): ChoiceSnapshot => ({ index, message: { role: "assistant", content }, finish_reason: finish, logprobs: null });
    const top = { id: "chatcmpl-1", created: 1, model: "gpt-4" };
    const expected = m.cold("B-A-C-|", {
      B: { ...top, choices: [choice(1, "B")] },
      A: { ...top, choices: [choice(0, "A"), choice(1, "B")] },
      C: { ...top, choices: [choice(0, "Aa"), choice(1, "Bb", "stop")] },
    });
    m.expect(source.pipe(accumulateMessage())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("accepts Azure's leading prompt-filter chunk and choices without a delta", marbles((m) => {
    const values = {
      p: asChunk({ choices: [], created: 0, id: "", model: "", object: "", prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }] }),
      a: wire({ content: "Hi", role: "assistant" }),
      z: wire(undefined, { top: { content_filter_results: {} } }),
      f: wire(undefined, { finish: "stop" }),
    };
    const source = m.cold("  p-a-z-f-|", values);
    const subs = "           ^-------!";
    const expected = m.cold("P-A-A-F-|", {
      P: { id: "", created: 0, model: "", choices: [] },
      A: snapshotOf({ content: "Hi", role: "assistant" }),
      F: snapshotOf({ content: "Hi", role: "assistant" }, "stop"),
    });
    m.expect(source.pipe(accumulateMessage())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("keeps provider, refusal and the deprecated function_call", marbles((m) => {
    const values = {
      a: wire({ refusal: "I can" }, { top: { provider: "PollinationsAI" } }),
      b: wire({ refusal: "not.", function_call: { name: "f", arguments: "{" } }, { top: { provider: "PollinationsAI" } }),
      c: wire({ function_call: { arguments: "}" } }),
    };
    const source = m.cold("  a-b-c-|", values);
    const subs = "           ^-----!";
    const provider = { provider: "PollinationsAI" };
    const expected = m.cold("A-B-C-|", {
      A: snapshotOf({ refusal: "I can" }, null, provider),
      B: snapshotOf({ refusal: "I cannot.", function_call: { name: "f", arguments: "{" } }, null, provider),
      C: snapshotOf({ refusal: "I cannot.", function_call: { name: "f", arguments: "{}" } }, null, provider),
    });
    m.expect(source.pipe(accumulateMessage())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("appends logprobs", marbles((m) => {
    const token = (t: string): ChatCompletionTokenLogprob => ({ token: t, logprob: -0.5, bytes: null, top_logprobs: [] });
    const values = {
      a: wire({ content: "Hi" }, { logprobs: { content: [token("Hi")], refusal: null } }),
      b: wire({ content: "!" }, { logprobs: { content: [token("!")], refusal: null } }),
    };
    const source = m.cold("  a-b-|", values);
    const subs = "           ^---!";
    const withLogprobs = (content: string, tokens: ChatCompletionTokenLogprob[]): ChatCompletionSnapshot => ({
      id: "chatcmpl-1", created: 1, model: "gpt-4",
      choices: [{ index: 0, message: { content }, finish_reason: null, logprobs: { content: tokens, refusal: null } }],
    });
    const expected = m.cold("A-B-|", { A: withLogprobs("Hi", [token("Hi")]), B: withLogprobs("Hi!", [token("Hi"), token("!")]) });
    m.expect(source.pipe(accumulateMessage())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("never changes a snapshot it emitted, and shares what a chunk did not change", () => {
    const chunks = [
      wire({ role: "assistant", tool_calls: [{ index: 0, id: "c1", type: "function", function: { name: "f", arguments: "{" } }] }),
      wire({ reasoning: "hm" }),
      wire({ tool_calls: [{ index: 0, function: { arguments: "}" } }] }),
      wire({ content: "ok" }, { finish: "stop" }),
    ];
    const copies: unknown[] = [];
    let snapshots: ChatCompletionSnapshot[] = [];
    of(...chunks)
      .pipe(
        accumulateMessage(),
        map((snapshot) => {
          copies.push(structuredClone(snapshot));
          return snapshot;
        }),
        toArray(),
      )
      .subscribe((all) => (snapshots = all));
    expect(snapshots).toStrictEqual(copies);
    const [first, second, third] = snapshots;
    expect(Object.isFrozen(first)).toBe(true);
    const call = first?.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === "function" && Object.isFrozen(call.function)).toBe(true);
    // The reasoning chunk left the tool calls alone: the same objects are shared.
    expect(second?.choices[0]?.message.tool_calls).toBe(first?.choices[0]?.message.tool_calls);
    expect(third?.choices[0]?.message.tool_calls?.[0]).not.toBe(second?.choices[0]?.message.tool_calls?.[0]);
  });

  it("emits the same snapshot again for a chunk that changes nothing", () => {
    const emitted: ChatCompletionSnapshot[] = [];
    of(contentChunk("Hi"), contentChunk(""), contentChunk(null)).pipe(accumulateMessage()).subscribe((s) => emitted.push(s));
    expect(emitted).toHaveLength(3);
    expect(emitted[1]).toBe(emitted[0]);
    expect(emitted[2]).toBe(emitted[0]);
  });

  it("starts from an empty snapshot for each subscription", marbles((m) => {
    const source = m.cold("  a-|", { a: contentChunk("Hi") });
    const assembled = source.pipe(accumulateMessage());
    m.expect(assembled).toBeObservable(m.cold("A-|", { A: snapshotOf({ content: "Hi" }) }));
    m.expect(assembled).toBeObservable(m.cold("A-|", { A: snapshotOf({ content: "Hi" }) }));
    m.expect(source).toHaveSubscriptions(["^-!", "^-!"]);
  }));

  it("completes without values on an empty source", marbles((m) => {
    const source = m.cold<ChatCompletionChunk>("|");
    m.expect(source.pipe(accumulateMessage())).toBeObservable("|");
    m.expect(source).toHaveSubscriptions("(^!)");
  }));

  it("never emits on a source that never emits", marbles((m) => {
    const source = m.cold<ChatCompletionChunk>("-");
    m.expect(source.pipe(accumulateMessage())).toBeObservable("-");
    m.expect(source).toHaveSubscriptions("^");
  }));

  it("passes an error through after the snapshots before it", marbles((m) => {
    const source = m.cold("  a-#", { a: contentChunk("Hi") }, new Error("boom"));
    m.expect(source.pipe(accumulateMessage())).toBeObservable(m.cold("A-#", { A: snapshotOf({ content: "Hi" }) }, new Error("boom")));
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("unsubscribes from the source when the subscriber leaves early", marbles((m) => {
    const source = m.cold("  a-b-c-|", { a: contentChunk("1"), b: contentChunk("2"), c: contentChunk("3") });
    const unsub = "          ---!";
    const expected = m.cold("A-B", { A: snapshotOf({ content: "1" }), B: snapshotOf({ content: "12" }) });
    m.expect(source.pipe(accumulateMessage()), unsub).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^--!");
  }));

  it("errors when a callback downstream of it throws", marbles((m) => {
    const source = m.cold("  a-b-|", { a: contentChunk("1"), b: contentChunk("2") });
    const failing = source.pipe(
      accumulateMessage(),
      map((snapshot) => {
        if (snapshot.choices[0]?.message.content === "12") throw new Error("callback failed");
        return snapshot.choices[0]?.message.content;
      }),
    );
    m.expect(failing).toBeObservable(m.cold("x-#", { x: "1" }, new Error("callback failed")));
    m.expect(source).toHaveSubscriptions("^-!");
  }));
});

import type { ChatCompletionChunk, ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { last, map } from "rxjs";
import { describe, expect, it } from "vitest";
import { type AppendAnswerOptions, type AssistantMessage, type ChatCompletionSnapshot, accumulateMessage, appendAnswer, assistantMessage, isCutOffToolCall, withoutUnansweredToolCalls } from "../../operators/index.js";
import { marbles } from "../support/marbles.js";

const chunk = (delta: ChatCompletionChunk.Choice.Delta, finish: ChatCompletionChunk.Choice["finish_reason"] = null, index = 0): ChatCompletionChunk => ({
  id: "c1",
  object: "chat.completion.chunk",
  created: 1,
  model: "gpt-4",
  choices: [{ index, delta, finish_reason: finish }],
});

const snapshot = (content: string | null, extra: Partial<ChatCompletionSnapshot["choices"][number]["message"]> = {}): ChatCompletionSnapshot => ({
  id: "c1",
  created: 1,
  model: "gpt-4",
  choices: [{ index: 0, finish_reason: null, logprobs: null, message: { role: "assistant", content, ...extra } }],
});

const question: ChatCompletionMessageParam[] = [
  { role: "system", content: "Be brief." },
  { role: "user", content: "Say hello" },
];

describe("appendAnswer", () => {
  it("emits the messages so far with the answer so far after every snapshot", marbles((m) => {
    const source = m.cold("  a-b-|", { a: snapshot("Hel"), b: snapshot("Hello!") });
    const subs = "           ^---!";
    const expected = m.cold<ChatCompletionMessageParam[]>("x-y-|", {
      x: [...question, { role: "assistant", content: "Hel" }],
      y: [...question, { role: "assistant", content: "Hello!" }],
    });
    m.expect(source.pipe(appendAnswer(question))).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("gives the next request's messages from accumulateMessage's final snapshot", marbles((m) => {
    const chunks = m.cold("  a-b-c-|", {
      a: chunk({ role: "assistant", content: "" }),
      b: chunk({ content: "Hello there!" }),
      c: chunk({}, "stop"),
    });
    const expected = m.cold<ChatCompletionMessageParam[]>("------(z|)", { z: [...question, { role: "assistant", content: "Hello there!" }] });
    m.expect(chunks.pipe(accumulateMessage(), appendAnswer(question), last())).toBeObservable(expected);
    m.expect(chunks).toHaveSubscriptions("^-----!");
  }));

  it("keeps tool calls and a refusal, with null text for an answer that is only tool calls", () => {
    const calls = snapshot(null, { tool_calls: [{ id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } }] });
    expect(assistantMessage(calls)).toStrictEqual({
      role: "assistant",
      content: null,
      tool_calls: [{ id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } }],
    });
    expect(assistantMessage(snapshot(null, { refusal: "I can't." }))).toStrictEqual({ role: "assistant", content: "", refusal: "I can't." });
  });

  it("leaves reasoning out and reads the chosen choice", () => {
    expect(assistantMessage(snapshot("42", { reasoning: "thinking…" }))).toStrictEqual({ role: "assistant", content: "42" });
    const two: ChatCompletionSnapshot = {
      ...snapshot("first"),
      choices: [...snapshot("first").choices, { index: 1, finish_reason: null, logprobs: null, message: { content: "second" } }],
    };
    expect(assistantMessage(two, { choice: 1 })).toStrictEqual({ role: "assistant", content: "second" });
  });

  it("sends the reasoning back in the field reasoningField names, as DeepSeek's thinking mode with tools needs", marbles((m) => {
    const call = { id: "call_1", type: "function" as const, function: { name: "weather", arguments: '{"city":"Paris"}' } };
    const source = m.cold("  a-|", { a: snapshot(null, { reasoning: "I need the weather.", tool_calls: [call] }) });
    const answer: AssistantMessage = { role: "assistant", content: null, tool_calls: [call], reasoning_content: "I need the weather." };
    const expected = m.cold<ChatCompletionMessageParam[]>("x-|", { x: [...question, answer] });
    m.expect(source.pipe(appendAnswer(question, { reasoningField: "reasoning_content" }))).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^-!");
    m.flush();
    expect(assistantMessage(snapshot("42", { reasoning: "thinking…" }), { reasoningField: "reasoning" })).toStrictEqual({ role: "assistant", content: "42", reasoning: "thinking…" });
    expect(assistantMessage(snapshot("42"), { reasoningField: "reasoning_content" })).toStrictEqual({ role: "assistant", content: "42" });
  }));

  it("throws a TypeError for a reasoningField it does not know", () => {
    // A value from outside TypeScript (a config file, JavaScript): assigned at run time, as types cannot hold it.
    const options: AppendAnswerOptions = {};
    Object.assign(options, { reasoningField: "thoughts" });
    expect(() => appendAnswer(question, options)).toThrow(new TypeError('reasoningField must be "reasoning_content" or "reasoning", got "thoughts"'));
  });

  it("sends a tool call's extra_content back as received, as Gemini 3 refuses a call without its thought signature", () => {
    const extra = { google: { thought_signature: "CrICAdHt…" } };
    const calls = snapshot(null, { tool_calls: [{ id: "function-call-1", type: "function", function: { name: "get_weather", arguments: "{}" }, extra_content: extra }] });
    expect(assistantMessage(calls)).toStrictEqual({
      role: "assistant",
      content: null,
      tool_calls: [{ id: "function-call-1", type: "function", function: { name: "get_weather", arguments: "{}" }, extra_content: extra }],
    });
  });

  it("sends OpenRouter's reasoning_details back as they came, which its Claude and Gemini models need after a tool call", () => {
    const details = [{ type: "reasoning.text", text: "Need weather.", signature: "EqMBCkgI…", index: 0 }];
    const call = { id: "toolu_1", type: "function" as const, function: { name: "weather", arguments: "{}" } };
    expect(assistantMessage(snapshot(null, { reasoning: "Need weather.", reasoning_details: details, tool_calls: [call] }))).toStrictEqual({
      role: "assistant",
      content: null,
      tool_calls: [call],
      reasoning_details: details,
    });
  });

  it("never changes the messages it was given", marbles((m) => {
    const given = [...question];
    const source = m.cold("a|", { a: snapshot("Hi") });
    m.expect(source.pipe(appendAnswer(given))).toBeObservable(m.cold<ChatCompletionMessageParam[]>("x|", { x: [...question, { role: "assistant", content: "Hi" }] }));
    m.flush();
    expect(given).toStrictEqual(question);
  }));

  it("gives an empty answer for a snapshot that has nothing yet", () => {
    expect(assistantMessage({ id: "", created: 0, model: "", choices: [] })).toStrictEqual({ role: "assistant", content: "" });
  });

  it("completes without values on an empty source", marbles((m) => {
    const source = m.cold<ChatCompletionSnapshot>("|");
    m.expect(source.pipe(appendAnswer(question))).toBeObservable("|");
    m.expect(source).toHaveSubscriptions("(^!)");
  }));

  it("never emits on a source that never emits", marbles((m) => {
    const source = m.cold<ChatCompletionSnapshot>("-");
    m.expect(source.pipe(appendAnswer(question))).toBeObservable("-");
    m.expect(source).toHaveSubscriptions("^");
  }));

  it("passes an error through after the messages so far", marbles((m) => {
    const source = m.cold("  a-#", { a: snapshot("part") }, new Error("cut"));
    const expected = m.cold<ChatCompletionMessageParam[]>("x-#", { x: [...question, { role: "assistant", content: "part" }] }, new Error("cut"));
    m.expect(source.pipe(appendAnswer(question))).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("unsubscribes from the source when the subscriber leaves early", marbles((m) => {
    const source = m.cold("  a-b-c-|", { a: snapshot("1"), b: snapshot("12"), c: snapshot("123") });
    const unsub = "          --!";
    m.expect(source.pipe(appendAnswer([])), unsub).toBeObservable(m.cold<ChatCompletionMessageParam[]>("x-", { x: [{ role: "assistant", content: "1" }] }));
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("errors when a callback downstream of it throws", marbles((m) => {
    const source = m.cold("  a-b-|", { a: snapshot("1"), b: snapshot("12") });
    const failing = source.pipe(
      appendAnswer([]),
      map((messages) => {
        if (messages[0]?.content === "12") throw new Error("too long");
        return messages.length;
      }),
    );
    m.expect(failing).toBeObservable(m.cold("x-#", { x: 1 }, new Error("too long")));
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  describe("a tool call cut off mid-arguments", () => {
    const whole = { index: 0, id: "call_1", type: "function" as const, function: { name: "weather", arguments: '{"city":"Paris"}' } };
    const started = { index: 1, id: "call_2", type: "function" as const, function: { name: "weather", arguments: '{"city":' } };
    const answer = (finish: ChatCompletionChunk.Choice["finish_reason"]) => ({
      r: chunk({ role: "assistant", content: "" }),
      t: chunk({ content: "Let me check." }),
      w: chunk({ tool_calls: [whole] }),
      s: chunk({ tool_calls: [started] }),
      f: chunk({}, finish),
    });
    const text = { role: "assistant" as const, content: "Let me check." };
    const wholeCall = { id: "call_1", type: "function" as const, function: { name: "weather", arguments: '{"city":"Paris"}' } };

    it("is left out of the message when the answer stopped at the token limit, the text and the whole calls kept; kept when asked", marbles((m) => {
      const chunks = m.cold("  r-t-w-s-f-|", answer("length"));
      const expected = m.cold<ChatCompletionMessageParam[]>("----------(z|)", { z: [...question, { ...text, tool_calls: [wholeCall] }] });
      m.expect(chunks.pipe(accumulateMessage(), appendAnswer(question), last())).toBeObservable(expected);
      const cut = { id: "call_2", type: "function" as const, function: { name: "weather", arguments: '{"city":' } };
      const kept = m.cold<ChatCompletionMessageParam[]>("----------(z|)", { z: [...question, { ...text, tool_calls: [wholeCall, cut] }] });
      m.expect(chunks.pipe(accumulateMessage(), appendAnswer(question, { keepCutOffToolCalls: true }), last())).toBeObservable(kept);
      m.expect(chunks).toHaveSubscriptions(["^---------!", "^---------!"]);
    }));

    it("is left out when the stream fails mid-arguments, the messages before the error kept", marbles((m) => {
      const chunks = m.cold("  t-s-#", answer(null), new Error("connection reset"));
      const expected = m.cold<ChatCompletionMessageParam[]>("x-y-#", { x: [...question, text], y: [...question, text] }, new Error("connection reset"));
      m.expect(chunks.pipe(accumulateMessage(), appendAnswer(question))).toBeObservable(expected);
      m.expect(chunks).toHaveSubscriptions("^---!");
    }));

    it("is left out when the subscriber leaves mid-arguments", marbles((m) => {
      const chunks = m.cold("  t-s-s-f-|", { ...answer("tool_calls"), s: chunk({ tool_calls: [{ index: 0, id: "call_2", type: "function", function: { name: "weather", arguments: '{"ci' } }] }) });
      const unsub = "          ----!";
      const expected = m.cold<ChatCompletionMessageParam[]>("x-y-", { x: [...question, text], y: [...question, text] });
      m.expect(chunks.pipe(accumulateMessage(), appendAnswer(question)), unsub).toBeObservable(expected);
      m.expect(chunks).toHaveSubscriptions("^---!");
    }));

    it("leaves an empty text when the answer was only a cut-off call, which the snapshot still holds", () => {
      const cut = snapshot(null, { tool_calls: [{ id: "call_2", type: "function", function: { name: "weather", arguments: '{"city":' } }] });
      expect(assistantMessage(cut)).toStrictEqual({ role: "assistant", content: "" });
      expect(cut.choices[0]?.message.tool_calls).toHaveLength(1);
    });

    it("is a call whose arguments are not whole JSON in an answer that did not finish with tool calls or a stop", () => {
      const call = (args: string) => ({ id: "c", type: "function" as const, function: { name: "f", arguments: args } });
      expect(isCutOffToolCall(call('{"a":'), "length")).toBe(true);
      expect(isCutOffToolCall(call('{"a":'), null)).toBe(true);
      expect(isCutOffToolCall(call(""), "content_filter")).toBe(true);
      expect(isCutOffToolCall(call('{"a":1}'), "length")).toBe(false);
      // Finished with its calls: arguments that are not JSON were written so, and the app answers them (with an error).
      expect(isCutOffToolCall(call('{"a":'), "tool_calls")).toBe(false);
      expect(isCutOffToolCall(call(""), "stop")).toBe(false);
      expect(isCutOffToolCall({ id: "c", type: "custom", custom: { name: "sql", input: "SELECT" } }, "length")).toBe(false);
    });

    it("throws a TypeError for a keepCutOffToolCalls that is not a boolean", () => {
      const options: AppendAnswerOptions = {};
      Object.assign(options, { keepCutOffToolCalls: "yes" });
      expect(() => appendAnswer(question, options)).toThrow(new TypeError("keepCutOffToolCalls must be a boolean, got yes"));
    });
  });

  it("throws a TypeError for a choice that is not an index", () => {
    expect(() => appendAnswer([], { choice: -1 })).toThrow(TypeError);
    expect(() => appendAnswer([], { choice: 1.5 })).toThrow("choice must be an integer");
  });
});

describe("withoutUnansweredToolCalls", () => {
  const paris = { id: "call_paris", type: "function" as const, function: { name: "weather", arguments: '{"city":"Paris"}' } };
  const rome = { id: "call_rome", type: "function" as const, function: { name: "weather", arguments: '{"city":"Rome"}' } };
  const user: ChatCompletionMessageParam = { role: "user", content: "Weather in Paris and Rome?" };

  it("keeps the calls tool messages right after answer, the same message when all are answered", () => {
    const asked: ChatCompletionMessageParam = { role: "assistant", content: null, tool_calls: [paris, rome] };
    const answered: ChatCompletionMessageParam[] = [user, asked, { role: "tool", tool_call_id: "call_paris", content: "Sunny" }, { role: "tool", tool_call_id: "call_rome", content: "Rain" }];
    const result = withoutUnansweredToolCalls(answered);
    expect(result).toStrictEqual(answered);
    expect(result[1]).toBe(asked);
  });

  it("leaves out the calls no tool answered, keeping the text; an answer that was only calls goes", () => {
    const given: ChatCompletionMessageParam[] = [
      user,
      { role: "assistant", content: null, tool_calls: [paris, rome] },
      { role: "tool", tool_call_id: "call_paris", content: "Sunny" },
      { role: "user", content: "And Oslo?" },
      { role: "assistant", content: "Let me check.", tool_calls: [rome] },
      { role: "user", content: "Just guess." },
      { role: "assistant", content: null, tool_calls: [paris] },
    ];
    const copy = structuredClone(given);
    expect(withoutUnansweredToolCalls(given)).toStrictEqual([
      user,
      { role: "assistant", content: null, tool_calls: [paris] },
      { role: "tool", tool_call_id: "call_paris", content: "Sunny" },
      { role: "user", content: "And Oslo?" },
      { role: "assistant", content: "Let me check." },
      { role: "user", content: "Just guess." },
    ]);
    expect(given).toStrictEqual(copy);
  });
});

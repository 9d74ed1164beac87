import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import { describe, it } from "vitest";
import { ToolCallArgumentsError, responsesToUIMessageStream } from "../../operators/index.js";
import { responseEvents } from "../../src/testing/frames.js";
import { marbles } from "../support/marbles.js";

const made = responseEvents(["Hel", "lo"]);
const at = (index: number): ResponseStreamEvent => {
  const event = made.at(index);
  if (event === undefined) throw new Error(`responseEvents has no event ${index}`);
  return event;
};
const created = at(0);
const completed = at(-1);
const text = (delta: string): ResponseStreamEvent => ({ type: "response.output_text.delta", item_id: "msg_test", output_index: 0, content_index: 0, delta, logprobs: [], sequence_number: 3 });
const textDone: ResponseStreamEvent = { type: "response.output_text.done", item_id: "msg_test", output_index: 0, content_index: 0, text: "Hello", logprobs: [], sequence_number: 5 };
const summary = (delta: string): ResponseStreamEvent => ({ type: "response.reasoning_summary_text.delta", item_id: "rs_1", output_index: 0, summary_index: 0, delta, sequence_number: 2 });
const callAdded: ResponseStreamEvent = { type: "response.output_item.added", output_index: 1, sequence_number: 6, item: { type: "function_call", id: "fc_1", call_id: "call_1", name: "weather", arguments: "", status: "in_progress" } };
const callDelta = (delta: string): ResponseStreamEvent => ({ type: "response.function_call_arguments.delta", item_id: "fc_1", output_index: 1, delta, sequence_number: 7 });
const callDone = (args: string): ResponseStreamEvent => ({ type: "response.output_item.done", output_index: 1, sequence_number: 8, item: { type: "function_call", id: "fc_1", call_id: "call_1", name: "weather", arguments: args, status: "completed" } });
const incomplete = (reason: "max_output_tokens" | "content_filter"): ResponseStreamEvent => {
  if (completed.type !== "response.completed") throw new Error("responseEvents ends with response.completed");
  return { type: "response.incomplete", sequence_number: 9, response: { ...completed.response, status: "incomplete", incomplete_details: { reason } } };
};

/** What an untyped JavaScript caller does: hand over any value as a Responses event. */
function passedAsEvent(value: unknown): value is ResponseStreamEvent {
  return value !== undefined;
}

const events = { c: created, a: text("Hel"), b: text("lo"), d: textDone, z: completed };
const parts = {
  S: { type: "start", messageId: "resp_test" },
  s: { type: "start" },
  p: { type: "start-step" },
  t: { type: "text-start", id: "msg_test" },
  a: { type: "text-delta", id: "msg_test", delta: "Hel" },
  b: { type: "text-delta", id: "msg_test", delta: "lo" },
  e: { type: "text-end", id: "msg_test" },
  q: { type: "finish-step" },
  f: { type: "finish" },
  F: { type: "finish", finishReason: "stop" },
} as const;

describe("responsesToUIMessageStream", () => {
  it("opens the message on response.created with its id, streams text deltas, closes the text on its .done, and finishes with stop after response.completed", marbles((m) => {
    const source = m.cold("  c---a----b-dz|", events);
    m.expect(source.pipe(responsesToUIMessageStream())).toBeObservable("(Sp)(ta)-b-e-(qF|)", parts);
    m.expect(source).toHaveSubscriptions("^------------!");
  }));

  it("puts a reasoning summary in its own part, closed when the text begins", marbles((m) => {
    const source = m.cold("  c---r---a----|", { ...events, r: summary("Hmm") });
    m.expect(source.pipe(responsesToUIMessageStream())).toBeObservable("(Sp)(Rr)(Xta)(eqf|)", {
      ...parts,
      R: { type: "reasoning-start", id: "rs_1:0" },
      r: { type: "reasoning-delta", id: "rs_1:0", delta: "Hmm" },
      X: { type: "reasoning-end", id: "rs_1:0" },
    });
    m.expect(source).toHaveSubscriptions("^------------!");
  }));

  it("streams a function call's input, gives it parsed when its item is done, and finishes with tool-calls", marbles((m) => {
    const source = m.cold("  c---a---k---x-y-oz|", { ...events, k: callAdded, x: callDelta('{"city":'), y: callDelta('"Paris"}'), o: callDone('{"city":"Paris"}') });
    m.expect(source.pipe(responsesToUIMessageStream())).toBeObservable("(Sp)(ta)(ek)x-y-o-(qT|)", {
      ...parts,
      k: { type: "tool-input-start", toolCallId: "call_1", toolName: "weather" },
      x: { type: "tool-input-delta", toolCallId: "call_1", inputTextDelta: '{"city":' },
      y: { type: "tool-input-delta", toolCallId: "call_1", inputTextDelta: '"Paris"}' },
      o: { type: "tool-input-available", toolCallId: "call_1", toolName: "weather", input: { city: "Paris" } },
      T: { type: "finish", finishReason: "tool-calls" },
    });
  }));

  it("closes a part when its output item is done without a .done of its own, and reads raw reasoning text and a custom tool's text input", marbles((m) => {
    const raw: ResponseStreamEvent = { type: "response.reasoning_text.delta", item_id: "rs_2", output_index: 0, content_index: 0, delta: "Hmm", sequence_number: 1 };
    const rawDone: ResponseStreamEvent = { type: "response.output_item.done", output_index: 0, sequence_number: 2, item: { type: "reasoning", id: "rs_2", summary: [] } };
    const custom: ResponseStreamEvent = { type: "response.output_item.added", output_index: 1, sequence_number: 3, item: { type: "custom_tool_call", id: "ct_1", call_id: "call_2", name: "shell", input: "" } };
    const customDelta: ResponseStreamEvent = { type: "response.custom_tool_call_input.delta", item_id: "ct_1", output_index: 1, delta: "ls -l", sequence_number: 4 };
    const customDone: ResponseStreamEvent = { type: "response.output_item.done", output_index: 1, sequence_number: 5, item: { type: "custom_tool_call", id: "ct_1", call_id: "call_2", name: "shell", input: "ls -l" } };
    const source = m.cold("  r-----o-k-x-d-|", { r: raw, o: rawDone, k: custom, x: customDelta, d: customDone });
    m.expect(source.pipe(responsesToUIMessageStream())).toBeObservable("(spRr)X-k-x-d-(qf|)", {
      ...parts,
      R: { type: "reasoning-start", id: "rs_2:0" },
      r: { type: "reasoning-delta", id: "rs_2:0", delta: "Hmm" },
      X: { type: "reasoning-end", id: "rs_2:0" },
      k: { type: "tool-input-start", toolCallId: "call_2", toolName: "shell", inputEncoding: "text" },
      x: { type: "tool-input-delta", toolCallId: "call_2", inputTextDelta: "ls -l" },
      d: { type: "tool-input-available", toolCallId: "call_2", toolName: "shell", input: "ls -l" },
    });
    m.expect(source).toHaveSubscriptions("^-------------!");
  }));

  it("reports arguments that are not JSON with tool-input-error", marbles((m) => {
    // JSON.parse's own message, which differs between Node versions ("… at position 1 (line 1 column 2)" on Node 24).
    const argumentsError = (name: string, id: string, raw: string): string => {
      try {
        JSON.parse(raw);
      } catch (cause) {
        return new ToolCallArgumentsError(name, id, raw, { cause }).message;
      }
      throw new Error(`${raw} is valid JSON`);
    };
    const source = m.cold("  k-----o-|", { k: callAdded, o: callDone("{oops") });
    m.expect(source.pipe(responsesToUIMessageStream())).toBeObservable("(spk)-o-(qf|)", {
      ...parts,
      k: { type: "tool-input-start", toolCallId: "call_1", toolName: "weather" },
      o: { type: "tool-input-error", toolCallId: "call_1", toolName: "weather", input: "{oops", errorText: argumentsError("weather", "call_1", "{oops") },
    });
  }));

  it("finishes a response.incomplete with its reason: length for max_output_tokens, content-filter", marbles((m) => {
    m.expect(m.cold("c---a----i|", { ...events, i: incomplete("max_output_tokens") }).pipe(responsesToUIMessageStream())).toBeObservable("(Sp)(ta)--(eqL|)", { ...parts, L: { type: "finish", finishReason: "length" } });
    m.expect(m.cold("c-----i|", { ...events, i: incomplete("content_filter") }).pipe(responsesToUIMessageStream())).toBeObservable("(Sp)---(qC|)", { ...parts, C: { type: "finish", finishReason: "content-filter" } });
  }));

  it("answers an empty source with a message that starts and finishes", marbles((m) => {
    const source = m.cold("  --|");
    m.expect(source.pipe(responsesToUIMessageStream())).toBeObservable("--(spqf|)", parts);
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("emits nothing more for a source that never ends", marbles((m) => {
    const source = m.cold("  c---a-", events);
    m.expect(source.pipe(responsesToUIMessageStream())).toBeObservable("(Sp)(ta)-", parts);
    m.expect(source).toHaveSubscriptions("^");
  }));

  it("turns an error into one error part after the parts before it, then completes; a call not done gets no input", marbles((m) => {
    const source = m.cold("  c---a---k---#", { ...events, k: callAdded }, new Error("upstream broke"));
    m.expect(source.pipe(responsesToUIMessageStream())).toBeObservable("(Sp)(ta)(ek)(E|)", {
      ...parts,
      k: { type: "tool-input-start", toolCallId: "call_1", toolName: "weather" },
      E: { type: "error", errorText: "upstream broke" },
    });
    m.expect(source).toHaveSubscriptions("^-----------!");
  }));

  it("ends with an error part on response.failed, reading nothing after it", marbles((m) => {
    const failed: ResponseStreamEvent = { type: "response.failed", sequence_number: 4, response: { ...(created.type === "response.created" ? created.response : { id: "", object: "response", created_at: 0, model: "", output: [], output_text: "", error: null, incomplete_details: null, instructions: null, metadata: {}, parallel_tool_calls: true, temperature: 1, tool_choice: "auto", tools: [], top_p: 1 }), status: "failed", error: { code: "server_error", message: "The model failed" } } };
    const source = m.cold("  c---a---x-b-|", { ...events, x: failed });
    m.expect(source.pipe(responsesToUIMessageStream())).toBeObservable("(Sp)(ta)(eE|)", { ...parts, E: { type: "error", errorText: "The model failed" } });
    m.expect(source).toHaveSubscriptions("^-------!");
  }));

  it("unsubscribes the source when unsubscribed early", marbles((m) => {
    const source = m.cold("  c---a-b-|", events);
    m.expect(source.pipe(responsesToUIMessageStream()), "^-----!").toBeObservable("(Sp)(ta)", parts);
    m.expect(source).toHaveSubscriptions("^-----!");
  }));

  it("ends with an error part when an event is not of the Responses shape (its reading throws), and unsubscribes the source", marbles((m) => {
    const broken: unknown[] = [{ type: "response.created", response: null, sequence_number: 0 }];
    const source = m.cold("  a------x-b-|", { a: text("Hel"), x: broken.filter(passedAsEvent)[0] ?? text(""), b: text("lo") });
    m.expect(source.pipe(responsesToUIMessageStream())).toBeObservable("(spta)-(eE|)", {
      ...parts,
      E: { type: "error", errorText: "responsesToUIMessageStream could not read a Responses event: Cannot read properties of null (reading 'id')" },
    });
    m.expect(source).toHaveSubscriptions("^------!");
  }));
});

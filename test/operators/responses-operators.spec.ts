import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import { last, lastValueFrom, map, of, take, toArray } from "rxjs";
import { accumulateResponse as accumulateWithOpenAI } from "openai/lib/responses/ResponseAccumulator";
import type { Response as OpenAIResponse } from "openai/resources/responses/responses";
import { describe, expect, it } from "vitest";
import { accumulateResponse, extractOutputText, extractReasoningSummary } from "../../operators/index.js";
import { responseEvents } from "../../src/testing/index.js";
import { marbles } from "../support/marbles.js";

const events = responseEvents(["Hello", " there!"], { reasoning: ["Greet", " back."] });
const byType = (type: string, nth = 0): ResponseStreamEvent => {
  const found = events.filter((event) => event.type === type)[nth];
  if (found === undefined) throw new Error(`no ${type} #${nth}`);
  return found;
};
const created = byType("response.created");
const text1 = byType("response.output_text.delta", 0);
const text2 = byType("response.output_text.delta", 1);
const summary1 = byType("response.reasoning_summary_text.delta", 0);
const completed = byType("response.completed");
/** An event as servers send it: a whole response in it has no `output_text`, which only the openai SDK adds. */
const onWire = (event: ResponseStreamEvent): ResponseStreamEvent => {
  const copy = structuredClone(event);
  if ("response" in copy) Reflect.deleteProperty(copy.response, "output_text");
  return copy;
};

describe("extractOutputText", () => {
  it("emits the delta of each response.output_text.delta event and nothing for other events", marbles((m) => {
    const source = m.cold("  a-b-c-d-e-|", { a: created, b: summary1, c: text1, d: text2, e: completed });
    m.expect(source.pipe(extractOutputText())).toBeObservable(m.cold("----x-y---|", { x: "Hello", y: " there!" }));
    m.expect(source).toHaveSubscriptions("^---------!");
  }));

  it("completes without values on an empty source, and never emits on a silent one", marbles((m) => {
    const empty = m.cold<ResponseStreamEvent>("|");
    const silent = m.cold<ResponseStreamEvent>("-");
    m.expect(empty.pipe(extractOutputText())).toBeObservable("|");
    m.expect(silent.pipe(extractOutputText())).toBeObservable("-");
    m.expect(empty).toHaveSubscriptions("(^!)");
    m.expect(silent).toHaveSubscriptions("^");
  }));

  it("passes an error through after the text before it", marbles((m) => {
    const source = m.cold("  a-#", { a: text1 }, new Error("boom"));
    m.expect(source.pipe(extractOutputText())).toBeObservable(m.cold("x-#", { x: "Hello" }, new Error("boom")));
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("unsubscribes from the source when the consumer stops early", marbles((m) => {
    const source = m.cold("  a-b-c-|", { a: text1, b: text2, c: text1 });
    m.expect(source.pipe(extractOutputText(), take(1))).toBeObservable(m.cold("(x|)", { x: "Hello" }));
    m.expect(source).toHaveSubscriptions("(^!)");
  }));
});

describe("extractReasoningSummary", () => {
  it("emits the delta of each response.reasoning_summary_text.delta event", marbles((m) => {
    const source = m.cold("  a-b-c-|", { a: created, b: summary1, c: text1 });
    m.expect(source.pipe(extractReasoningSummary())).toBeObservable(m.cold("--x---|", { x: "Greet" }));
    m.expect(source).toHaveSubscriptions("^-----!");
  }));

  it("passes errors through and stops with its consumer", marbles((m) => {
    const failing = m.cold("  a-#", { a: summary1 }, new Error("boom"));
    m.expect(failing.pipe(extractReasoningSummary())).toBeObservable(m.cold("x-#", { x: "Greet" }, new Error("boom")));
    m.expect(failing).toHaveSubscriptions("^-!");
    const never = m.cold<ResponseStreamEvent>("-");
    m.expect(never.pipe(extractReasoningSummary(), take(1))).toBeObservable("-");
    m.expect(never).toHaveSubscriptions("^");
  }));
});

describe("accumulateResponse", () => {
  it("ends with a snapshot deep-equal to response.completed's response", async () => {
    const final = await lastValueFrom(of(...events).pipe(accumulateResponse()));
    expect(completed.type === "response.completed" && final).toEqual(completed.type === "response.completed" && completed.response);
  });

  it("sets output_text on every snapshot, as the openai client does, though servers send none", async () => {
    // As OpenAI, Azure, xAI and LM Studio stream it: the whole responses carry no output_text.
    const wire = events.map(onWire);
    expect(wire.some((event) => "response" in event && "output_text" in event.response)).toBe(false);
    const snapshots = await lastValueFrom(of(...wire).pipe(accumulateResponse(), toArray()));
    const first = events.indexOf(text1);
    expect(snapshots.map((snapshot) => snapshot.output_text)).toEqual(events.map((_, index) => (index < first ? "" : index === first ? "Hello" : "Hello there!")));
    const final = snapshots.at(-1);
    expect(final).toEqual(completed.type === "response.completed" && completed.response);
    expect(Object.isFrozen(final)).toBe(true);
  });

  it("joins the text of every output_text part for output_text, in order, refusals left out", async () => {
    const base = { sequence_number: 0, logprobs: [] };
    const message = (id: string) => ({ id, type: "message" as const, status: "in_progress" as const, role: "assistant" as const, content: [] });
    const stream: ResponseStreamEvent[] = [
      onWire(created),
      { ...base, type: "response.output_item.added", output_index: 0, item: message("msg_1") },
      { ...base, type: "response.content_part.added", item_id: "msg_1", output_index: 0, content_index: 0, part: { type: "output_text", text: "", annotations: [] } },
      { ...base, type: "response.content_part.added", item_id: "msg_1", output_index: 0, content_index: 1, part: { type: "refusal", refusal: "" } },
      { ...base, type: "response.refusal.delta", item_id: "msg_1", output_index: 0, content_index: 1, delta: "No." },
      { ...base, type: "response.output_item.added", output_index: 1, item: message("msg_2") },
      { ...base, type: "response.content_part.added", item_id: "msg_2", output_index: 1, content_index: 0, part: { type: "output_text", text: "", annotations: [] } },
      { ...base, type: "response.output_text.delta", item_id: "msg_2", output_index: 1, content_index: 0, delta: "Second" },
      { ...base, type: "response.output_text.delta", item_id: "msg_1", output_index: 0, content_index: 0, delta: "First, " },
      { ...base, type: "response.output_text.delta", item_id: "msg_2", output_index: 1, content_index: 0, delta: " and last." },
    ];
    const texts = await lastValueFrom(of(...stream).pipe(accumulateResponse(), map((snapshot) => snapshot.output_text), toArray()));
    expect(texts).toEqual(["", "", "", "", "", "", "", "Second", "First, Second", "First, Second and last."]);
  });

  it("builds the output as the deltas arrive, in frozen snapshots that share what did not change", async () => {
    const snapshots = await lastValueFrom(of(...events).pipe(accumulateResponse(), toArray()));
    const afterText = snapshots[events.indexOf(text2)];
    const message = afterText?.output[1];
    expect(message?.type === "message" && message.content[0]).toMatchObject({ type: "output_text", text: "Hello there!" });
    const reasoning = afterText?.output[0];
    expect(reasoning?.type === "reasoning" && reasoning.summary).toEqual([{ type: "summary_text", text: "Greet back." }]);
    expect(Object.isFrozen(afterText)).toBe(true);
    expect(Object.isFrozen(afterText?.output)).toBe(true);
    // The text delta changed only the message: the reasoning item is the same object as before it.
    expect(snapshots[events.indexOf(text2)]?.output[0]).toBe(snapshots[events.indexOf(text1)]?.output[0]);
  });

  it("keeps function-call arguments and custom tool input as they stream", async () => {
    const base = { sequence_number: 0, output_index: 0, item_id: "fc_1" };
    const stream: ResponseStreamEvent[] = [
      created,
      { ...base, type: "response.output_item.added", item: { type: "function_call", id: "fc_1", call_id: "call_1", name: "weather", arguments: "" } },
      { ...base, type: "response.function_call_arguments.delta", delta: '{"city":' },
      { ...base, type: "response.function_call_arguments.delta", delta: '"Oslo"}' },
      { ...base, output_index: 1, type: "response.output_item.added", item: { type: "custom_tool_call", id: "ct_1", call_id: "call_2", name: "sql", input: "" } },
      { ...base, output_index: 1, item_id: "ct_1", type: "response.custom_tool_call_input.delta", delta: "SELECT 1" },
    ];
    const final = await lastValueFrom(of(...stream).pipe(accumulateResponse()));
    expect(final.output).toMatchObject([{ type: "function_call", name: "weather", arguments: '{"city":"Oslo"}' }, { type: "custom_tool_call", input: "SELECT 1" }]);
  });

  it("builds code-interpreter code and MCP arguments, sets built-in tools' status and opens raw reasoning parts, snapshot for snapshot as the openai client's accumulator", async () => {
    const base = { sequence_number: 0 };
    const stream: ResponseStreamEvent[] = [
      onWire(created),
      { ...base, type: "response.output_item.added", output_index: 0, item: { type: "reasoning", id: "rs_1", summary: [] } },
      { ...base, type: "response.content_part.added", item_id: "rs_1", output_index: 0, content_index: 0, part: { type: "reasoning_text", text: "" } },
      { ...base, type: "response.reasoning_text.delta", item_id: "rs_1", output_index: 0, content_index: 0, delta: "Roll a die." },
      { ...base, type: "response.output_item.added", output_index: 1, item: { type: "web_search_call", id: "ws_1", status: "in_progress", action: { type: "search", query: "dice" } } },
      { ...base, type: "response.web_search_call.in_progress", item_id: "ws_1", output_index: 1 },
      { ...base, type: "response.web_search_call.searching", item_id: "ws_1", output_index: 1 },
      { ...base, type: "response.web_search_call.completed", item_id: "ws_1", output_index: 1 },
      { ...base, type: "response.output_item.added", output_index: 2, item: { type: "code_interpreter_call", id: "ci_1", status: "in_progress", code: null, container_id: "cntr_1", outputs: null } },
      { ...base, type: "response.code_interpreter_call.in_progress", item_id: "ci_1", output_index: 2 },
      { ...base, type: "response.code_interpreter_call_code.delta", item_id: "ci_1", output_index: 2, delta: "import random" },
      { ...base, type: "response.code_interpreter_call_code.delta", item_id: "ci_1", output_index: 2, delta: "\nrandom.randint(1, 6)" },
      { ...base, type: "response.code_interpreter_call.interpreting", item_id: "ci_1", output_index: 2 },
      { ...base, type: "response.output_item.added", output_index: 3, item: { type: "mcp_call", id: "mcp_1", name: "roll", server_label: "dice", arguments: "" } },
      { ...base, type: "response.mcp_call.in_progress", item_id: "mcp_1", output_index: 3 },
      { ...base, type: "response.mcp_call_arguments.delta", item_id: "mcp_1", output_index: 3, delta: '{"sides":' },
      { ...base, type: "response.mcp_call_arguments.delta", item_id: "mcp_1", output_index: 3, delta: "6}" },
      { ...base, type: "response.mcp_call.failed", item_id: "mcp_1", output_index: 3 },
      { ...base, type: "response.code_interpreter_call_code.done", item_id: "ci_1", output_index: 2, code: "print(4)" },
      { ...base, type: "response.code_interpreter_call.completed", item_id: "ci_1", output_index: 2 },
    ];
    const snapshots = await lastValueFrom(of(...stream).pipe(accumulateResponse(), toArray()));
    expect(snapshots.at(-1)?.output).toMatchObject([
      { type: "reasoning", content: [{ type: "reasoning_text", text: "Roll a die." }] },
      { type: "web_search_call", status: "completed" },
      { type: "code_interpreter_call", code: "print(4)", status: "completed" },
      { type: "mcp_call", arguments: '{"sides":6}', status: "failed" },
    ]);
    const interpreting = snapshots[stream.findIndex((event) => event.type === "response.code_interpreter_call.interpreting")];
    expect(interpreting?.output[2]).toMatchObject({ code: "import random\nrandom.randint(1, 6)", status: "interpreting" });
    // The openai client's own accumulator (what client.responses.stream() holds) after each event: the same.
    let theirs: OpenAIResponse | undefined;
    const expected = stream.map((event) => structuredClone((theirs = accumulateWithOpenAI(event, theirs))));
    expect(snapshots).toEqual(expected);
  });

  it("emits nothing before the response exists and ignores events naming items it lacks", async () => {
    const emitted = await lastValueFrom(of(text1, created, text1).pipe(accumulateResponse(), toArray()));
    expect(emitted).toHaveLength(2);
    expect(emitted[1]).toBe(emitted[0]);
  });

  it("passes errors through, completes on empty, and starts afresh per subscription", marbles((m) => {
    const failing = m.cold("  a-#", { a: created }, new Error("boom"));
    m.expect(failing.pipe(accumulateResponse(), last())).toBeObservable(m.cold("--#", {}, new Error("boom")));
    m.expect(failing).toHaveSubscriptions("^-!");
    const empty = m.cold<ResponseStreamEvent>("|");
    m.expect(empty.pipe(accumulateResponse())).toBeObservable("|");
    m.expect(empty).toHaveSubscriptions("(^!)");
    const never = m.cold<ResponseStreamEvent>("-");
    m.expect(never.pipe(accumulateResponse())).toBeObservable("-");
    m.expect(never).toHaveSubscriptions("^");
  }));
});

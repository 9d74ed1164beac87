import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import { describe, expect, it } from "vitest";
import { PartialResponseError, StreamTimeoutError, extractOutputText, fallback, retryBeforeContent, streamTimeout } from "../../operators/index.js";
import { responseEvents } from "../../src/testing/index.js";
import { marbles } from "../support/marbles.js";

// streamTimeout, retryBeforeContent and fallback on Responses API events: content is a non-empty content delta.
const events = responseEvents(["Hi"]);
const pick = (type: string): ResponseStreamEvent => {
  const found = events.find((event) => event.type === type);
  if (found === undefined) throw new Error(type);
  return found;
};
const values = { c: pick("response.created"), t: pick("response.output_text.delta"), d: pick("response.completed") };

describe("stream operators on Responses API events", () => {
  it("retryBeforeContent resubscribes after a failure before the first text delta, not after it", marbles((m) => {
    const early = m.cold("  c-#", values, new Error("reset"));
    const late = m.cold("   c-t-#", values, new Error("reset"));
    m.expect(early.pipe(retryBeforeContent({ count: 1, delay: 0 }))).toBeObservable(m.cold("c-c-#", values, new Error("reset")));
    m.expect(late.pipe(retryBeforeContent({ count: 1, delay: 0 }))).toBeObservable(m.cold("c-t-#", values, new Error("reset")));
    m.expect(early).toHaveSubscriptions(["^-!", "--^-!"]);
    m.expect(late).toHaveSubscriptions("^---!");
  }));

  it("streamTimeout keeps the output text delivered before an idle stall", marbles((m) => {
    const source = m.cold("c-t------", values);
    const error = new StreamTimeoutError("idle", 3, "Hi", { meta: undefined, seen: 2, lastValue: values.t });
    m.expect(source.pipe(streamTimeout({ idle: 3 }))).toBeObservable(m.cold("c-t--#", values, error));
    m.expect(source).toHaveSubscriptions("^----!");
  }));

  it("fallback moves on before content and gives PartialResponseError with the text after it", marbles((m) => {
    const failsEarly = m.cold("c-#", values, new Error("down"));
    const answers = m.cold("   t-d-|", values);
    m.expect(fallback([failsEarly, answers]).pipe(extractOutputText())).toBeObservable(m.cold("--x---|", { x: "Hi" }));
    const failsLate = m.cold("t-#", values, new Error("down"));
    m.expect(fallback([failsLate, answers])).toBeObservable(m.cold("t-#", values, new PartialResponseError("Hi", new Error("down"))));
    m.expect(failsEarly).toHaveSubscriptions("^-!");
    m.expect(answers).toHaveSubscriptions("--^---!");
    expect(values.t.type).toBe("response.output_text.delta");
  }));
});

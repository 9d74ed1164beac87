import { describe, it } from "vitest";
import { map } from "rxjs";
import { type Settled, settle } from "g4f-rx";
import { marbles } from "../support/marbles.js";

describe("settle", () => {
  it("emits the last value and complete when the source completes", marbles((m) => {
    const source = m.cold("  a-b-c-|");
    const subs = "           ^-----!";
    const expected = m.cold<Settled<string>>("------(x|)", { x: { end: "complete", last: "c" } });
    m.expect(source.pipe(settle(""))).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("emits the initial value when the source completes empty", marbles((m) => {
    const source = m.cold("  ---|");
    const subs = "           ^--!";
    const expected = m.cold<Settled<string>>("---(x|)", { x: { end: "complete", last: "" } });
    m.expect(source.pipe(settle(""))).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("turns an error into a value that keeps the last value before it", marbles((m) => {
    const error = new Error("cut off");
    const source = m.cold("  a-b-#", undefined, error);
    const subs = "           ^---!";
    const expected = m.cold<Settled<string>>("----(x|)", { x: { end: "error", last: "b", error } });
    m.expect(source.pipe(settle(""))).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("emits nothing while the source never ends", marbles((m) => {
    const source = m.cold("  a-b-");
    const subs = "           ^-----!";
    const expected = m.cold("------");
    m.expect(source.pipe(settle("")), subs).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("unsubscribes from the source when the signal aborts, and settles as aborted", marbles((m) => {
    const controller = new AbortController();
    m.scheduler.schedule(() => controller.abort(), 3);
    const source = m.cold("  a-b-c-|");
    const subs = "           ^--!";
    const expected = m.cold<Settled<string>>("---(x|)", { x: { end: "aborted", last: "b" } });
    m.expect(source.pipe(settle("", { signal: controller.signal }))).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("does not subscribe to the source when the signal is already aborted", marbles((m) => {
    const controller = new AbortController();
    controller.abort();
    const source = m.cold("  a-|");
    const expected = m.cold<Settled<string>>("(x|)", { x: { end: "aborted", last: "none" } });
    m.expect(source.pipe(settle("none", { signal: controller.signal }))).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions([]);
  }));

  it("settles as error when a callback before it throws", marbles((m) => {
    const error = new Error("callback failed");
    const source = m.cold("  a-b-|");
    const subs = "           ^-!";
    const expected = m.cold<Settled<string>>("--(x|)", { x: { end: "error", last: "A", error } });
    const mapped = source.pipe(
      map((value: string) => {
        if (value === "b") throw error;
        return value.toUpperCase();
      }),
    );
    m.expect(mapped.pipe(settle(""))).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("keeps separate state for each subscription", marbles((m) => {
    const source = m.cold("a-|");
    const settled = source.pipe(settle(""));
    m.expect(settled).toBeObservable(m.cold<Settled<string>>("--(x|)", { x: { end: "complete", last: "a" } }));
    m.expect(settled).toBeObservable(m.cold<Settled<string>>("--(x|)", { x: { end: "complete", last: "a" } }));
    m.expect(source).toHaveSubscriptions(["^-!", "^-!"]);
  }));
});

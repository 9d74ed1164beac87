import { APIUserAbortError, BadRequestError, InternalServerError, RateLimitError } from "openai";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { type Observable, defer, map } from "rxjs";
import { describe, expect, it } from "vitest";
import { retryBeforeContent } from "../../operators/index.js";
import { FrameTooLargeError, MalformedChunkError, NotEventStreamError } from "g4f-rx";
import { chunkWith, contentChunk } from "../support/chunks.js";
import { marbles } from "../support/marbles.js";

const values = {
  r: chunkWith([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]),
  a: contentChunk("Hel"),
  b: contentChunk("lo"),
  t: chunkWith([{ index: 0, delta: { tool_calls: [{ index: 0, id: "call_1", function: { name: "f", arguments: "" } }] }, finish_reason: null }]),
};
const boom = new Error("connection reset");

/** Subscribes to `attempts` one after the other, one per subscription, as a new request would be. */
function inTurn(attempts: Observable<ChatCompletionChunk>[]): Observable<ChatCompletionChunk> {
  let next = 0;
  return defer(() => {
    const attempt = attempts[next++];
    if (attempt === undefined) throw new Error("more subscriptions than scripted attempts");
    return attempt;
  });
}

const rateLimited = (headers: Record<string, string>): RateLimitError =>
  new RateLimitError(429, { message: "Rate limit reached" }, "429 Rate limit reached", new Headers(headers));

describe("retryBeforeContent", () => {
  it("resubscribes after the delay when the source fails before content", marbles((m) => {
    const first = m.cold("   r-#", values, boom);
    const second = m.cold("       r-a-b-|", values);
    const expected = m.cold("r-----r-a-b-|", values);
    m.expect(inTurn([first, second]).pipe(retryBeforeContent({ count: 2, delay: 4 }))).toBeObservable(expected);
    m.expect(first).toHaveSubscriptions("  ^-!");
    m.expect(second).toHaveSubscriptions("------^-----!");
  }));

  it("passes an error after content through untouched, without resubscribing", marbles((m) => {
    const source = m.cold("  r-a-#", values, boom);
    const expected = m.cold("r-a-#", values, boom);
    m.expect(source.pipe(retryBeforeContent({ count: 3, delay: 1 }))).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^---!");
  }));

  it("counts a tool-call delta as content", marbles((m) => {
    const source = m.cold("  r-t-#", values, boom);
    m.expect(source.pipe(retryBeforeContent({ count: 3, delay: 1 }))).toBeObservable(m.cold("r-t-#", values, boom));
    m.expect(source).toHaveSubscriptions("^---!");
  }));

  it("errors with the last error once the retries are used up", marbles((m) => {
    const source = m.cold("  r-#", values, boom);
    const expected = m.cold("r----r----r-#", values, boom);
    m.expect(source.pipe(retryBeforeContent({ count: 2, delay: 3 }))).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(["^-!", "-----^-!", "----------^-!"]);
  }));

  it("accepts a count alone: retryBeforeContent(1)", marbles((m) => {
    const source = m.cold("  #", values, boom);
    // Default delay for the first retry: 500 ms.
    m.expect(source.pipe(retryBeforeContent(1))).toBeObservable(m.cold("500ms #", values, boom));
    m.expect(source).toHaveSubscriptions(["(^!)", "500ms (^!)"]);
  }));

  it("asks a delay function with the attempt number and the error", marbles((m) => {
    const calls: Array<[number, unknown]> = [];
    const delay = (attempt: number, error: unknown): number => {
      calls.push([attempt, error]);
      return attempt * 10;
    };
    const source = m.cold("  #", values, boom);
    m.expect(source.pipe(retryBeforeContent({ count: 2, delay }))).toBeObservable(m.cold("30ms #", values, boom));
    m.expect(source).toHaveSubscriptions(["(^!)", "10ms (^!)", "30ms (^!)"]);
    m.flush();
    expect(calls).toStrictEqual([[1, boom], [2, boom]]);
  }));

  it("waits as long as a 429's retry-after-ms header asks, instead of the delay", marbles((m) => {
    const limited = rateLimited({ "retry-after-ms": "250" });
    const first = m.cold("  #", values, limited);
    const second = m.cold("         a|", values);
    const expected = m.cold("250ms a|", values);
    m.expect(inTurn([first, second]).pipe(retryBeforeContent({ count: 1, delay: 5 }))).toBeObservable(expected);
    m.expect(first).toHaveSubscriptions("(^!)");
    m.expect(second).toHaveSubscriptions("250ms ^!");
  }));

  it("waits the seconds of a 429's retry-after header", marbles((m) => {
    const limited = rateLimited({ "retry-after": "2" });
    const first = m.cold("  r-#", values, limited);
    const second = m.cold("         a|", values);
    const expected = m.cold("r- 2000ms a|", values);
    m.expect(inTurn([first, second]).pipe(retryBeforeContent({ count: 1, delay: 5 }))).toBeObservable(expected);
    m.expect(second).toHaveSubscriptions("-- 2000ms ^!");
  }));

  it("waits until a 429's retry-after HTTP date, measured on the scheduler's clock", marbles((m) => {
    // The virtual clock starts at 0, the epoch; the error arrives at frame 2.
    const limited = rateLimited({ "retry-after": new Date(3_000).toUTCString() });
    const first = m.cold("  r-#", values, limited);
    const second = m.cold("         a|", values);
    m.expect(inTurn([first, second]).pipe(retryBeforeContent({ count: 1 }))).toBeObservable(m.cold("r- 2998ms a|", values));
    m.expect(second).toHaveSubscriptions("3000ms ^!");
  }));

  it("ignores a retry-after above 60 s by default and waits the delay instead", marbles((m) => {
    const first = m.cold("  #", values, rateLimited({ "retry-after": "61" }));
    const second = m.cold("     #", values, rateLimited({ "retry-after-ms": "60001" }));
    const third = m.cold("        a|", values);
    const expected = m.cold("--a|", values);
    m.expect(inTurn([first, second, third]).pipe(retryBeforeContent({ count: 2, delay: 1 }))).toBeObservable(expected);
    m.expect(first).toHaveSubscriptions("(^!)");
    m.expect(second).toHaveSubscriptions("-(^!)");
    m.expect(third).toHaveSubscriptions("--^!");
  }));

  it("follows a retry-after of exactly 60 s, and a longer one up to maxRetryAfterMs", marbles((m) => {
    const first = m.cold("  #", values, rateLimited({ "retry-after": "60" }));
    const second = m.cold("        #", values, rateLimited({ "retry-after": "120" }));
    const third = m.cold("                  a|", values);
    const expected = m.cold("60s 120s a|", values);
    m.expect(inTurn([first, second, third]).pipe(retryBeforeContent({ count: 2, delay: 1, maxRetryAfterMs: 120_000 }))).toBeObservable(expected);
    m.expect(second).toHaveSubscriptions("60s (^!)");
    m.expect(third).toHaveSubscriptions("60s 120s ^!");
  }));

  it("never retries the openai client's APIUserAbortError, whose name is just \"Error\"", marbles((m) => {
    const aborted = new APIUserAbortError();
    // The premise of the check: the name alone cannot tell this abort apart.
    expect(aborted.name).toBe("Error");
    const source = m.cold("  r-#", values, aborted);
    m.expect(source.pipe(retryBeforeContent({ count: 3, delay: 1 }))).toBeObservable(m.cold("r-#", values, aborted));
    m.expect(source).toHaveSubscriptions("^-!");
    // A subclass is the caller's abort too.
    class CancelledByUser extends APIUserAbortError {}
    const cancelled = new CancelledByUser({ message: "cancelled" });
    const other = m.cold("   #", values, cancelled);
    m.expect(other.pipe(retryBeforeContent({ count: 3, delay: 1 }))).toBeObservable(m.cold("#", values, cancelled));
    m.expect(other).toHaveSubscriptions("(^!)");
  }));

  it("does not retry an error the server will repeat (400) by default", marbles((m) => {
    const invalid = new BadRequestError(400, { message: "bad model" }, "400 bad model", new Headers());
    const source = m.cold("  #", values, invalid);
    m.expect(source.pipe(retryBeforeContent({ count: 3, delay: 1 }))).toBeObservable(m.cold("#", values, invalid));
    m.expect(source).toHaveSubscriptions("(^!)");
  }));

  it("does not retry a body the endpoint would send again: not an event stream, or a frame over the limit", marbles((m) => {
    const page = new NotEventStreamError("text/html", "<html><title>Sign in</title></html>");
    const html = m.cold("  r#", values, page);
    m.expect(html.pipe(retryBeforeContent({ count: 3, delay: 1 }))).toBeObservable(m.cold("r#", values, page));
    m.expect(html).toHaveSubscriptions("^!");
    const huge = new FrameTooLargeError(1024, 2048);
    const large = m.cold(" #", values, huge);
    m.expect(large.pipe(retryBeforeContent({ count: 3, delay: 1 }))).toBeObservable(m.cold("#", values, huge));
    m.expect(large).toHaveSubscriptions("(^!)");
    // A malformed chunk may be a provider's glitch: it is retried.
    const glitch = new MalformedChunkError("{not json", { expected: "JSON" });
    const malformed = m.cold("#", values, glitch);
    m.expect(malformed.pipe(retryBeforeContent({ count: 1, delay: 1 }))).toBeObservable(m.cold("-#", values, glitch));
    m.expect(malformed).toHaveSubscriptions(["(^!)", "-(^!)"]);
  }));

  it("retries a 5xx and follows a custom shouldRetry", marbles((m) => {
    const failing = new InternalServerError(500, { message: "oops" }, "500 oops", new Headers());
    const source = m.cold("  #", values, failing);
    m.expect(source.pipe(retryBeforeContent({ count: 3, delay: 1 }))).toBeObservable(m.cold("---#", values, failing));
    m.expect(source).toHaveSubscriptions(["(^!)", "-(^!)", "--(^!)", "---(^!)"]);
    const once = m.cold("    #", values, failing);
    const onlyFirst = retryBeforeContent({ count: 3, delay: 1, shouldRetry: (attempt) => attempt < 2 });
    m.expect(once.pipe(onlyFirst)).toBeObservable(m.cold("-#", values, failing));
    m.expect(once).toHaveSubscriptions(["(^!)", "-(^!)"]);
  }));

  it("completes without values on an empty source", marbles((m) => {
    const source = m.cold<ChatCompletionChunk>("  |");
    m.expect(source.pipe(retryBeforeContent())).toBeObservable("|");
    m.expect(source).toHaveSubscriptions("(^!)");
  }));

  it("never emits on a source that never emits", marbles((m) => {
    const source = m.cold<ChatCompletionChunk>("-");
    m.expect(source.pipe(retryBeforeContent())).toBeObservable("-");
    m.expect(source).toHaveSubscriptions("^");
  }));

  it("stops waiting, and never resubscribes, when the subscriber leaves during the delay", marbles((m) => {
    const source = m.cold("  r-#", values, boom);
    const unsub = "          -----!";
    m.expect(source.pipe(retryBeforeContent({ count: 2, delay: 10 })), unsub).toBeObservable(m.cold("r----", values));
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("unsubscribes from the source when the subscriber leaves mid-stream", marbles((m) => {
    const source = m.cold("  r-a-b-|", values);
    const unsub = "          ---!";
    m.expect(source.pipe(retryBeforeContent()), unsub).toBeObservable(m.cold("r-a", values));
    m.expect(source).toHaveSubscriptions("^--!");
  }));

  it("starts afresh for each subscription: content seen by one does not stop another's retry", marbles((m) => {
    const firstRun = m.cold("  r-a-#", values, boom);
    const secondRun = m.cold(" #", values, boom);
    const secondRetry = m.cold("-a|", values);
    const retried = inTurn([firstRun, secondRun, secondRetry]).pipe(retryBeforeContent({ count: 1, delay: 1 }));
    m.expect(retried).toBeObservable(m.cold("r-a-#", values, boom));
    m.expect(retried).toBeObservable(m.cold("--a|", values));
    m.expect(firstRun).toHaveSubscriptions("^---!");
    m.expect(secondRun).toHaveSubscriptions("(^!)");
    m.expect(secondRetry).toHaveSubscriptions("-^-!");
  }));

  it("errors when the delay function throws", marbles((m) => {
    const failure = new Error("delay failed");
    const source = m.cold("  r-#", values, boom);
    const delay = (): number => {
      throw failure;
    };
    m.expect(source.pipe(retryBeforeContent({ count: 2, delay }))).toBeObservable(m.cold("r-#", values, failure));
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("errors when a callback downstream of it throws, without retrying", marbles((m) => {
    const failure = new Error("callback failed");
    const source = m.cold("  r-a-|", values);
    const failing = source.pipe(
      retryBeforeContent({ count: 2, delay: 1 }),
      map((chunk) => {
        if (chunk === values.a) throw failure;
        return chunk;
      }),
    );
    m.expect(failing).toBeObservable(m.cold("r-#", values, failure));
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("rejects nonsense options before anything subscribes", () => {
    expect(() => retryBeforeContent(-1)).toThrow(TypeError);
    expect(() => retryBeforeContent({ count: 1.5 })).toThrow(/non-negative integer/);
    expect(() => retryBeforeContent({ delay: -5 })).toThrow(/delay/);
    expect(() => retryBeforeContent({ delay: Number.NaN })).toThrow(TypeError);
    expect(() => retryBeforeContent({ count: Infinity })).not.toThrow();
    expect(() => retryBeforeContent({ maxRetryAfterMs: -1 })).toThrow(/maxRetryAfterMs/);
    expect(() => retryBeforeContent({ maxRetryAfterMs: Number.NaN })).toThrow(/maxRetryAfterMs/);
    expect(() => retryBeforeContent({ maxRetryAfterMs: Infinity })).not.toThrow();
  });
});

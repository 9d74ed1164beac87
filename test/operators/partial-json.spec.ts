import fc from "fast-check";
import { type Observable, catchError, map, of } from "rxjs";
import { describe, expect, it } from "vitest";
import { InvalidJsonError, accumulate, partialJson } from "../../operators/index.js";
import { marbles } from "../support/marbles.js";

/** The error as a value, so a marble can show its class, message and text. */
function described(error: unknown): Observable<{ name: string; message: string; text: string }> {
  expect(error).toBeInstanceOf(InvalidJsonError);
  const { name, message, text } = error instanceof InvalidJsonError ? error : new InvalidJsonError(String(error), "");
  return of({ name, message, text });
}

describe("partialJson", () => {
  it("emits the value parsed so far from the running text", marbles((m) => {
    const source = m.cold("  a-b-c-d-|", { a: '{"name": "Ad', b: '{"name": "Ada", "langs": ["en"', c: '{"name": "Ada", "langs": ["en", "fr"]', d: '{"name": "Ada", "langs": ["en", "fr"]}' });
    const subs = "           ^-------!";
    const expected = m.cold("a-b-c---|", { a: { name: "Ad" }, b: { name: "Ada", langs: ["en"] }, c: { name: "Ada", langs: ["en", "fr"] } });
    m.expect(source.pipe(partialJson())).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions(subs);
  }));

  it("emits only when the value changed, and numbers only once complete", marbles((m) => {
    const deltas = m.cold("  a-b-c-d-e-|", { a: "[", b: "1", c: "2", d: ", ", e: "3]" });
    const subs = "           ^---------!";
    const expected = m.cold("a-----d-e-|", { a: [], d: [12], e: [12, 3] });
    m.expect(deltas.pipe(accumulate(), partialJson())).toBeObservable(expected);
    m.expect(deltas).toHaveSubscriptions(subs);
  }));

  it("shows a number alone only once the source completes, never a part of it", marbles((m) => {
    const deltas = m.cold("  a-b-c-|", { a: "-", b: "4", c: "2" });
    const expected = m.cold("------(x|)", { x: -42 });
    m.expect(deltas.pipe(accumulate(), partialJson())).toBeObservable(expected);
    m.expect(deltas).toHaveSubscriptions("^-----!");
  }));

  it("shows a number alone once whitespace after it proves it whole", marbles((m) => {
    const deltas = m.cold("  a-b-c-|", { a: "4", b: "2", c: "\n" });
    const expected = m.cold("----x-|", { x: 42 });
    m.expect(deltas.pipe(accumulate(), partialJson())).toBeObservable(expected);
    m.expect(deltas).toHaveSubscriptions("^-----!");
  }));

  it("ignores a Markdown code fence around the JSON", marbles((m) => {
    const deltas = m.cold("  a-b-c-d-|", { a: "``", b: '`json\n{"ok": tr', c: "ue}\n`", d: "``" });
    const expected = m.cold("--x-----|", { x: { ok: true } });
    m.expect(deltas.pipe(accumulate(), partialJson())).toBeObservable(expected);
    m.expect(deltas).toHaveSubscriptions("^-------!");
  }));

  it("errors when the text ends unfinished, and reads a lone top-level number", marbles((m) => {
    const source = m.cold("  a-b-|", { a: '{"n": 1', b: '{"n": 12' });
    const number = m.cold("  a-|", { a: "42" });
    m.expect(source.pipe(partialJson(), catchError(described))).toBeObservable(
      m.cold("a---(e|)", { a: {}, e: { name: "InvalidJsonError", text: '{"n": 12', message: `The stream completed but its text is not valid JSON (${parseError('{"n": 12')}): "{\\"n\\": 12"` } }),
    );
    m.expect(number.pipe(partialJson())).toBeObservable(m.cold("--(a|)", { a: 42 }));
    m.expect(source).toHaveSubscriptions("^---!");
    m.expect(number).toHaveSubscriptions("^-!");
  }));

  it("shows a number once a delimiter proves it complete", marbles((m) => {
    const source = m.cold("  a-b-|", { a: '{"n": 12', b: '{"n": 12}' });
    m.expect(source.pipe(partialJson())).toBeObservable(m.cold("a-b-|", { a: {}, b: { n: 12 } }));
    m.expect(source).toHaveSubscriptions("^---!");
  }));

  it("errors at once when text follows the whole value", marbles((m) => {
    const source = m.cold("  a-b-|", { a: '{"a": 1', b: '{"a": 1}}' });
    m.expect(source.pipe(partialJson(), catchError(described))).toBeObservable(
      m.cold("a-(e|)", { a: {}, e: { name: "InvalidJsonError", text: '{"a": 1}}', message: 'Received text that is not JSON ("}" at position 8 cannot follow what came before): "{\\"a\\": 1}}"' } }),
    );
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("errors at once on NaN, never emitting it (JSON has no NaN)", marbles((m) => {
    const deltas = m.cold("  a-b-|", { a: '{"a": N', b: "aN}" });
    m.expect(deltas.pipe(accumulate(), partialJson(), catchError(described))).toBeObservable(
      m.cold("(e|)", { e: { name: "InvalidJsonError", text: '{"a": N', message: 'Received text that is not JSON ("N" at position 6 cannot follow what came before): "{\\"a\\": N"' } }),
    );
    m.expect(deltas).toHaveSubscriptions("(^!)");
  }));

  it.each(['{"a": Infinity', "[-Infinity", "[1, ]", "{'a': 1}", '{"a": 01}', '["\\x"]', "[1 2]", '{"a" 1}', "[nul "])("errors at once on text JSON.parse would reject: %s", (text) => {
    marbles((m) => {
      const source = m.cold("  a-|", { a: text });
      const early = source.pipe(
        partialJson(),
        catchError((error: unknown) => of({ name: error instanceof InvalidJsonError ? error.name : "not an InvalidJsonError", early: error instanceof Error && error.message.startsWith("Received text that is not JSON (") })),
      );
      m.expect(early).toBeObservable(m.cold("(e|)", { e: { name: "InvalidJsonError", early: true } }));
      m.expect(source).toHaveSubscriptions("(^!)");
    })();
  });

  it("keeps a \"__proto__\" key of the text an own key, never an object's prototype, also in a partial value", () => {
    const whole = '{"__proto__":{"isAdmin":true},"x":1}';
    const received: unknown[] = [];
    of('{"__proto__":{"isAdmin":true},"x":', whole).pipe(partialJson()).subscribe((value) => received.push(value));
    expect(received).toStrictEqual([JSON.parse('{"__proto__":{"isAdmin":true}}'), JSON.parse(whole)]);
    for (const value of received) {
      expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
      expect(Object.hasOwn(value as object, "__proto__")).toBe(true);
      expect((value as { isAdmin?: unknown }).isAdmin).toBeUndefined();
    }
  });

  it("shows an unfinished string as it arrived, spaces at its end included, without a half-written escape", marbles((m) => {
    const deltas = m.cold("  a-b-c-d-e-f-|", { a: '["Hello', b: " ", c: "\\", d: "u00", e: "e9", f: '"]' });
    const expected = m.cold("a-b-----e---|", { a: ["Hello"], b: ["Hello "], e: ["Hello \u00e9"] });
    m.expect(deltas.pipe(accumulate(), partialJson())).toBeObservable(expected);
    m.expect(deltas).toHaveSubscriptions("^-----------!");
  }));

  it("emits only JSON values, every one a part of the whole, for any JSON text cut anywhere", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer({ min: 0, max: 2 }), fc.array(fc.nat(), { maxLength: 8 }), (value, indent, cuts) => {
        const text = JSON.stringify(value, null, indent);
        const ends = [...new Set(cuts.map((cut) => (cut % text.length) + 1)), text.length].sort((a, b) => a - b);
        const received: unknown[] = [];
        let failure: unknown;
        of(...ends.map((end) => text.slice(0, end)))
          .pipe(partialJson())
          .subscribe({ next: (parsed) => received.push(parsed), error: (error: unknown) => (failure = error) });
        expect(failure).toBeUndefined();
        for (const parsed of received) expect(JSON.parse(JSON.stringify(parsed))).toStrictEqual(parsed);
        expect(received.at(-1)).toStrictEqual(JSON.parse(text));
      }),
    );
  });

  it("errors at once when the text cannot become JSON (the model answered in prose)", marbles((m) => {
    const source = m.cold("  a-b-|", { a: "Sure! Here", b: "Sure! Here is" });
    m.expect(source.pipe(partialJson(), catchError(described))).toBeObservable(
      m.cold("(e|)", { e: { name: "InvalidJsonError", text: "Sure! Here", message: 'Received text that is not JSON ("S" at position 0 cannot follow what came before): "Sure! Here"' } }),
    );
    m.expect(source).toHaveSubscriptions("(^!)");
  }));

  it("errors on a source that completes without text", marbles((m) => {
    const source = m.cold<string>("|");
    m.expect(source.pipe(partialJson(), catchError(described))).toBeObservable(
      m.cold("(e|)", { e: { name: "InvalidJsonError", text: "", message: "The stream completed without any JSON text" } }),
    );
    m.expect(source).toHaveSubscriptions("(^!)");
  }));

  it("never emits on a source that never emits", marbles((m) => {
    const source = m.cold<string>("-");
    m.expect(source.pipe(partialJson())).toBeObservable("-");
    m.expect(source).toHaveSubscriptions("^");
  }));

  it("passes an error through without the final strict check", marbles((m) => {
    const source = m.cold("  a-#", { a: '{"a": "x' }, new Error("boom"));
    m.expect(source.pipe(partialJson())).toBeObservable(m.cold("a-#", { a: { a: "x" } }, new Error("boom")));
    m.expect(source).toHaveSubscriptions("^-!");
  }));

  it("unsubscribes from the source when the subscriber leaves early", marbles((m) => {
    const source = m.cold("  a-b-c-|", { a: "[1,", b: "[1, 2,", c: "[1, 2, 3]" });
    m.expect(source.pipe(partialJson()), "---!").toBeObservable(m.cold("a-b", { a: [1], b: [1, 2] }));
    m.expect(source).toHaveSubscriptions("^--!");
  }));

  it("errors when a callback downstream of it throws", marbles((m) => {
    const source = m.cold("  a-b-|", { a: "[1,", b: "[1, 2," });
    const failing = source.pipe(
      partialJson(),
      map((value) => {
        if (Array.isArray(value) && value.length === 2) throw new Error("callback failed");
        return value;
      }),
    );
    m.expect(failing).toBeObservable(m.cold("a-#", { a: [1] }, new Error("callback failed")));
    m.expect(source).toHaveSubscriptions("^-!");
  }));
});

/** The engine's own JSON.parse message for `text`, which Node versions word differently (24 adds the line and column). */
function parseError(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    if (error instanceof SyntaxError) return error.message;
  }
  throw new Error(`${text} parsed: it is not an example of invalid JSON`);
}

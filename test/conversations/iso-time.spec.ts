import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isoTime } from "../../src/iso-time.js";

// The command's timestamps (turns, cassettes, conversation ids) come from isoTime, which must say exactly what
// toISOString says, for every time a Date can hold.
describe("isoTime", () => {
  it("is toISOString for any valid date, from year -271821 to 275760", () => {
    fc.assert(
      fc.property(fc.date({ noInvalidDate: true }), (date) => {
        expect(isoTime(date)).toBe(date.toISOString());
      }),
      { numRuns: 5000 },
    );
  });

  it("is toISOString at the edges: the epoch, years 0, 9999, 10000, -1 and the extremes", () => {
    for (const time of [0, Date.UTC(9999, 11, 31, 23, 59, 59, 999), Date.UTC(10000, 0, 1), Date.UTC(-1, 0, 1), 8.64e15, -8.64e15]) {
      const date = new Date(time);
      expect(isoTime(date)).toBe(date.toISOString());
    }
    const yearZero = new Date(0);
    yearZero.setUTCFullYear(0);
    expect(isoTime(yearZero)).toBe("0000-01-01T00:00:00.000Z");
  });

  it("throws RangeError for an invalid date, as toISOString does", () => {
    expect(() => isoTime(new Date(Number.NaN))).toThrow(RangeError);
  });
});

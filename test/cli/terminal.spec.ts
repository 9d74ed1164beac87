import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { neutraliser, startSpinner, styles, useColour } from "../../src/cli/terminal.js";

describe("useColour", () => {
  it("colours a terminal only, and never with NO_COLOR or TERM=dumb", () => {
    expect(useColour({ isTTY: true }, {})).toBe(true);
    expect(useColour({ isTTY: true }, { NO_COLOR: "" })).toBe(true);
    expect(useColour({ isTTY: false }, {})).toBe(false);
    expect(useColour({}, {})).toBe(false);
    expect(useColour({ isTTY: true }, { NO_COLOR: "1" })).toBe(false);
    expect(useColour({ isTTY: true }, { TERM: "dumb" })).toBe(false);
  });

  it("follows FORCE_COLOR when it is set, as Node does: on (\"\", 1, 2, 3, true) also off a terminal, off (0, false)", () => {
    for (const on of ["", "1", "2", "3", "true"]) {
      expect(useColour({ isTTY: false }, { FORCE_COLOR: on })).toBe(true);
      expect(useColour({ isTTY: true }, { FORCE_COLOR: on, NO_COLOR: "1" })).toBe(true);
    }
    for (const off of ["0", "false"]) expect(useColour({ isTTY: true }, { FORCE_COLOR: off })).toBe(false);
  });
});

describe("styles", () => {
  it("wraps text in ANSI colours only when colour is on", () => {
    expect(styles(true).error("boom")).toBe("\u001b[31mboom\u001b[0m");
    expect(styles(false).error("boom")).toBe("boom");
    expect(styles(false).note("waiting")).toBe("waiting");
  });
});

describe("neutraliser", () => {
  it("holds a carriage return at a piece's end until the next piece says whether it ends a line (CR LF) or stands alone", () => {
    const text = neutraliser(true);
    expect([text.piece("a\r"), text.piece("\nb\r"), text.piece("c\u001b[2J\r"), text.end(), text.end()]).toEqual(["a", "\r\nb", "␍c␛[2J", "␍", ""]);
  });

  it("passes text to a pipe unchanged and at once", () => {
    const text = neutraliser(false);
    expect([text.piece("a\r"), text.piece("\u001b[2J"), text.end()]).toEqual(["a\r", "\u001b[2J", ""]);
  });

  it("holds the first half of a surrogate pair until its second half, on a terminal and into a pipe", () => {
    for (const terminal of [true, false]) {
      const text = neutraliser(terminal);
      expect([text.piece("a \ud83d"), text.piece("\ude00 b\ud83c"), text.piece("\uddef\ud83c\uddf5"), text.piece("\ud83d"), text.end()]).toEqual(["a ", "😀 b", "🇯🇵", "", "\ud83d"]);
    }
  });
});

describe("startSpinner", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("draws nothing before its first interval, so a fast answer shows no spinner", () => {
    const written: string[] = [];
    const spinner = startSpinner({ write: (text: string) => written.push(text) }, "waiting", styles(false));
    vi.advanceTimersByTime(50);
    spinner.stop();
    expect(written).toEqual([]);
  });

  it("turns every 80 ms on one line, and erases itself once when stopped", () => {
    const written: string[] = [];
    const spinner = startSpinner({ write: (text: string) => written.push(text) }, "waiting", styles(false));
    vi.advanceTimersByTime(240);
    spinner.stop();
    spinner.stop();
    vi.advanceTimersByTime(240);
    expect(written).toEqual(["\r⠋ waiting", "\r\u001b[K⠙ waiting", "\r\u001b[K⠹ waiting", "\r\u001b[K"]);
  });

  it("fits every frame to the terminal's width as it is then: a resize narrows the next frame", () => {
    const written: string[] = [];
    const out = { columns: 20, write: (text: string) => written.push(text) };
    const spinner = startSpinner(out, "waiting for a-long-model-name", styles(false));
    vi.advanceTimersByTime(80);
    out.columns = 12;
    vi.advanceTimersByTime(80);
    spinner.stop();
    expect(written).toEqual(["\r⠋ waiting for a-lo…", "\r\u001b[K⠙ waiting …", "\r\u001b[K"]);
  });
});

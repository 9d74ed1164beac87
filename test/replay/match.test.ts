import { describe, expect, it } from "vitest";
import { type Cassette, matchCassette } from "g4f-rx/node";

const cassette = (file: string, content: string, model: string | undefined, recordedAt?: string): Cassette => ({
  version: 1,
  ...(recordedAt === undefined ? {} : { recordedAt }),
  request: { ...(model === undefined ? {} : { model }), messages: [{ role: "user", content }] },
  response: { status: 200, headers: {} },
  frames: [],
  file,
});
const ask = (content: string, model?: string): unknown => ({ model, messages: [{ role: "user", content: ` ${content}\n` }] });
const fileOf = (match: ReturnType<typeof matchCassette>): string | undefined => match.cassette?.file;

describe("matchCassette", () => {
  const older = cassette("a", "Hi", "gpt-4", "2026-11-30T10:00:00.000Z");
  const newer = cassette("b", "Hi", "gpt-4", "2026-11-30T11:00:00.000Z");
  const otherModel = cassette("c", "Hi", "llama", "2026-11-30T12:00:00.000Z");

  it("matches the messages after trimming and collapsing whitespace, and prefers the request's model", () => {
    expect(fileOf(matchCassette([otherModel, older], ask("Hi", "gpt-4")))).toBe("a");
    expect(fileOf(matchCassette([otherModel, older], ask("Hi", "mistral")))).toBe("c");
  });

  it("takes the first of equal matches, or with prefer newest the most recently recorded", () => {
    expect(fileOf(matchCassette([older, newer], ask("Hi", "gpt-4")))).toBe("a");
    expect(fileOf(matchCassette([newer, older], ask("Hi", "gpt-4"), "newest"))).toBe("b");
    // The model still comes first: a newer recording of another model does not win.
    expect(fileOf(matchCassette([older, otherModel, newer], ask("Hi", "gpt-4"), "newest"))).toBe("b");
    // Without recording times, the later in the list is the newer.
    expect(fileOf(matchCassette([cassette("x", "Hi", undefined), cassette("y", "Hi", undefined)], ask("Hi"), "newest"))).toBe("y");
  });

  it("names the nearest cassettes when none matches", () => {
    const match = matchCassette([older, cassette("d", "Goodbye", "gpt-4")], ask("Hi there"));
    expect(match.cassette).toBeUndefined();
    if (match.cassette === undefined) expect(match.nearest.map((near) => near.file)).toStrictEqual(["a", "d"]);
  });
});

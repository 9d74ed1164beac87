import { describe, expect, it } from "vitest";
import { type Cassette, CassettePlays, matchCassette } from "g4f-rx/node";
import { repeatedRecordings } from "../../src/replay/match.js";

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
    // No recording of the model asked for: every recording of the messages answers, the first recorded first.
    expect(fileOf(matchCassette([otherModel, older], ask("Hi", "mistral")))).toBe("a");
    expect(fileOf(matchCassette([otherModel, older], ask("Hi", "mistral"), (played) => played === older))).toBe("c");
  });

  it("takes the first recorded of equal matches that has not played, or the last once all have", () => {
    expect(fileOf(matchCassette([newer, older], ask("Hi", "gpt-4")))).toBe("a");
    expect(fileOf(matchCassette([newer, older], ask("Hi", "gpt-4"), (played) => played === older))).toBe("b");
    const repeated = matchCassette([newer, older], ask("Hi", "gpt-4"), () => true);
    expect(repeated).toMatchObject({ nth: 2, recordings: 2, repeated: true });
    expect(repeated.cassette?.file).toBe("b");
    // The model still comes first: a recording of another model is not among them.
    expect(matchCassette([newer, otherModel, older], ask("Hi", "gpt-4"))).toMatchObject({ nth: 1, recordings: 2, repeated: false });
    // Without recording times (written by hand), the list's order, which is the file names'; those come before timed ones.
    expect(fileOf(matchCassette([cassette("y", "Hi", undefined, "2026-11-30T09:00:00.000Z"), cassette("x", "Hi", undefined), cassette("w", "Hi", undefined)], ask("Hi")))).toBe("x");
    // Equal times, and times written with an offset, are ordered as the instants they name.
    const offset = cassette("v", "Hi", "gpt-4", "2026-11-30T11:30:00.000+01:00");
    expect(fileOf(matchCassette([newer, older, offset], ask("Hi", "gpt-4"), (played) => played === older))).toBe("v");
  });

  it("CassettePlays plays the recordings of a request in turn, each request kept apart, until reset", () => {
    const plays = new CassettePlays();
    const hello = cassette("hello", "Hello", "gpt-4");
    const cassettes = [newer, hello, older, otherModel];
    const files = (): Array<string | undefined> => [plays.next(cassettes, ask("Hi", "gpt-4")).cassette?.file, plays.next(cassettes, ask("Hello", "gpt-4")).cassette?.file];
    expect(files()).toStrictEqual(["a", "hello"]);
    expect(files()).toStrictEqual(["b", "hello"]);
    expect(files()).toStrictEqual(["b", "hello"]);
    expect(plays.next(cassettes, ask("Nothing")).cassette).toBeUndefined();
    expect(plays.reset()).toBe(3);
    expect(files()).toStrictEqual(["a", "hello"]);
  });

  it("says how the conversation differs when the nearest cassette asks the same question", () => {
    const system = (content: string): unknown => ({ role: "system", content });
    const briefly: Cassette = { ...cassette("brief", "Say hello", "gpt-4"), request: { model: "gpt-4", messages: [system("Be brief"), { role: "user", content: "Say hello" }] } };
    const differenceOf = (request: unknown): string | undefined => {
      const match = matchCassette([briefly, cassette("other", "Say goodbye", "gpt-4")], request);
      return match.cassette === undefined ? match.nearest.find((near) => near.file === "brief")?.difference : "matched";
    };
    const user = { role: "user", content: "Say  hello" };
    expect(differenceOf({ messages: [user] })).toBe('only the cassette has the system message "Be brief"');
    expect(differenceOf({ messages: [system("Be short"), user] })).toBe('only the cassette has the system message "Be brief"; only this request has the system message "Be short"');
    expect(differenceOf({ messages: [system("Be brief"), system("x".repeat(80)), system("And kind"), user] })).toBe(`only this request has the system message "${"x".repeat(59)}…" and 1 more`);
    expect(differenceOf({ messages: [user, system("Be brief"), user] })).toBe('only this request has the user message "Say hello"');
    // A different question: the prompt itself is the difference, nothing more to say.
    expect(differenceOf({ messages: [{ role: "user", content: "Say hell" }] })).toBeUndefined();
  });

  it("groups the recordings of one request (API, model and messages), in the order they answer it", () => {
    const again = cassette("e", " Hi\n", "gpt-4");
    const responses: Cassette = { ...cassette("f", "Hi", "gpt-4"), api: "responses" };
    expect(repeatedRecordings([newer, otherModel, responses, older, again]).map((group) => group.map((recording) => recording.file))).toStrictEqual([["e", "a", "b"]]);
  });

  it("looks only into the cassettes with as many messages as the request: a long conversation's replay costs its length", () => {
    // A conversation of 300 turns, each turn's cassette holding every message before it, as its request was sent.
    let read = 0;
    const message = (role: string, text: string): unknown => ({
      role,
      get content() {
        read += 1;
        return text;
      },
    });
    const history: unknown[] = [];
    const turns: Cassette[] = [];
    for (let turn = 1; turn <= 300; turn += 1) {
      history.push(message("user", `question ${String(turn)}`));
      turns.push({ ...cassette(`turn ${String(turn)}`, "", "gpt-4"), request: { model: "gpt-4", messages: [...history] } });
      history.push(message("assistant", `answer ${String(turn)}`));
    }
    const askedMessages: unknown[] = [];
    for (let turn = 1; turn <= 200; turn += 1) {
      if (turn > 1) askedMessages.push({ role: "assistant", content: `answer ${String(turn - 1)}` });
      askedMessages.push({ role: "user", content: `question ${String(turn)}` });
    }
    const asked = { model: "gpt-4", messages: askedMessages };
    expect(fileOf(matchCassette(turns, asked))).toBe("turn 200");
    // The 399 messages of the one cassette that matches, rather than the 90,000 of them all.
    expect(read).toBe(399);
  });

  it("names the nearest cassettes when none matches", () => {
    const match = matchCassette([older, cassette("d", "Goodbye", "gpt-4")], ask("Hi there"));
    expect(match.cassette).toBeUndefined();
    if (match.cassette === undefined) expect(match.nearest.map((near) => near.file)).toStrictEqual(["a", "d"]);
  });
});

import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CassetteError, type Cassette, parseCassette, readCassette, readCassettes, serializeCassette } from "g4f-rx/node";
import { CassetteReader } from "../../src/replay/cassette.js";
import { temporaryFolder } from "../support/temporary-folder.js";

const examples = fileURLToPath(new URL("../../examples/cassettes", import.meta.url));
const header = '{"g4f-rx-cassette":1,"request":{"model":"gpt-4","messages":[{"role":"user","content":"Hi"}]},"response":{"status":200,"headers":{}}}';

describe("cassette files", () => {
  it("round-trips through serializeCassette and parseCassette", () => {
    const cassette: Cassette = {
      version: 1,
      recordedAt: "2026-11-25T10:00:00.000Z",
      request: { model: "gpt-4", messages: [{ role: "user", content: "Hi" }], temperature: 0.2 },
      response: { status: 200, headers: { "content-type": "text/event-stream" } },
      frames: [
        { at: 0, data: { id: "c", choices: [] } },
        { at: 12, event: "error", data: "boom" },
        { at: 15, data: "[DONE]" },
      ],
    };
    const text = serializeCassette(cassette);
    expect(text.split("\n")).toHaveLength(5);
    expect(parseCassette(text, "x.cassette.jsonl")).toEqual({ ...cassette, file: "x.cassette.jsonl" });
  });

  it("reads every shipped example cassette", () => {
    const cassettes = readCassettes(examples);
    expect(cassettes.map((cassette) => cassette.request.messages)).toContainEqual([{ role: "user", content: "Say hello there!" }]);
    for (const cassette of cassettes) expect(cassette.frames.at(-1)?.data).toBe("[DONE]");
  });

  it("readCassettes throws for a bad file of a directory, or with skip gives it the error and reads the others", () => {
    const directory = temporaryFolder("g4f-rx-cassettes-");
    writeFileSync(join(directory, "a.cassette.jsonl"), `${header}\n`);
    writeFileSync(join(directory, "b.cassette.jsonl"), '{"g4f-rx-cassette":1, garbage');
    expect(() => readCassettes(directory)).toThrow(CassetteError);
    const skipped: string[] = [];
    const read = readCassettes(directory, (error) => skipped.push(`${error.file}:${error.line}`));
    expect(read.map((cassette) => cassette.file)).toStrictEqual([join(directory, "a.cassette.jsonl")]);
    expect(skipped).toStrictEqual([`${join(directory, "b.cassette.jsonl")}:1`]);
  });

  it("puts a request that continues another cassette's back together, from the file beside it", () => {
    const directory = temporaryFolder("g4f-rx-continues-");
    const first = { model: "gpt-4", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }] };
    writeFileSync(join(directory, "1.cassette.jsonl"), `${JSON.stringify({ "g4f-rx-cassette": 1, request: first, response: { status: 200, headers: {} } })}\n{"at":0,"data":"[DONE]"}\n`);
    const own = [{ role: "assistant", content: "Hello." }, { role: "user", content: "Again?" }];
    const second = JSON.stringify({ "g4f-rx-cassette": 2, request: { model: "gpt-4", messages: own }, continues: { cassette: "1.cassette.jsonl", messages: 2 }, response: { status: 200, headers: {} } });
    writeFileSync(join(directory, "2.cassette.jsonl"), `${second}\n{"at":0,"data":"[DONE]"}\n`);
    const whole = [...first.messages, ...own];
    expect(readCassette(join(directory, "2.cassette.jsonl")).request.messages).toStrictEqual(whole);
    expect(readCassettes(directory).map((cassette) => [cassette.version, cassette.request.messages])).toStrictEqual([
      [1, first.messages],
      [2, whole],
    ]);
    // Parsed alone, it needs what it continues.
    expect(() => parseCassette(second, "2.cassette.jsonl")).toThrow("2.cassette.jsonl:1: its request continues 1.cassette.jsonl: read it with readCassette or readCassettes");
    expect(parseCassette(second, "2.cassette.jsonl", { earlier: () => first.messages }).request.messages).toStrictEqual(whole);
    expect(() => parseCassette(second, "2.cassette.jsonl", { earlier: () => first.messages.slice(1) })).toThrow("its request continues the first 2 messages of 1.cassette.jsonl, whose request has 1");
    // Written again, it is whole: a cassette of its own.
    expect(serializeCassette(readCassette(join(directory, "2.cassette.jsonl")))).toMatch(/^\{"g4f-rx-cassette":1,/);
  });

  it("reads a chain of thousands of continuing cassettes without recursion, and refuses a cycle", () => {
    const directory = temporaryFolder("g4f-rx-chain-");
    const name = (index: number): string => `${String(index).padStart(5, "0")}.cassette.jsonl`;
    const count = 5000;
    for (let index = 0; index < count; index += 1) {
      const request = { messages: [{ role: "user", content: String(index) }] };
      const header = index === 0 ? { "g4f-rx-cassette": 1, request } : { "g4f-rx-cassette": 2, request, continues: { cassette: name(index - 1), messages: index } };
      writeFileSync(join(directory, name(index)), `${JSON.stringify({ ...header, response: { status: 200, headers: {} } })}\n`);
    }
    const last = readCassette(join(directory, name(count - 1))).request.messages;
    expect(last).toHaveLength(count);
    expect(last[count - 1]).toStrictEqual({ role: "user", content: String(count - 1) });

    const cycle = temporaryFolder("g4f-rx-cycle-");
    for (const [own, other] of [["a", "b"], ["b", "a"]]) {
      writeFileSync(join(cycle, `${own}.cassette.jsonl`), `${JSON.stringify({ "g4f-rx-cassette": 2, request: { messages: [] }, continues: { cassette: `${other}.cassette.jsonl`, messages: 0 }, response: { status: 200, headers: {} } })}\n`);
    }
    expect(() => readCassette(join(cycle, "a.cassette.jsonl"))).toThrow("continues itself");
  });

  it("holds one request's messages at a time when asked for each new turn of a chat, as the conversation store does", () => {
    // A chat's store asks its reader for the newest turn's messages before each turn; it used to keep the list of
    // every turn asked for, a second copy of the conversation and a list per turn (memory growing with its square).
    const directory = temporaryFolder("g4f-rx-reader-");
    const name = (index: number): string => `${String(index).padStart(5, "0")}.cassette.jsonl`;
    const reader = new CassetteReader();
    const turns = 200;
    for (let index = 0; index < turns; index += 1) {
      const request = { messages: [{ role: "user", content: String(index) }] };
      const header = index === 0 ? { "g4f-rx-cassette": 1, request } : { "g4f-rx-cassette": 2, request, continues: { cassette: name(index - 1), messages: index } };
      writeFileSync(join(directory, name(index)), `${JSON.stringify({ ...header, response: { status: 200, headers: {} } })}\n`);
      const messages = reader.messagesOf(join(directory, name(index)));
      expect(messages).toHaveLength(index + 1);
      expect(messages[index]).toStrictEqual({ role: "user", content: String(index) });
      expect(reader.heldRequests).toBe(1);
    }
    // An earlier turn asked for again (a turn that replaces one) is put together anew from the files.
    expect(reader.messagesOf(join(directory, name(9)))).toStrictEqual(Array.from({ length: 10 }, (_, index) => ({ role: "user", content: String(index) })));
    expect(reader.messagesOf(join(directory, name(turns - 1)))).toHaveLength(turns);
    rmSync(directory, { recursive: true, force: true });
  });

  it("names the cassette a chain cannot go back through, in the error of every cassette after it", () => {
    const directory = temporaryFolder("g4f-rx-broken-chain-");
    const name = (index: number): string => `${String(index)}.cassette.jsonl`;
    for (let index = 0; index < 5; index += 1) {
      const request = { messages: [{ role: "user", content: String(index) }] };
      const header = index === 0 ? { "g4f-rx-cassette": 1, request } : { "g4f-rx-cassette": 2, request, continues: { cassette: name(index - 1), messages: index } };
      writeFileSync(join(directory, name(index)), `${JSON.stringify({ ...header, response: { status: 200, headers: {} } })}\n`);
    }
    // The second turn moved out of the folder: the third continues it, the others go back through it.
    rmSync(join(directory, name(1)));
    expect(() => readCassette(join(directory, name(4)))).toThrow(`${name(4)}:1: its request continues ${name(3)}, whose request goes back to ${name(1)}, which cannot be read: there is no such file`);
    const skipped: CassetteError[] = [];
    expect(readCassettes(directory, (error) => skipped.push(error)).map((cassette) => cassette.file)).toStrictEqual([join(directory, name(0))]);
    expect(skipped.map((error) => [error.file, error.unreadable])).toStrictEqual([2, 3, 4].map((index) => [join(directory, name(index)), name(1)]));
    expect(skipped[0]?.message).toBe(`${join(directory, name(2))}:1: its request continues ${name(1)}, which cannot be read: there is no such file`);
    // A damaged one is read, and refused, on its own: the cassettes after it name it.
    writeFileSync(join(directory, name(1)), "not json\n");
    const damaged: CassetteError[] = [];
    readCassettes(directory, (error) => damaged.push(error));
    expect(damaged.map((error) => error.unreadable)).toStrictEqual([undefined, name(1), name(1), name(1)]);
  });

  it("puts the requests after a cassette with a damaged frame together: they need its header only", () => {
    const directory = temporaryFolder("g4f-rx-damaged-frame-");
    const name = (index: number): string => `${String(index)}.cassette.jsonl`;
    const sent: unknown[][] = [];
    for (let index = 0; index < 4; index += 1) {
      const request = { messages: [{ role: "user", content: String(index) }] };
      sent.push([...(sent.at(-1) ?? []), ...request.messages]);
      const header = index === 0 ? { "g4f-rx-cassette": 1, request } : { "g4f-rx-cassette": 2, request, continues: { cassette: name(index - 1), messages: index } };
      // The second one's last frame cut short, as a hand edit may leave it.
      const frames = index === 1 ? '{"at":1,"data":"[DO' : '{"at":1,"data":"[DONE]"}';
      writeFileSync(join(directory, name(index)), `\n${JSON.stringify({ ...header, response: { status: 200, headers: {} } })}\n${frames}\n`);
    }
    const skipped: string[] = [];
    const cassettes = readCassettes(directory, (error) => skipped.push(error.message));
    expect(skipped).toStrictEqual([expect.stringContaining(`${join(directory, name(1))}:3: not valid JSON`)]);
    expect(cassettes.map((cassette) => cassette.request.messages)).toStrictEqual([sent[0], sent[2], sent[3]]);
  });

  it.each([
    ["", 1, "the file is empty"],
    [`${header}\n{"at":0,"data":{}}\nnot json\n`, 3, "not valid JSON"],
    ['{"request":{}}\n', 1, "the first line must be the header"],
    ['{"g4f-rx-cassette":3,"request":{"messages":[]},"response":{"status":200}}\n', 1, "cassette version 3 is not supported"],
    ['{"g4f-rx-cassette":1,"request":{},"response":{"status":200}}\n', 1, '"messages" array'],
    ['{"g4f-rx-cassette":1,"request":{"messages":[]},"response":{"status":"ok"}}\n', 1, 'numeric "status"'],
    [`${header}\n{"data":{}}\n`, 2, 'a frame needs "at"'],
    [`${header}\n{"at":5,"data":1}\n\n{"at":4,"data":2}\n`, 4, "must not go back in time (4 after 5)"],
    [`${header}\n{"at":5}\n`, 2, 'a frame needs "data"'],
    [`${header}\n[1,2]\n`, 2, "expected a JSON object"],
    ['{"g4f-rx-cassette":1,"request":{"messages":[]},"continues":{"cassette":"a.cassette.jsonl","messages":1},"response":{"status":200}}\n', 1, '"continues" needs format version 2'],
    ['{"g4f-rx-cassette":2,"request":{"messages":[]},"continues":{"cassette":"../a.cassette.jsonl","messages":1},"response":{"status":200}}\n', 1, '"continues" must be {"cassette"'],
    ['{"g4f-rx-cassette":2,"request":{"messages":[]},"continues":{"cassette":"a.cassette.jsonl","messages":-1},"response":{"status":200}}\n', 1, '"continues" must be {"cassette"'],
    ['{"g4f-rx-cassette":2,"request":{"messages":[]},"continues":{"cassette":"gone.cassette.jsonl","messages":1},"response":{"status":200}}\n', 1, "its request continues gone.cassette.jsonl, which cannot be read: there is no such file"],
  ])("names the file and line of a corrupt cassette (%#)", (text, line, problem) => {
    const directory = temporaryFolder("g4f-rx-cassette-");
    const file = join(directory, "broken.cassette.jsonl");
    writeFileSync(file, text);
    let caught: unknown;
    try {
      readCassette(file);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CassetteError);
    expect(caught).toMatchObject({ file, line });
    expect((caught as Error).message).toContain(`${file}:${line}: `);
    expect((caught as Error).message).toContain(problem);
  });
});

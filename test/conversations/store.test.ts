import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { type Observable, Subject, concat, from, lastValueFrom, of, throwError, toArray } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConversationError, ConversationRemovedError, ConversationStore, conversationMessages, dataDirectory, recordTurn } from "../../src/conversations/index.js";
import { KEPT_ANSWER_LENGTH } from "../../src/conversations/store.js";
import { readCassettes } from "../../src/replay/cassette.js";
import { fromCassette } from "../../src/replay/from-cassette.js";

const chunk = (content: string, finish: "stop" | null = null): ChatCompletionChunk => ({
  id: "c1",
  object: "chat.completion.chunk",
  created: 1,
  model: "gpt-4",
  choices: [{ index: 0, delta: { content }, finish_reason: finish }],
});

let directory: string;
let store: ConversationStore;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), "g4f-rx-store-"));
  store = new ConversationStore(directory);
});
afterEach(() => rmSync(directory, { recursive: true, force: true }));

/** One turn through `recordTurn`, as the command does it; gives the messages its request sent. */
async function turn(conversation: string, question: string, answer: ChatCompletionChunk[], system?: string): Promise<unknown[]> {
  const input = [...(system === undefined ? [] : [{ role: "system" as const, content: system }]), { role: "user" as const, content: question }];
  const history = store.has(conversation) ? conversationMessages(store.turns(conversation)) : [];
  const messages = system === undefined ? [...history, ...input] : [input[0], ...history.filter((message) => message.role !== "system"), ...input.slice(1)];
  const recorder = store.startTurn({ conversation, endpoint: "http://127.0.0.1:1/v1", model: "gpt-4", input, request: { model: "gpt-4", messages } });
  await lastValueFrom(from(answer).pipe(recordTurn(recorder), toArray()));
  return messages;
}

describe("ConversationStore", () => {
  it("goes on from the turns a chat began without reading them back, so no second copy of the conversation is held", async () => {
    // A chat left open for hundreds of turns: its store used to read each turn's request back from disk before the
    // next, and held what it read (every message again) for as long as the chat stayed open.
    const messages: Array<{ role: "user" | "assistant"; content: string }> = [];
    for (let index = 0; index < 30; index += 1) {
      messages.push({ role: "user", content: `Q${index}` });
      const recorder = store.startTurn({ conversation: "c-long", endpoint: "u", model: "gpt-4", input: [{ role: "user", content: `Q${index}` }], request: { model: "gpt-4", messages } });
      await lastValueFrom(from([chunk(`A${index}`), chunk("", "stop")]).pipe(recordTurn(recorder), toArray()));
      messages.push({ role: "assistant", content: `A${index}` });
      expect(store.heldRequests).toBe(0);
    }
    // Each turn's file keeps only what it added, and its request still reads back whole.
    const turns = store.turns("c-long");
    expect(turns).toHaveLength(30);
    expect(store.requestOf(turns[29]!).messages).toStrictEqual(messages.slice(0, -1));
    expect(readFileSync(turns[29]!.file, "utf8")).not.toContain('"Q0"');
  });

  it("keeps each turn as a cassette and gives the messages of the next request", async () => {
    const id = store.newId();
    await turn(id, "Say hello", [chunk("Hello"), chunk(" there!", "stop")], "Be brief.");
    await turn(id, "In French?", [chunk("Bonjour !", "stop")]);
    expect(store.messages(id)).toStrictEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "Say hello" },
      { role: "assistant", content: "Hello there!" },
      { role: "user", content: "In French?" },
      { role: "assistant", content: "Bonjour !" },
    ]);
    const turns = store.turns(id);
    expect(turns.map((item) => [item.status, item.answer, item.endpoint, item.model])).toStrictEqual([
      ["complete", "Hello there!", "http://127.0.0.1:1/v1", "gpt-4"],
      ["complete", "Bonjour !", "http://127.0.0.1:1/v1", "gpt-4"],
    ]);
    // The second turn's request carried the first turn.
    expect(readCassettes(store.directoryOf(id))[1]?.request.messages).toHaveLength(4);
    // No journal or temporary file is left behind.
    expect(readdirSync(store.directoryOf(id)).every((name) => name.endsWith(".cassette.jsonl"))).toBe(true);
  });

  it("goes on with an answer edited by hand in the turn's file, as logs show prints it", async () => {
    await turn("c-edit", "Capital of Australia?", [chunk("Sydney.", "stop")]);
    const [name] = readdirSync(store.directoryOf("c-edit"));
    const file = join(store.directoryOf("c-edit"), name ?? "");
    const [header, ...frames] = readFileSync(file, "utf8").split("\n");
    const parsed = JSON.parse(header ?? "") as { turn: { answer: string } };
    parsed.turn.answer = "Canberra.";
    writeFileSync(file, [JSON.stringify(parsed), ...frames].join("\n"));
    expect(store.turns("c-edit")[0]?.answer).toBe("Canberra.");
    expect(store.messages("c-edit")).toStrictEqual([
      { role: "user", content: "Capital of Australia?" },
      { role: "assistant", content: "Canberra." },
    ]);
  });

  it("writes cassettes that replay offline, frames and all", async () => {
    const id = store.newId();
    await turn(id, "Say hello", [chunk("Hello"), chunk(" there!", "stop")]);
    const [cassette] = readCassettes(store.directoryOf(id));
    expect(cassette?.request.messages).toStrictEqual([{ role: "user", content: "Say hello" }]);
    const replayed = await lastValueFrom(fromCassette(cassette ?? "", { speed: Infinity }).pipe(toArray()));
    expect(replayed).toStrictEqual([chunk("Hello"), chunk(" there!", "stop")]);
  });

  it("keeps in each turn's file only the messages it added, so files grow with the conversation's length, and replays every request whole", async () => {
    const id = store.newId();
    const sent: unknown[][] = [];
    let said = 0;
    for (let index = 0; index < 40; index += 1) {
      const question = `Question ${String(index)}: ${"why ".repeat(250)}`;
      const answer = `Answer ${String(index)}: ${"because ".repeat(250)}`;
      said += question.length + answer.length;
      sent.push(await turn(id, question, [chunk(answer.slice(0, 1000)), chunk(answer.slice(1000), "stop")]));
    }
    const folder = store.directoryOf(id);
    const names = readdirSync(folder).sort();
    // Each request repeats every message before it: kept whole, 40 turns of 3 KB would take 2.5 MB.
    const bytes = names.reduce((total, name) => total + statSync(join(folder, name)).size, 0);
    expect(bytes).toBeLessThan(5 * said);
    const [first, second] = names.map((name) => JSON.parse(readFileSync(join(folder, name), "utf8").split("\n")[0] ?? "") as { "g4f-rx-cassette": number; continues?: unknown; request: { messages: unknown[] } });
    expect(first).toMatchObject({ "g4f-rx-cassette": 1, request: { messages: [{ role: "user" }] } });
    expect(first?.continues).toBeUndefined();
    expect(second).toMatchObject({ "g4f-rx-cassette": 2, continues: { cassette: names[0], messages: 1 }, request: { messages: [{ role: "assistant" }, { role: "user" }] } });
    expect(readCassettes(folder).map((cassette) => cassette.request.messages)).toStrictEqual(sent);
    expect(store.messages(id)).toHaveLength(80);
  });

  it("keeps a request whole when it has nothing in common with the turn before, and goes on from it after", async () => {
    const id = store.newId();
    const sent = [await turn(id, "Q1", [chunk("A1", "stop")], "Be brief."), await turn(id, "Q2", [chunk("A2", "stop")])];
    // A new system prompt comes first in the request: nothing in common with the turn before.
    sent.push(await turn(id, "Q3", [chunk("A3", "stop")], "Be verbose."), await turn(id, "Q4", [chunk("A4", "stop")]));
    const headers = readdirSync(store.directoryOf(id))
      .sort()
      .map((name) => JSON.parse(readFileSync(join(store.directoryOf(id), name), "utf8").split("\n")[0] ?? "") as { continues?: { messages: number } });
    expect(headers.map((header) => header.continues?.messages)).toStrictEqual([undefined, 2, undefined, 6]);
    expect(readCassettes(store.directoryOf(id)).map((cassette) => cassette.request.messages)).toStrictEqual(sent);
  });

  it("replays the turns after a damaged or missing one with an error naming it, and keeps the next turn's request whole", async () => {
    const id = store.newId();
    for (const question of ["Q1", "Q2", "Q3"]) await turn(id, question, [chunk(`answer to ${question}`, "stop")]);
    const folder = store.directoryOf(id);
    const [one, two, three] = readdirSync(folder).sort();
    writeFileSync(join(folder, one ?? ""), '{"g4f-rx-cassette":1, garbage');
    const skipped: string[] = [];
    expect(readCassettes(folder, (error) => skipped.push(error.message))).toStrictEqual([]);
    expect(skipped[0]).toContain(`${join(folder, one ?? "")}:1: not valid JSON`);
    expect(skipped[1]).toContain(`${join(folder, two ?? "")}:1: its request continues ${one ?? ""}, which cannot be read: ${join(folder, one ?? "")}:1: not valid JSON`);
    // Named by the first file of the chain that cannot be read, not by the whole one before it.
    expect(skipped[2]).toContain(`${join(folder, three ?? "")}:1: its request continues ${two ?? ""}, whose request goes back to ${one ?? ""}, which cannot be read: ${join(folder, one ?? "")}:1: not valid JSON`);

    rmSync(join(folder, three ?? ""));
    rmSync(join(folder, one ?? ""));
    // The newest turn on disk cannot be put together: the new turn keeps its whole request.
    const request = { model: "gpt-4", messages: [{ role: "user", content: "Q2" }, { role: "assistant", content: "answer to Q2" }, { role: "user", content: "Q4" }] };
    const recorder = store.startTurn({ conversation: id, endpoint: "u", model: "gpt-4", input: [{ role: "user", content: "Q4" }], request });
    await lastValueFrom(of(chunk("A4", "stop")).pipe(recordTurn(recorder)));
    const cassettes = readCassettes(folder, (error) => expect(error.message).toContain(`its request continues ${one ?? ""}, which cannot be read`));
    expect(cassettes.map((cassette) => cassette.request.messages)).toStrictEqual([request.messages]);
  });

  it("keeps turns in the order they were begun, also many begun in the same millisecond", () => {
    const id = store.newId();
    const questions = Array.from({ length: 30 }, (_, i) => `Q${String(i)}`);
    for (const question of questions) store.startTurn({ conversation: id, endpoint: "u", model: "m", input: [{ role: "user", content: question }], request: { messages: [] } });
    expect(store.turns(id).map((item) => item.input.at(-1)?.content)).toStrictEqual(questions);
  });

  it("keeps the partial answer of a failed or cancelled turn, marked as such", async () => {
    const id = store.newId();
    const failing = concat(of(chunk("Half an ")), throwError(() => new Error("connection reset")));
    await turn(id, "Q1", []);
    const recorder = store.startTurn({ conversation: id, endpoint: "u", model: "m", input: [{ role: "user", content: "Q2" }], request: { messages: [] } });
    await expect(lastValueFrom(failing.pipe(recordTurn(recorder)))).rejects.toThrow("connection reset");

    const answer = new Subject<ChatCompletionChunk>();
    const cancelled = store.startTurn({ conversation: id, endpoint: "u", model: "m", input: [{ role: "user", content: "Q3" }], request: { messages: [] } });
    const subscription = answer.pipe(recordTurn(cancelled)).subscribe();
    answer.next(chunk("Interrupt"));
    subscription.unsubscribe();

    const turns = store.turns(id);
    expect(turns.map((item) => [item.status, item.answer, item.error])).toStrictEqual([
      ["complete", "", undefined],
      ["error", "Half an ", "connection reset"],
      ["cancelled", "Interrupt", undefined],
    ]);
    // The empty answer is left out of the context; the partial ones are kept.
    expect(store.messages(id).map((message) => message.content)).toStrictEqual(["Q2", "Half an ", "Q3", "Interrupt"]);
  });

  it("reads the journal of a process that died mid-answer as a partial turn, the earlier turns intact", async () => {
    const id = store.newId();
    await turn(id, "First", [chunk("One.", "stop")]);
    const recorder = store.startTurn({ conversation: id, endpoint: "u", model: "m", input: [{ role: "user", content: "Second" }], request: { messages: [] } });
    recorder.chunk(chunk("Tw"));
    // As a killed process leaves it: the journal, a last line cut in half, and a pid that no longer runs.
    const journal = join(store.directoryOf(id), `${recorder.name}.partial.jsonl`);
    const lines = readFileSync(journal, "utf8").split("\n");
    const header = lines[0]?.replace(`"pid":${process.pid}`, '"pid":2147483646') ?? "";
    writeFileSync(journal, [header, lines[1], '{"at":9,"data":{"id":"c1","obj'].join("\n"));
    const turns = store.turns(id);
    expect(turns.map((item) => [item.status, item.answer])).toStrictEqual([
      ["complete", "One."],
      ["partial", "Tw"],
    ]);
  });

  it("lists conversations newest first with their first words, and searches prompts and answers", async () => {
    const first = store.newId();
    await turn(first, "What is   RxJS?\nExplain.", [chunk("A library for reactive streams.", "stop")]);
    const second = `${store.newId()}x`;
    await turn(second, "Name a colour", [chunk("Teal", "stop")]);
    await turn(second, "Another", [chunk("Ochre", "stop")]);
    const list = store.list();
    expect(list.map((item) => [item.id, item.turns, item.firstWords])).toStrictEqual([
      [second, 2, "Name a colour"],
      [first, 1, "What is RxJS? Explain."],
    ]);
    expect(store.search("OCHRE").map((item) => item.id)).toStrictEqual([second]);
    expect(store.search("reactive").map((item) => item.id)).toStrictEqual([first]);
    expect(store.latest()).toBe(second);
    store.remove(second);
    expect(store.list().map((item) => item.id)).toStrictEqual([first]);
    expect(() => store.turns(second)).toThrow(ConversationError);
  });

  it("keeps the index small (a prompt's first words) and searches the whole prompt and answer", async () => {
    const id = store.newId();
    const long = `${"word ".repeat(300)}needle-at-the-end`;
    await turn(id, long, [chunk(`${"answer ".repeat(300)}haystack-tail`, "stop")]);
    const index = readFileSync(join(directory, "index.jsonl"), "utf8");
    expect(index).not.toContain("needle-at-the-end");
    expect(index).not.toContain("haystack-tail");
    expect(Math.max(...index.split("\n").map((line) => line.length))).toBeLessThan(500);
    expect(store.list()[0]?.firstWords).toBe("word ".repeat(20).trim());
    expect(store.search("NEEDLE-AT-THE-END").map((item) => item.id)).toStrictEqual([id]);
    expect(store.search("haystack-tail").map((item) => item.id)).toStrictEqual([id]);
    store.remove(id);
    expect(store.search("haystack-tail")).toStrictEqual([]);
  });

  it("cuts a prompt's first words in the index by code points, never an emoji in half", async () => {
    const id = store.newId();
    await turn(id, `${"a".repeat(99)}🎉🎉 and more`, [chunk("ok", "stop")]);
    expect(store.list()[0]?.firstWords).toBe(`${"a".repeat(99)}🎉`);
    expect(readFileSync(join(directory, "index.jsonl"), "utf8")).not.toMatch(/\\ud83c"/i);
  });

  it("rebuilds a lost index from the turn files, once per process, also when a turn is begun before anything is listed", async () => {
    await turn("c-old", "Old question", [chunk("Old.", "stop")]);
    await turn("c-new", "New question", [chunk("New.", "stop")]);
    await turn("c-new", "Follow-up", [chunk("More.", "stop")]);
    const listed = store.list();
    const index = join(directory, "index.jsonl");
    renameSync(index, join(directory, "elsewhere.jsonl"));
    const again = new ConversationStore(directory);
    expect(again.list()).toStrictEqual(listed);
    expect(again.latest()).toBe("c-new");
    const rebuilt = readFileSync(index, "utf8");
    expect(rebuilt.trim().split("\n")).toHaveLength(6);
    // Once per process: a later loss is not looked for again by this one.
    rmSync(index);
    expect(again.list()).toStrictEqual([]);
    // A process that begins a turn with the index lost rebuilds it before its own line, which then comes last.
    const other = new ConversationStore(directory);
    const input = [{ role: "user" as const, content: "Third" }];
    const recorder = other.startTurn({ conversation: "c-third", endpoint: "http://127.0.0.1:1/v1", model: "gpt-4", input, request: { messages: input } });
    await lastValueFrom(from([chunk("3.", "stop")]).pipe(recordTurn(recorder)));
    const reader = new ConversationStore(directory);
    expect(reader.list().map((item) => [item.id, item.turns])).toStrictEqual([
      ["c-third", 1],
      ["c-new", 2],
      ["c-old", 1],
    ]);
    expect(reader.latest()).toBe("c-third");
    expect(readFileSync(index, "utf8").trim().split("\n").filter((line) => line !== "")).toHaveLength(8);
  });


  it("lists, finds and continues a store that lost its index and texts files and cannot write them again", async () => {
    await turn("c-old", "Old question about zebras", [chunk("Stripes.", "stop")]);
    await turn("c-new", "New question", [chunk("New.", "stop")]);
    const listed = store.list();
    rmSync(join(directory, "index.jsonl"));
    rmSync(join(directory, "texts.jsonl"));
    // As root, a mode does not stop a write: a folder where the rebuilt file's temporary file goes does.
    for (const name of ["index.jsonl", "texts.jsonl"]) mkdirSync(join(directory, `${name}.${String(process.pid)}.tmp`));
    const unwritable = new ConversationStore(directory);
    expect(unwritable.list()).toStrictEqual(listed);
    expect(unwritable.search("zebras").map((item) => item.id)).toStrictEqual(["c-old"]);
    expect(unwritable.latest()).toBe("c-new");
    expect(readdirSync(directory).filter((name) => name.endsWith(".jsonl"))).toStrictEqual([]);
  });

  it("rebuilds a lost texts file from the turn files, as the turns wrote it, so search finds what was asked before", async () => {
    await turn("c-old", "Old question about zebras", [chunk("Stripes.", "stop")]);
    await turn("c-long", "Write a lot", [chunk("It begins."), ...Array.from({ length: 70 }, () => chunk("x".repeat(1024))), chunk(" It ends here.", "stop")]);
    const texts = join(directory, "texts.jsonl");
    const written = readFileSync(texts, "utf8");
    // Only the texts file is lost: the index is intact, and must not keep search from rebuilding it.
    rmSync(texts);
    const again = new ConversationStore(directory);
    expect(again.search("zebras").map((item) => item.id)).toStrictEqual(["c-old"]);
    expect(again.search("stripes").map((item) => item.id)).toStrictEqual(["c-old"]);
    expect(again.search("it ends here").map((item) => item.id)).toStrictEqual(["c-long"]);
    expect(readFileSync(texts, "utf8").split("\n").filter((line) => line !== "")).toStrictEqual(written.split("\n").filter((line) => line !== ""));
    // Both lost, and a turn begun before anything is searched: the earlier turns' lines come before its own.
    rmSync(texts);
    rmSync(join(directory, "index.jsonl"));
    const writer = new ConversationStore(directory);
    const input = [{ role: "user" as const, content: "New question" }];
    const recorder = writer.startTurn({ conversation: "c-new", endpoint: "http://127.0.0.1:1/v1", model: "gpt-4", input, request: { messages: input } });
    await lastValueFrom(from([chunk("New answer.", "stop")]).pipe(recordTurn(recorder)));
    const reader = new ConversationStore(directory);
    expect(reader.search("zebras").map((item) => item.id)).toStrictEqual(["c-old"]);
    expect(reader.search("answer").map((item) => item.id)).toStrictEqual(["c-new"]);
    expect(reader.list().map((item) => item.id)).toStrictEqual(["c-new", "c-long", "c-old"]);
  });
  it("lists a conversation under the endpoint and model of its latest turn that got an answer, also from a rebuilt index", async () => {
    const ask = async (endpoint: string, model: string, answer: Observable<ChatCompletionChunk>): Promise<void> => {
      const input = [{ role: "user" as const, content: `to ${model}` }];
      const recorder = store.startTurn({ conversation: "c-moved", endpoint, model, input, request: { messages: input } });
      await lastValueFrom(answer.pipe(recordTurn(recorder), toArray())).catch(() => undefined);
    };
    await ask("http://127.0.0.1:1/v1", "answering", from([chunk("Yes.", "stop")]));
    await ask("http://127.0.0.1:2/v1", "dead", throwError(() => new Error("connection refused")));
    const expected = [{ id: "c-moved", endpoint: "http://127.0.0.1:1/v1", model: "answering", turns: 2 }];
    expect(store.list()).toMatchObject(expected);
    rmSync(join(directory, "index.jsonl"));
    expect(new ConversationStore(directory).list()).toMatchObject(expected);
  });

  it("searches the texts, not the file's JSON: quotes and backslashes match, key names do not", async () => {
    await turn("q-1", 'He said "yes" \\ then left', [chunk("Fine.", "stop")]);
    await turn("q-2", "Nothing here", [chunk("Nor here", "stop")]);
    expect(store.search('SAID "YES" \\ THEN').map((item) => item.id)).toStrictEqual(["q-1"]);
    expect(store.search("cid")).toStrictEqual([]);
    expect(store.search('","text":"')).toStrictEqual([]);
    expect(store.search("nor here").map((item) => item.id)).toStrictEqual(["q-2"]);
  });

  it("searches in any case as lower-casing does, with the case-folding letters (Kelvin sign, dotted capital I) and past the first MiB of texts", async () => {
    // The texts file is read a MiB at a time: the first conversations fill more than that.
    const filler = "filler text ".repeat(5000);
    for (let index = 0; index < 25; index += 1) await turn(`f-${String(index)}`, `Question ${String(index)}`, [chunk(filler, "stop")]);
    expect(statSync(join(directory, "texts.jsonl")).size).toBeGreaterThan(1024 * 1024);
    // In the answers, which only the texts file holds (the index keeps a prompt's first words).
    await turn("k-1", "A temperature?", [chunk("About 300 \u212Aelvin.", "stop")]);
    await turn("z-1", "Spices?", [chunk("ZANZIBAR CLOVES.", "stop")]);
    expect(store.search("zanzibar").map((item) => item.id)).toStrictEqual(["z-1"]);
    // "\u212A".toLowerCase() is "k": lower-cased, the answer holds "kelvin".
    expect(store.search("kelvin").map((item) => item.id)).toStrictEqual(["k-1"]);
    // "\u0130".toLowerCase() is "i" and a combining dot: the answer holds "i\u0307stanbul", and "visit i" is in it.
    await turn("i-1", "A city?", [chunk("Visit \u0130stanbul.", "stop")]);
    expect(store.search("i\u0307stanbul").map((item) => item.id)).toStrictEqual(["i-1"]);
    expect(store.search("visit i").map((item) => item.id)).toStrictEqual(["i-1"]);
    expect(store.search("filler text filler").length).toBe(25);
  });

  it("leaves a conversation whose folder was removed by hand out of the list, the search and -c", async () => {
    await turn("c-kept", "Kept question", [chunk("Kept.", "stop")]);
    await turn("c-gone", "Gone question", [chunk("Gone.", "stop")]);
    rmSync(store.directoryOf("c-gone"), { recursive: true });
    const again = new ConversationStore(directory);
    expect(again.list().map((item) => item.id)).toStrictEqual(["c-kept"]);
    expect(again.search("question").map((item) => item.id)).toStrictEqual(["c-kept"]);
    expect(again.latest()).toBe("c-kept");
  });

  it("leaves none of a removed conversation's words on disk, and the others intact", async () => {
    await turn("keep-1", "An ordinary question", [chunk("An ordinary answer", "stop")]);
    await turn("secret-1", "My password is hunter2", [chunk("Noted: hunter2", "stop")]);
    await turn("keep-2", "Another question", [chunk("Another answer", "stop")]);
    store.remove("secret-1");
    for (const file of ["index.jsonl", "texts.jsonl"]) expect(readFileSync(join(directory, file), "utf8")).not.toContain("hunter2");
    expect(readdirSync(join(directory, "conversations")).sort()).toStrictEqual(["keep-1", "keep-2"]);
    expect(store.list().map((item) => item.id)).toStrictEqual(["keep-2", "keep-1"]);
    expect(store.search("answer").map((item) => item.id)).toStrictEqual(["keep-2", "keep-1"]);
    expect(store.latest()).toBe("keep-2");
  });

  it("keeps nothing of a turn whose conversation was removed while it streamed, and says so to its caller", async () => {
    await turn("keep-1", "An ordinary question", [chunk("An ordinary answer", "stop")]);
    await turn("secret-1", "My password is hunter2", [chunk("Noted", "stop")]);
    const input = [{ role: "user" as const, content: "And the PIN is 4711" }];
    const recorder = store.startTurn({ conversation: "secret-1", endpoint: "http://127.0.0.1:1/v1", model: "gpt-4", input, request: { model: "gpt-4", messages: input } });
    const answer = new Subject<ChatCompletionChunk>();
    const kept: unknown[] = [];
    const received = lastValueFrom(answer.pipe(recordTurn(recorder, (info) => kept.push(info)), toArray()));
    answer.next(chunk("Noted: 4711"));
    store.remove("secret-1");
    answer.next(chunk(", got it", "stop"));
    answer.complete();
    // The answer passes through whole; the turn is not kept, and the conversation does not come back.
    expect((await received).map((item) => item.choices[0]?.delta.content).join("")).toBe("Noted: 4711, got it");
    expect(kept).toStrictEqual([undefined]);
    expect(readdirSync(join(directory, "conversations"))).toStrictEqual(["keep-1"]);
    for (const file of ["index.jsonl", "texts.jsonl"]) expect(readFileSync(join(directory, file), "utf8")).not.toMatch(/4711|hunter2/);
    expect(store.list().map((item) => item.id)).toStrictEqual(["keep-1"]);
  });

  it("refuses a turn that goes on with a conversation removed since, rather than bringing it back", async () => {
    await turn("c-removed", "Secret", [chunk("Kept.", "stop")]);
    store.remove("c-removed");
    const input = [{ role: "user" as const, content: "More" }];
    expect(() => store.startTurn({ conversation: "c-removed", endpoint: "http://127.0.0.1:1/v1", model: "gpt-4", input, request: { messages: input }, continues: true })).toThrow(ConversationRemovedError);
    expect(store.has("c-removed")).toBe(false);
  });

  it("keeps chat's typed lines appended, offers them newest first without repeats, and keeps the file small", () => {
    const other = new ConversationStore(directory);
    store.addChatHistory("one");
    other.addChatHistory("two");
    store.addChatHistory("one");
    store.addChatHistory("");
    expect(other.chatHistory(10)).toStrictEqual(["one", "two"]);
    for (let line = 0; line < 25; line += 1) store.addChatHistory(`line ${line % 12}`);
    // Past twice the limit, the file is rewritten with what is offered.
    expect(store.chatHistory(10)).toStrictEqual(["line 0", "line 11", "line 10", "line 9", "line 8", "line 7", "line 6", "line 5", "line 4", "line 3"]);
    expect(readFileSync(store.historyFile, "utf8").trim().split("\n")).toHaveLength(10);
  });

  it("keeps a question of several lines as one entry of chat's history, and reads a history of single lines as before", () => {
    writeFileSync(store.historyFile, 'typed before\n"""\n"quoted" words\n');
    store.addChatHistory("first line\nsecond line");
    store.addChatHistory('"a quote"');
    store.addChatHistory("last\r\nwith CRLF");
    expect(readFileSync(store.historyFile, "utf8").split("\n")).toHaveLength(7);
    expect(new ConversationStore(directory).chatHistory(10)).toStrictEqual(["last\r\nwith CRLF", '"a quote"', "first line\nsecond line", '"quoted" words', '"""', "typed before"]);
  });

  it("removes a conversation's questions from chat's typed lines too", async () => {
    await turn("secret-1", "My password is hunter2", [chunk("Noted", "stop")]);
    await turn("keep-1", "An ordinary question", [chunk("Fine", "stop")]);
    await turn("secret-1", "My card:\n4111 1111", [chunk("Noted", "stop")]);
    for (const line of ["An ordinary question", "My password is hunter2", "/help", "My card:\n4111 1111", "4111 1111"]) store.addChatHistory(line);
    store.remove("secret-1");
    expect(store.chatHistory(10)).toStrictEqual(["/help", "An ordinary question"]);
  });

  it("keeps everything readable by the user alone, whatever the umask", async () => {
    const previous = process.umask(0o022);
    try {
      await turn("private-1", "A question", [chunk("An answer", "stop")]);
      store.addChatHistory("typed");
      store.remove("no-such-conversation");
    } finally {
      process.umask(previous);
    }
    const mode = (path: string): number => statSync(path).mode & 0o777;
    for (const folder of [directory, join(directory, "conversations"), store.directoryOf("private-1")]) expect(mode(folder)).toBe(0o700);
    const files = [join(directory, "index.jsonl"), join(directory, "texts.jsonl"), store.historyFile, ...readdirSync(store.directoryOf("private-1")).map((name) => join(store.directoryOf("private-1"), name))];
    for (const file of files) expect([file, mode(file)]).toEqual([file, 0o600]);
  });

  it("closes a store folder an older version left readable by others (0755) when it keeps a turn", async () => {
    chmodSync(directory, 0o755);
    mkdirSync(join(directory, "conversations"), { mode: 0o755 });
    await turn("older-1", "A question", [chunk("An answer", "stop")]);
    expect(statSync(directory).mode & 0o777).toBe(0o700);
  });

  it("finds the latest conversation from the end of a long index, skipping removed ones and a line cut short", async () => {
    for (let index = 0; index < 400; index += 1) await turn(`c${String(index).padStart(3, "0")}`, `Question ${index} ${"é".repeat(index % 7)}`, [chunk("A", "stop")]);
    expect(readFileSync(join(directory, "index.jsonl")).length).toBeGreaterThan(3 * 64 * 1024 / 2);
    expect(store.latest()).toBe("c399");
    store.remove("c399");
    store.remove("c398");
    writeFileSync(join(directory, "index.jsonl"), '{"cid":"c397","turn":"x","at":"2026', { flag: "a" });
    expect(store.latest()).toBe("c397");
    expect(store.list()[0]?.id).toBe("c397");
    // A removed conversation asked again is the latest once more.
    await turn("c399", "Back", [chunk("B", "stop")]);
    expect(store.latest()).toBe("c399");
  });

  it("reads a store written before the texts file: whole prompts and answers in the index", () => {
    const lines = [
      { cid: "old-1", turn: "t1", at: "2026-11-29T10:00:00.000Z", endpoint: "http://e/v1", model: "m", prompt: "An old   question", pid: 1 },
      { cid: "old-1", turn: "t1", end: "complete", at: "2026-11-29T10:00:01.000Z", answer: "An old answer" },
    ];
    writeFileSync(join(directory, "index.jsonl"), lines.map((line) => JSON.stringify(line) + "\n").join(""));
    mkdirSync(store.directoryOf("old-1"), { recursive: true });
    expect(store.list().map((item) => [item.id, item.firstWords, item.turns])).toStrictEqual([["old-1", "An old question", 1]]);
    expect(store.search("old answer").map((item) => item.id)).toStrictEqual(["old-1"]);
    expect(store.latest()).toBe("old-1");
  });

  it("keeps an answer longer than KEPT_ANSWER_LENGTH in its frames only, and reads, continues and finds it whole", async () => {
    const id = store.newId();
    // 100 pieces of 1 KiB: past the limit after 65; the last words come long after it.
    const pieces = Array.from({ length: 100 }, (_, index) => `${String(index).padStart(4, "0")} ${"x".repeat(1019)}`);
    await turn(id, "Write a lot", [chunk("It begins."), ...pieces.map((piece) => chunk(piece)), chunk(" It ends here.", "stop")]);
    const whole = `It begins.${pieces.join("")} It ends here.`;
    expect(whole.length).toBeGreaterThan(KEPT_ANSWER_LENGTH);

    const [file] = readdirSync(store.directoryOf(id));
    const header = JSON.parse(readFileSync(join(store.directoryOf(id), file ?? ""), "utf8").split("\n")[0] ?? "") as { turn: Record<string, unknown> };
    expect(header.turn).toMatchObject({ status: "complete", answer: "", answerInFrames: true });
    expect(header.turn).not.toHaveProperty("reply");
    const [kept] = store.turns(id);
    expect(kept?.answer).toBe(whole);
    expect(store.messages(id)).toStrictEqual([
      { role: "user", content: "Write a lot" },
      { role: "assistant", content: whole },
    ]);
    // The texts file keeps the beginning: a search finds the start there, and the end in the turn's file.
    expect(readFileSync(join(directory, "index.jsonl"), "utf8").length).toBeLessThan(1000);
    const texts = readFileSync(join(directory, "texts.jsonl"), "utf8");
    expect(texts.length).toBeLessThan(KEPT_ANSWER_LENGTH + 1000);
    expect(texts).toContain('"cut":true');
    expect(store.search("it begins").map((found) => found.id)).toEqual([id]);
    expect(store.search("IT ENDS HERE").map((found) => found.id)).toEqual([id]);
    expect(store.search("0099 xxx").map((found) => found.id)).toEqual([id]);
    expect(store.search("not in it")).toEqual([]);
    // It replays offline like any other turn.
    const replayed = await lastValueFrom(fromCassette(join(store.directoryOf(id), file ?? ""), { speed: Infinity }).pipe(toArray()));
    expect(replayed.map((item) => item.choices[0]?.delta.content ?? "").join("")).toBe(whole);
  });

  it("reads a conversation while another process is between opening a turn's journal and writing its header", async () => {
    await turn("busy", "First", [chunk("One", "stop")]);
    // Another process has just created its journal (open with O_EXCL, header not written yet).
    writeFileSync(join(store.directoryOf("busy"), `20991231T235959999Z-${process.pid}-beef.partial.jsonl`), "");
    expect(store.turns("busy").map((item) => item.answer)).toStrictEqual(["One"]);
    expect(store.messages("busy")).toStrictEqual([
      { role: "user", content: "First" },
      { role: "assistant", content: "One" },
    ]);
    // Half a header: the same.
    writeFileSync(join(store.directoryOf("busy"), `20991231T235959999Z-${process.pid}-cafe.partial.jsonl`), '{"g4f-rx-cassette":1,"reco');
    expect(store.turns("busy")).toHaveLength(1);
  });

  it("resolves a unique start of an id and refuses an unknown or ambiguous one", async () => {
    await turn("abc-1", "x", [chunk("y", "stop")]);
    await turn("abc-2", "x", [chunk("y", "stop")]);
    expect(store.resolveId("abc-1")).toBe("abc-1");
    expect(() => store.resolveId("abc")).toThrow('"abc" starts 2 conversation ids: abc-1, abc-2; give more of the id, or a title');
    expect(() => store.resolveId("zzz")).toThrow('no conversation "zzz"');
    expect(() => store.resolveId("../etc")).toThrow('no conversation "../etc"');
    expect(() => store.resolveId(" ")).toThrow("is not a conversation id or title");
  });

  it("resolves an id first, then a title, then a unique start of an id; a title never leaves the titles folder", async () => {
    await turn("abc-1", "x", [chunk("y", "stop")]);
    await turn("abc-2", "x", [chunk("y", "stop")]);
    await turn("other", "x", [chunk("y", "stop")]);
    store.setTitle("other", "abc");
    store.setTitle("abc-2", "abc-1");
    expect(store.resolveId("abc")).toBe("other");
    expect(store.resolveId("abc-1")).toBe("abc-1");
    store.setTitle("abc-1", "../../x");
    expect(store.resolveId("../../x")).toBe("abc-1");
    expect(readdirSync(join(store.directory, "titles")).sort()).toStrictEqual(["%2E.%2F..%2Fx", "abc", "abc-1"]);
    expect(() => store.setTitle("abc-1", "abc")).toThrow('the title "abc" names conversation other already');
  });

  it("lives under XDG_DATA_HOME, else ~/.local/share, and nowhere when neither is set", () => {
    expect(dataDirectory({ XDG_DATA_HOME: "/data", HOME: "/home/u" })).toBe("/data/g4f-rx");
    expect(dataDirectory({ HOME: "/home/u" })).toBe("/home/u/.local/share/g4f-rx");
    expect(dataDirectory({ XDG_DATA_HOME: "relative", HOME: "/home/u" })).toBe("/home/u/.local/share/g4f-rx");
    expect(dataDirectory({})).toBeUndefined();
  });
});

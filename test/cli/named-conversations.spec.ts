import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type TestServer, startTestServer, streamReply, textChunks } from "g4f-rx/testing";
import { ConversationStore } from "../../src/conversations/index.js";
import { temporaryFolder } from "../support/temporary-folder.js";
import { assertFreshBuild, runCli } from "./run-cli.js";

// Conversations named with --title (mods' --title) and continued by that name, with the built command as a child
// process against the in-process test server; its data in a temporary XDG_DATA_HOME (never the real home).

let server: TestServer;
let home: string;
let env: Record<string, string>;
let store: ConversationStore;

beforeAll(() => assertFreshBuild());
beforeEach(async () => {
  server = await startTestServer();
  home = temporaryFolder("g4f-rx-titles-");
  env = { OPENAI_BASE_URL: server.baseURL, HOME: join(home, "home"), XDG_DATA_HOME: join(home, "data") };
  store = new ConversationStore(join(home, "data", "g4f-rx"));
});
afterEach(async () => {
  await server.close();
});

const answer = (...pieces: string[]): ReturnType<typeof streamReply> => streamReply(textChunks(pieces));
const messagesOf = (index: number): unknown => {
  const body = server.requests[index]?.body;
  return typeof body === "object" && body !== null && "messages" in body ? body.messages : undefined;
};

describe("g4f-rx --title: named conversations", () => {
  it("names a new conversation, lists and shows its title, and --cid TITLE continues it", async () => {
    server.reply(answer("Lisbon, then Porto."), answer("Other"), answer("Three days."));
    expect(await runCli(["--title", "trip plan", "Where to go?"], { env })).toMatchObject({ code: 0, stdout: "Lisbon, then Porto.\n", stderr: "" });
    expect((await runCli(["unrelated"], { env })).code).toBe(0);
    // The latest is the unrelated one; the title finds the other.
    expect(await runCli(["--cid", "trip plan", "How long?"], { env })).toMatchObject({ code: 0, stdout: "Three days.\n" });
    expect(messagesOf(2)).toStrictEqual([
      { role: "user", content: "Where to go?" },
      { role: "assistant", content: "Lisbon, then Porto." },
      { role: "user", content: "How long?" },
    ]);
    const list = await runCli(["logs"], { env });
    const lines = list.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/ 2 turns {2}"trip plan" {2}Where to go\?$/);
    expect(lines[1]).toMatch(/ 1 turn {2}unrelated$/);
    const named = store.list().find((item) => item.title === "trip plan");
    expect(named).toMatchObject({ turns: 2, firstWords: "Where to go?" });
    const json = await runCli(["logs", "--json"], { env });
    expect(json.stdout.trimEnd().split("\n").map((line) => (JSON.parse(line) as { title?: string }).title)).toStrictEqual(["trip plan", undefined]);
    // Shown, and searched, by its title too.
    expect((await runCli(["logs", "show", "trip plan"], { env })).stdout).toMatch(/^conversation \S+ "trip plan" \(2 turns;/);
    expect((await runCli(["logs", "-q", "TRIP"], { env })).stdout.trimEnd().split("\n")).toHaveLength(1);
  });

  it("refuses a title another conversation has (exit 2, nothing sent), naming that conversation", async () => {
    server.reply(answer("One"));
    await runCli(["--title", "work", "first"], { env });
    const id = store.list()[0]?.id ?? "";
    const taken = await runCli(["--title", "work", "second"], { env });
    expect(taken).toMatchObject({ code: 2, stdout: "" });
    expect(taken.stderr).toContain(`the title "work" names conversation ${id} already: continue it with --cid "work"`);
    // The command line was right, so no pointer to --help.
    expect(taken.stderr).not.toContain("--help");
    expect(server.requests).toHaveLength(1);
    expect(store.list()).toHaveLength(1);
    // Bad titles, and titles where nothing is kept, are usage errors before anything is sent.
    for (const args of [["--title", "a\nb", "x"], ["--title", "x".repeat(61), "x"], ["--title", " padded", "x"], ["--title", "20261130T041612-abcdef", "x"], ["--no-log", "--title", "t", "x"]]) {
      const result = await runCli(args, { env });
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr, args.join(" ")).toMatch(/title/);
    }
    expect(server.requests).toHaveLength(1);
  });

  it("renames the conversation -c continues with --title, and logs rename renames one; the old title then names none", async () => {
    server.reply(answer("A"), answer("B"));
    await runCli(["--title", "draft", "first"], { env });
    expect((await runCli(["-c", "--title", "final", "second"], { env })).code).toBe(0);
    const id = store.list()[0]?.id ?? "";
    expect(store.list()[0]).toMatchObject({ title: "final", turns: 2 });
    const gone = await runCli(["--cid", "draft", "third"], { env });
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain('no conversation "draft"');
    const renamed = await runCli(["logs", "rename", "final", "a/b %2F .c"], { env });
    expect(renamed).toMatchObject({ code: 0, stdout: "" });
    expect(renamed.stderr).toContain(`conversation ${id} is now "a/b %2F .c"`);
    expect(store.list()[0]?.title).toBe("a/b %2F .c");
    expect((await runCli(["logs", "show", "a/b %2F .c"], { env })).code).toBe(0);
    expect((await runCli(["logs", "rename", id, ""], { env })).code).toBe(0);
    expect(store.list()[0]?.title).toBeUndefined();
    expect(readdirSync(join(home, "data", "g4f-rx", "titles"))).toStrictEqual([]);
    expect(server.requests).toHaveLength(2);
  });

  it("lists the conversations a start of an id names when it names several, with their titles", async () => {
    server.reply(answer("A"), answer("B"));
    await runCli(["--title", "left", "one"], { env });
    await runCli(["two"], { env });
    // Both ids start with the year.
    const ambiguous = await runCli(["logs", "show", "20"], { env });
    expect(ambiguous.code).toBe(2);
    const ids = store.list().map((item) => item.id);
    expect(ambiguous.stderr).toContain('"20" starts 2 conversation ids: ');
    for (const id of ids) expect(ambiguous.stderr).toContain(id);
    expect(ambiguous.stderr).toContain('("left")');
  });

  it("gives a title to one conversation only when several processes claim it at once; each other one is told, kept without it or refused", async () => {
    const count = 4;
    server.setDefaultReply(answer("ok"));
    const results = await Promise.all(Array.from({ length: count }, (_, index) => runCli(["--title", "same", `question ${index}`], { env })));
    // A process that saw the title taken before asking was refused (exit 2, nothing sent); one that saw it free asked,
    // and if another claimed it first meanwhile, its conversation is kept without it, and it says so.
    const asked = results.filter((result) => result.code === 0);
    const refused = results.filter((result) => result.code === 2);
    expect(asked.length + refused.length).toBe(count);
    for (const result of asked) expect(result.stdout).toBe("ok\n");
    for (const result of refused) expect(result).toMatchObject({ stdout: "", stderr: expect.stringContaining('the title "same" names conversation') as unknown });
    expect(asked.filter((result) => result.stderr.includes('the conversation is kept, but not as "same"'))).toHaveLength(asked.length - 1);
    expect(server.requests).toHaveLength(asked.length);
    const all = store.list();
    expect(all).toHaveLength(asked.length);
    expect(all.filter((item) => item.title === "same")).toHaveLength(1);
    expect(readdirSync(join(home, "data", "g4f-rx", "titles"))).toStrictEqual(["same"]);
  });

  it("renames one conversation only when several processes rename theirs to one title at once; the others are told who has it", async () => {
    server.reply(answer("A"), answer("B"), answer("C"), answer("D"));
    for (const question of ["a", "b", "c", "d"]) await runCli(["--title", `own ${question}`, question], { env });
    const ids = store.list().map((item) => item.id);
    const results = await Promise.all(ids.map((id) => runCli(["logs", "rename", id, "shared"], { env })));
    const winners = ids.filter((_, index) => results[index]?.code === 0);
    expect(winners).toHaveLength(1);
    expect(results.filter((result) => result.code === 2 && result.stderr.includes(`the title "shared" names conversation ${winners[0] ?? ""} already`))).toHaveLength(ids.length - 1);
    expect(store.titled("shared")).toBe(winners[0]);
    // The winner's old title went; the others kept theirs.
    const titles = store.titles();
    expect([...titles.values()].sort()).toStrictEqual(["own a", "own b", "own c", "own d", "shared"].filter((title) => title !== `own ${store.list().find((item) => item.id === winners[0])?.firstWords ?? ""}`));
    expect(readdirSync(join(home, "data", "g4f-rx", "titles"))).toHaveLength(4);
  });

  it("frees the title of a conversation removed with logs rm, or by hand", async () => {
    server.reply(answer("A"), answer("B"), answer("C"));
    await runCli(["--title", "t", "one"], { env });
    expect((await runCli(["logs", "rm", "t"], { env })).code).toBe(0);
    expect(await runCli(["--title", "t", "two"], { env })).toMatchObject({ code: 0, stderr: "" });
    rmSync(join(home, "data", "g4f-rx", "conversations", store.titled("t") ?? "missing"), { recursive: true });
    expect(await runCli(["--title", "t", "three"], { env })).toMatchObject({ code: 0, stderr: "" });
    expect(store.list()).toMatchObject([{ title: "t", firstWords: "three" }]);
  });
});

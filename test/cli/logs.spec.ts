import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { from, lastValueFrom } from "rxjs";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { textChunks } from "g4f-rx/testing";
import { ConversationStore, recordTurn } from "../../src/conversations/index.js";
import { closeTerminals, hasUtilLinuxScript, onTerminal } from "./pty.js";
import { assertFreshBuild, runCli } from "./run-cli.js";

let home: string;
let env: Record<string, string>;
let store: ConversationStore;

beforeAll(() => assertFreshBuild());
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), "g4f-rx-logs-"));
  env = { XDG_DATA_HOME: home, HOME: join(home, "nowhere") };
  store = new ConversationStore(join(home, "g4f-rx"));
});
afterEach(() => {
  closeTerminals();
  rmSync(home, { recursive: true, force: true });
});

async function turn(id: string, question: string, pieces: string[], options: { model?: string } = {}): Promise<void> {
  const input = [{ role: "user" as const, content: question }];
  const recorder = store.startTurn({ conversation: id, endpoint: "http://127.0.0.1:1337/v1", model: options.model ?? "gpt-4", input, request: { messages: input } });
  const chunks: ChatCompletionChunk[] = textChunks(pieces);
  await lastValueFrom(from(chunks).pipe(recordTurn(recorder)));
}

describe.runIf(hasUtilLinuxScript())("g4f-rx logs on a real terminal", () => {
  it("shows the control characters of kept prompts and answers as visible symbols, so they cannot clear the screen", async () => {
    await turn("c-esc", "title \u001b]0;pwned\u0007 please", ["A\u001b[2JB"]);
    for (const args of [["logs"], ["logs", "show", "c-esc"]]) {
      const { code, screen } = await onTerminal(args, env).exited;
      expect(code).toBe(0);
      expect(screen).not.toContain("\u001b[2J");
      expect(screen).not.toContain("\u001b]0;");
      expect(screen).toContain("title ␛]0;pwned␇ please");
    }
    expect((await onTerminal(["logs", "show", "c-esc"], env).exited).screen).toContain("A␛[2JB");
    const last = await onTerminal(["logs", "-r"], env).exited;
    expect(last.screen).not.toContain("\u001b[2J");
    expect(last.screen).toContain("A␛[2JB");
    // Into a pipe, byte for byte.
    expect((await runCli(["logs", "show", "c-esc"], { env })).stdout).toContain("A\u001b[2JB");
  });
});

describe("g4f-rx logs", () => {
  it("lists conversations newest first: id, when, model and endpoint, turns, first words", async () => {
    await turn("c-old", "What is RxJS?", ["A library."]);
    await turn("c-new", "Name a colour", ["Teal"], { model: "llama" });
    await turn("c-new", "Another", ["Ochre"], { model: "llama" });
    const result = await runCli(["logs"], { env });
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^c-new {2}\d{4}-\d\d-\d\d \d\d:\d\d {2}llama @ http:\/\/127\.0\.0\.1:1337\/v1 {2}2 turns {2}Name a colour$/);
    expect(lines[1]).toMatch(/^c-old .* 1 turn {2}What is RxJS\?$/);
    const json = await runCli(["logs", "--json"], { env });
    expect(json.stdout.trimEnd().split("\n").map((line) => JSON.parse(line) as { id: string; turns: number })).toMatchObject([
      { id: "c-new", turns: 2 },
      { id: "c-old", turns: 1 },
    ]);
  });

  it("shortens long first words by code points, never an emoji in half, in the list and in --json", async () => {
    const words = `${"a".repeat(58)}🎉🎉🎉 and more`;
    await turn("c-emoji", words, ["ok"]);
    const result = await runCli(["logs"], { env });
    expect(result.stdout).toMatch(new RegExp(`  ${"a".repeat(58)}🎉…\n$`));
    expect(result.stdout).not.toContain("\ufffd");
    // Past the index's 100 code points, the words kept end on a whole emoji too.
    await turn("c-long", `${"a".repeat(99)}🎉🎉`, ["ok"]);
    const json = await runCli(["logs", "--json"], { env });
    expect(json.stdout).not.toMatch(/\\ud83c"/i);
    const listed = json.stdout.trimEnd().split("\n").map((line) => JSON.parse(line) as { firstWords: string });
    expect(listed.map((item) => item.firstWords)).toStrictEqual([`${"a".repeat(99)}🎉`, words]);
  });

  it("marks a turn asked again with /retry as replaced", async () => {
    await turn("c-r", "Pick a number", ["Seven"]);
    const [first] = store.turns("c-r");
    const input = [{ role: "user" as const, content: "Pick a number" }];
    const again = store.startTurn({ conversation: "c-r", endpoint: "http://127.0.0.1:1337/v1", model: "gpt-4", input, request: { messages: input }, replaces: first?.turn });
    await lastValueFrom(from(textChunks(["Three"])).pipe(recordTurn(again)));
    const shown = await runCli(["logs", "show", "c-r"], { env });
    expect(shown.stdout).toMatch(/ {2}\[replaced\]\nuser: Pick a number\nassistant: Seven\n\(asked again with \/retry: the conversation goes on with the newer answer, below\)\n/);
    expect(shown.stdout.match(/\[replaced\]/g)).toHaveLength(1);
    expect(shown.stdout).toMatch(/gpt-4 @ http:\/\/127\.0\.0\.1:1337\/v1\nuser: Pick a number\nassistant: Three\n$/);
  });

  it("shows one conversation as plain text into a pipe, or as JSON, marking an unfinished turn", async () => {
    await turn("c-1", "Say hello", ["Hello", " there!"]);
    const input = [{ role: "user" as const, content: "More" }];
    const cancelled = store.startTurn({ conversation: "c-1", endpoint: "http://127.0.0.1:1337/v1", model: "gpt-4", input, request: { messages: input } });
    for (const chunk of textChunks(["Cut sh"], { finishReason: null })) cancelled.chunk(chunk);
    cancelled.finish("cancelled");
    const shown = await runCli(["logs", "show", "c-1"], { env });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain("conversation c-1 (2 turns; replay: g4f-rx chat --replay ");
    expect(shown.stdout).toContain("user: Say hello\nassistant: Hello there!\n");
    expect(shown.stdout).toContain("  [cancelled]\nuser: More\nassistant: Cut sh\n(the answer was cancelled)\n");
    expect(shown.stdout).not.toContain("\u001b[");
    const json = await runCli(["logs", "show", "c-1", "--json"], { env });
    const parsed = JSON.parse(json.stdout) as { id: string; turns: { status: string; answer: string }[] };
    expect(parsed.id).toBe("c-1");
    expect(parsed.turns.map((item) => [item.status, item.answer])).toStrictEqual([
      ["complete", "Hello there!"],
      ["cancelled", "Cut sh"],
    ]);
  });

  it("gives with --json each turn's whole request, though its file keeps only what the turn added, or why it cannot", async () => {
    const sent: unknown[][] = [];
    for (const question of ["Q1", "Q2", "Q3"]) {
      const input = [{ role: "user" as const, content: question }];
      const messages = [...(sent.at(-1) ?? []), ...(sent.length > 0 ? [{ role: "assistant", content: `A${String(sent.length)}` }] : []), ...input];
      sent.push(messages);
      const recorder = store.startTurn({ conversation: "c-j", endpoint: "http://127.0.0.1:1337/v1", model: "gpt-4", input, request: { model: "gpt-4", messages } });
      await lastValueFrom(from(textChunks([`A${String(sent.length)}`])).pipe(recordTurn(recorder)));
    }
    const folder = store.directoryOf("c-j");
    const [first, second, third] = readdirSync(folder).sort();
    expect(readFileSync(join(folder, third ?? ""), "utf8")).toContain('"continues":');
    const requestsOf = async (): Promise<unknown[]> => {
      const json = await runCli(["logs", "show", "c-j", "--json"], { env });
      expect(json.code).toBe(0);
      return (JSON.parse(json.stdout) as { turns: Array<{ request?: unknown; requestUnreadable?: string }> }).turns.map((item) => item.request ?? item.requestUnreadable);
    };
    expect(await requestsOf()).toStrictEqual(sent.map((messages) => ({ model: "gpt-4", messages })));
    // The first turn moved out of the folder: the others' requests cannot be put together, and say why.
    renameSync(join(folder, first ?? ""), join(home, first ?? ""));
    expect(await requestsOf()).toStrictEqual([
      `${join(folder, second ?? "")}:1: its request continues ${first ?? ""}, which cannot be read: there is no such file`,
      `${join(folder, third ?? "")}:1: its request continues ${second ?? ""}, whose request goes back to ${first ?? ""}, which cannot be read: there is no such file`,
    ]);
  });

  it("shows the readable turns of a conversation with a damaged turn file, and marks that one with its file and why", async () => {
    await turn("c-d", "one", ["1"]);
    await turn("c-d", "two", ["2"]);
    await turn("c-d", "three", ["3"]);
    const folder = store.directoryOf("c-d");
    const [first, second, third] = readdirSync(folder).sort();
    writeFileSync(join(folder, second ?? ""), '{"g4f-rx-cassette":1, garbage');
    writeFileSync(join(folder, third ?? ""), "");
    appendFileSync(join(folder, first ?? ""), "not json\n");
    const shown = await runCli(["logs", "show", "c-d"], { env });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain("conversation c-d (3 turns;");
    expect(shown.stdout).toContain(`--- ${second ?? ""}  [damaged]\n(this turn's file cannot be read: ${join(folder, second ?? "")}:1: not valid JSON (`);
    expect(shown.stdout).toContain(`--- ${third ?? ""}  [damaged]\n(this turn's file cannot be read: ${join(folder, third ?? "")}:1: the file is empty`);
    expect(shown.stdout).toContain(`(this turn's file cannot be read: ${join(folder, first ?? "")}:6: not valid JSON (`);
    expect(shown.stderr).toBe("g4f-rx logs: 3 turns' files cannot be read (marked [damaged]); -c and --cid refuse this conversation until it is moved away\n");
    expect(shown.stderr).not.toContain("    at ");
    // One damaged, two readable: the readable ones are shown as usual.
    writeFileSync(join(folder, first ?? ""), "");
    await turn("c-e", "four", ["4"]);
    await turn("c-e", "five", ["5"]);
    const [broken] = readdirSync(store.directoryOf("c-e")).sort();
    writeFileSync(join(store.directoryOf("c-e"), broken ?? ""), '{"g4f-rx-cassette":1, garbage');
    const other = await runCli(["logs", "show", "c-e"], { env });
    expect(other.code).toBe(0);
    expect(other.stdout).toContain("user: five\nassistant: 5\n");
    const json = await runCli(["logs", "show", "c-e", "--json"], { env });
    const parsed = JSON.parse(json.stdout) as { turns: { answer: string }[]; damaged: { file: string; line: number; problem: string }[] };
    expect(parsed.turns.map((item) => item.answer)).toStrictEqual(["5"]);
    expect(parsed.damaged).toMatchObject([{ file: join(store.directoryOf("c-e"), broken ?? ""), line: 1 }]);
    expect(parsed.damaged[0]?.problem).toMatch(/^not valid JSON/);
  });

  it("searches prompts and answers with -q", async () => {
    await turn("c-a", "Tell me about cats", ["Cats purr."]);
    await turn("c-b", "Tell me about dogs", ["Dogs bark."]);
    expect((await runCli(["logs", "-q", "PURR"], { env })).stdout).toMatch(/^c-a /);
    expect((await runCli(["logs", "-q", "dogs"], { env })).stdout).toMatch(/^c-b /);
    expect((await runCli(["logs", "-q", "fish"], { env })).stdout).toBe("");
  });

  it("shows the latest conversation, the one -c goes on with, when show has no id; rm always needs one", async () => {
    // Nothing kept is not a misuse: exit 1, as -r gives.
    const none = await runCli(["logs", "show"], { env });
    expect(none).toMatchObject({ code: 1, stdout: "" });
    expect(none.stderr).toContain("no conversation is kept yet");
    await turn("c-old", "Older question", ["Old."]);
    await turn("c-new", "Newer question", ["New."]);
    const shown = await runCli(["logs", "show"], { env });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain("conversation c-new (1 turn");
    expect(shown.stdout).toContain("user: Newer question\nassistant: New.\n");
    expect(shown.stdout).not.toContain("Older question");
    const rm = await runCli(["logs", "rm"], { env });
    expect(rm.code).toBe(2);
    expect(rm.stderr).toContain("logs rm takes one conversation id");
    expect(store.list().map((summary) => summary.id)).toStrictEqual(["c-new", "c-old"]);
  });

  it("prints with -r only the latest conversation's last answer, byte for byte into a pipe, and nothing else", async () => {
    const answer = "Line one\n  ```sh\nls -la\n```\n\u001b[1mé🎉 no newline at the end  ";
    await turn("c-old", "Older question", ["Old answer\n"]);
    await turn("c-new", "First", ["Not this one"]);
    await turn("c-new", "Second", [answer.slice(0, 7), answer.slice(7, 30), answer.slice(30)]);
    expect(await runCli(["logs", "-r"], { env })).toMatchObject({ code: 0, stdout: answer, stderr: "" });
    expect(await runCli(["logs", "--response", "-c"], { env })).toMatchObject({ code: 0, stdout: answer, stderr: "" });
    // Another conversation's, by its id, a start of it, --cid or its title.
    for (const args of [["logs", "-r", "c-old"], ["logs", "-r", "c-o"], ["logs", "-r", "--cid", "c-old"]]) {
      expect(await runCli(args, { env })).toMatchObject({ code: 0, stdout: "Old answer\n", stderr: "" });
    }
    store.setTitle("c-old", "old one");
    expect(await runCli(["logs", "-r", "old one"], { env })).toMatchObject({ code: 0, stdout: "Old answer\n", stderr: "" });
    // show's words with -r are -r's: show, then the conversation or none.
    expect(await runCli(["logs", "show", "-r"], { env })).toMatchObject({ code: 0, stdout: answer, stderr: "" });
    expect(await runCli(["logs", "show", "-r", "c-old"], { env })).toMatchObject({ code: 0, stdout: "Old answer\n", stderr: "" });
  });

  it("passes over with -r a turn that got no text or was asked again, and says on stderr when the answer is partial", async () => {
    await turn("c-1", "Pick a number", ["Seven"]);
    const [first] = store.turns("c-1");
    const input = [{ role: "user" as const, content: "Pick a number" }];
    const again = store.startTurn({ conversation: "c-1", endpoint: "http://127.0.0.1:1337/v1", model: "gpt-4", input, request: { messages: input }, replaces: first?.turn });
    await lastValueFrom(from(textChunks(["Three"])).pipe(recordTurn(again)));
    const failed = store.startTurn({ conversation: "c-1", endpoint: "http://127.0.0.1:1337/v1", model: "gpt-4", input, request: { messages: input } });
    failed.finish("error", "HTTP 500");
    expect(await runCli(["logs", "-r"], { env })).toMatchObject({ code: 0, stdout: "Three", stderr: "" });
    const cancelled = store.startTurn({ conversation: "c-1", endpoint: "http://127.0.0.1:1337/v1", model: "gpt-4", input, request: { messages: input } });
    for (const chunk of textChunks(["Cut sh"], { finishReason: null })) cancelled.chunk(chunk);
    cancelled.finish("cancelled");
    const partial = await runCli(["logs", "-r"], { env });
    expect(partial).toMatchObject({ code: 0, stdout: "Cut sh" });
    expect(partial.stderr).toContain("the answer was cancelled");
  });

  it("fails with -r, exit 1 and a reason on stderr, when there is no answer to print; a wrong conversation or flag is a usage error", async () => {
    const none = await runCli(["logs", "-r"], { env });
    expect(none).toMatchObject({ code: 1, stdout: "" });
    expect(none.stderr).toContain("no conversation is kept yet");
    const input = [{ role: "user" as const, content: "Hi" }];
    store.startTurn({ conversation: "c-empty", endpoint: "http://127.0.0.1:1337/v1", model: "gpt-4", input, request: { messages: input } }).finish("error", "HTTP 500");
    const empty = await runCli(["logs", "-r"], { env });
    expect(empty).toMatchObject({ code: 1, stdout: "" });
    expect(empty.stderr).toContain("conversation c-empty has no answer with text yet");
    for (const args of [["logs", "-r", "nope"], ["logs", "-r", "--json"], ["logs", "-r", "-q", "x"], ["logs", "-r", "a", "b"], ["logs", "-r", "-c", "c-empty"], ["logs", "-r", "-n", "3"]]) {
      const result = await runCli(args, { env });
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stdout, args.join(" ")).toBe("");
    }
    // -n counts the list; given to show, it says so rather than being ignored.
    const counted = await runCli(["logs", "show", "-n", "3"], { env });
    expect(counted).toMatchObject({ code: 2, stdout: "" });
    expect(counted.stderr).toContain("-n 3 is how many conversations the list shows; logs show takes one conversation");
  });

  it("removes a conversation with rm, and refuses an unknown id", async () => {
    await turn("c-a", "one", ["1"]);
    await turn("c-b", "two", ["2"]);
    const removed = await runCli(["logs", "rm", "c-a"], { env });
    expect(removed.code).toBe(0);
    expect(removed.stderr).toContain("removed conversation c-a");
    expect((await runCli(["logs"], { env })).stdout).toMatch(/^c-b [^\n]*\n$/);
    const unknown = await runCli(["logs", "show", "c-a"], { env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no conversation "c-a"');
    expect((await runCli(["logs", "frobnicate"], { env })).code).toBe(2);
    // A store that cannot be written: one line saying what stays, no stack.
    rmSync(join(home, "g4f-rx", "index.jsonl"));
    mkdirSync(join(home, "g4f-rx", "index.jsonl"));
    const failed = await runCli(["logs", "rm", "c-b"], { env });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^g4f-rx logs: removed conversation c-b's turns, but some of its words stay in .*: EISDIR[^\n]*\n$/);
  });

  it("lists a thousand conversations from the index, limited by -n", async () => {
    for (let index = 0; index < 1000; index += 1) await turn(`c-${String(index).padStart(4, "0")}`, `question ${index}`, ["answer"]);
    const all = await runCli(["logs", "-n", "0"], { env });
    expect(all.code).toBe(0);
    expect(all.stdout.trimEnd().split("\n")).toHaveLength(1000);
    const some = await runCli(["logs", "-n", "3"], { env });
    expect(some.stdout.trimEnd().split("\n").map((line) => line.split("  ")[0])).toStrictEqual(["c-0999", "c-0998", "c-0997"]);
    expect(some.stderr).toContain("997 more");
  });
});

import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import type { ChatCompletionChunk, ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type TestServer, errorReply, startTestServer, streamReply, textChunks } from "g4f-rx/testing";
import { startReplayServer } from "g4f-rx/node";
import { ConversationStore } from "../../src/conversations/index.js";
import { assertFreshBuild, closedPort, runCli, startCli } from "./run-cli.js";

// The built command as a child process, its data in a temporary XDG_DATA_HOME (never the real home).

let server: TestServer;
let home: string;
let env: Record<string, string>;
let store: ConversationStore;

beforeAll(() => assertFreshBuild());
beforeEach(async () => {
  server = await startTestServer();
  home = mkdtempSync(join(tmpdir(), "g4f-rx-conversations-"));
  env = { OPENAI_BASE_URL: server.baseURL, HOME: join(home, "home"), XDG_DATA_HOME: join(home, "data") };
  store = new ConversationStore(join(home, "data", "g4f-rx"));
});
afterEach(async () => {
  await server.close();
  rmSync(home, { recursive: true, force: true });
});

const answer = (...pieces: string[]): ReturnType<typeof streamReply> => streamReply(textChunks(pieces));
/** An answer that asks to call get_weather, after `text` when given. */
const toolCall = (text?: string): ReturnType<typeof streamReply> => {
  const [role, template] = textChunks(text === undefined ? ["x"] : [text]);
  if (role === undefined || template === undefined) throw new Error("textChunks gave no chunks");
  const chunk = (delta: ChatCompletionChunk.Choice.Delta, finish: ChatCompletionChunk.Choice["finish_reason"] = null): ChatCompletionChunk => ({
    ...template,
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
  const call = { index: 0, id: "call_1", type: "function" as const, function: { name: "get_weather", arguments: '{"city":"Paris"}' } };
  return streamReply([role, ...(text === undefined ? [] : [template]), chunk({ tool_calls: [call] }), chunk({}, "tool_calls")]);
};
const messagesOf = (index: number): unknown => {
  const body = server.requests[index]?.body;
  return typeof body === "object" && body !== null && "messages" in body ? body.messages : undefined;
};

describe("g4f-rx: conversations", () => {
  it("keeps every exchange, and -c sends the earlier turns with the next question", async () => {
    server.reply(answer("Hello", " there!"), answer("Bonjour !"));
    expect(await runCli(["-s", "Be brief.", "Say hello"], { env })).toMatchObject({ code: 0, stdout: "Hello there!\n", stderr: "" });
    expect(await runCli(["-c", "In French?"], { env })).toMatchObject({ code: 0, stdout: "Bonjour !\n" });
    expect(messagesOf(1)).toStrictEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "Say hello" },
      { role: "assistant", content: "Hello there!" },
      { role: "user", content: "In French?" },
    ]);
    const [conversation] = store.list();
    expect(conversation).toMatchObject({ turns: 2, firstWords: "Say hello", endpoint: server.baseURL, model: "gpt-4" });
    // No conversation was written under HOME: XDG_DATA_HOME wins. (HOME has only the code cache, ~/.cache/g4f-rx.)
    expect(readdirSync(join(home, "home"))).toEqual([".cache"]);
  });

  it("continues a given conversation with --cid on another endpoint and model", async () => {
    const other = await startTestServer();
    try {
      server.reply(answer("One"), answer("Two"));
      other.reply(answer("Three"));
      await runCli(["first"], { env });
      await runCli(["second"], { env });
      const first = store.list().find((item) => item.firstWords === "first")?.id ?? "";
      const result = await runCli(["--cid", first.slice(0, 20), "--base-url", other.baseURL, "-m", "llama", "again"], { env });
      expect(result).toMatchObject({ code: 0, stdout: "Three\n" });
      expect(other.requests[0]?.body).toMatchObject({
        model: "llama",
        messages: [{ role: "user", content: "first" }, { role: "assistant", content: "One" }, { role: "user", content: "again" }],
      });
      expect(store.turns(first).map((turn) => [turn.endpoint, turn.model])).toStrictEqual([
        [server.baseURL, "gpt-4"],
        [other.baseURL, "llama"],
      ]);
    } finally {
      await other.close();
    }
  });

  it("continues on the conversation's endpoint and model unless flags name others, as llm -c does", async () => {
    const other = await startTestServer();
    try {
      other.setDefaultReply(answer("from other"));
      server.setDefaultReply(answer("from default"));
      await runCli(["--base-url", other.baseURL, "-m", "llama", "first"], { env: { ...env, OPENAI_API_KEY: "sk-other" } });
      // OPENAI_BASE_URL and G4F_RX_MODEL name the usual server and model; the conversation was elsewhere.
      const continued = await runCli(["-c", "second"], { env: { ...env, G4F_RX_MODEL: "usual", OPENAI_API_KEY: "sk-other" } });
      expect(continued).toMatchObject({ code: 0, stdout: "from other\n" });
      expect(other.requests[1]?.body).toMatchObject({ model: "llama", messages: [{ content: "first" }, { content: "from other" }, { content: "second" }] });
      expect(other.requests[1]?.headers.authorization).toBe("Bearer sk-other");
      await runCli(["-c", "-m", "mistral", "third"], { env });
      expect(other.requests[2]?.body).toMatchObject({ model: "mistral" });
      // An endpoint flag moves the conversation, with that endpoint's own model.
      await runCli(["-c", "--base-url", server.baseURL, "fourth"], { env });
      expect(server.requests).toHaveLength(1);
      expect(server.requests[0]?.body).toMatchObject({ model: "gpt-4" });
      expect(store.list()[0]).toMatchObject({ turns: 4, endpoint: server.baseURL, model: "gpt-4" });
    } finally {
      await other.close();
    }
  });

  it("continues on the endpoint and model of the last turn that got an answer, not of one that failed before its first word", async () => {
    server.reply(answer("Sticky."), errorReply(404, "The model `gtp-4` does not exist"), answer("Again."), answer("Once more."));
    await runCli(["sticky"], { env });
    const dead = `http://127.0.0.1:${await closedPort()}/v1`;
    expect((await runCli(["-c", "--base-url", dead, "to dead endpoint"], { env })).code).toBe(1);
    expect((await runCli(["-c", "-m", "gtp-4", "mistyped model"], { env })).code).toBe(1);
    expect(server.requests[1]?.body).toMatchObject({ model: "gtp-4" });
    // The listing shows where -c goes on, not the failed turns' endpoint and model.
    expect(store.list()).toMatchObject([{ endpoint: server.baseURL, model: "gpt-4", turns: 3 }]);
    expect(await runCli(["-c", "again"], { env })).toMatchObject({ code: 0, stdout: "Again.\n" });
    expect(server.requests[2]?.body).toMatchObject({ model: "gpt-4", messages: [{ content: "sticky" }, { content: "Sticky." }, { content: "again" }] });
    // With no answer at all yet, the last turn's endpoint and model are the conversation's.
    const other = await startTestServer();
    try {
      other.reply(errorReply(500, "down"), answer("From other."));
      expect((await runCli(["--base-url", other.baseURL, "-m", "llama", "first"], { env })).code).toBe(1);
      expect(store.list()[0]).toMatchObject({ endpoint: other.baseURL, model: "llama", turns: 1 });
      expect(await runCli(["-c", "second"], { env })).toMatchObject({ code: 0, stdout: "From other.\n" });
      expect(other.requests[1]?.body).toMatchObject({ model: "llama" });
    } finally {
      await other.close();
    }
  });

  it("chat takes aichat's and llm's habits: ::: and !multi … !end blocks are one question, .exit and quit are told, not asked", async () => {
    server.reply(answer("One"), answer("Two"), answer("Three"));
    const result = await runCli(["chat"], { env, stdin: ".help\n:::\nline one\nline two\n:::\n!multi\na\nb\n!end\nquit\n.exit\nexit now?\n" });
    expect(result).toMatchObject({ code: 0, stdout: "One\nTwo\nThree\n" });
    expect(messagesOf(0)).toStrictEqual([{ role: "user", content: "line one\nline two" }]);
    expect(messagesOf(1)).toMatchObject([{}, {}, { role: "user", content: "a\nb" }]);
    // A line that only starts with "exit" is a question.
    expect(messagesOf(2)).toMatchObject([{}, {}, {}, {}, { role: "user", content: "exit now?" }]);
    expect(server.requests).toHaveLength(3);
    expect(result.stderr).toContain(".help is another chat's command, not asked; here: /help\n");
    expect(result.stderr).toContain("quit is another chat's command, not asked; here: /exit (or Ctrl-D)\n");
    expect(result.stderr).toContain(".exit is another chat's command, not asked; here: /exit (or Ctrl-D)\n");
  });

  it("logs takes llm's -c and --cid for one conversation (shown, or its last answer with -r), and names its own way for --current", async () => {
    server.reply(answer("First answer"), answer("Second answer"));
    await runCli(["first"], { env });
    await runCli(["second"], { env });
    const [latest, older] = store.list();
    const current = await runCli(["logs", "-c"], { env });
    expect(current).toMatchObject({ code: 0, stderr: "" });
    expect(current.stdout).toMatch(new RegExp(`^conversation ${latest?.id ?? "?"} \\(1 turn;`));
    expect((await runCli(["logs", "--cid", older?.id ?? "?"], { env })).stdout).toContain("user: first\nassistant: First answer\n");
    expect(await runCli(["logs", "--cid", older?.id ?? "?", "-r"], { env })).toMatchObject({ code: 0, stdout: "First answer", stderr: "" });
    const habit = await runCli(["logs", "--current"], { env });
    expect(habit).toMatchObject({ code: 2, stdout: "" });
    expect(habit.stderr).toContain("unknown option --current.\n--current: the latest conversation: g4f-rx logs -c (or logs show)\n");
    expect(habit.stderr).not.toContain("goes after");
  });

  it("chat reads questions from a pipe too, and then stdout holds the answers and nothing else", async () => {
    server.reply(answer("One"), answer("Two"));
    const result = await runCli(["chat"], { env, stdin: "First\n/model llama\nSecond\n" });
    expect(result).toMatchObject({ code: 0, stdout: "One\nTwo\n" });
    expect(result.stderr).not.toContain("queued");
    expect(server.requests[1]?.body).toMatchObject({ model: "llama", messages: [{ content: "First" }, { content: "One" }, { content: "Second" }] });
  });

  it("chat says when an answer is a tool call or cut short, as a single question does, and goes on", async () => {
    server.reply(toolCall(), streamReply(textChunks(["Once upon"], { finishReason: "length" })), answer("Fine."));
    const result = await runCli(["chat"], { env, stdin: "Weather?\nA story?\nThanks\n" });
    expect(result).toMatchObject({ code: 0, stdout: "Once upon\nFine.\n" });
    expect(result.stderr).toContain('instead of answering, the model asked to call get_weather({"city":"Paris"}); the command runs no tools\n');
    // --json is a single question's flag: chat does not offer it.
    expect(result.stderr).not.toContain("--json");
    expect(result.stderr).toContain("cut off at the token limit (finish_reason: length)");
  });

  it("never sends back a tool call nobody answered, which providers refuse: -c and chat keep the question and any text", async () => {
    server.reply(toolCall(), answer("Sunny."), toolCall("Let me check."), answer("Rainy."));
    expect((await runCli(["Weather in Paris?"], { env })).code).toBe(3);
    expect(await runCli(["-c", "Just guess."], { env })).toMatchObject({ code: 0, stdout: "Sunny.\n" });
    expect(messagesOf(1)).toStrictEqual([
      { role: "user", content: "Weather in Paris?" },
      { role: "user", content: "Just guess." },
    ]);
    const chat = await runCli(["chat"], { env, stdin: "And in Rome?\nGuess.\n" });
    expect(chat).toMatchObject({ code: 0, stdout: "Let me check.\nRainy.\n" });
    expect(messagesOf(3)).toStrictEqual([
      { role: "user", content: "And in Rome?" },
      { role: "assistant", content: "Let me check." },
      { role: "user", content: "Guess." },
    ]);
  });

  it("chat --help shows chat's usage, the options it takes and its commands; words after chat are refused", async () => {
    const help = await runCli(["chat", "--help"], { env });
    expect(help).toMatchObject({ code: 0, stderr: "" });
    expect(help.stdout).toMatch(/^Usage: g4f-rx chat \[options\]\n/);
    expect(help.stdout).toContain("  -c, --continue");
    for (const refused of ["--json", "--list-models", "--attach", "--record"]) expect(help.stdout).not.toMatch(new RegExp(`^ +(-\\w, )?${refused}`, "m"));
    expect(help.stdout).toContain("/retry");
    const words = await runCli(["chat", "hello"], { env, stdin: "" });
    expect(words.code).toBe(2);
    expect(words.stderr).toContain('chat takes no arguments, got "hello"');
    expect(server.requests).toHaveLength(0);
  });

  it("chat sends -s with the first question, and the conversation keeps it", async () => {
    server.reply(answer("One"), answer("Two"));
    expect(await runCli(["chat", "-s", "Be brief."], { env, stdin: "First\nSecond\n" })).toMatchObject({ code: 0, stdout: "One\nTwo\n" });
    expect(messagesOf(0)).toStrictEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "First" },
    ]);
    expect(messagesOf(1)).toStrictEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "First" },
      { role: "assistant", content: "One" },
      { role: "user", content: "Second" },
    ]);
  });

  it("chat says what /model needs when it has no name, and asks with the model it had", async () => {
    server.reply(answer("One"));
    const result = await runCli(["chat"], { env, stdin: "/model\nFirst\n" });
    expect(result).toMatchObject({ code: 0, stdout: "One\n" });
    expect(result.stderr).toContain("/model needs a NAME: /model llama3.2, say");
    expect(result.stderr).not.toContain("unknown command");
    expect(server.requests[0]?.body).toMatchObject({ model: "gpt-4" });
  });

  it("chat -c asks the continued conversation's last question again with /retry, and keeps the new answer in place of the old", async () => {
    server.reply(answer("A1"), answer("Bad."), answer("Good."), answer("Better."));
    await runCli(["First?"], { env });
    await runCli(["-c", "Second?"], { env });
    const asked = [{ role: "user", content: "First?" }, { role: "assistant", content: "A1" }, { role: "user", content: "Second?" }];
    expect(await runCli(["chat", "-c"], { env, stdin: "/retry\n" })).toMatchObject({ code: 0, stdout: "Good.\n" });
    expect(messagesOf(2)).toStrictEqual(asked);
    // Again: the question answered by a /retry, after the turns before the one it replaced.
    expect(await runCli(["chat", "-c"], { env, stdin: "/retry\n" })).toMatchObject({ code: 0, stdout: "Better.\n" });
    expect(messagesOf(3)).toStrictEqual(asked);
    const [conversation] = store.list();
    expect(store.messages(conversation?.id ?? "")).toStrictEqual([...asked, { role: "assistant", content: "Better." }]);
  });

  it("chat asks nothing after /exit, also what a pipe holds after it", async () => {
    server.reply(answer("One"), answer("Two"));
    const result = await runCli(["chat"], { env, stdin: "First\n/exit\nAsked after exit\n" });
    expect(result).toMatchObject({ code: 0, stdout: "One\n" });
    expect(server.requests).toHaveLength(1);
    expect(store.turns(store.list()[0]?.id ?? "").map((turn) => turn.answer)).toStrictEqual(["One"]);
  });

  it("chat's /system with no text sends no system prompt from then on, and the conversation keeps it so for -c", async () => {
    server.reply(answer("One"), answer("Two"), answer("Three"));
    const result = await runCli(["chat", "-s", "Be brief."], { env, stdin: "First\n/system\nSecond\n" });
    expect(result).toMatchObject({ code: 0, stdout: "One\nTwo\n" });
    expect(result.stderr).toContain("the next question goes without a system prompt");
    expect(messagesOf(1)).toStrictEqual([
      { role: "user", content: "First" },
      { role: "assistant", content: "One" },
      { role: "user", content: "Second" },
    ]);
    expect(await runCli(["-c", "Third"], { env })).toMatchObject({ code: 0, stdout: "Three\n" });
    expect(messagesOf(2)).toStrictEqual([
      { role: "user", content: "First" },
      { role: "assistant", content: "One" },
      { role: "user", content: "Second" },
      { role: "assistant", content: "Two" },
      { role: "user", content: "Third" },
    ]);
  });

  it("chat --replay plays a kept conversation back turn by turn, offline, and tells a question no turn answers", async () => {
    server.reply(answer("Hello", " there!"), answer("Bonjour !"));
    await runCli(["-s", "Be brief.", "Say hello"], { env });
    await runCli(["-c", "In French?"], { env });
    const [kept] = store.list();
    const directory = store.directoryOf(kept?.id ?? "");
    // No endpoint at all: a closed port, and a fresh data folder that the replay must not write into either.
    const offline = { HOME: join(home, "home"), XDG_DATA_HOME: join(home, "offline"), OPENAI_BASE_URL: `http://127.0.0.1:${await closedPort()}/v1` };
    const result = await runCli(["chat", "--replay", directory, "-s", "Be brief.", "--speed", "Infinity"], { env: offline, stdin: "Say hello\nIn Spanish?\nIn French?\n" });
    // The second question is one no turn answers (its messages differ): told, not answered, and the third still matches,
    // because the conversation went on without it.
    expect(result).toMatchObject({ code: 0, stdout: "Hello there!\nBonjour !\n" });
    expect(result.stderr).toContain(`replaying the recordings in ${directory}; nothing is sent`);
    expect(result.stderr).toContain(`No recording in ${directory} answers this prompt. The nearest:`);
    expect(server.requests).toHaveLength(2);
    expect(readdirSync(home).sort()).toEqual(["data", "home"]);
    // The first question without the system prompt it was asked with: the message says what differs.
    const bare = await runCli(["--replay", directory, "Say hello"], { env: offline });
    expect(bare.code).toBe(1);
    expect(bare.stderr).toContain('"Say hello"');
    expect(bare.stderr).toContain("the nearest asks the same question after other messages (give the same -s system prompt;");
  });

  it("chat --replay plays a question asked again (/retry) with its second answer, and an answer cut off, at any speed; one question gets the first", async () => {
    const cut = streamReply(textChunks(["Cut", " short"], { finishReason: null }), { done: false });
    server.reply(answer("Five"), answer("Six"), cut, answer("Next"));
    await runCli(["chat"], { env, stdin: "count\n/retry\nbreak off\nnext\n" });
    const [kept] = store.list();
    const directory = store.directoryOf(kept?.id ?? "");
    // The fourth request carried the retried answer and the cut one: the replay must send the same to match it.
    expect(messagesOf(3)).toMatchObject([{ content: "count" }, { content: "Six" }, { content: "break off" }, { content: "Cut short" }, { content: "next" }]);
    for (const speed of ["1", "Infinity"]) {
      const result = await runCli(["chat", "--replay", directory, "--speed", speed], { env, stdin: "count\n/retry\nbreak off\nnext\n" });
      expect(result.stdout).toBe("Five\nSix\nCut short\nNext\n");
      expect(result.stderr).not.toContain("No recording");
    }
    // Asked once more than recorded: the last recording answers again, and stderr says so.
    const more = await runCli(["chat", "--replay", directory, "--speed", "Infinity"], { env, stdin: "count\n/retry\n/retry\n" });
    expect(more.stdout).toBe("Five\nSix\nSix\n");
    expect(more.stderr).toMatch(/\.cassette\.jsonl: again: the last of 2 recordings of this request, all played\n/);
    // One question is a replay of its own: the first recording that answers it, by the rule chat and serve follow.
    const one = await runCli(["--replay", directory, "count"], { env });
    expect(one).toMatchObject({ code: 0, stdout: "Five\n" });
    expect(one.stderr).toMatch(/replaying .*\.cassette\.jsonl \(recording 1 of 2 of this request\); nothing is sent/);
    expect(server.requests).toHaveLength(4);
  });

  it("serves a conversation that used /retry to the openai client turn by turn, each answer as the chat got it, with no 404", async () => {
    server.reply(answer("Five"), answer("Six"), answer("Next"));
    expect(await runCli(["chat"], { env, stdin: "count\n/retry\nnext\n" })).toMatchObject({ code: 0, stdout: "Five\nSix\nNext\n" });
    const [kept] = store.list();
    const replay = await startReplayServer({ cassettes: store.directoryOf(kept?.id ?? ""), port: 0, speed: Infinity });
    try {
      const client = new OpenAI({ baseURL: replay.baseURL, apiKey: "none", maxRetries: 0 });
      // A client playing the chat back: each request carries the answers it got, as the recorded chat's did.
      const messages: ChatCompletionMessageParam[] = [];
      const ask = async (): Promise<string> => {
        const completion = await client.chat.completions.create({ model: "gpt-4", messages });
        return completion.choices[0]?.message.content ?? "";
      };
      messages.push({ role: "user", content: "count" });
      expect(await ask()).toBe("Five");
      const retried = await ask();
      expect(retried).toBe("Six");
      messages.push({ role: "assistant", content: retried }, { role: "user", content: "next" });
      expect(await ask()).toBe("Next");
    } finally {
      await replay.close();
    }
    expect(server.requests).toHaveLength(3);
  });

  it("keeps nothing with --no-log or G4F_RX_NO_LOG=1, and says so when asked to continue nothing", async () => {
    server.reply(answer("a"), answer("b"));
    expect((await runCli(["--no-log", "x"], { env })).code).toBe(0);
    expect((await runCli(["y"], { env: { ...env, G4F_RX_NO_LOG: "1" } })).code).toBe(0);
    expect(store.list()).toStrictEqual([]);
    const result = await runCli(["-c", "z"], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("no conversation to continue");
    const unknown = await runCli(["--cid", "nope", "z"], { env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no conversation "nope"');
    expect(server.requests).toHaveLength(2);
  });

  it("loses no turn when two processes continue the same conversation at once", async () => {
    server.reply(answer("Start"));
    await runCli(["start"], { env });
    // Both requests are held until both have arrived, so the two processes really write at the same time.
    const bothArrived = Promise.all([server.waitForRequest(1), server.waitForRequest(2)]);
    const held = async (): Promise<ReturnType<typeof answer>> => (await bothArrived, streamReply(textChunks(["same", " time"]), { delayMs: 5 }));
    server.reply(held, held);
    const [a, b] = await Promise.all([runCli(["-c", "left"], { env }), runCli(["-c", "right"], { env })]);
    expect([a.code, b.code]).toStrictEqual([0, 0]);
    const [conversation] = store.list();
    expect(conversation?.turns).toBe(3);
    const turns = store.turns(conversation?.id ?? "");
    expect(turns.map((turn) => turn.status)).toStrictEqual(["complete", "complete", "complete"]);
    expect(turns.map((turn) => turn.input.at(-1)?.content).sort()).toStrictEqual(["left", "right", "start"]);
  });

  it("leaves the earlier turns intact and the partial turn marked when the process dies mid-answer", async () => {
    server.reply(answer("Fine."), streamReply(textChunks(["Half an"], { finishReason: null }), { done: false, then: [{ wait: 30_000 }] }));
    await runCli(["one"], { env });
    const running = startCli(["-c", "two"], { env });
    await running.waitForStdout("Half an");
    running.child.kill("SIGKILL");
    await running.exited;
    const [conversation] = store.list();
    const turns = store.turns(conversation?.id ?? "");
    expect(turns.map((turn) => [turn.status, turn.answer])).toStrictEqual([
      ["complete", "Fine."],
      ["partial", "Half an"],
    ]);
    // The partial answer is part of the conversation from then on.
    server.reply(answer("Three"));
    await runCli(["-c", "three"], { env });
    expect(messagesOf(2)).toStrictEqual([
      { role: "user", content: "one" },
      { role: "assistant", content: "Fine." },
      { role: "user", content: "two" },
      { role: "assistant", content: "Half an" },
      { role: "user", content: "three" },
    ]);
  });

  it("leaves a turn another process is still answering out of the context, and keeps it once that process has ended", async () => {
    // A's answer is held open after its first words: its process is alive, its journal unfinished.
    server.reply(answer("One"), streamReply(textChunks(["Half an"], { finishReason: null }), { done: false, then: [{ wait: 30_000 }] }), answer("Bee"), answer("Sea"));
    await runCli(["first"], { env });
    const id = store.list()[0]?.id ?? "";
    const slow = startCli(["--cid", id, "A"], { env });
    await slow.waitForStdout("Half an");
    expect(await runCli(["--cid", id, "B"], { env })).toMatchObject({ code: 0, stdout: "Bee\n" });
    expect(messagesOf(2)).toStrictEqual([
      { role: "user", content: "first" },
      { role: "assistant", content: "One" },
      { role: "user", content: "B" },
    ]);
    // Killed, A's process leaves its journal: a partial turn, which is part of the context from then on.
    slow.child.kill("SIGKILL");
    await slow.exited;
    await runCli(["--cid", id, "C"], { env });
    expect(messagesOf(3)).toStrictEqual([
      { role: "user", content: "first" },
      { role: "assistant", content: "One" },
      { role: "user", content: "A" },
      { role: "assistant", content: "Half an" },
      { role: "user", content: "B" },
      { role: "assistant", content: "Bee" },
      { role: "user", content: "C" },
    ]);
  });

  it("keeps a turn a --fallback answered under that endpoint and model, so -c goes on there", async () => {
    const other = await startTestServer();
    try {
      server.setDefaultReply(errorReply(500, "All providers failed"));
      other.reply(answer("From Ollama."), answer("Again from Ollama."));
      const first = await runCli(["--fallback", `ollama=${other.baseURL}`, "first"], { env });
      expect(first).toMatchObject({ code: 0, stdout: "From Ollama.\n" });
      const [conversation] = store.list();
      expect(conversation).toMatchObject({ endpoint: other.baseURL, model: "llama3.2" });
      expect(store.turns(conversation?.id ?? "").map((turn) => [turn.endpoint, turn.model, turn.answer])).toStrictEqual([[other.baseURL, "llama3.2", "From Ollama."]]);
      expect(await runCli(["-c", "second"], { env })).toMatchObject({ code: 0, stdout: "Again from Ollama.\n" });
      expect(server.requests).toHaveLength(1);
      expect(other.requests[1]?.body).toMatchObject({ model: "llama3.2" });
    } finally {
      await other.close();
    }
  });

  it("answers in full, keeps nothing and says so when the conversation is removed (logs rm) while it answers", async () => {
    server.reply(answer("One"));
    await runCli(["first"], { env });
    const [conversation] = store.list();
    // The request arrives once the turn's journal is open; the answer waits until the conversation is removed.
    let arrived = (): void => undefined;
    const requested = new Promise<void>((resolve) => (arrived = resolve));
    let release = (): void => undefined;
    const removed = new Promise<void>((resolve) => (release = resolve));
    server.reply(async () => {
      arrived();
      await removed;
      return answer("Two", " and more");
    });
    const running = startCli(["-c", "second"], { env });
    await requested;
    expect(await runCli(["logs", "rm", conversation?.id ?? ""], { env })).toMatchObject({ code: 0 });
    release();
    expect(await running.exited).toMatchObject({ code: 0 });
    expect(running.stdout()).toBe("Two and more\n");
    expect(running.stderr()).toBe("g4f-rx: the conversation was removed (logs rm) while this answer streamed, so it is not kept\n");
    expect(store.list()).toStrictEqual([]);
    expect(readdirSync(join(home, "data", "g4f-rx", "conversations"))).toStrictEqual([]);
  });

  it("keeps nothing more of a conversation removed (logs rm) while a chat is open on it, and says so once", async () => {
    server.reply(answer("One"), answer("Two"), answer("Three"));
    const chat = startCli(["chat"], { env, stdin: "my secret is swordfish\n", keepStdinOpen: true });
    await chat.waitForStdout("One\n");
    const [conversation] = store.list();
    expect(await runCli(["logs", "rm", conversation?.id ?? ""], { env })).toMatchObject({ code: 0 });
    chat.child.stdin.end("second\nthird\n");
    expect(await chat.exited).toMatchObject({ code: 0 });
    expect(chat.stdout()).toBe("One\nTwo\nThree\n");
    expect(chat.stderr().split("g4f-rx chat: the conversation was removed (logs rm), so this answer is not kept, nor are later ones of it\n")).toHaveLength(2);
    expect(store.list()).toStrictEqual([]);
    expect(readdirSync(join(home, "data", "g4f-rx", "conversations"))).toStrictEqual([]);
  });

  it("answers in full when the data directory cannot be written, says once that the turn is not kept, and leaves no empty journal", async () => {
    // A file where the store's folder should be: ENOTDIR, as root too (chmod would not stop root).
    mkdirSync(join(home, "data"));
    writeFileSync(join(home, "data", "g4f-rx"), "in the way");
    server.reply(answer("Hello", " there!"), answer("One"), answer("Two"));
    const result = await runCli(["Say hello"], { env });
    expect(result).toMatchObject({ code: 0, stdout: "Hello there!\n" });
    const said = `g4f-rx: could not keep this turn in ${join(home, "data", "g4f-rx")}: ENOTDIR: not a directory`;
    expect(result.stderr).toContain(said);
    expect(result.stderr).toContain("--no-log");
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
    const chat = await runCli(["chat"], { env, stdin: "First\nSecond\n" });
    expect(chat).toMatchObject({ code: 0, stdout: "One\nTwo\n" });
    expect(chat.stderr.split(`chat: could not keep this turn in ${join(home, "data", "g4f-rx")}: ENOTDIR`)).toHaveLength(2);
  });

  it("answers and ends as usual with its data directory under /proc, where Node 20's recursive mkdir never returns", async () => {
    server.reply(answer("Hello"), answer("Again"));
    const result = await runCli(["Say hello"], { env: { ...env, XDG_DATA_HOME: "/proc/nonexistent" } });
    expect(result).toMatchObject({ code: 0, stdout: "Hello\n" });
    expect(result.stderr).toContain("g4f-rx: could not keep this turn in /proc/nonexistent/g4f-rx: ENOENT");
    const chat = await runCli(["chat"], { env: { ...env, XDG_DATA_HOME: "/proc/nonexistent" }, stdin: "First\n" });
    expect(chat).toMatchObject({ code: 0, stdout: "Again\n" });
  });

  it("answers in full and leaves no empty journal, nor an empty conversation, when the turn's journal is made but the index cannot be written", async () => {
    // A folder where index.jsonl should be: the journal opens, the index line fails (EISDIR).
    mkdirSync(join(home, "data", "g4f-rx", "index.jsonl"), { recursive: true });
    server.reply(answer("Hello"));
    const result = await runCli(["Say hello"], { env });
    expect(result).toMatchObject({ code: 0, stdout: "Hello\n" });
    expect(result.stderr).toContain("could not keep this turn");
    expect(result.stderr).toContain("EISDIR");
    // An empty conversation would be listed, and -c would go on with it with no context, on the default endpoint.
    expect(readdirSync(join(home, "data", "g4f-rx", "conversations"))).toStrictEqual([]);
  });

  it("refuses to continue a conversation with a damaged turn file, in one line naming it, and sends nothing", async () => {
    server.reply(answer("One"), answer("Two"));
    await runCli(["first"], { env });
    await runCli(["-c", "second"], { env });
    const [conversation] = store.list();
    const folder = store.directoryOf(conversation?.id ?? "");
    const [damaged] = readdirSync(folder).sort();
    writeFileSync(join(folder, damaged ?? ""), '{"g4f-rx-cassette":1, garbage');
    for (const args of [["-c", "third"], ["--cid", conversation?.id ?? "", "third"]]) {
      const result = await runCli(args, { env });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe("");
      expect(result.stderr).toMatch(new RegExp(`^g4f-rx: cannot continue this conversation: a turn cannot be read: ${join(folder, damaged ?? "")}:1: not valid JSON \\(.*\\)\\. Nothing was sent: move that file out of the conversation's folder to go on without the turn, or ask without -c/--cid\\n$`));
    }
    const chat = await runCli(["chat", "-c"], { env, stdin: "third\n" });
    expect(chat.code).toBe(1);
    expect(chat.stderr).toContain(`g4f-rx chat: cannot continue this conversation: a turn cannot be read: ${join(folder, damaged ?? "")}:1:`);
    expect(server.requests).toHaveLength(2);
  });

  it("--replay and serve say once, by name, the turn moved out of a conversation's folder that the turns after it need", async () => {
    server.reply(answer("One"), answer("Two"), answer("Three"), answer("Four"), answer("Five"));
    await runCli(["first"], { env });
    for (const question of ["second", "third", "fourth", "fifth"]) await runCli(["-c", question], { env });
    const [conversation] = store.list();
    const folder = store.directoryOf(conversation?.id ?? "");
    const [, second, third] = readdirSync(folder).sort();
    renameSync(join(folder, second ?? ""), join(home, second ?? ""));
    const replayed = await runCli(["--replay", folder, "--speed", "Infinity", "first"], { env });
    expect(replayed).toMatchObject({ code: 0, stdout: "One\n" });
    const skips = [
      `skipping ${join(folder, third ?? "")}:1: its request continues ${second ?? ""}, which cannot be read: there is no such file\n`,
      `skipping 2 more cassettes whose requests go back to ${second ?? ""} too\n`,
    ];
    expect(replayed.stderr).toBe(`${skips.map((line) => `g4f-rx: ${line}`).join("")}g4f-rx: replaying ${join(folder, readdirSync(folder).sort()[0] ?? "")}; nothing is sent\n`);
    const serving = startCli(["serve", "--cassettes", folder, "--port", "0"], { env });
    await serving.waitForStderr(/Ctrl-C stops/);
    serving.child.kill("SIGINT");
    await serving.exited;
    const served = `${skips.map((line) => `g4f-rx serve: ${line}`).join("")}g4f-rx serve: answering from 1 cassette in ${folder}`;
    expect(serving.stderr().slice(0, served.length)).toBe(served);
  });

  it("--replay skips a damaged cassette of a directory with a warning, and fails clearly when it is named or nothing else is left", async () => {
    server.reply(answer("Hello", " there!"), answer("Again"));
    await runCli(["Say hello"], { env });
    await runCli(["-c", "Once more"], { env });
    const [conversation] = store.list();
    const folder = store.directoryOf(conversation?.id ?? "");
    const [, second] = readdirSync(folder).sort();
    writeFileSync(join(folder, second ?? ""), '{"g4f-rx-cassette":1, garbage');
    const replayed = await runCli(["--replay", folder, "--speed", "Infinity", "Say hello"], { env });
    expect(replayed).toMatchObject({ code: 0, stdout: "Hello there!\n" });
    expect(replayed.stderr).toMatch(new RegExp(`^g4f-rx: skipping ${join(folder, second ?? "")}:1: not valid JSON`));
    const named = await runCli(["--replay", join(folder, second ?? ""), "Say hello"], { env });
    expect(named.code).toBe(1);
    expect(named.stderr).toMatch(new RegExp(`^g4f-rx: ${join(folder, second ?? "")}:1: not valid JSON[^\n]*\n$`));
    const alone = join(home, "alone");
    mkdirSync(alone);
    copyFileSync(join(folder, second ?? ""), join(alone, "bad.cassette.jsonl"));
    const nothing = await runCli(["--replay", alone, "Say hello"], { env });
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toContain(`g4f-rx: skipping ${join(alone, "bad.cassette.jsonl")}:1: not valid JSON`);
    expect(nothing.stderr).toContain(`g4f-rx: --replay ${alone}: no usable cassettes: all 1 are corrupt (see above)`);
    expect(nothing.stderr).not.toContain("    at ");
  });

  it("rebuilds a lost index.jsonl and texts.jsonl from the conversation folders, so logs lists and finds them and -c continues", async () => {
    server.reply(answer("One"), answer("Two"));
    await runCli(["first"], { env });
    const [conversation] = store.list();
    renameSync(join(home, "data", "g4f-rx", "index.jsonl"), join(home, "elsewhere.jsonl"));
    renameSync(join(home, "data", "g4f-rx", "texts.jsonl"), join(home, "elsewhere-texts.jsonl"));
    const listed = await runCli(["logs"], { env });
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^${conversation?.id ?? ""} .* 1 turn {2}first\n$`));
    expect((await runCli(["logs", "-q", "ONE"], { env })).stdout).toMatch(new RegExp(`^${conversation?.id ?? ""} `));
    renameSync(join(home, "data", "g4f-rx", "index.jsonl"), join(home, "elsewhere-too.jsonl"));
    expect(await runCli(["-c", "second"], { env })).toMatchObject({ code: 0, stdout: "Two\n" });
    expect(messagesOf(1)).toStrictEqual([
      { role: "user", content: "first" },
      { role: "assistant", content: "One" },
      { role: "user", content: "second" },
    ]);
    expect(store.list()).toMatchObject([{ id: conversation?.id, turns: 2 }]);
  });

  it("keeps a cancelled answer (Ctrl-C) as a cancelled turn", async () => {
    server.reply(streamReply(textChunks(["Partial"], { finishReason: null }), { done: false, then: [{ wait: 30_000 }] }));
    const running = startCli(["slow"], { env });
    await running.waitForStdout("Partial");
    running.child.kill("SIGINT");
    // Ctrl-C ends the command by SIGINT itself (status 130 in a shell).
    expect(await running.exited).toMatchObject({ code: null, signal: "SIGINT" });
    const [conversation] = store.list();
    expect(store.turns(conversation?.id ?? "").map((turn) => [turn.status, turn.answer])).toStrictEqual([["cancelled", "Partial"]]);
  });

  it("serves a kept conversation with serve --cassettes: a client going on with -c gets each turn's answer", async () => {
    server.reply(answer("One"), answer("Two"), answer("Three"));
    for (const [index, question] of ["first", "second", "third"].entries()) expect(await runCli([...(index === 0 ? [] : ["-c"]), question], { env })).toMatchObject({ code: 0 });
    const [conversation] = store.list();
    const folder = store.directoryOf(conversation?.id ?? "");
    // The later turns keep only what they added to the request, and go on from the turn before.
    expect(readFileSync(join(folder, readdirSync(folder).sort()[2] ?? ""), "utf8")).toMatch(/^\{"g4f-rx-cassette":2,.*"continues":\{"cassette":"[^"]+","messages":3\}/);
    const serving = startCli(["serve", "--port", "0", "--cassettes", folder, "--speed", "Infinity"]);
    try {
      const [, baseURL] = await serving.waitForStderr(/at (http:\/\/127\.0\.0\.1:\d+\/v1)/);
      const client = { ...env, OPENAI_BASE_URL: baseURL ?? "", XDG_DATA_HOME: join(home, "client") };
      expect(await runCli(["first"], { env: client })).toMatchObject({ code: 0, stdout: "One\n" });
      expect(await runCli(["-c", "second"], { env: client })).toMatchObject({ code: 0, stdout: "Two\n" });
      expect(await runCli(["-c", "third"], { env: client })).toMatchObject({ code: 0, stdout: "Three\n" });
    } finally {
      serving.child.kill("SIGTERM");
      await serving.exited;
    }
    expect(server.requests).toHaveLength(3);
  });

  it("replays a kept conversation offline with --replay", async () => {
    server.reply(answer("Hello", " there!"));
    await runCli(["Say hello"], { env });
    const [conversation] = store.list();
    const replayed = await runCli(["--replay", store.directoryOf(conversation?.id ?? ""), "--speed", "Infinity", "Say hello"], { env });
    expect(replayed).toMatchObject({ code: 0, stdout: "Hello there!\n" });
    expect(server.requests).toHaveLength(1);
    // A replay is not kept again.
    expect(store.turns(conversation?.id ?? "")).toHaveLength(1);
  });
});

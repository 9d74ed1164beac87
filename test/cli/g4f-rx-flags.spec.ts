import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import OpenAI from "openai";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { lastValueFrom, toArray } from "rxjs";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CONTINUE_INSTRUCTION, fromChatCompletion } from "g4f-rx";
import { fromCassette, readCassette } from "g4f-rx/node";
import { type TestServer, errorFrame, errorReply, startTestServer, streamReply, textChunks } from "g4f-rx/testing";
import { asChunk } from "../support/wire.js";
import { BIN, assertFreshBuild, closedPort, runCli, startCli } from "./run-cli.js";

// The flags of issues 4, 5 and 6, tested on the BUILT command as a real process (see g4f-rx.spec.ts).

const CASSETTES = fileURLToPath(new URL("../../examples/cassettes", import.meta.url));

let server: TestServer;
let env: Record<string, string>;
let scratch: string;

beforeAll(() => assertFreshBuild());

beforeEach(async () => {
  server = await startTestServer();
  env = { OPENAI_BASE_URL: server.baseURL };
  scratch = mkdtempSync(join(tmpdir(), "g4f-rx-cli-"));
});

afterEach(async () => {
  await server.close();
  rmSync(scratch, { recursive: true, force: true });
});

const reasoningChunk = (fields: object, finish: string | null = null): ChatCompletionChunk =>
  asChunk({ id: "r", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: fields, finish_reason: finish }] });

/** A reply that sends part of an answer, then nothing more. */
const stallAfter = (pieces: readonly string[]): ReturnType<typeof streamReply> =>
  streamReply(textChunks(pieces, { finishReason: null }), { done: false, then: [{ wait: 30_000 }] });

function messagesOf(target: TestServer, index: number): unknown {
  const body = target.requests[index]?.body;
  return typeof body === "object" && body !== null && "messages" in body ? body.messages : undefined;
}

describe("g4f-rx and the flags of llm, mods and aichat", () => {
  it("refuses a flag it lacks (exit 2, nothing sent) naming the way to do it here, one line per flag", async () => {
    const result = await runCli(["-f", "notes.md", "--session", "work", "Summarize"], { env });
    expect(result).toMatchObject({ code: 2, stdout: "" });
    expect(result.stderr).toContain("unknown options -f, --session.\n");
    expect(result.stderr).toContain("\n-f: to send a file (aichat -f, llm -f), attach it: -a FILE;");
    expect(result.stderr).toContain("\n--session: every conversation is kept: --title NAME names one, -c continues the latest, --cid ID|NAME another");
    // -f is a known habit, not text that starts with a dash.
    expect(result.stderr).not.toContain("goes after");
    expect((await runCli(["-n", "Hi"], { env })).stderr).toContain("-n: to keep nothing: --no-log\n");
    expect(server.requests).toHaveLength(0);
  });
});

describe("g4f-rx --show-reasoning", () => {
  const reasoningReply = (): ReturnType<typeof streamReply> =>
    streamReply([
      reasoningChunk({ role: "assistant", content: null, reasoning_content: "" }),
      reasoningChunk({ reasoning_content: "17 × 20 = 340," }),
      reasoningChunk({ reasoning: " + 51 = 391." }),
      reasoningChunk({ content: "391" }),
      reasoningChunk({}, "stop"),
    ]);

  it("prints reasoning_content / reasoning deltas to stderr, ended by a newline, and the answer alone to stdout", async () => {
    server.reply(reasoningReply());
    const result = await runCli(["--show-reasoning", "What is 17 * 23?"], { env });
    expect(result).toMatchObject({ code: 0, stdout: "391\n", stderr: "17 × 20 = 340, + 51 = 391.\n" });
  });

  it("splits <think>…</think> written in the text, and drops the blank line after it from the answer", async () => {
    server.reply(streamReply(textChunks(["<thi", "nk>Hmm, three.</th", "ink>\n\nThere are 3."])));
    const result = await runCli(["--show-reasoning", "Hi"], { env });
    expect(result).toMatchObject({ code: 0, stdout: "There are 3.\n", stderr: "Hmm, three.\n" });
  });

  it("without the flag prints no reasoning and leaves <think> text as the model sent it", async () => {
    server.reply(reasoningReply(), streamReply(textChunks(["<think>Hmm.</think>", "Three."])));
    const deltas = await runCli(["Hi"], { env });
    expect(deltas).toMatchObject({ code: 0, stdout: "391\n", stderr: "" });
    const inline = await runCli(["Hi"], { env });
    expect(inline).toMatchObject({ code: 0, stdout: "<think>Hmm.</think>Three.\n", stderr: "" });
  });

  it("with --json still prints every chunk as received, and nothing on stderr", async () => {
    server.reply(reasoningReply());
    const result = await runCli(["--json", "--show-reasoning", "Hi"], { env });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.stdout.trimEnd().split("\n").map((line): unknown => JSON.parse(line))).toHaveLength(5);
    expect(result.stdout).toContain('"reasoning_content":"17 × 20 = 340,"');
  });
});

describe("g4f-rx --timeout and --idle-timeout", () => {
  it("--timeout: no chunk in time exits 1, says which wait ran out, and the server sees the socket close", async () => {
    server.reply({ headersAfterMs: 30_000 });
    // A wide limit: on a loaded machine the request must reach the server before it runs out, for the server to see the close.
    const result = await runCli(["--timeout", "1000", "Hi"], { env });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("no chunk arrived within 1000 ms of the request");
    await server.requests[0]?.closed;
    expect(server.requests[0]?.disconnected).toBe(true);
  });

  it("--idle-timeout: a stall mid-answer keeps the partial text, says how much arrived, exits 1, and aborts the request", async () => {
    server.reply(stallAfter(["Hel", "lo"]));
    const result = await runCli(["--timeout", "10000", "--idle-timeout", "150", "Hi"], { env });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("Hello\n");
    expect(result.stderr).toContain("the stream stalled: no chunk for 150 ms (the idle timeout) after 3 chunks and 5 characters of text");
    expect(result.stderr).toContain("(5 characters) was kept");
    await server.requests[0]?.closed;
    expect(server.requests[0]?.disconnected).toBe(true);
  });

  it("rejects a timeout that is not a positive number with exit 2 and no request", async () => {
    const result = await runCli(["--timeout", "0", "Hi"], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--timeout must be a number of milliseconds above 0");
    expect(server.requests).toHaveLength(0);
  });
});

describe("g4f-rx --fallback", () => {
  let second: TestServer;
  beforeEach(async () => {
    second = await startTestServer();
  });
  afterEach(async () => {
    await second.close();
  });

  it("moves on to NAME=URL when the first endpoint answers HTTP 500, and prints only the second answer", async () => {
    server.reply(errorReply(500, "All providers failed"));
    second.reply(streamReply(textChunks(["From", " Ollama."])));
    const result = await runCli(["--fallback", `ollama=${second.baseURL}`, "Hi"], { env });
    expect(result).toMatchObject({ code: 0, stdout: "From Ollama.\n" });
    expect(result.stderr).toBe(`g4f-rx: ${server.baseURL} failed: HTTP 500: All providers failed; trying ollama at ${second.baseURL}\n`);
    // The fallback is asked with its own default model and the same messages.
    expect(second.requests[0]?.body).toMatchObject({ model: "llama3.2", messages: [{ role: "user", content: "Hi" }], stream: true });
  });

  it("moves on to a URL when the first stalls past --timeout, aborting the abandoned request", async () => {
    server.reply({ headersAfterMs: 30_000 });
    second.reply(streamReply(textChunks(["Second."])));
    // A wide limit, as above: the abandoned request must have reached the first server.
    const result = await runCli(["--timeout", "1000", "--fallback", second.baseURL, "-q", "Hi"], { env });
    expect(result).toMatchObject({ code: 0, stdout: "Second.\n", stderr: "" });
    expect(second.requests).toHaveLength(1);
    await server.requests[0]?.closed;
    expect(server.requests[0]?.disconnected).toBe(true);
  });

  it("after content, asks the next endpoint to continue: the partial answer goes back as an assistant message", async () => {
    server.reply(streamReply(textChunks(["Hello"], { finishReason: null }), { then: [errorFrame("provider went away")] }));
    second.reply(streamReply(textChunks([" there!"])));
    const result = await runCli(["--fallback", second.baseURL, "Hi"], { env });
    expect(result).toMatchObject({ code: 0, stdout: "Hello there!\n" });
    expect(result.stderr).toContain("failed after 5 characters: error in the stream: provider went away; asking");
    expect(messagesOf(second, 0)).toEqual([
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Hello" },
      { role: "user", content: CONTINUE_INSTRUCTION },
    ]);
  });

  it("exits 1 naming the last endpoint when every one fails", async () => {
    server.reply(errorReply(500, "first down"));
    second.reply(errorReply(503, "second down"));
    const result = await runCli(["--fallback", second.baseURL, "Hi"], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${second.baseURL}/chat/completions answered HTTP 503: second down`);
  });

  it("is a usage error (exit 2, nothing sent) when a fallback endpoint's key is missing or its name unknown", async () => {
    const keyless = await runCli(["--fallback", "groq", "Hi"], { env });
    expect(keyless.code).toBe(2);
    expect(keyless.stderr).toContain("GROQ_API_KEY");
    const unknown = await runCli(["--fallback", "nowhere", "Hi"], { env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Unknown endpoint "nowhere" (from --fallback)');
    expect(server.requests).toHaveLength(0);
  });
});

describe("g4f-rx --smooth and --stats", () => {
  it("--smooth word prints the whole answer, re-cut", async () => {
    server.reply(streamReply(textChunks(["Hel", "lo the", "re, how a", "re you?"])));
    const result = await runCli(["--smooth", "word", "Hi"], { env });
    expect(result).toMatchObject({ code: 0, stdout: "Hello there, how are you?\n", stderr: "" });
  });

  it("--smooth rejects other values, and --json, with exit 2", async () => {
    expect((await runCli(["--smooth", "letter", "Hi"], { env })).code).toBe(2);
    const json = await runCli(["--smooth", "word", "--json", "Hi"], { env });
    expect(json.code).toBe(2);
    expect(json.stderr).toContain("use one of them");
    expect(server.requests).toHaveLength(0);
  });

  it("--stats asks for usage and prints one line of statistics on stderr after the answer", async () => {
    const chunks = [
      ...textChunks(["Hello", " there!"]),
      asChunk({ id: "u", object: "chat.completion.chunk", created: 1, model: "gpt-4", choices: [], usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 } }),
    ];
    server.reply(streamReply(chunks));
    const result = await runCli(["--stats", "Hi"], { env });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("Hello there!\n");
    expect(result.stderr).toMatch(/^g4f-rx: first content after \d+ ms, \d+\.\d\d s in all, 5 chunks, 12 characters, (\d+ characters\/s, )?12 tokens \(9 prompt \+ 3 completion\)\n$/);
    expect(server.requests[0]?.body).toMatchObject({ stream_options: { include_usage: true } });
  });
});

describe("g4f-rx --record", () => {
  it("records while streaming as usual; the cassette replays to the same chunks", async () => {
    const chunks = textChunks(["Hello", " there!"]);
    server.reply(streamReply(chunks, { delayMs: 5 }));
    const file = join(scratch, "hello.cassette.jsonl");
    const result = await runCli(["--record", file, "--model", "m-1", "Say hello"], { env });
    expect(result).toMatchObject({ code: 0, stdout: "Hello there!\n" });
    expect(readCassette(file).request).toEqual({ model: "m-1", messages: [{ role: "user", content: "Say hello" }] });
    expect(await lastValueFrom(fromCassette(file, { speed: Infinity }).pipe(toArray()))).toEqual(chunks);
  });

  it("writes the cassette readable by the user alone (0600), as the conversation store's turns, whatever the umask", async () => {
    server.reply(streamReply(textChunks(["Private."])));
    const file = join(scratch, "private.cassette.jsonl");
    // The command inherits this process's umask; 022 is the usual one, which leaves new files readable by everyone.
    const previous = process.umask(0o022);
    try {
      expect((await runCli(["--record", file, "Hi"], { env })).code).toBe(0);
    } finally {
      process.umask(previous);
    }
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("the recording answers the same prompt with --replay", async () => {
    server.reply(streamReply(textChunks(["Recorded."])));
    const file = join(scratch, "r.cassette.jsonl");
    expect((await runCli(["--record", file, "Again?"], { env })).code).toBe(0);
    const replay = await runCli(["--replay", file, "--speed", "Infinity", "-q", "Again?"], { env: {} });
    expect(replay).toMatchObject({ code: 0, stdout: "Recorded.\n", stderr: "" });
    expect(server.requests).toHaveLength(1);
  });
});

describe("g4f-rx --record, safely", () => {
  it("checks the path before sending anything: exit 2 for a missing directory, and for a directory as the file", async () => {
    server.reply(streamReply(textChunks(["Paid for."])));
    const missing = await runCli(["--record", join(scratch, "no", "such", "x.cassette.jsonl"), "Hi"], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("no such directory. Nothing was sent.");
    const directory = await runCli(["--record", scratch, "Hi"], { env });
    expect(directory.code).toBe(2);
    expect(directory.stderr).toContain("is a directory");
    expect(server.requests).toHaveLength(0);
  });

  it("keeps the old cassette whole until the new recording is complete, and drops an interrupted one", async () => {
    const file = join(scratch, "keep.cassette.jsonl");
    server.reply(streamReply(textChunks(["First."])));
    expect((await runCli(["--record", file, "Hi"], { env })).code).toBe(0);
    const first = readFileSync(file, "utf8");
    server.reply(streamReply(textChunks(["Sec"], { finishReason: null }), { done: false, then: [{ wait: 30_000 }] }));
    const cli = startCli(["--record", file, "Hi"], { env });
    await cli.waitForStdout("Sec");
    // While the second recording streams, the old cassette is untouched.
    expect(readFileSync(file, "utf8")).toBe(first);
    cli.child.kill("SIGINT");
    await cli.exited;
    expect(readFileSync(file, "utf8")).toBe(first);
    expect(readdirSync(scratch).filter((name) => name.endsWith(".tmp"))).toEqual([]);
  });

  it("never follows a link planted at a guessable temporary name: its temporary file is new, private and unguessable", async () => {
    // Before, the temporary file was `.NAME.PID.tmp`, opened without O_EXCL: a link planted there by another local user
    // sent the recording into the file it points to. `exec` keeps the shell's pid, so the link is at the command's name.
    server.reply(streamReply(textChunks(["Secret answer."])));
    const victim = join(scratch, "victim.txt");
    writeFileSync(victim, "not yours\n");
    const file = join(scratch, "answer.cassette.jsonl");
    const script = 'ln -s "$1" "$2/.answer.cassette.jsonl.$$.tmp" && exec "$0" "$3" --record "$2/answer.cassette.jsonl" Hi';
    const child = spawn("sh", ["-c", script, process.execPath, victim, scratch, BIN], { env: { PATH: process.env.PATH ?? "", ...env }, stdio: "ignore" });
    const code = await new Promise((resolve, reject) => child.once("error", reject).once("close", resolve));
    expect(code).toBe(0);
    expect(readFileSync(victim, "utf8")).toBe("not yours\n");
    expect(lstatSync(file).isFile()).toBe(true);
    expect(readFileSync(file, "utf8")).toContain("Secret answer.");
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("leaves no file behind when nothing came to record (the endpoint refused the connection)", async () => {
    const file = join(scratch, "none.cassette.jsonl");
    const result = await runCli(["--record", file, "Hi"], { env: { OPENAI_BASE_URL: `http://127.0.0.1:${String(await closedPort())}/v1` } });
    expect(result.code).toBe(1);
    expect(readdirSync(scratch)).toEqual([]);
  });

  it("never loses one of two recordings into the same file", async () => {
    const file = join(scratch, "both.cassette.jsonl");
    // The slow one's answer waits until the fast one has ended, however slowly the machine starts the commands.
    let fastEnded = (): void => undefined;
    const gate = new Promise<void>((resolve) => (fastEnded = resolve));
    server.reply(
      async () => {
        await gate;
        return streamReply(textChunks(["One."]));
      },
      streamReply(textChunks(["Two."])),
    );
    const slow = startCli(["--record", file, "Hi"], { env });
    // The fast one starts once the slow one's request has arrived.
    await server.waitForRequest(0);
    const fast = await runCli(["--record", file, "Hi"], { env });
    fastEnded();
    const slowResult = await slow.exited;
    expect([slowResult.code, fast.code]).toEqual([0, 0]);
    const other = join(scratch, "both.2.cassette.jsonl");
    expect(slowResult.stderr).toContain(`${file} was written by another recording meanwhile; this one is in ${other}`);
    const texts = [file, other].map((path) => readFileSync(path, "utf8"));
    // Each cassette holds one recording whole, never lines of both.
    expect(texts.map((text) => [text.includes("One."), text.includes("Two.")])).toEqual([[false, true], [true, false]]);
    expect(texts.map((text) => text.split("\n").filter((line) => line.includes('"g4f-rx-cassette"')).length)).toEqual([1, 1]);
    expect(readdirSync(scratch).filter((name) => name.endsWith(".tmp"))).toEqual([]);
  });

  /**
   * Runs `count` recordings into `file` that all end together (every answer waits until all the requests have arrived),
   * and checks that each is kept whole, in `file` or a `NAME.N` beside it, with nothing left behind.
   */
  async function recordAtOnce(file: string, count: number): Promise<void> {
    let arrived = 0;
    let allArrived = (): void => undefined;
    const gate = new Promise<void>((resolve) => (allArrived = resolve));
    server.setDefaultReply(async () => {
      arrived += 1;
      if (arrived === count) allArrived();
      await gate;
      return streamReply(textChunks([`Answer ${String(arrived)}.`]));
    });
    const results = await Promise.all(Array.from({ length: count }, (_, index) => runCli(["--record", file, `Question ${String(index)}`], { env })));
    expect(results.map((result) => result.code)).toEqual(Array.from({ length: count }, () => 0));
    const stem = `${basename(file).split(".")[0] ?? ""}.`;
    const kept = readdirSync(scratch).filter((name) => name.startsWith(stem));
    expect(kept).toHaveLength(count);
    const questions = kept.map((name) => /Question \d/.exec(readFileSync(join(scratch, name), "utf8"))?.[0]);
    expect(new Set(questions).size).toBe(count);
    expect(readdirSync(scratch).filter((name) => name.endsWith(".lock") || name.endsWith(".tmp"))).toEqual([]);
  }

  it("never loses a recording when several into one new file end at once: each gets a file of its own", async () => {
    await recordAtOnce(join(scratch, "many.cassette.jsonl"), 8);
  });

  it("never loses a recording when several over one old cassette end at once: one replaces it, each other gets a file of its own", async () => {
    const file = join(scratch, "over.cassette.jsonl");
    writeFileSync(file, "an old recording\n");
    await recordAtOnce(file, 8);
  });
});

describe("g4f-rx --replay", () => {
  it('echo "Say hello there!" | g4f-rx --replay examples/cassettes streams the recorded answer and says it is a recording', async () => {
    // No endpoint in the environment at all: nothing may be sent anywhere.
    const result = await runCli(["--replay", CASSETTES], { env: {}, stdin: "Say hello there!\n" });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("Hello there! How can I help you today?\n");
    // The shipped cassettes were written by hand, and the note says so rather than call them recordings.
    expect(result.stderr).toBe(`g4f-rx: replaying ${join(CASSETTES, "say-hello-there.cassette.jsonl")} (written by hand in GPT4Free's wire format); nothing is sent\n`);
    expect(result.stderr).toContain("say-hello-there.cassette.jsonl");
  });

  it("refuses a --speed that would stretch the replay past what a timer can wait, with exit 2 and no warnings", async () => {
    const result = await runCli(["--replay", CASSETTES, "--speed", "1e-9", "Say hello there!"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--speed 1e-9 would stretch");
    expect(result.stderr).not.toContain("TimeoutOverflowWarning");
  });

  it("serve refuses such a --speed too, before it listens, with exit 2 and no warnings", async () => {
    const result = await runCli(["serve", "--cassettes", CASSETTES, "--port", "0", "--speed", "1e-9"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--speed 1e-9 would stretch");
    expect(result.stderr).not.toContain("TimeoutOverflowWarning");
    expect(result.stderr).not.toContain("answering from");
  });

  it("works with --json (the recorded chunks), --show-reasoning, --stats and --no-stream", async () => {
    const recorded = await lastValueFrom(fromCassette(join(CASSETTES, "tell-me-a-joke.cassette.jsonl"), { speed: Infinity }).pipe(toArray()));
    const json = await runCli(["--replay", CASSETTES, "--speed", "Infinity", "--json", "-q", "Tell me a joke."]);
    expect(json.stdout.trimEnd().split("\n").map((line): unknown => JSON.parse(line))).toEqual(recorded);

    const reasoning = await runCli(["--replay", CASSETTES, "--speed", "Infinity", "--show-reasoning", "--stats", "-q", "What is 17 * 23?"]);
    expect(reasoning.code).toBe(0);
    expect(reasoning.stdout).toBe("17 × 23 = **391**.\n");
    expect(reasoning.stderr).toContain("340 + 51 = 391.\n");
    expect(reasoning.stderr).toMatch(/g4f-rx: first content after \d+ ms, .*, 66 tokens \(14 prompt \+ 52 completion\)\n$/);

    const whole = await runCli(["--replay", CASSETTES, "--no-stream", "-q", "Tell me a joke."]);
    expect(whole).toMatchObject({ code: 0, stdout: "Why don't scientists trust atoms? Because they make up everything!\n", stderr: "" });
  });

  it("exits 1 listing the nearest cassettes when none answers the prompt", async () => {
    const result = await runCli(["--replay", CASSETTES, "Tell me a jok"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/No recording in .* answers this prompt. The nearest:\n {2}tell-me-a-joke\.cassette\.jsonl: "Tell me a joke\."/);
    // The same question in another conversation: the line says what differs.
    const withSystem = await runCli(["--replay", CASSETTES, "-s", "Be terse.", "Tell me a joke."]);
    expect(withSystem.code).toBe(1);
    expect(withSystem.stderr).toContain('\n  tell-me-a-joke.cassette.jsonl: "Tell me a joke." (gpt-4o-mini): only this request has the system message "Be terse."\n');
  });

  it("exits 2 for a path that does not exist, and for --speed without --replay or not above 0", async () => {
    expect((await runCli(["--replay", join(scratch, "missing"), "Hi"])).code).toBe(2);
    expect((await runCli(["--speed", "2", "Hi"], { env })).code).toBe(2);
    expect((await runCli(["--replay", CASSETTES, "--speed", "0", "Hi"])).code).toBe(2);
    expect(server.requests).toHaveLength(0);
  });
});

describe("g4f-rx serve", () => {
  it("serves the cassettes to the real openai client, logs each request, and exits 0 on SIGTERM", async () => {
    const cli = startCli(["serve", "--port", "0", "--cassettes", CASSETTES, "--speed", "Infinity"]);
    const [, baseURL] = await cli.waitForStderr(/at (http:\/\/127\.0\.0\.1:\d+\/v1)/);
    expect(cli.stderr()).toContain("answering from 3 cassettes");
    const client = new OpenAI({ baseURL, apiKey: "none", maxRetries: 0 });

    const chunks = await lastValueFrom(
      fromChatCompletion(client, { model: "gpt-4", messages: [{ role: "user", content: "Say hello there!" }] }).pipe(toArray()),
    );
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("")).toBe("Hello there! How can I help you today?");
    await cli.waitForStderr(/POST \/v1\/chat\/completions → .*say-hello-there\.cassette\.jsonl/);

    await expect(client.chat.completions.create({ model: "gpt-4", messages: [{ role: "user", content: "Unknown?" }] })).rejects.toMatchObject({ status: 404 });
    await cli.waitForStderr(/→ 404, no cassette matches/);

    cli.child.kill("SIGTERM");
    const result = await cli.exited;
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("stopped");
  });

  it("skips a corrupt cassette with a warning and serves the others", async () => {
    for (const name of readdirSync(CASSETTES)) writeFileSync(join(scratch, name), readFileSync(join(CASSETTES, name)));
    writeFileSync(join(scratch, "broken.cassette.jsonl"), '{"g4fRxCassette": 1, "request": \n{not json\n');
    // A copy of a recording: the same request recorded twice at the same time, so the file names order them.
    writeFileSync(join(scratch, "zz-again.cassette.jsonl"), readFileSync(join(CASSETTES, "say-hello-there.cassette.jsonl")));
    const cli = startCli(["serve", "--port", "0", "--cassettes", scratch, "--speed", "Infinity"]);
    const [, baseURL] = await cli.waitForStderr(/at (http:\/\/127\.0\.0\.1:\d+\/v1)/);
    expect(cli.stderr()).toMatch(/skipping .*broken\.cassette\.jsonl/);
    expect(cli.stderr()).toContain("answering from 4 cassettes");
    await cli.waitForStderr(/say-hello-there\.cassette\.jsonl, zz-again\.cassette\.jsonl record the same request: they answer it in this order, as recorded, then the last again\n/);
    const client = new OpenAI({ baseURL, apiKey: "none", maxRetries: 0 });
    const whole = await client.chat.completions.create({ model: "gpt-4", messages: [{ role: "user", content: "Say hello there!" }] });
    expect(whole.choices[0]?.message.content).toBe("Hello there! How can I help you today?");
    cli.child.kill("SIGTERM");
    expect((await cli.exited).code).toBe(0);
  });

  it("tells a client which cassette failed by its name alone, and its own stderr the whole path", async () => {
    const header = JSON.stringify({ "g4f-rx-cassette": 1, request: { model: "gpt-4", messages: [{ role: "user", content: "Damaged?" }] }, response: { status: 200, headers: { "content-type": "text/event-stream" } } });
    // Edited by hand: its second line is no chat-completion chunk.
    writeFileSync(join(scratch, "damaged.cassette.jsonl"), `${header}\n${JSON.stringify({ at: 1, data: { not: "a chunk" } })}\n`);
    const cli = startCli(["serve", "--port", "0", "--cassettes", scratch, "--speed", "Infinity"]);
    const [, baseURL] = await cli.waitForStderr(/at (http:\/\/127\.0\.0\.1:\d+\/v1)/);
    const response = await fetch(`${String(baseURL)}/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "gpt-4", messages: [{ role: "user", content: "Damaged?" }] }) });
    expect(response.status).toBe(500);
    const body = await response.text();
    expect(body).toContain("replay server failed: damaged.cassette.jsonl:2: ");
    expect(body).not.toContain(scratch);
    await cli.waitForStderr(/ failed: /);
    const file = join(scratch, "damaged.cassette.jsonl");
    expect(cli.stderr()).toContain(`POST /v1/chat/completions → ${file} failed: ${file}:2: `);
    cli.child.kill("SIGTERM");
    expect((await cli.exited).code).toBe(0);
  });

  it("answers a request recorded twice (--record) with each recording in the order recorded, then the last again, and starts over on POST /replay/reset", async () => {
    const recordings = join(scratch, "recordings");
    mkdirSync(recordings);
    server.reply(streamReply(textChunks(["Five"])), streamReply(textChunks(["Six"])));
    // Recorded first under the name that sorts last: the order is the recording's, not the names'.
    expect(await runCli(["--record", join(recordings, "z-first.cassette.jsonl"), "Pick a number"], { env })).toMatchObject({ code: 0, stdout: "Five\n" });
    expect(await runCli(["--record", join(recordings, "a-second.cassette.jsonl"), "Pick a number"], { env })).toMatchObject({ code: 0, stdout: "Six\n" });
    const cli = startCli(["serve", "--port", "0", "--cassettes", recordings, "--speed", "Infinity"]);
    const [, baseURL] = await cli.waitForStderr(/at (http:\/\/127\.0\.0\.1:\d+\/v1)/);
    await cli.waitForStderr(/z-first\.cassette\.jsonl, a-second\.cassette\.jsonl record the same request: they answer it in this order, as recorded, then the last again\n/);
    const client = new OpenAI({ baseURL, apiKey: "none", maxRetries: 0 });
    const ask = async (): Promise<string> => {
      const chunks = await lastValueFrom(fromChatCompletion(client, { model: "gpt-4", messages: [{ role: "user", content: "Pick a number" }] }).pipe(toArray()));
      return chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("");
    };
    expect([await ask(), await ask(), await ask()]).toStrictEqual(["Five", "Six", "Six"]);
    await cli.waitForStderr(/→ .*z-first\.cassette\.jsonl \(recording 1 of 2 of this request\)\n.*→ .*a-second\.cassette\.jsonl \(recording 2 of 2 of this request\)\n.*→ .*a-second\.cassette\.jsonl \(again: the last of 2 recordings of this request, all played\)\n/);
    const reset = await fetch(`${(baseURL ?? "").replace(/\/v1$/, "")}/replay/reset`, { method: "POST" });
    expect(await reset.json()).toStrictEqual({ object: "replay.reset", played: 2 });
    await cli.waitForStderr(/g4f-rx serve: reset: 2 recordings had played; each request starts again from its first\n/);
    expect(await ask()).toBe("Five");
    cli.child.kill("SIGTERM");
    expect((await cli.exited).code).toBe(0);
  });

  it("answers a 100 MB body with HTTP 413 and keeps answering other clients meanwhile", async () => {
    const cli = startCli(["serve", "--port", "0", "--cassettes", CASSETTES, "--speed", "Infinity"]);
    const [, baseURL] = await cli.waitForStderr(/at (http:\/\/127\.0\.0\.1:\d+\/v1)/);
    const url = new URL(`${baseURL ?? ""}/chat/completions`);
    // Made before the measurement starts: building 100 MB of JSON would stall this process, not the server.
    const body = Buffer.from(JSON.stringify({ model: "gpt-4", messages: [{ role: "user", content: "x".repeat(100 * 1000 * 1000) }] }));
    // Other clients ask for the model list every 20 ms while the big body is sent; the slowest answer is kept.
    let slowest = 0;
    let uploading = true;
    const others = (async () => {
      while (uploading) {
        const started = performance.now();
        await fetch(`${baseURL ?? ""}/models`).then((response) => response.text());
        slowest = Math.max(slowest, performance.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const upload = new Promise<number>((resolve, reject) => {
      const outgoing = request(url, { method: "POST", headers: { "content-type": "application/json" } }, (response) => {
        response.resume();
        // The whole upload is taken (and discarded): a connection closed while the client still sends would reset it,
        // and the client could lose the 413 (Node's http failed with EPIPE here, now and then).
        outgoing.once("close", () => resolve(response.statusCode ?? 0));
      });
      outgoing.on("error", reject);
      // Sent in pieces without a length, as a stream would be, so only the server's own limit can stop it.
      let offset = 0;
      const more = (): void => {
        while (offset < body.length) {
          const next = body.subarray(offset, offset + (1 << 20));
          offset += 1 << 20;
          if (!outgoing.write(next)) return void outgoing.once("drain", more);
        }
        outgoing.end();
      };
      more();
    });
    const status = await upload.finally(() => (uploading = false));
    await others;
    expect(status).toBe(413);
    // A generous bound for a loaded machine; the server used to stall every client for many seconds.
    expect(slowest).toBeLessThan(1000);
    cli.child.kill("SIGTERM");
    expect((await cli.exited).code).toBe(0);
  }, 60_000);

  it("warns when it listens beyond this machine, and prints a URL that connects", async () => {
    const cli = startCli(["serve", "--port", "0", "--host", "0.0.0.0", "--cassettes", CASSETTES]);
    const [, baseURL] = await cli.waitForStderr(/at (http:\/\/[^ ]+\/v1)/);
    await cli.waitForStderr(/beyond this machine/);
    expect(baseURL).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    expect(await fetch(`${baseURL ?? ""}/models`).then((response) => response.status)).toBe(200);
    cli.child.kill("SIGTERM");
    const result = await cli.exited;
    expect(result.stderr).toContain("listening on 0.0.0.0, beyond this machine");
    const local = await runCli(["serve", "--port", "0", "--cassettes", scratch]);
    expect(local.stderr).not.toContain("beyond this machine");
  });

  it("exits 2 with a clear message for a directory without cassettes", async () => {
    const result = await runCli(["serve", "--port", "0", "--cassettes", scratch]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`no cassettes (*.cassette.jsonl) in ${scratch}`);
  });

  it("is a command only as the first argument: a prompt of just \"serve\" from stdin is asked", async () => {
    server.reply(streamReply(textChunks(["Served."])));
    const result = await runCli([], { env, stdin: "serve\n" });
    expect(result).toMatchObject({ code: 0, stdout: "Served.\n" });
    expect(messagesOf(server, 0)).toEqual([{ role: "user", content: "serve" }]);
  });
});

describe("g4f-rx --help for the new flags", () => {
  it("lists every new flag and the serve command", async () => {
    const result = await runCli(["--help"]);
    expect(result.code).toBe(0);
    for (const flag of ["--show-reasoning", "--timeout", "--idle-timeout", "--fallback", "--smooth", "--stats", "--record", "--replay", "--speed"]) {
      expect(result.stdout).toMatch(new RegExp(`^\\s+${flag}\\s`, "m"));
    }
    expect(result.stdout).toContain("g4f-rx serve [--port 1337]");
    const serve = await runCli(["serve", "--help"]);
    expect(serve.code).toBe(0);
    for (const flag of ["--port", "--host", "--cassettes", "--speed"]) expect(serve.stdout).toContain(flag);
  });
});

/**
 * The conversation store at size: `g4f-rx logs` (list), `logs -q TEXT` (search) and `logs show ID` with 1,000 and
 * 5,000 conversations on disk, beside the same command on an empty store; and what keeping a turn adds to a live
 * request (logged, and continued with -c) beside `--no-log`, against a loopback server. Every run is the built command
 * as a child process, in a temporary XDG_DATA_HOME (never the real home), rounds interleaved, medians reported. And one
 * long conversation: what its turns take on disk, and what going on with it (-c) costs.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { ConversationStore } from "../src/conversations/index.js";
import { startTestServer, streamReply, textChunks } from "../src/testing/index.js";
import { median } from "./stats.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = join(root, "dist/bin/g4f-rx.js");

/** The word one conversation in a hundred mentions, for `logs -q`. */
const NEEDLE = "zanzibar";
const TOPICS = ["sorting in Rust", "a cover letter", "RxJS retry", "sourdough", "SQL joins", "a bash loop", "tax on savings", "CSS grid"];

/** Fills a store with `count` conversations of 1 to 3 turns each, through the store's own API (journal, rename, index). */
function fill(directory: string, count: number): string[] {
  const store = new ConversationStore(directory);
  const ids: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const id = `20261130T${String(index).padStart(6, "0")}-bench`;
    ids.push(id);
    for (let turn = 0; turn < 1 + (index % 3); turn += 1) {
      const topic = `${TOPICS[(index + turn) % TOPICS.length] ?? ""}${index % 100 === 7 && turn === 0 ? ` near ${NEEDLE}` : ""}`;
      const input: ChatCompletionMessageParam[] = [{ role: "user", content: `Question ${index}.${turn}: tell me about ${topic}, briefly, with one example.` }];
      const recorder = store.startTurn({
        conversation: id,
        endpoint: "http://127.0.0.1:1337/v1",
        model: "gpt-4",
        input,
        request: { model: "gpt-4", messages: input, stream: true },
      });
      // About 1.5 KB, a typical answer's length, in 40 chunks.
      const sentences = Array.from({ length: 40 }, (_unused, sentence) => `Sentence ${sentence} of an answer about ${topic}. `);
      for (const chunk of textChunks(sentences)) recorder.chunk(chunk);
      recorder.finish("complete");
    }
  }
  return ids;
}

/** Runs the built command to its exit; resolves with the wall time in ms. */
function run(args: readonly string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH ?? "", NO_COLOR: "1", ...env } });
    let stderr = "";
    child.stdout.resume();
    child.stderr.on("data", (data: Buffer) => (stderr += data.toString()));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(performance.now() - start) : reject(new Error(`g4f-rx ${args.join(" ")} exited with ${String(code)}: ${stderr}`))));
  });
}

/** The medians of `rounds` interleaved runs of each contender, after one warm-up round. */
async function medians(contenders: ReadonlyArray<{ args: readonly string[]; env: Record<string, string> }>, rounds: number): Promise<number[]> {
  const times = contenders.map(() => [] as number[]);
  for (let round = 0; round <= rounds; round += 1) {
    for (const [index, contender] of contenders.entries()) {
      const ms = await run(contender.args, contender.env);
      if (round > 0) times[index]!.push(ms);
    }
  }
  return times.map(median);
}

export interface StoreRow {
  conversations: number;
  /** Turns on disk. */
  turns: number;
  /** ms: `logs` on an empty store, then `logs`, `logs -q`, `logs show` on this one. */
  emptyMs: number;
  listMs: number;
  searchMs: number;
  showMs: number;
  /** ms: a live request with --no-log, logged into a new conversation, and continuing the latest (-c). */
  noLogMs: number;
  loggedMs: number;
  continuedMs: number;
}

/** One row per size in `sizes`, each measured in its own temporary data directory. */
export async function conversationStoreBench(sizes: readonly number[], rounds: number): Promise<StoreRow[]> {
  const server = await startTestServer();
  server.setDefaultReply(streamReply(textChunks(["Hello", " there!"])));
  const rows: StoreRow[] = [];
  const empty = mkdtempSync(join(tmpdir(), "g4f-rx-bench-empty-"));
  try {
    for (const size of sizes) {
      const home = mkdtempSync(join(tmpdir(), "g4f-rx-bench-store-"));
      try {
        const data = join(home, "data");
        const ids = fill(join(data, "g4f-rx"), size);
        const env = { XDG_DATA_HOME: data, XDG_CONFIG_HOME: join(home, "config"), HOME: join(home, "home") };
        const emptyEnv = { XDG_DATA_HOME: join(empty, "data"), XDG_CONFIG_HOME: join(empty, "config"), HOME: join(empty, "home") };
        const middle = ids[Math.floor(ids.length / 2)]!;
        const [emptyMs, listMs, searchMs, showMs] = await medians(
          [
            { args: ["logs"], env: emptyEnv },
            { args: ["logs"], env },
            { args: ["logs", "-q", NEEDLE], env },
            { args: ["logs", "show", middle], env },
          ],
          rounds,
        );
        const ask = ["--base-url", server.baseURL, "Say hello there!"];
        const [noLogMs, loggedMs, continuedMs] = await medians(
          [
            { args: ["--no-log", ...ask], env },
            { args: ask, env },
            { args: ["-c", ...ask], env },
          ],
          rounds,
        );
        rows.push({ conversations: size, turns: ids.reduce((sum, _id, index) => sum + 1 + (index % 3), 0), emptyMs: emptyMs!, listMs: listMs!, searchMs: searchMs!, showMs: showMs!, noLogMs: noLogMs!, loggedMs: loggedMs!, continuedMs: continuedMs! });
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(empty, { recursive: true, force: true });
    await server.close();
  }
  return rows;
}

export interface LongConversationRow {
  turns: number;
  /** The conversation's files on disk, before the runs. */
  diskMiB: number;
  /** What its questions and answers say, in MiB. */
  saidMiB: number;
  /** ms: a new question with --no-log, then `-c` going on with the long conversation (kept, as by default). */
  newMs: number;
  continuedMs: number;
}

/**
 * Conversations of `lengths` turns (a 500-character question, a 1.5 KB answer, each request carrying every turn
 * before it, as the command sends it), written through the store's own API; then `-c` on each beside a new question.
 */
export async function longConversationBench(lengths: readonly number[], rounds: number): Promise<LongConversationRow[]> {
  const server = await startTestServer();
  server.setDefaultReply(streamReply(textChunks(["Hello", " there!"])));
  const rows: LongConversationRow[] = [];
  try {
    for (const length of lengths) {
      const home = mkdtempSync(join(tmpdir(), "g4f-rx-bench-long-"));
      try {
        const data = join(home, "data");
        const store = new ConversationStore(join(data, "g4f-rx"));
        const id = store.newId();
        let said = 0;
        const history: ChatCompletionMessageParam[] = [];
        for (let turn = 0; turn < length; turn += 1) {
          const input: ChatCompletionMessageParam[] = [{ role: "user", content: `Question ${turn}: ${"and why is that so? ".repeat(25)}` }];
          const messages = [...history, ...input];
          const recorder = store.startTurn({ conversation: id, endpoint: "http://127.0.0.1:1337/v1", model: "gpt-4", input, request: { model: "gpt-4", messages, stream: true } });
          const sentences = Array.from({ length: 40 }, (_unused, sentence) => `Sentence ${sentence} of answer ${turn}, a little longer. `);
          for (const chunk of textChunks(sentences)) recorder.chunk(chunk);
          recorder.finish("complete");
          history.push(...input, { role: "assistant", content: sentences.join("") });
          said += JSON.stringify(input[0]?.content).length + sentences.join("").length;
        }
        const folder = store.directoryOf(id);
        const disk = readdirSync(folder).reduce((sum, name) => sum + statSync(join(folder, name)).size, 0);
        const env = { XDG_DATA_HOME: data, XDG_CONFIG_HOME: join(home, "config"), HOME: join(home, "home") };
        const ask = ["--base-url", server.baseURL, "Say hello there!"];
        const [newMs, continuedMs] = await medians([{ args: ["--no-log", ...ask], env }, { args: ["-c", ...ask], env }], rounds);
        rows.push({ turns: length, diskMiB: disk / 2 ** 20, saidMiB: said / 2 ** 20, newMs: newMs!, continuedMs: continuedMs! });
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    }
  } finally {
    await server.close();
  }
  return rows;
}

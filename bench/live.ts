/**
 * The command's live path against a loopback server: start-up (first byte, exit, whole-process wall, peak memory)
 * side by side with bare Node, and big answers into a pipe that reads slowly (peak memory, bytes delivered).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { type Server, type ServerResponse, createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildSync } from "esbuild";
import { median } from "./stats.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = join(root, "dist/bin/g4f-rx.js");
const TIME = "/usr/bin/time";

function frame(content: string, finish: string | null = null): string {
  const chunk = { id: "c", object: "chat.completion.chunk", created: 1, model: "gpt-4", choices: [{ index: 0, delta: finish === null ? { content } : {}, finish_reason: finish }] };
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

/** Writes `frames` to `response`, waiting for 'drain' whenever the socket is full, as a real server does. */
async function writeAll(response: ServerResponse, frames: Iterable<string>): Promise<void> {
  for (const text of frames) {
    if (response.destroyed) return;
    if (!response.write(text)) await new Promise((resolve) => response.once("drain", resolve));
  }
  response.end();
}

function* bigAnswer(bytes: number): Iterable<string> {
  const piece = "0123456789abcdef ".repeat(60).slice(0, 1000);
  for (let sent = 0; sent < bytes; sent += piece.length) yield frame(piece.slice(0, Math.min(piece.length, bytes - sent)));
  yield frame("", "stop");
  yield "data: [DONE]\n\n";
}

/** A loopback server: POST /v1/chat/completions answers "Hello there!" at once, or `size` bytes when the model is "big-<size>". */
async function startServer(): Promise<{ server: Server; baseURL: string }> {
  const server = createServer((request, response) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (part: string) => (body += part));
    request.on("end", () => {
      const { model } = JSON.parse(body) as { model: string };
      response.writeHead(200, { "content-type": "text/event-stream" });
      const size = /^big-(\d+)$/.exec(model)?.[1];
      void writeAll(response, size === undefined ? [frame("Hello"), frame(" there!"), frame("", "stop"), "data: [DONE]\n\n"] : bigAnswer(Number(size)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return { server, baseURL: `http://127.0.0.1:${address.port}/v1` };
}

interface Run {
  firstByteMs: number;
  exitMs: number;
  wallMs: number;
  bytes: number;
  peakMiB: number;
}

/**
 * Runs `node args`; with `measureMemory`, under /usr/bin/time for the peak RSS (a separate run, so its fork does not
 * count in the times). `readDelayMs` makes the reader slow: it pauses that long after every read.
 */
function runNode(args: readonly string[], options: { measureMemory: boolean; readDelayMs?: number; input?: string; env?: Record<string, string> }): Promise<Run> {
  const dir = options.measureMemory ? mkdtempSync(join(tmpdir(), "g4f-rx-bench-")) : undefined;
  const out = dir === undefined ? "" : join(dir, "rss");
  const [command, commandArgs] = dir === undefined ? [process.execPath, args] : [TIME, ["-f", "%M", "-o", out, process.execPath, ...args]];
  return new Promise((resolve, reject) => {
    const start = performance.now();
    let firstByteMs = NaN;
    let exitMs = NaN;
    let bytes = 0;
    const child = spawn(command, commandArgs, { cwd: root, stdio: ["pipe", "pipe", "ignore"], env: { PATH: process.env.PATH ?? "", NO_COLOR: "1", ...options.env } });
    child.stdout.on("data", (data: Buffer) => {
      if (bytes === 0) firstByteMs = performance.now() - start;
      bytes += data.length;
      if (options.readDelayMs !== undefined) {
        child.stdout.pause();
        setTimeout(() => child.stdout.resume(), options.readDelayMs);
      }
    });
    child.on("error", reject);
    child.on("exit", () => (exitMs = performance.now() - start));
    child.on("close", (code) => {
      const wallMs = performance.now() - start;
      const peakMiB = dir === undefined ? NaN : Number(readFileSync(out, "utf8").trim().split("\n").pop()) / 1024;
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
      if (code !== 0) reject(new Error(`node ${args.join(" ")} exited with ${String(code)}`));
      else resolve({ firstByteMs, exitMs, wallMs, bytes, peakMiB });
    });
    child.stdin.end(options.input ?? "");
  });
}

export interface LiveStartupRow {
  name: string;
  firstByteMs: number;
  exitMs: number;
  wallMs: number;
  peakMiB: number;
  /**
   * Each × bare Node: the median, over rounds, of this contender's run divided by bare Node's run of the same round
   * (seconds apart), so that a slow spell of a shared machine weighs on both sides of each ratio.
   */
  ratios: { firstByte: number; exit: number; wall: number; memory: number };
}

/**
 * `node -e` printing one byte, the least a streaming client can be (bench/minimal-client.ts), and `g4f-rx` asking the
 * loopback server as a user's shell runs it: with a home for its conversation log and code cache. The first-run row
 * has no code cache (as after an install or upgrade); the rendered row is what a terminal gets. Interleaved, medians
 * of `rounds`, and each ratio the median of the rounds' own ratios.
 */
export async function liveStartup(rounds: number): Promise<LiveStartupRow[]> {
  const { server, baseURL } = await startServer();
  const home = mkdtempSync(join(tmpdir(), "g4f-rx-bench-home-"));
  const user = { XDG_DATA_HOME: join(home, "data"), XDG_CACHE_HOME: join(home, "cache") };
  const floor = join(home, "minimal-client.cjs");
  buildSync({ entryPoints: [join(root, "bench/minimal-client.ts")], outfile: floor, format: "cjs", platform: "node", logLevel: "warning" });
  try {
    const contenders = [
      { name: "node -e 0 (prints one byte)", args: ["-e", "process.stdout.write('x')"], env: {} },
      { name: "minimal node:http client (the floor)", args: [floor, baseURL, "Say hello there!"], env: {} },
      { name: "g4f-rx --base-url <loopback> \"Say hello there!\"", args: [bin, "--base-url", baseURL, "Say hello there!"], env: user },
      { name: "the same, first run (no code cache)", args: [bin, "--base-url", baseURL, "Say hello there!"], env: { ...user, NODE_DISABLE_COMPILE_CACHE: "1" } },
      // What a terminal gets by default (--render auto): the answer rendered as markdown.
      { name: "the same, rendered (--render always, as on a terminal)", args: [bin, "--base-url", baseURL, "--render", "always", "Say hello there!"], env: user },
    ];
    const runs = contenders.map(() => [] as Run[]);
    const memory = contenders.map(() => [] as number[]);
    for (let round = 0; round < rounds + 2; round += 1) {
      for (const [index, contender] of contenders.entries()) {
        const timed = await runNode(contender.args, { measureMemory: false, env: contender.env });
        const measured = await runNode(contender.args, { measureMemory: true, env: contender.env });
        // The first two rounds warm the file cache (and write the code cache).
        if (round < 2) continue;
        runs[index]?.push(timed);
        memory[index]?.push(measured.peakMiB);
      }
    }
    const [bareRuns = [], bareMemory = []] = [runs[0], memory[0]];
    /** The median of each round's value over bare Node's in the same round. */
    const paired = (values: readonly number[], bare: readonly number[]): number => median(values.map((value, round) => value / (bare[round] ?? NaN)));
    return contenders.map(({ name }, index) => {
      const list = runs[index] ?? [];
      const peaks = memory[index] ?? [];
      const of = (pick: (run: Run) => number): { value: number; ratio: number } => ({ value: median(list.map(pick)), ratio: paired(list.map(pick), bareRuns.map(pick)) });
      const [firstByte, exit, wall] = [of((run) => run.firstByteMs), of((run) => run.exitMs), of((run) => run.wallMs)];
      return {
        name,
        firstByteMs: firstByte.value,
        exitMs: exit.value,
        wallMs: wall.value,
        peakMiB: median(peaks),
        ratios: { firstByte: firstByte.ratio, exit: exit.ratio, wall: wall.ratio, memory: paired(peaks, bareMemory) },
      };
    });
  } finally {
    server.close();
    rmSync(home, { recursive: true, force: true });
  }
}

export interface BigAnswerRow {
  answerMiB: number;
  /** Whether the conversation log kept the answer (the default) or --no-log was given. */
  log: string;
  reader: string;
  delivered: string;
  peakMiB: number;
  seconds: number;
  mibPerSecond: number;
}

/**
 * `g4f-rx` streaming answers of `sizesMiB` into a reader that keeps up and one that pauses after every read, as a
 * user's shell runs it (the answer kept in the conversation log), and with --no-log.
 */
export async function bigAnswers(sizesMiB: readonly number[], readDelayMs: number): Promise<BigAnswerRow[]> {
  const { server, baseURL } = await startServer();
  const home = mkdtempSync(join(tmpdir(), "g4f-rx-bench-home-"));
  const rows: BigAnswerRow[] = [];
  try {
    for (const size of sizesMiB) {
      const bytes = size * 1024 * 1024;
      const readers = [["reads at once", undefined], [`pauses ${readDelayMs} ms after each read`, readDelayMs]] as const;
      for (const log of [true, false]) {
        for (const [reader, delay] of readers) {
          const args = [bin, "--base-url", baseURL, "-m", `big-${bytes}`, ...(log ? [] : ["--no-log"]), "Hi"];
          const env = { XDG_DATA_HOME: join(home, "data"), XDG_CACHE_HOME: join(home, "cache") };
          const run = await runNode(args, { measureMemory: true, env, ...(delay === undefined ? {} : { readDelayMs: delay }) });
          // The command adds one newline after an answer that does not end with one.
          const expected = bytes + 1;
          rows.push({
            answerMiB: size,
            log: log ? "kept" : "--no-log",
            reader,
            delivered: run.bytes === expected ? "all" : `${run.bytes} of ${expected} bytes`,
            peakMiB: run.peakMiB,
            seconds: run.wallMs / 1000,
            mibPerSecond: size / (run.wallMs / 1000),
          });
          rmSync(join(home, "data"), { recursive: true, force: true });
        }
      }
    }
  } finally {
    server.close();
    rmSync(home, { recursive: true, force: true });
  }
  return rows;
}

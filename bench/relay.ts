/**
 * Relay capacity: frames/s and concurrent streams through `g4f-rx serve --upstream` (the built command), one
 * process with the memory store, one with Redis, and two workers sharing Redis, all against one in-process
 * upstream and run side by side; and the memory a finished stream holds in the memory store.
 *
 * The upstream and the load generator run in this process, on the same cores as the relays, so frames/s is
 * what the relay achieves on what the machine leaves it. The relay's CPU time per frame, and the cores the relay
 * and this process used, are measured too (from /proc): on a shared 2-core machine they say whether a second
 * worker had a core to use at all.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { of } from "rxjs";
import { MemoryRelayStore, Relay } from "../src/index.js";
import { type TestServer, startTestServer, streamReply, textChunks } from "../src/testing/index.js";

const BIN = fileURLToPath(new URL("../dist/bin/g4f-rx.js", import.meta.url));

export interface RelayRun {
  readonly mode: string;
  readonly concurrency: number;
  readonly streams: number;
  readonly completed: number;
  readonly failed: number;
  readonly frames: number;
  readonly seconds: number;
  readonly framesPerSecond: number;
  /** CPU time (user + system) the relay's processes spent per frame, in microseconds: the relay's own cost, whatever else runs. */
  readonly relayCpuMicrosPerFrame: number;
  /** The relay processes' CPU time over the run's wall time: 1.0 is one core kept busy. */
  readonly relayCores: number;
  /** The same for this process (the upstream and the load generator). */
  readonly benchCores: number;
}

export interface RelayMemory {
  readonly streams: number;
  readonly framesPerStream: number;
  readonly bytesPerStream: number;
  readonly frameTextPerStream: number;
}

/** Whether `redis-server` is installed (the Redis rows need it). */
export function haveRedisServer(): boolean {
  try {
    execFileSync("redis-server", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: ["ignore", "pipe", "ignore"] });
  await new Promise<void>((resolve, reject) => {
    let output = "";
    child.stdout?.on("data", (piece: Buffer) => {
      output += piece.toString();
      if (output.includes("Ready to accept connections")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`redis-server exited with ${String(code)}`)));
  });
  return child;
}

/** Starts `g4f-rx serve`; `home` stands for the user's (its code cache goes there, never into the real one). */
async function startRelay(args: readonly string[], home: string): Promise<{ url: string; child: ChildProcess }> {
  const env = { ...process.env, HOME: home, XDG_CACHE_HOME: join(home, "cache"), XDG_DATA_HOME: join(home, "data"), XDG_CONFIG_HOME: join(home, "config") };
  const child = spawn(process.execPath, [BIN, "serve", ...args, "--port", "0"], { stdio: ["ignore", "ignore", "pipe"], env });
  const url = await new Promise<string>((resolve, reject) => {
    let stderr = "";
    child.stderr?.on("data", (piece: Buffer) => {
      stderr += piece.toString();
      const match = /at (http:\/\/\S+)\/v1/.exec(stderr);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    child.once("exit", (code) => reject(new Error(`serve exited with ${String(code)}: ${stderr}`)));
  });
  return { url, child };
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/** CPU milliseconds (user + system) used so far by process `pid` and its children that are still running (cluster workers), from /proc. */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const ticks = (stat: string): { parent: number; used: number } => {
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { parent: Number(fields[1]), used: Number(fields[11]) + Number(fields[12]) };
  };
  try {
    let used = ticks(readFileSync(`/proc/${pid}/stat`, "utf8")).used;
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const child = ticks(readFileSync(`/proc/${entry}/stat`, "utf8"));
        if (child.parent === pid) used += child.used;
      } catch {
        // The process ended while we looked.
      }
    }
    // Linux counts CPU time in clock ticks of 10 ms.
    return used * 10;
  } catch {
    return Number.NaN;
  }
}

/** One stream: POST, then read the body to its end, counting frames (`id:` lines). */
async function oneStream(url: string): Promise<number> {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "gpt-4", messages: [{ role: "user", content: "bench" }], stream: true }),
  });
  if (!response.ok || response.body === null) throw new Error(`HTTP ${response.status}`);
  const decoder = new TextDecoder();
  let frames = 0;
  let text = "";
  for await (const piece of response.body) {
    text += decoder.decode(piece, { stream: true });
    const last = text.lastIndexOf("\n\n");
    if (last < 0) continue;
    for (const frame of text.slice(0, last).split("\n\n")) if (frame.startsWith("id:")) frames++;
    text = text.slice(last + 2);
  }
  if (!text.includes("[DONE]") && frames === 0) throw new Error("empty stream");
  return frames;
}

/** `streams` streams through the relay at `url`, `concurrency` at a time. */
async function load(mode: string, url: string, concurrency: number, streams: number, relayPid?: number): Promise<RelayRun> {
  let next = 0;
  let completed = 0;
  let failed = 0;
  let frames = 0;
  const started = performance.now();
  const relayBefore = cpuMs(relayPid);
  const benchBefore = process.cpuUsage();
  const worker = async (): Promise<void> => {
    while (next < streams) {
      next++;
      try {
        // Not `frames += await …`: that would read `frames` before the await and lose the other workers' counts.
        const counted = await oneStream(url);
        frames += counted;
        completed++;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  const relayMs = cpuMs(relayPid) - relayBefore;
  const bench = process.cpuUsage(benchBefore);
  return {
    mode,
    concurrency,
    streams,
    completed,
    failed,
    frames,
    seconds,
    framesPerSecond: frames / seconds,
    relayCpuMicrosPerFrame: (relayMs * 1000) / frames,
    relayCores: relayMs / 1000 / seconds,
    benchCores: (bench.user + bench.system) / 1e6 / seconds,
  };
}

/** Runs every mode at every concurrency, interleaved by level so the machine's load falls on all alike. */
export async function relayCapacity(options: { pieces: number; levels: readonly number[]; streamsPerLevel: (concurrency: number) => number }): Promise<RelayRun[]> {
  const upstream: TestServer = await startTestServer({ record: false });
  upstream.setDefaultReply(streamReply(textChunks(Array.from({ length: options.pieces }, (_, i) => ` word${i}`))));
  const redisPort = 20_000 + Math.floor(Math.random() * 20_000);
  const redis = haveRedisServer() ? await startRedis(redisPort) : undefined;
  const redisURL = `redis://127.0.0.1:${redisPort}`;
  const modes: Array<{ name: string; args: string[] }> = [{ name: "1 process, memory store", args: ["--upstream", upstream.baseURL] }];
  if (redis !== undefined) {
    modes.push({ name: "1 process, Redis", args: ["--upstream", upstream.baseURL, "--redis", redisURL] });
    modes.push({ name: "--workers 2, Redis", args: ["--upstream", upstream.baseURL, "--redis", redisURL, "--workers", "2"] });
  }
  const home = mkdtempSync(join(tmpdir(), "g4f-rx-bench-relay-"));
  const relays = [];
  for (const mode of modes) relays.push({ ...mode, ...(await startRelay(mode.args, home)) });
  const runs: RelayRun[] = [];
  try {
    for (const level of options.levels) {
      for (const relay of relays) {
        // A short warm-up, so JIT and connection set-up are not measured.
        await load(relay.name, relay.url, 4, 8);
        runs.push(await load(relay.name, relay.url, level, options.streamsPerLevel(level), relay.child.pid));
      }
    }
  } finally {
    await Promise.all(relays.map((relay) => stop(relay.child)));
    if (redis !== undefined) await stop(redis);
    await upstream.close();
    rmSync(home, { recursive: true, force: true });
  }
  return runs;
}

/** Heap held per finished stream in the memory store (run with --expose-gc). */
export async function relayMemoryPerStream(streams: number, pieces: number): Promise<RelayMemory> {
  const gc = globalThis.gc;
  if (gc === undefined) throw new Error("run with node --expose-gc");
  const chunks = textChunks(Array.from({ length: pieces }, (_, i) => ` word${i}`));
  const store = new MemoryRelayStore({ maxTotalLength: Number.MAX_SAFE_INTEGER });
  const relay = new Relay({ store });
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < streams; i++) await relay.start(of(...chunks), { id: `s${i}` });
  gc();
  const after = process.memoryUsage().heapUsed;
  const result = { streams, framesPerStream: chunks.length + 1, bytesPerStream: (after - before) / streams, frameTextPerStream: store.totalLength / streams };
  await relay.close();
  return result;
}

type Table = (title: string, header: readonly string[], rows: ReadonlyArray<readonly string[]>) => void;

/** The relay section of `npm run bench`. */
export async function relayBench(quick: boolean, table: Table): Promise<void> {
  const pieces = 100;
  const levels = quick ? [50, 200] : [100, 400];
  const runs = await relayCapacity({ pieces, levels, streamsPerLevel: (level) => level * (quick ? 2 : 4) });
  const base = (level: number, name: string): number => runs.find((run) => run.concurrency === level && run.mode === name)?.framesPerSecond ?? Number.NaN;
  table(
    `Relay capacity: g4f-rx serve --upstream, ${pieces + 3} frames per stream, a local upstream; all modes side by side on this machine`,
    ["mode", "concurrent streams", "streams", "completed", "failed", "frames/s", "× 1 process (same store)", "relay CPU µs/frame", "cores used: relay / bench"],
    runs.map((run) => [
      run.mode,
      String(run.concurrency),
      String(run.streams),
      String(run.completed),
      String(run.failed),
      Math.round(run.framesPerSecond).toLocaleString("en"),
      run.mode.startsWith("--workers") ? (run.framesPerSecond / base(run.concurrency, "1 process, Redis")).toFixed(2) : run.mode.includes("Redis") ? (run.framesPerSecond / base(run.concurrency, "1 process, memory store")).toFixed(2) + " of memory" : "1.00",
      run.relayCpuMicrosPerFrame.toFixed(1),
      `${run.relayCores.toFixed(2)} / ${run.benchCores.toFixed(2)}`,
    ]),
  );
  if (!haveRedisServer()) console.log("\n(redis-server is not installed: the Redis and --workers rows were not run)");
  const memory = await relayMemoryPerStream(quick ? 500 : 2_000, pieces);
  table(
    "Relay memory: heap held per finished stream in the memory store (after GC)",
    ["streams", "frames per stream", "frame text per stream (chars)", "heap per stream (KiB)"],
    [[String(memory.streams), String(memory.framesPerStream), Math.round(memory.frameTextPerStream).toLocaleString("en"), (memory.bytesPerStream / 1024).toFixed(1)]],
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // Alone: node --expose-gc --import tsx bench/relay.ts [--quick] (after npm run build)
  await relayBench(process.argv.includes("--quick"), (title, header, rows) => {
    console.log(`\n### ${title}\n\n| ${header.join(" | ")} |`);
    for (const row of rows) console.log(`| ${row.join(" | ")} |`);
  });
}

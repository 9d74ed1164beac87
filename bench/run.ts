/**
 * npm run bench: every contender in this one process, rounds interleaved,
 * medians reported, ratios measured side by side. Not part of npm test.
 */
import { conversationStoreBench, longConversationBench } from "./conversations.js";
import { bigAnswers, liveStartup } from "./live.js";
import { markdownRendering } from "./markdown.js";
import { latency, soakCancelled, soakSequential } from "./loopback.js";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { MemoryResult } from "./memory.js";
import { relayBench } from "./relay.js";
import { startup } from "./startup.js";
import { throughput } from "./throughput.js";

const quick = process.argv.includes("--quick");
// --live: only the command's live-path sections (7 and 8), for working on them; the figures to report come from a whole run.
const liveOnly = process.argv.includes("--live");
const fixed = (value: number, digits = 2): string => value.toFixed(digits);
const verdict = (ok: boolean): string => (ok ? "met" : "MISSED");

function table(title: string, header: readonly string[], rows: ReadonlyArray<readonly string[]>): void {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(" | ")} |`;
  console.log(`\n### ${title}\n`);
  console.log(line(header));
  console.log(`| ${widths.map((width) => "-".repeat(width)).join(" | ")} |`);
  for (const row of rows) console.log(line(row));
}

/** The memory benchmark in a fresh process, so the baseline holds nothing from the other benchmarks. */
function memoryInChildProcess(chunks: number): MemoryResult {
  const script = fileURLToPath(new URL("./memory.ts", import.meta.url));
  const output = execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", script, String(chunks)], { encoding: "utf8" });
  return JSON.parse(output) as MemoryResult;
}

if (typeof globalThis.gc !== "function") throw new Error("run with node --expose-gc (npm run bench does)");
console.log(`g4f-rx benchmarks · Node ${process.version} · ${new Date().toISOString()}${quick ? " · quick" : ""}`);

if (!liveOnly) {
// 1. Throughput
const chunks = quick ? 20_000 : 100_000;
const decoded = await throughput(chunks, quick ? 3 : 7);
const sdk = decoded.find((row) => row.name.startsWith("openai-node"))!.mChunksPerSecond;
const floor = decoded.find((row) => row.name.startsWith("hand-written"))!.mChunksPerSecond;
const ours = decoded[0]!.mChunksPerSecond;
table(
  `Throughput: ${chunks.toLocaleString("en")} chunks from a fetch stub in 16 KiB pieces (median of rounds)`,
  ["contender", "M chunks/s", "× openai-node", "× floor"],
  decoded.map((row) => [row.name, fixed(row.mChunksPerSecond, 3), fixed(row.mChunksPerSecond / sdk), fixed(row.mChunksPerSecond / floor)]),
);
console.log(`\ntarget ≥ 4× openai-node: ${verdict(ours / sdk >= 4)} (${fixed(ours / sdk)}×) · target ≥ 0.9× floor: ${verdict(ours / floor >= 0.9)} (${fixed(ours / floor)}×)`);

// 2. Latency over loopback
const single = await latency(1, quick ? 200 : 1_000, 2);
const many = await latency(1_000, quick ? 5 : 20, 20);
table(
  "Latency over loopback: server write → subscriber, real openai client against the test server",
  ["streams", "chunks measured", "p50 ms", "p99 ms", "target p99", "completed", "open subscriptions after", "TCP handles before → after"],
  [
    [String(single.streams), String(single.chunks), fixed(single.p50, 3), fixed(single.p99, 3), `≤ 1 ms: ${verdict(single.p99 <= 1)}`, String(single.completed), String(single.openSubscriptions), `${single.openSockets.before} → ${single.openSockets.after}`],
    [String(many.streams), String(many.chunks), fixed(many.p50, 3), fixed(many.p99, 3), `≤ 20 ms: ${verdict(many.p99 <= 20)}`, String(many.completed), String(many.openSubscriptions), `${many.openSockets.before} → ${many.openSockets.after}`],
  ],
);

// 3. Memory
const answer = memoryInChildProcess(quick ? 200_000 : 1_000_000);
const times = (mib: number): string => `${fixed(mib)} (${fixed(mib / answer.answerMiB)}×)`;
table(
  `Memory over baseline, in a fresh process: accumulating a ${answer.chunks.toLocaleString("en")}-chunk answer (fromChatCompletion → extractDelta → accumulate)`,
  ["answer MiB", "peak live heap MiB (after GC)", "peak heapUsed MiB (garbage included)", "peak RSS MiB", "target ≤ 3× (live heap)"],
  [[fixed(answer.answerMiB), times(answer.peakLiveMiB), times(answer.peakHeapMiB), times(answer.peakRssMiB), verdict(answer.liveRatio <= 3)]],
);

// 4. Soak
const sequential = await soakSequential(quick ? 1_000 : 10_000);
const cancelled = await soakCancelled(quick ? 100 : 1_000);
table(
  "Soak: heap after GC and open TCP handles, first and last readings",
  ["run", "reading at", "heap MiB", "TCP handles"],
  [
    ...sequential.map((r) => ["sequential streams", r.at.toLocaleString("en"), fixed(r.heapMiB), String(r.openSockets)]),
    ...cancelled.readings.map((r) => ["cancelled mid-stream", r.at.toLocaleString("en"), fixed(r.heapMiB), String(r.openSockets)]),
  ],
);
console.log(`\nserver saw the socket close for ${cancelled.serverSawClose} of ${quick ? 100 : 1_000} cancelled streams`);

// 5. Start-up
const started = await startup(quick ? 5 : 15, ["--replay", "examples/cassettes", "--speed", "Infinity"]);
table(
  "Start-up: replaying a short stream from a cassette vs bare Node (median of runs)",
  ["command", "first byte ms", "exit ms", "first byte ×", "exit ×"],
  started.map((row) => [row.name, fixed(row.firstByteMs, 1), fixed(row.exitMs, 1), fixed(row.firstByteRatio), fixed(row.exitRatio)]),
);
const cli = started[1]!;
console.log(`\ntarget first byte ≤ 1.5× node: ${verdict(cli.firstByteRatio <= 1.5)} (${fixed(cli.firstByteRatio)}×)`);

// 6. Relay capacity and memory per stream
await relayBench(quick, table);

// 6b. The conversation store at size, and what keeping a turn costs a live request
const stored = await conversationStoreBench(quick ? [1_000] : [1_000, 5_000], quick ? 3 : 15);
table(
  "Conversation store: g4f-rx logs with N conversations on disk vs an empty store (median of runs, each the whole process)",
  ["conversations", "turns", "empty ms", "logs ms", "logs -q ms", "logs show ms", "logs ×", "-q ×", "show ×"],
  stored.map((row) => [row.conversations.toLocaleString("en"), row.turns.toLocaleString("en"), fixed(row.emptyMs, 1), fixed(row.listMs, 1), fixed(row.searchMs, 1), fixed(row.showMs, 1), fixed(row.listMs / row.emptyMs), fixed(row.searchMs / row.emptyMs), fixed(row.showMs / row.emptyMs)]),
);
table(
  "Conversation store: a live request against a loopback server, kept as a turn vs --no-log (same store, median of runs)",
  ["conversations", "--no-log ms", "logged ms", "-c ms", "logged ×", "-c ×"],
  stored.map((row) => [row.conversations.toLocaleString("en"), fixed(row.noLogMs, 1), fixed(row.loggedMs, 1), fixed(row.continuedMs, 1), fixed(row.loggedMs / row.noLogMs), fixed(row.continuedMs / row.noLogMs)]),
);
const long = await longConversationBench(quick ? [50] : [50, 200], quick ? 3 : 10);
table(
  "Conversation store: one long conversation, its files on disk and going on with it (-c, kept) vs a new question (--no-log), against a loopback server (median of runs)",
  ["turns", "said MiB", "on disk MiB", "disk ÷ said", "new ms", "-c ms", "-c ×"],
  long.map((row) => [row.turns.toLocaleString("en"), fixed(row.saidMiB), fixed(row.diskMiB), fixed(row.diskMiB / row.saidMiB, 1), fixed(row.newMs, 1), fixed(row.continuedMs, 1), fixed(row.continuedMs / row.newMs)]),
);
}

// 7. The command's live path: start-up and memory beside bare Node
const live = await liveStartup(quick ? 5 : 25);
table(
  "Start-up, live path: g4f-rx asking a loopback server that answers at once, vs bare Node (medians of interleaved runs; each × is the median of the rounds' own ratios to bare Node's run of the same round; memory is peak RSS from /usr/bin/time, separate runs)",
  ["command", "first byte ms", "exit ms", "whole process ms", "peak RSS MiB", "first byte ×", "exit ×", "whole process ×", "memory ×"],
  live.map((row) => [row.name, fixed(row.firstByteMs, 1), fixed(row.exitMs, 1), fixed(row.wallMs, 1), fixed(row.peakMiB, 1), fixed(row.ratios.firstByte), fixed(row.ratios.exit), fixed(row.ratios.wall), fixed(row.ratios.memory)]),
);
const [bareNode, floorClient, liveCli] = live;
console.log(
  `\ntarget first byte ≤ 1.5× node: ${verdict(liveCli!.ratios.firstByte <= 1.5)} · whole process ≤ 1.5×: ${verdict(liveCli!.ratios.wall <= 1.5)} · peak memory ≤ 1.3×: ${verdict(liveCli!.ratios.memory <= 1.3)} · the floor itself: ${fixed(floorClient!.ratios.firstByte)}× first byte, ${fixed(floorClient!.ratios.wall)}× whole process · ratios of the medians instead: ${fixed(liveCli!.firstByteMs / bareNode!.firstByteMs)}× first byte, ${fixed(liveCli!.wallMs / bareNode!.wallMs)}× whole process`,
);

// 7b. The markdown renderer over a long answer in token-sized deltas
const rendered = await markdownRendering(quick ? 50 : 200, quick ? 1 : 3);
table(
  "Markdown on a terminal: rendering a long answer that arrives in 4-character deltas vs the same text whole (median of rounds)",
  ["answer", "KiB", "deltas", "streamed ms", "whole ms", "streamed ×"],
  rendered.map((row) => [row.answer, fixed(row.kib, 0), row.deltas.toLocaleString("en"), fixed(row.streamedMs, 0), fixed(row.wholeMs, 0), fixed(row.streamedMs / row.wholeMs)]),
);

// 8. Big answers into a fast and a slow pipe
const big = await bigAnswers(quick ? [10] : [10, 100], 2);
table(
  "Big answers, live path: bytes delivered to stdout, peak RSS and throughput, with the conversation log (the default) and without, into a reader that keeps up and one that pauses 2 ms after every read",
  ["answer MiB", "conversation log", "stdout reader", "delivered", "peak RSS MiB", "seconds", "MiB/s"],
  big.map((row) => [String(row.answerMiB), row.log, row.reader, row.delivered, fixed(row.peakMiB, 1), fixed(row.seconds), fixed(row.mibPerSecond, 1)]),
);

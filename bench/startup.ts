/** Start-up: the CLI's time to its first byte of output and to exit, against bare Node, runs interleaved. */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { median } from "./stats.js";

const root = fileURLToPath(new URL("..", import.meta.url));

interface Timing {
  firstByteMs: number;
  exitMs: number;
}

function time(args: readonly string[], input: string | undefined, env: Record<string, string>): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    let firstByte = NaN;
    const child = spawn(process.execPath, args, { cwd: root, stdio: ["pipe", "pipe", "ignore"], env: { PATH: process.env.PATH ?? "", NO_COLOR: "1", ...env } });
    child.stdout.once("data", () => (firstByte = performance.now() - start));
    child.stdout.resume();
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve({ firstByteMs: firstByte, exitMs: performance.now() - start }) : reject(new Error(`${args.join(" ")} exited with ${String(code)}`))));
    child.stdin.end(input);
  });
}

export interface StartupResult {
  name: string;
  firstByteMs: number;
  exitMs: number;
  firstByteRatio: number;
  exitRatio: number;
}

export async function startup(rounds: number, cliArgs: readonly string[]): Promise<StartupResult[]> {
  const bin = "dist/bin/g4f-rx.js";
  if (!existsSync(`${root}/${bin}`)) throw new Error(`${bin} is missing: run npm run build first`);
  const contenders = [
    { name: "node -e 0 (prints one byte)", args: ["-e", "process.stdout.write('x')"], input: undefined },
    { name: `g4f-rx ${cliArgs.join(" ")}`, args: [bin, ...cliArgs], input: "Say hello there!\n" },
  ];
  const timings = contenders.map(() => [] as Timing[]);
  // As a user's shell runs it: with a home for its conversation log and code cache (temporary, not this machine's).
  const home = mkdtempSync(join(tmpdir(), "g4f-rx-bench-home-"));
  const env = { XDG_DATA_HOME: join(home, "data"), XDG_CACHE_HOME: join(home, "cache") };
  try {
    for (let round = 0; round < rounds + 2; round += 1) {
      for (const [index, contender] of contenders.entries()) {
        const timing = await time(contender.args, contender.input, env);
        if (round >= 2) timings[index]!.push(timing); // the first two rounds warm the file cache
      }
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
  const medians = timings.map((list) => ({ firstByteMs: median(list.map((t) => t.firstByteMs)), exitMs: median(list.map((t) => t.exitMs)) }));
  const bare = medians[0]!;
  return contenders.map(({ name }, index) => ({
    name,
    ...medians[index]!,
    firstByteRatio: medians[index]!.firstByteMs / bare.firstByteMs,
    exitRatio: medians[index]!.exitMs / bare.exitMs,
  }));
}

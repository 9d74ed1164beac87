import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createServer } from "node:net";

/** A redis-server of a test's own, on a free port, persisting nothing. */
export interface TestRedis {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * Whether Debian's redis-server is installed. When it is missing, tests that
 * need it skip LOUDLY, except under G4F_RX_REQUIRE_ALL=1 (`.ci/run`), where
 * they fail.
 */
export function redisServerAvailable(): boolean {
  try {
    execFileSync("redis-server", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    if (process.env.G4F_RX_REQUIRE_ALL === "1") return true; // let the tests run, and fail on the missing binary
    console.warn("SKIPPED: redis-server is not installed, so the Redis relay tests do not run. Install it: apt-get install -y redis-server");
    return false;
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no free port");
  return address.port;
}

/**
 * Starts redis-server on a free port of 127.0.0.1 and resolves once it accepts connections; with `password`, it asks
 * for it (`requirepass`), and `url` carries it.
 */
export async function startRedis(password?: string): Promise<TestRedis> {
  const port = await freePort();
  const auth = password === undefined ? [] : ["--requirepass", password];
  const child: ChildProcess = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", ...auth], { stdio: ["ignore", "pipe", "pipe"] });
  await new Promise<void>((resolve, reject) => {
    let output = "";
    const onData = (piece: Buffer): void => {
      output += piece.toString();
      if (output.includes("Ready to accept connections")) resolve();
    };
    child.stdout?.on("data", onData);
    child.once("error", (error) => reject(new Error(`could not start redis-server: ${error.message}`)));
    child.once("exit", (code) => reject(new Error(`redis-server exited with code ${String(code)}: ${output}`)));
  });
  return {
    url: `redis://${password === undefined ? "" : `:${encodeURIComponent(password)}@`}127.0.0.1:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

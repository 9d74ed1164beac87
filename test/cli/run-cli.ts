import { type ChildProcessByStdio, spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { createServer } from "node:net";
import type { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterEach } from "vitest";

/**
 * The commands started by a test and still running when it ends: it failed before stopping them (a `serve`, a chat).
 * They are killed, so that no child outlives the test run.
 */
const running = new Set<{ kill(signal: NodeJS.Signals): boolean }>();
afterEach(() => {
  for (const child of running) child.kill("SIGKILL");
  running.clear();
});

/** The built command. `npm test` builds before it runs vitest; alone, run `npm run build` first. */
export const BIN = fileURLToPath(new URL("../../dist/bin/g4f-rx.js", import.meta.url));

/**
 * Throws unless the built command exists and is newer than every source file,
 * so a test never passes or fails against a stale build.
 */
export function assertFreshBuild(): void {
  let built: number;
  try {
    built = statSync(BIN).mtimeMs;
  } catch {
    throw new Error(`${BIN} does not exist: run \`npm run build\` first (npm test does).`);
  }
  const root = fileURLToPath(new URL("../../", import.meta.url));
  for (const folder of ["src", "operators"]) {
    for (const entry of readdirSync(`${root}${folder}`, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith(".ts")) continue;
      const file = `${entry.parentPath}/${entry.name}`;
      if (statSync(file).mtimeMs > built) {
        throw new Error(`${BIN} is older than ${file}: run \`npm run build\` first (npm test does).`);
      }
    }
  }
}

export interface CliOptions {
  /** The whole environment of the command (besides PATH), so the caller's OPENAI_API_KEY and the like never leak in. */
  env?: Record<string, string>;
  /** Written to stdin, which is then closed. Default: an empty, closed stdin. */
  stdin?: string | Uint8Array;
  /** The working directory. Default: the test's. */
  cwd?: string;
  /** Leave stdin open after writing `stdin`, as a pipe whose writer has not finished. */
  keepStdinOpen?: boolean;
  /** In a session of its own, without a controlling terminal (as under cron or CI), even when the tests run on one. */
  detached?: boolean;
}

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunningCli {
  readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  /** Everything written so far. */
  readonly stdout: () => string;
  readonly stderr: () => string;
  /**
   * Resolves once all of `stdin` has been handed to the pipe. With more than the pipe's buffer (64 KiB), that proves
   * the command has been reading it.
   */
  readonly stdinWritten: Promise<void>;
  /** Resolves once stdout contains `text`. */
  waitForStdout(text: string): Promise<void>;
  /** Resolves with the match once stderr matches `pattern`. */
  waitForStderr(pattern: RegExp): Promise<RegExpMatchArray>;
  /** Resolves when the process has exited and its pipes are drained. */
  readonly exited: Promise<CliResult>;
}

/** Starts the built command as a child process. */
export function startCli(args: readonly string[], options: CliOptions = {}): RunningCli {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? "", ...options.env },
    stdio: ["pipe", "pipe", "pipe"],
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    ...(options.detached === true ? { detached: true } : {}),
  });
  running.add(child);
  child.once("close", () => running.delete(child));
  let stdout = "";
  let stderr = "";
  const stdoutWaiters: Array<() => void> = [];
  const stderrWaiters: Array<() => void> = [];
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stdout.on("data", (text: string) => {
    stdout += text;
    for (const wake of stdoutWaiters.splice(0)) wake();
  });
  child.stderr.on("data", (text: string) => {
    stderr += text;
    for (const wake of stderrWaiters.splice(0)) wake();
  });
  // A test may close stdout on purpose; the command's exit then tells what happened.
  child.stdout.on("error", () => undefined);
  child.stdin.on("error", () => undefined);
  const stdinWritten = new Promise<void>((resolve) => {
    if (options.keepStdinOpen === true) {
      child.stdin.write(options.stdin ?? "", () => resolve());
    } else {
      child.stdin.end(options.stdin ?? "", () => resolve());
    }
  });

  let closed = false;
  const exited = new Promise<CliResult>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => {
      closed = true;
      resolve({ code, signal, stdout, stderr });
    });
  });

  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    stdinWritten,
    waitForStdout: (text) =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (stdout.includes(text)) {
            resolve();
          } else if (closed) {
            reject(new Error(`the command exited before printing ${JSON.stringify(text)}; stdout: ${JSON.stringify(stdout)}, stderr: ${stderr}`));
          } else {
            stdoutWaiters.push(check);
          }
        };
        check();
        void exited.then(check, check);
      }),
    waitForStderr: (pattern) =>
      new Promise<RegExpMatchArray>((resolve, reject) => {
        const check = (): void => {
          const match = stderr.match(pattern);
          if (match !== null) {
            resolve(match);
          } else if (closed) {
            reject(new Error(`the command exited before stderr matched ${String(pattern)}; stderr: ${stderr}`));
          } else {
            stderrWaiters.push(check);
          }
        };
        check();
        void exited.then(check, check);
      }),
    exited,
  };
}

/** Runs the built command to its end. */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, options).exited;
}

/** A local port nothing listens on: bound, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

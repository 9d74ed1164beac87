import { type ChildProcessByStdio, execFileSync, spawn } from "node:child_process";
import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import type { Readable, Writable } from "node:stream";
import { BIN } from "./run-cli.js";

/** How long `waitFor` waits before it fails with the screen (see there). */
const WAIT_BOUND_MS = 12_000;

/** util-linux's `script` gives the command a real pseudo-terminal; other `script`s take other flags. */
export function hasUtilLinuxScript(): boolean {
  try {
    return execFileSync("script", ["--version"], { encoding: "utf8" }).includes("util-linux");
  } catch {
    return false;
  }
}

const quote = (text: string): string => `'${text.replaceAll("'", "'\\''")}'`;

/** The command on a pseudo-terminal, typed at like a person would. */
export interface TerminalSession {
  readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  /** Types text (`\r` is Enter, `\u0003` Ctrl-C, `\u0004` Ctrl-D). */
  type(text: string): void;
  /** Everything the terminal showed so far. */
  screen(): string;
  /** Resolves once the terminal shows `text` after `from` characters of output (default: anywhere). */
  waitFor(text: string, from?: number): Promise<void>;
  /** Resolves with the exit code and the whole screen. */
  readonly exited: Promise<{ code: number | null; screen: string }>;
  /** Makes the terminal `columns` wide, as a window resize does (the command gets SIGWINCH). */
  resize(columns: number): void;
}

/** The terminal the command runs on: the pseudo-terminal on the stdin of `script`'s descendant that runs node. */
function terminalOf(scriptPid: number): string {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // "pid (name) state ppid …": the name may hold spaces, the fields after its ")" do not.
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // The process ended meanwhile.
    }
  }
  const descends = (pid: number): boolean => {
    for (let at: number | undefined = pid; at !== undefined && at > 1; at = parentOf.get(at)) if (at === scriptPid) return true;
    return false;
  };
  for (const pid of parentOf.keys()) {
    if (pid === scriptPid || !descends(pid)) continue;
    try {
      const tty = readlinkSync(`/proc/${String(pid)}/fd/0`);
      if (tty.startsWith("/dev/pts/")) return tty;
    } catch {
      // (as above)
    }
  }
  throw new Error(`no pseudo-terminal under script (pid ${String(scriptPid)})`);
}

/** The sessions still running, so that a test that failed half-way leaves no command behind (see closeTerminals). */
const running = new Set<ChildProcessByStdio<Writable, Readable, Readable>>();

/** Kills the sessions a test left running (it failed before they ended); for `afterEach`. */
export function closeTerminals(): void {
  for (const child of running) child.kill("SIGKILL");
  running.clear();
}

/**
 * Starts the built command on a pseudo-terminal (stdin, stdout and stderr all the terminal; with `stdoutTo`, stdout
 * goes to that file instead, as `> FILE` does, with `stderrTo` stderr, as `2> FILE` does, and with `stdinFrom` stdin
 * is a pipe from that file, as `cat FILE |` makes it; with `columns`, the terminal is that wide from the start).
 */
export function onTerminal(
  args: readonly string[],
  env: Record<string, string>,
  options: { readonly stdoutTo?: string; readonly stderrTo?: string; readonly columns?: number; readonly stdinFrom?: string } = {},
): TerminalSession {
  const command =
    (options.columns === undefined ? "" : `stty cols ${String(options.columns)} 2>/dev/null; `) +
    (options.stdinFrom === undefined ? "" : `cat ${quote(options.stdinFrom)} | `) +
    [process.execPath, BIN, ...args].map(quote).join(" ") +
    (options.stdoutTo === undefined ? "" : ` > ${quote(options.stdoutTo)}`) +
    (options.stderrTo === undefined ? "" : ` 2> ${quote(options.stderrTo)}`);
  const child = spawn("script", ["--quiet", "--return", "--command", command, "/dev/null"], {
    env: { PATH: process.env.PATH ?? "", TERM: "xterm", NO_COLOR: "1", ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let screen = "";
  const waiters: Array<() => void> = [];
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (text: string) => {
    screen += text;
    for (const wake of waiters.splice(0)) wake();
  });
  child.stderr.resume();
  child.stdin.on("error", () => undefined);
  let closed = false;
  const exited = new Promise<{ code: number | null; screen: string }>((resolve) => {
    running.add(child);
    child.once("close", (code) => {
      running.delete(child);
      closed = true;
      for (const wake of waiters.splice(0)) wake();
      resolve({ code, screen });
    });
  });
  return {
    child,
    type: (text) => child.stdin.write(text),
    screen: () => screen,
    resize: (columns) => execFileSync("stty", ["-F", terminalOf(child.pid ?? 0), "cols", String(columns)]),
    waitFor: (text, from = 0) =>
      new Promise<void>((resolve, reject) => {
        // A bound far above any wait here (they take well under a second), under the tests' own timeout: a wait that
        // hangs says what the terminal showed, where the timeout alone would say nothing.
        const timer = setTimeout(() => {
          const at = waiters.indexOf(check);
          if (at >= 0) waiters.splice(at, 1);
          reject(new Error(`the terminal did not show ${JSON.stringify(text)} after ${String(from)} within ${String(WAIT_BOUND_MS)} ms; it showed ${JSON.stringify(screen)}`));
        }, WAIT_BOUND_MS);
        const check = (): void => {
          if (screen.indexOf(text, from) >= 0) {
            clearTimeout(timer);
            resolve();
          } else if (closed) {
            clearTimeout(timer);
            reject(new Error(`the terminal never showed ${JSON.stringify(text)}; it showed ${JSON.stringify(screen)}`));
          } else {
            waiters.push(check);
          }
        };
        check();
      }),
    exited,
  };
}

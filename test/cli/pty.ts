import { type ChildProcessByStdio, execFileSync, spawn } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { BIN } from "./run-cli.js";

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
}

/** Starts the built command on a pseudo-terminal (stdin, stdout and stderr all the terminal). */
export function onTerminal(args: readonly string[], env: Record<string, string>): TerminalSession {
  const command = [process.execPath, BIN, ...args].map(quote).join(" ");
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
    child.once("close", (code) => {
      closed = true;
      for (const wake of waiters.splice(0)) wake();
      resolve({ code, screen });
    });
  });
  return {
    child,
    type: (text) => child.stdin.write(text),
    screen: () => screen,
    waitFor: (text, from = 0) =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (screen.indexOf(text, from) >= 0) resolve();
          else if (closed) reject(new Error(`the terminal never showed ${JSON.stringify(text)}; it showed ${JSON.stringify(screen)}`));
          else waiters.push(check);
        };
        check();
      }),
    exited,
  };
}

import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Environment } from "../endpoints.js";
import type { CliIo } from "./io.js";

/** The editor the user chose, as git and crontab pick one: `$VISUAL`, else `$EDITOR`, else `vi`. */
export function editorOf(env: Environment): string {
  const chosen = [env.VISUAL, env.EDITOR].find((value) => value !== undefined && value.trim() !== "");
  return chosen ?? "vi";
}

/**
 * The terminal an editor runs on: where it reads keys (stdin, or `"tty"`, the controlling terminal) and where it
 * draws (stdout, stderr, or `"tty"`).
 */
export interface EditorTerminal {
  readonly input: 0 | "tty";
  readonly output: 1 | 2 | "tty";
}

/** The process's controlling terminal, which a piped or redirected command still has when run from a shell. */
const CONTROLLING_TERMINAL = "/dev/tty";

/**
 * Where a question's editor (`--editor`) runs: stdin when it is a terminal, and stdout when it is one, else stderr,
 * so that `g4f-rx --editor > answer.md` still shows it. What is not a terminal is the controlling terminal instead, as
 * vipe does: `git diff | g4f-rx --editor "Review:"` edits the question with the diff in it. `undefined` when there is
 * no terminal at all (cron, CI).
 */
export function editorTerminal(io: Pick<CliIo, "stdin" | "stdout" | "stderr">): EditorTerminal | undefined {
  const input = io.stdin.isTTY ? 0 : "tty";
  const output = io.stdout.isTTY === true ? 1 : io.stderr.isTTY === true ? 2 : "tty";
  if (input === 0 && output !== "tty") return { input, output };
  try {
    closeSync(openSync(CONTROLLING_TERMINAL, "r+"));
  } catch {
    return undefined;
  }
  return { input, output };
}

/**
 * Lets the user write a text in `editor` on the terminal, starting from `initial`, and returns what was saved (its
 * trailing whitespace dropped), or the problem to tell (`interrupted` when Ctrl-C stopped the editor). The editor runs as git runs it, through the shell, so that
 * `EDITOR="code --wait"` works; this process waits for it, and the terminal is its until it exits. The file is private
 * (0600) and removed afterwards.
 */
export function editText(
  editor: string,
  initial: string,
  terminal: EditorTerminal,
): { readonly text: string } | { readonly problem: string; readonly interrupted?: true } {
  let tty: number | undefined;
  if (terminal.input === "tty" || terminal.output === "tty") {
    try {
      tty = openSync(CONTROLLING_TERMINAL, "r+");
    } catch (error) {
      return { problem: `could not open the terminal for the editor (${error instanceof Error ? error.message : String(error)}); nothing asked` };
    }
  }
  const folder = mkdtempSync(join(tmpdir(), "g4f-rx-edit-"));
  try {
    // .md: editors colour a question as the markdown it usually is.
    const file = join(folder, "question.md");
    writeFileSync(file, initial === "" ? "" : `${initial}\n`, { mode: 0o600 });
    const stdio = [terminal.input === "tty" ? tty : 0, terminal.output === "tty" ? tty : terminal.output, 2];
    const run = spawnSync("/bin/sh", ["-c", `${editor} "$1"`, "sh", file], { stdio });
    if (run.error !== undefined) return { problem: `could not run the editor (${editor}): ${run.error.message}; nothing asked` };
    if (run.status !== 0) {
      const how = run.signal === null ? `exited with status ${String(run.status)}` : `was stopped by ${run.signal}`;
      // Ctrl-C reached the editor (one that leaves the terminal's signals on): the user stopped, as git takes it.
      return { problem: `the editor (${editor}) ${how}; nothing asked`, ...(run.signal === "SIGINT" ? { interrupted: true } : {}) };
    }
    const text = readFileSync(file, "utf8").trimEnd();
    return text.trim() === "" ? { problem: "the editor left the question empty; nothing asked" } : { text };
  } finally {
    rmSync(folder, { recursive: true, force: true });
    if (tty !== undefined) closeSync(tty);
  }
}

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
 * Where a question's editor (`--editor`) draws: stdout when it is a terminal, else stderr when that is one, so that
 * `g4f-rx --editor > answer.md` still shows it; `undefined` without a terminal on stdin to type on, or one to draw on.
 */
export function editorOutput(io: Pick<CliIo, "stdin" | "stdout" | "stderr">): 1 | 2 | undefined {
  if (!io.stdin.isTTY) return undefined;
  return io.stdout.isTTY === true ? 1 : io.stderr.isTTY === true ? 2 : undefined;
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
  terminalOutput: number,
): { readonly text: string } | { readonly problem: string; readonly interrupted?: true } {
  const folder = mkdtempSync(join(tmpdir(), "g4f-rx-edit-"));
  try {
    // .md: editors colour a question as the markdown it usually is.
    const file = join(folder, "question.md");
    writeFileSync(file, initial === "" ? "" : `${initial}\n`, { mode: 0o600 });
    const run = spawnSync("/bin/sh", ["-c", `${editor} "$1"`, "sh", file], { stdio: [0, terminalOutput, 2] });
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
  }
}

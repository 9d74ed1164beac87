import { mkdirSync } from "node:fs";
import { dirname } from "node:path";

// Imported by the launcher (src/cli/launcher.ts) as well as the conversation store: node:fs and node:path only, so
// the launcher stays tiny.

/**
 * `mkdir -p`, one level at a time, each folder made with `mode`. Node 20's own recursive mkdirSync never returns for a
 * path under /proc (say XDG_DATA_HOME=/proc/x): the process spun at full CPU forever. Here such a path fails at once
 * (ENOENT). A folder another process makes meanwhile is taken as made. Returns whether this call made `folder`
 * itself (then it is empty), rather than finding it there.
 */
export function makeFolder(folder: string, mode: number): boolean {
  try {
    mkdirSync(folder, { mode });
    return true;
  } catch (error) {
    const code = errorCode(error);
    if (code === "EEXIST") return false;
    const parent = dirname(folder);
    if (code !== "ENOENT" || parent === folder) throw error;
    makeFolder(parent, mode);
    // Once only: a folder that still cannot be made (its parent is /proc, say) fails here, instead of looping.
    try {
      mkdirSync(folder, { mode });
      return true;
    } catch (again) {
      if (errorCode(again) !== "EEXIST") throw again;
      return false;
    }
  }
}

/**
 * `digits` random hexadecimal digits, for the names of files that must differ from other processes' (a conversation's
 * id, a temporary file made with O_EXCL, which never opens one that is there). They need to differ, not to be secret,
 * and `node:crypto` would cost every command a few milliseconds of start-up to load.
 */
export function randomHex(digits: number): string {
  let text = "";
  while (text.length < digits) text += Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, "0");
  return text.slice(0, digits);
}

function errorCode(error: unknown): unknown {
  return error instanceof Error && "code" in error ? error.code : undefined;
}

import { isObject } from "./sources/frames.js";

/**
 * Whether process `pid` runs (this process does): what marks a turn as still streaming in the conversation store, and
 * a `--record` lock as held.
 */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, but someone else's.
    return isObject(error) && error.code === "EPERM";
  }
}

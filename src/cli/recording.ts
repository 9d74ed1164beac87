import { accessSync, closeSync, constants, existsSync, linkSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { randomHex } from "../folders.js";
import { processAlive } from "../process-alive.js";

/** The mode of the temporary file, as of the cassette it becomes (the umask may take more away, never add). */
const PRIVATE_FILE = 0o600;
/**
 * How long a recording waits for another's lock on FILE before it takes a name of its own. A lock is held only to
 * compare FILE and rename (microseconds): a wait this long means its holder is stopped.
 */
const LOCK_WAIT_MS = 1000;

/**
 * `--record FILE`, safely: the path is checked before anything is sent, the cassette is written to a temporary file
 * beside it and renamed into place when the stream has ended, so an old cassette stays whole until the new one is
 * complete, and a recording that another run wrote to the same FILE meanwhile is never overwritten silently.
 *
 * The temporary file is created anew (O_EXCL, mode 0600) under a random name: a file or link that someone else put
 * in FILE's folder is never opened, and two recordings (in one process or several) never share one.
 */
export class Recording {
  readonly #file: string;
  readonly #before: string | undefined;
  #temporary: string | undefined;
  // Removes the temporary file if the process exits some other way than through finish() or discard().
  readonly #cleanUp = (): void => this.discard();

  private constructor(file: string) {
    this.#file = file;
    this.#before = fingerprint(file);
  }

  /** A recording into `file`, or the usage error that stops the command before it sends anything. */
  static start(file: string): Recording | { readonly problem: string } {
    const directory = dirname(file);
    try {
      if (!statSync(directory).isDirectory()) return { problem: `--record ${file}: ${directory} is not a directory` };
      accessSync(directory, constants.W_OK);
    } catch (error) {
      const code = error instanceof Error && "code" in error ? String(error.code) : "";
      const why = code === "ENOENT" ? "no such directory" : code === "EACCES" ? "not writable" : error instanceof Error ? error.message : String(error);
      return { problem: `--record ${file}: ${directory}: ${why}. Nothing was sent.` };
    }
    if (existsSync(file) && statSync(file).isDirectory()) return { problem: `--record ${file} is a directory; give a file name such as ${join(file, "answer.cassette.jsonl")}` };
    return new Recording(file);
  }

  /**
   * Creates the empty temporary file the stream is to be written to, and returns its path. Made only once the request
   * is about to go, so that a command that ends before it (no prompt, Ctrl-C while reading stdin) leaves nothing.
   */
  create(): string {
    if (this.#temporary !== undefined) return this.#temporary;
    for (let attempt = 1; ; attempt += 1) {
      const candidate = join(dirname(this.#file), `.${basename(this.#file)}.${randomHex(12)}.tmp`);
      try {
        // "wx": O_CREAT | O_EXCL, which fails on anything already there, a symbolic link included, and follows none.
        closeSync(openSync(candidate, "wx", PRIVATE_FILE));
      } catch (error) {
        if (attempt < 5 && error instanceof Error && "code" in error && error.code === "EEXIST") continue;
        throw error;
      }
      this.#temporary = candidate;
      process.once("exit", this.#cleanUp);
      return candidate;
    }
  }

  /**
   * Moves the finished recording into place; returns where it went, or nothing when nothing was recorded. When FILE
   * changed since the recording started (another run recorded into it), or another recording holds its lock for
   * longer than it should, this one goes to the first free `NAME.2.cassette.jsonl`… instead.
   */
  finish(): { readonly file: string; readonly displaced: boolean } | undefined {
    const temporary = this.#temporary;
    // A cassette always starts with its header line: an empty file means no answer (nor error status) came.
    if (temporary === undefined || !existsSync(temporary) || statSync(temporary).size === 0) {
      this.discard();
      return undefined;
    }
    let target = this.#file;
    try {
      // The old cassette, as it was when this recording started, gives way to it.
      const replaced = this.#before !== undefined && renameOverIfUnchanged(temporary, this.#file, this.#before);
      if (!replaced) {
        // A free name is claimed by a hard link, which fails on a name already taken: recordings that end at once (in
        // several processes) each get one, where "does it exist?" then a rename let two take the same and one was lost.
        const { stem, extension } = splitName(this.#file);
        for (let n = this.#before === undefined ? 1 : 2; ; n += 1) {
          target = n === 1 ? this.#file : `${stem}.${n}${extension}`;
          if (claim(temporary, target)) break;
        }
        rmSync(temporary, { force: true });
      }
    } catch (error) {
      this.discard();
      throw error;
    }
    this.#forget();
    return { file: target, displaced: target !== this.#file };
  }

  /** Throws the unfinished recording away (the command was stopped); an old cassette at FILE stays as it was. */
  discard(): void {
    if (this.#temporary !== undefined) rmSync(this.#temporary, { force: true });
    this.#forget();
  }

  #forget(): void {
    this.#temporary = undefined;
    process.removeListener("exit", this.#cleanUp);
  }
}

/**
 * Renames `temporary` over `file` if `file` is still the one fingerprinted `before`; false when it changed, or when
 * another recording's lock could not be had. Under a lock (`.NAME.lock`, created with O_EXCL, holding its process
 * id): without it, two recordings that end at once could both find the old cassette and both replace it, and one
 * would be lost. A lock whose process is gone (killed between the two steps) is removed, and this recording takes a
 * name of its own rather than replace anything blindly.
 */
function renameOverIfUnchanged(temporary: string, file: string, before: string): boolean {
  const lock = join(dirname(file), `.${basename(file)}.lock`);
  if (!lockFile(lock)) return false;
  try {
    if (fingerprint(file) !== before) return false;
    renameSync(temporary, file);
    return true;
  } finally {
    rmSync(lock, { force: true });
  }
}

/** Takes the lock file `lock`, waiting for its holder up to LOCK_WAIT_MS; false when it stays taken, or was stale. */
function lockFile(lock: string): boolean {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fd = openSync(lock, "wx", PRIVATE_FILE);
      try {
        writeSync(fd, String(process.pid));
      } finally {
        closeSync(fd);
      }
      return true;
    } catch (error) {
      if (!(error instanceof Error && "code" in error && error.code === "EEXIST")) throw error;
    }
    const holder = holderOf(lock);
    if (holder !== undefined && !processAlive(holder)) {
      // Re-read: removed only if it is still that dead process's lock.
      if (holderOf(lock) === holder) rmSync(lock, { force: true });
      return false;
    }
    if (Date.now() >= deadline) return false;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
  }
}

/** The process id in a lock file; undefined while it is still being written (or gone). */
function holderOf(lock: string): number | undefined {
  try {
    const pid = Number(readFileSync(lock, "utf8"));
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function fingerprint(file: string): string | undefined {
  try {
    const stat = statSync(file);
    return `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
  } catch {
    return undefined;
  }
}

function splitName(file: string): { stem: string; extension: string } {
  const match = /^(.*?)((?:\.cassette)?\.jsonl)$/.exec(file);
  return match === null ? { stem: file, extension: "" } : { stem: match[1] ?? file, extension: match[2] ?? "" };
}

/**
 * Gives the finished recording the name `target` if it is free; false when it is taken. A hard link, which fails on a
 * taken name, does it atomically; a file system without hard links (FAT, some network shares) gets a check and a
 * rename instead, racy only between recordings that end at the same instant.
 */
function claim(temporary: string, target: string): boolean {
  try {
    linkSync(temporary, target);
    return true;
  } catch (error) {
    const code = error instanceof Error && "code" in error ? error.code : undefined;
    if (code === "EEXIST") return false;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "ENOSYS") throw error;
  }
  if (existsSync(target)) return false;
  renameSync(temporary, target);
  return true;
}

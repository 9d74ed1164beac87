import { accessSync, constants, existsSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/**
 * `--record FILE`, safely: the path is checked before anything is sent, the cassette is written to a temporary file
 * beside it and renamed into place when the stream has ended, so an old cassette stays whole until the new one is
 * complete, and a recording that another run wrote to the same FILE meanwhile is never overwritten silently.
 */
export class Recording {
  /** Where the stream is being written. */
  readonly temporary: string;
  readonly #file: string;
  readonly #before: string | undefined;

  private constructor(file: string) {
    this.#file = file;
    this.temporary = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
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
   * Moves the finished recording into place; returns where it went. When FILE changed since the recording started
   * (another run recorded into it), this one goes to the first free `NAME.2.cassette.jsonl`… instead.
   */
  finish(): { readonly file: string; readonly displaced: boolean } | undefined {
    if (!existsSync(this.temporary)) return undefined;
    let target = this.#file;
    const displaced = fingerprint(this.#file) !== this.#before;
    if (displaced) {
      const { stem, extension } = splitName(this.#file);
      for (let n = 2; existsSync(target); n += 1) target = `${stem}.${n}${extension}`;
    }
    renameSync(this.temporary, target);
    return { file: target, displaced };
  }

  /** Throws the unfinished recording away (the command was stopped); an old cassette at FILE stays as it was. */
  discard(): void {
    rmSync(this.temporary, { force: true });
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

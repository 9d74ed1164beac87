import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Recording } from "../../src/cli/recording.js";

let folder: string;
beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), "g4f-rx-recording-"));
});
afterEach(() => {
  rmSync(folder, { recursive: true, force: true });
});

/** A recording into `file` that writes `text` and finishes. */
function record(file: string, text: string): ReturnType<Recording["finish"]> {
  const recording = Recording.start(file);
  if (!(recording instanceof Recording)) throw new Error(recording.problem);
  writeFileSync(recording.create(), text);
  return recording.finish();
}

describe("Recording over an existing cassette", () => {
  const file = (): string => join(folder, "answer.cassette.jsonl");
  const lock = (): string => join(folder, ".answer.cassette.jsonl.lock");

  it("replaces the old cassette when it is unchanged, and leaves no lock behind", () => {
    writeFileSync(file(), "old\n");
    expect(record(file(), "new\n")).toStrictEqual({ file: file(), displaced: false });
    expect(readFileSync(file(), "utf8")).toBe("new\n");
    expect(readdirSync(folder)).toStrictEqual(["answer.cassette.jsonl"]);
  });

  it("takes a name of its own, after waiting, while another live recording holds the lock: the old cassette is not replaced blindly", () => {
    writeFileSync(file(), "old\n");
    // This process stands for a recording stopped between its comparison and its rename.
    writeFileSync(lock(), String(process.pid));
    const started = Date.now();
    expect(record(file(), "new\n")).toStrictEqual({ file: join(folder, "answer.2.cassette.jsonl"), displaced: true });
    // It waited for the holder first (a second), then gave up.
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(readFileSync(file(), "utf8")).toBe("old\n");
    expect(readFileSync(join(folder, "answer.2.cassette.jsonl"), "utf8")).toBe("new\n");
    // Not its lock: left to its holder.
    expect(readFileSync(lock(), "utf8")).toBe(String(process.pid));
  });

  it("removes a lock whose process is gone, keeps this recording under a name of its own, and the next one replaces as usual", () => {
    writeFileSync(file(), "old\n");
    const gone = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout;
    writeFileSync(lock(), gone);
    expect(record(file(), "second\n")).toStrictEqual({ file: join(folder, "answer.2.cassette.jsonl"), displaced: true });
    expect(existsSync(lock())).toBe(false);
    expect(readFileSync(file(), "utf8")).toBe("old\n");
    expect(record(file(), "third\n")).toStrictEqual({ file: file(), displaced: false });
    expect(readFileSync(file(), "utf8")).toBe("third\n");
  });
});

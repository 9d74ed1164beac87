import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeFolder } from "../../src/folders.js";

let directory: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), "g4f-rx-folders-"));
});
afterEach(() => rmSync(directory, { recursive: true, force: true }));

describe("makeFolder", () => {
  it("says whether it made the folder (with its missing parents, each with the mode) or found it there", () => {
    const folder = join(directory, "a", "b", "c");
    expect(makeFolder(folder, 0o700)).toBe(true);
    for (const made of [join(directory, "a"), join(directory, "a", "b"), folder]) expect(statSync(made).mode & 0o777, made).toBe(0o700);
    expect(makeFolder(folder, 0o700)).toBe(false);
    expect(makeFolder(join(directory, "a"), 0o700)).toBe(false);
  });

  it("fails for a path through a file, and for one under /proc, at once", () => {
    writeFileSync(join(directory, "file"), "");
    expect(() => makeFolder(join(directory, "file", "x"), 0o700)).toThrow(/ENOTDIR/);
    expect(() => makeFolder("/proc/g4f-rx-no-such/x", 0o700)).toThrow(/ENOENT/);
  });
});

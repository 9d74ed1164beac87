import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { assertFreshBuild, runCli } from "./run-cli.js";

// The executable runs the bundled command from V8's code cache, kept per user (src/cli/launcher.ts). These runs use
// the recorded cassettes, so nothing is sent anywhere; what matters is the cache and that the answer never changes.
const CASSETTES = fileURLToPath(new URL("../../examples/cassettes", import.meta.url));
const ASK = ["--replay", CASSETTES, "--no-log", "Say hello there!"];
const ANSWER = "Hello there! How can I help you today?\n";

const folders: string[] = [];
function temporaryFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), "g4f-rx-code-cache-"));
  folders.push(folder);
  return folder;
}
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

/** A file of the command as scripts/build-cli.mjs writes it: its code inside the function CommonJS would wrap it in. */
function commandFile(code: string): string {
  return `(function (exports, require, module, __filename, __dirname) {\n${code}})\n`;
}

function cacheFiles(folder: string): string[] {
  try {
    return readdirSync(folder).filter((name) => name.endsWith(".v8cache"));
  } catch {
    return [];
  }
}

describe("the command's code cache", () => {
  beforeAll(() => assertFreshBuild());

  it("is written under $XDG_CACHE_HOME/g4f-rx by the first run, for main.js and each file it required, and used, not rewritten, by the next", async () => {
    const cache = temporaryFolder();
    const first = await runCli(ASK, { env: { XDG_CACHE_HOME: cache } });
    expect(first).toMatchObject({ code: 0, stdout: ANSWER });
    const files = cacheFiles(join(cache, "g4f-rx")).sort();
    // main.js and openai's error classes, which every run requires, and the replay's own file; not the openai client
    // nor the renderer's files.
    expect(files).toHaveLength(3);
    expect(files[0]).toMatch(new RegExp(`^main-[0-9a-f]{16}-\\d+-\\d+-replay-${process.version}-${process.arch}\\.v8cache$`));
    expect(files[1]).toMatch(new RegExp(`^openai-error-[0-9a-f]{16}-\\d+-\\d+-replay-${process.version}-${process.arch}\\.v8cache$`));
    expect(files[2]).toMatch(new RegExp(`^replay-[0-9a-f]{16}-\\d+-\\d+-replay-${process.version}-${process.arch}\\.v8cache$`));
    const paths = files.map((file) => join(cache, "g4f-rx", file));
    const written = paths.map((path) => ({ bytes: readFileSync(path), mtimeMs: statSync(path).mtimeMs }));
    expect(written[0]?.bytes.length).toBeGreaterThan(10_000);
    // Owner only: what runs as this user's code is nobody else's to write.
    for (const path of paths) expect(statSync(path).mode & 0o077).toBe(0);
    expect(statSync(join(cache, "g4f-rx")).mode & 0o077).toBe(0);

    const second = await runCli(ASK, { env: { XDG_CACHE_HOME: cache } });
    expect(second).toMatchObject({ code: 0, stdout: ANSWER, stderr: first.stderr });
    // A cache V8 accepted is left as it is; one it rejected would have been written again.
    for (const [index, path] of paths.entries()) {
      expect(statSync(path).mtimeMs).toBe(written[index]?.mtimeMs);
      expect(readFileSync(path).equals(written[index]?.bytes ?? Buffer.alloc(0))).toBe(true);
    }
  });

  it("keeps the markdown renderer's files too, apart from a plain run's, so a question on a terminal does not compile them again", async () => {
    const cache = temporaryFolder();
    const render = ["--replay", CASSETTES, "--no-log", "--render", "always", "What is 17 * 23?"];
    const first = await runCli(render, { env: { XDG_CACHE_HOME: cache } });
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("391");
    const stems = (): string[] => cacheFiles(join(cache, "g4f-rx")).map((name) => /^([a-z-]+?)-[0-9a-f]{16}-/.exec(name)?.[1] ?? name).sort();
    // No code in this answer, nor a table of wide text: the highlighter (lowlight) and string-width are never loaded.
    expect(stems()).toEqual(["main", "markdown", "markdown-it", "openai-error", "replay"]);
    // Its own kind: a plain replay's cache (which never compiled the renderer in main.js) must not stand for it.
    for (const name of cacheFiles(join(cache, "g4f-rx"))) expect(name).toContain(`-replay-rendered-${process.version}-`);
    const before = cacheFiles(join(cache, "g4f-rx")).map((name) => statSync(join(cache, "g4f-rx", name)).mtimeMs);
    const second = await runCli(render, { env: { XDG_CACHE_HOME: cache } });
    expect(second).toMatchObject({ code: 0, stdout: first.stdout });
    expect(cacheFiles(join(cache, "g4f-rx")).map((name) => statSync(join(cache, "g4f-rx", name)).mtimeMs)).toEqual(before);
  });

  it("replaces a corrupt, cut or empty cache, and the answer is the same", async () => {
    const cache = temporaryFolder();
    await runCli(ASK, { env: { XDG_CACHE_HOME: cache } });
    const file = cacheFiles(join(cache, "g4f-rx")).find((name) => name.startsWith("main-"));
    const path = join(cache, "g4f-rx", file ?? "");
    const good = readFileSync(path);
    // Larger than main.js, a part of a real cache (smaller: the text and the cache share the launcher's buffer), none.
    for (const damaged of [Buffer.alloc(300_000, 0x5a), good.subarray(0, good.length >> 1), Buffer.alloc(0)]) {
      writeFileSync(path, damaged);
      const result = await runCli(ASK, { env: { XDG_CACHE_HOME: cache } });
      expect(result).toMatchObject({ code: 0, stdout: ANSWER });
      expect(readFileSync(path).equals(damaged), String(damaged.length)).toBe(false);
      expect(cacheFiles(join(cache, "g4f-rx"))).toHaveLength(3);
    }
  });

  it("falls back to ~/.cache, and removes older builds' and copies' caches for this Node but not other Nodes'", async () => {
    const home = temporaryFolder();
    const folder = join(home, ".cache", "g4f-rx");
    await runCli(ASK, { env: { HOME: home, G4F_RX_NO_LOG: "1" } });
    const current = cacheFiles(folder).find((name) => name.startsWith("main-"));
    expect(current).toBeDefined();
    const errors = cacheFiles(folder).find((name) => name.startsWith("openai-error-"));
    expect(errors).toBeDefined();
    const replay = cacheFiles(folder).find((name) => name.startsWith("replay-"));
    expect(replay).toBeDefined();
    const olderBuild = `main-0000000000000000-1-1-replay-${process.version}-${process.arch}.v8cache`;
    const otherNode = `main-0000000000000000-1-1-replay-v0.0.1-${process.arch}.v8cache`;
    writeFileSync(join(folder, olderBuild), "old");
    // An older build of the error classes: "openai-error-…" must not pass for a build of "openai".
    const olderErrors = `openai-error-0000000000000000-1-1-replay-${process.version}-${process.arch}.v8cache`;
    // The same build from another copy of main.js (a reinstall: same digest, another time): stale too.
    const otherCopy = (current ?? "").replace(/-(\d+)-(\d+)-replay-/, "-$1-1-replay-");
    expect(otherCopy).not.toBe(current);
    writeFileSync(join(folder, otherNode), "other");
    writeFileSync(join(folder, olderErrors), "old");
    writeFileSync(join(folder, otherCopy), "old");
    rmSync(join(folder, current ?? ""));
    rmSync(join(folder, errors ?? ""));

    expect(await runCli(ASK, { env: { HOME: home } })).toMatchObject({ code: 0, stdout: ANSWER });
    expect(cacheFiles(folder).sort()).toEqual([current, errors, replay, otherNode].sort());
  });

  it("is not kept with NODE_DISABLE_COMPILE_CACHE=1, and a cache folder that cannot be made changes nothing", async () => {
    const home = temporaryFolder();
    const disabled = await runCli(ASK, { env: { HOME: home, NODE_DISABLE_COMPILE_CACHE: "1", G4F_RX_NO_LOG: "1" } });
    expect(disabled).toMatchObject({ code: 0, stdout: ANSWER });
    expect(readdirSync(home)).toEqual([]);

    // A file where the folder would go: the cache cannot be written, and nothing says so or fails.
    const blocked = join(temporaryFolder(), "not-a-folder");
    writeFileSync(blocked, "");
    const plain = await runCli(ASK, { env: {} });
    const result = await runCli(ASK, { env: { XDG_CACHE_HOME: blocked } });
    expect(result).toMatchObject({ code: 0, stdout: ANSWER, stderr: plain.stderr });
    // Under /proc, where Node 20's own recursive mkdir never returns: the run ends as usual.
    expect(await runCli(ASK, { env: { XDG_CACHE_HOME: "/proc/nonexistent" } })).toMatchObject({ code: 0, stdout: ANSWER, stderr: plain.stderr });
  });

  it("keeps main.js's own line numbers in stack traces, from the cache as without it", () => {
    // The launcher beside a main.js that prints a stack trace made on its fourth line (the third of its code).
    const bin = temporaryFolder();
    copyFileSync(fileURLToPath(new URL("../../dist/bin/g4f-rx.js", import.meta.url)), join(bin, "g4f-rx.js"));
    writeFileSync(join(bin, "package.json"), '{ "type": "commonjs" }\n');
    writeFileSync(join(bin, "main.js"), commandFile('"use strict";\n\nconsole.error(new Error("made on line 4").stack);\n'));
    const cache = temporaryFolder();
    for (const run of ["compiled", "from the cache"]) {
      const result = spawnSync(process.execPath, [join(bin, "g4f-rx.js")], { env: { PATH: process.env.PATH ?? "", XDG_CACHE_HOME: cache }, encoding: "utf8" });
      expect(result.status, run).toBe(0);
      expect(result.stderr, run).toContain(`${join(bin, "main.js")}:4`);
      expect(cacheFiles(join(cache, "g4f-rx")), run).toHaveLength(1);
    }
  });

  it("runs a file that threw while loading afresh on the next require, as Node's require does", () => {
    const bin = temporaryFolder();
    copyFileSync(fileURLToPath(new URL("../../dist/bin/g4f-rx.js", import.meta.url)), join(bin, "g4f-rx.js"));
    writeFileSync(join(bin, "package.json"), '{ "type": "commonjs" }\n');
    writeFileSync(join(bin, "broken.js"), commandFile('globalThis.loads = (globalThis.loads ?? 0) + 1;\nthrow new Error(`broken, load ${globalThis.loads}`);\n'));
    const attempt = 'try { require("./broken.js"); console.log("loaded"); } catch (error) { console.log(error.message); }';
    writeFileSync(join(bin, "main.js"), commandFile(`"use strict";\n${attempt}\n${attempt}\n`));
    const result = spawnSync(process.execPath, [join(bin, "g4f-rx.js")], { env: { PATH: process.env.PATH ?? "" }, encoding: "utf8" });
    expect(result.stdout).toBe("broken, load 1\nbroken, load 2\n");
  });

  it("keeps a cache per kind of run, and none after a run that failed", async () => {
    const cache = temporaryFolder();
    const folder = join(cache, "g4f-rx");
    // A usage error (no prompt) went only part of the way: its code is no cache for anything.
    expect(await runCli(["--no-log"], { env: { XDG_CACHE_HOME: cache } })).toMatchObject({ code: 2 });
    expect(cacheFiles(folder)).toEqual([]);
    // --help first: it must not stand for the questions after it.
    expect(await runCli(["--help"], { env: { XDG_CACHE_HOME: cache } })).toMatchObject({ code: 0 });
    expect(await runCli(ASK, { env: { XDG_CACHE_HOME: cache } })).toMatchObject({ code: 0, stdout: ANSWER });
    expect([...new Set(cacheFiles(folder).map((name) => /-(\w+)-v[\d.]+-\w+\.v8cache$/.exec(name)?.[1]))].sort()).toEqual(["help", "replay"]);
  });
});

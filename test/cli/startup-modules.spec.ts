import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestServer, startTestServer, streamReply, textChunks } from "g4f-rx/testing";
import { BIN, assertFreshBuild } from "./run-cli.js";

// What the command's start-up costs is measured by `npm run bench`; what it must never load is checked here, by
// name, on the paths users take most: a question to a live endpoint, and a replay. Each of these once cost the
// command tens of milliseconds at every start.
const NEVER_LOADED = [
  // Node's fetch (undici): loaded by the first use of the global Headers, Request, Response or fetch.
  "NativeModule internal/deps/undici/undici",
  // The ES module loader: started by any import() in the bundle.
  "NativeModule internal/modules/esm/translators",
  "NativeModule crypto",
  "NativeModule perf_hooks",
];

const CASSETTES = fileURLToPath(new URL("../../examples/cassettes", import.meta.url));
let folder: string;
let server: TestServer;

beforeAll(async () => {
  assertFreshBuild();
  folder = mkdtempSync(join(tmpdir(), "g4f-rx-startup-modules-"));
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
  rmSync(folder, { recursive: true, force: true });
});

/**
 * Runs `script` (the built command by default) as a user's shell does, with a home for its log and cache, after a
 * preload of `preloadLines`, every stream a pipe (as in `echo … | g4f-rx … | less` run by a script: no terminal
 * anywhere). Not spawnSync: the test server answering the command runs in this process.
 */
async function runPreloaded(name: string, preloadLines: readonly string[], args: readonly string[], { script = BIN, home = join(folder, "home") } = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const preload = join(folder, `${name}.cjs`);
  writeFileSync(preload, [...preloadLines, ""].join("\n"));
  const child = spawn(process.execPath, ["--require", preload, script, ...args], { env: { PATH: process.env.PATH ?? "", HOME: home }, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
  child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  child.stdin.end();
  const status = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  });
  return { status, stdout, stderr };
}

/**
 * Runs the built command (as a user's shell does: with a home for its log and cache), or another script, and lists
 * the modules Node loaded.
 */
async function modulesLoadedBy(
  args: readonly string[],
  script = BIN,
): Promise<{ status: number | null; stdout: string; stderr: string; modules: string[]; commandFiles: string[]; threads: number; cacheFolderCalls: string[] }> {
  const list = join(folder, "modules.json");
  const calls = join(folder, "cache-folder-calls.txt");
  rmSync(calls, { force: true });
  // Also the command's files it reads, by name: Node reads the launcher with readFileSync, the launcher opens the others.
  const commandFolder = `${dirname(BIN)}/`;
  const { status, stdout, stderr } = await runPreloaded(
    "list-modules",
    [
      'const fs = require("node:fs");',
      "const read = fs.readFileSync;",
      "const commandFiles = [];",
      `const noteFile = (path) => { if (typeof path === "string" && path.startsWith(${JSON.stringify(commandFolder)})) commandFiles.push(path.slice(${String(commandFolder.length)})); };`,
      "fs.readFileSync = function (path, ...rest) { noteFile(path); return read.call(this, path, ...rest); };",
      "const open = fs.openSync;",
      "fs.openSync = function (path, ...rest) { noteFile(path); return open.call(this, path, ...rest); };",
      // And what lists, makes or writes in the code cache's folder (reading a file's cache is expected), noted as it
      // happens: the launcher writes its caches in an exit listener that runs after this file's.
      "const append = fs.appendFileSync;",
      ...["readdirSync", "mkdirSync", "writeFileSync", "renameSync", "rmSync"].map(
        (name) =>
          `{ const original = fs.${name}; fs.${name} = function (path, ...rest) { if (typeof path === "string" && path.includes("/.cache/g4f-rx")) append(${JSON.stringify(calls)}, ${JSON.stringify(`${name}
`)}); return original.call(this, path, ...rest); }; }`,
      ),
      // And how many threads the process has at its end (Linux): Node's thread pool adds its four when first used.
      `process.on("exit", () => fs.writeFileSync(${JSON.stringify(list)}, JSON.stringify({ modules: process.moduleLoadList, commandFiles, threads: fs.readdirSync("/proc/self/task").length })));`,
    ],
    args,
    { script },
  );
  const cacheFolderCalls = existsSync(calls) ? readFileSync(calls, "utf8").split("\n").filter((name) => name !== "") : [];
  return { status, stdout, stderr, cacheFolderCalls, ...(JSON.parse(readFileSync(list, "utf8")) as { modules: string[]; commandFiles: string[]; threads: number }) };
}

/** Those of `NEVER_LOADED` that Node itself does not load for a script that prints one byte (Node 22+ starts its ES module loader for CommonJS too). */
let avoidable: string[];
/** The threads of a script that prints one byte: Node's own, without its thread pool. */
let bareThreads: number;
beforeAll(async () => {
  const bare = join(folder, "bare.cjs");
  writeFileSync(bare, 'process.stdout.write("x");\n');
  const { modules, threads } = await modulesLoadedBy([], bare);
  avoidable = NEVER_LOADED.filter((name) => !modules.includes(name));
  bareThreads = threads;
});

describe("the command's start-up", () => {
  it("asks a live endpoint and keeps the turn without loading fetch, the ES module loader, crypto, perf_hooks or (piped) tty, or starting Node's thread pool", async () => {
    for (const run of ["first", "from the code cache"]) {
      server.reply(streamReply(textChunks(["Hello", " there!"])));
      const { status, stdout, stderr, modules, commandFiles, threads, cacheFolderCalls } = await modulesLoadedBy(["--base-url", server.baseURL, "Say hello there!"]);
      // Stdin (a pipe here) is read with blocking reads, the log written synchronously, and 127.0.0.1 needs no lookup.
      expect(threads, run).toBe(bareThreads);
      // The first run writes its caches at exit; a run from them leaves the cache folder alone.
      expect(cacheFolderCalls.length > 0, run).toBe(run === "first");
      expect({ run, status, stdout, stderr }).toStrictEqual({ run, status: 0, stdout: "Hello there!\n", stderr: "" });
      // Whether stdin and stdout are terminals is told by fstat when they are pipes: node:tty is for terminals.
      expect(modules, run).not.toContain("NativeModule tty");
      // The launcher (read by Node), the question's own code and openai's error classes; the replay, serve, chat,
      // logs… each have their own file.
      expect(commandFiles, run).toStrictEqual(["g4f-rx.js", "main.js", "openai-error.js"]);
      // The preload itself is proof the list is real: http is loaded for the request.
      expect(modules).toContain("NativeModule http");
      expect(modules.filter((name) => avoidable.includes(name)), run).toEqual([]);
    }
  });

  it("replays a cassette without loading fetch, the ES module loader, crypto, perf_hooks or http", async () => {
    for (const run of ["first", "from the code cache"]) {
      const { status, stdout, modules, commandFiles } = await modulesLoadedBy(["--replay", CASSETTES, "Say hello there!"]);
      expect({ run, status, stdout }).toStrictEqual({ run, status: 0, stdout: "Hello there! How can I help you today?\n" });
      expect(commandFiles, run).toStrictEqual(["g4f-rx.js", "main.js", "openai-error.js", "replay.js"]);
      expect(modules.filter((name) => [...avoidable, "NativeModule http"].includes(name)), run).toEqual([]);
    }
  });
});

describe("the command's expected failures", () => {
  /** Runs the built command with a preload that notes every exception thrown in the process, caught or not. */
  async function exceptionsOf(args: readonly string[], home: string): Promise<{ status: number | null; stdout: string; exceptions: string[] }> {
    const list = join(folder, "exceptions.json");
    const { status, stdout } = await runPreloaded(
      "note-exceptions",
      [
        'const inspector = require("node:inspector");',
        "const session = new inspector.Session();",
        "session.connect();",
        "const exceptions = [];",
        'session.on("Debugger.paused", (message) => { exceptions.push(String(message.params.data?.description ?? "").split("\\n")[0]); session.post("Debugger.resume"); });',
        'session.post("Debugger.enable");',
        'session.post("Debugger.setPauseOnExceptions", { state: "all" });',
        `process.on("exit", () => require("node:fs").writeFileSync(${JSON.stringify(list)}, JSON.stringify(exceptions)));`,
      ],
      args,
      { home },
    );
    return { status, stdout, exceptions: JSON.parse(readFileSync(list, "utf8")) as string[] };
  }

  it("throws no exception on a question or a -c one, once its cache and data folders are there: a missing config file, or a conversation's folder, is looked for, not failed on", async () => {
    const home = join(folder, "home-exceptions");
    // The first run makes the folders and the code cache (expected failures: no cache yet, no folder yet).
    for (const [index, args] of [["Say hello there!"], ["Say hello there!"], ["-c", "And again?"]].entries()) {
      server.reply(streamReply(textChunks(["Hello", " there!"])));
      const run = await exceptionsOf(["--base-url", server.baseURL, ...args], home);
      expect({ status: run.status, stdout: run.stdout }).toStrictEqual({ status: 0, stdout: "Hello there!\n" });
      if (index > 0) expect(run.exceptions, args.join(" ")).toEqual([]);
    }
  });
});

import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Script } from "node:vm";

// The `g4f-rx` executable (dist/bin/g4f-rx.js). It runs the bundled command, main.js, from V8's code cache: the
// bytecode of every function the last run compiled. A command run in a shell loop then spends its start-up
// answering, not compiling its own code again. The cache is per user, under $XDG_CACHE_HOME/g4f-rx (or
// ~/.cache/g4f-rx); NODE_DISABLE_COMPILE_CACHE=1, Node's own switch for its compile cache, turns it off.
// Node's built-in compile cache (22.1+) keeps only the code compiled before a module runs, which is little here.

/** The digest of main.js, written into this file when both are built (scripts/build-cli.mjs). */
declare const G4F_RX_MAIN_DIGEST: string;

/** The end of a cache's name: which Node it is for. */
const NODE_SUFFIX = `-${process.version}-${process.arch}.v8cache`;
const directory = fileURLToPath(new URL(".", import.meta.url));
const file = join(directory, "main.js");
const source = readFileSync(file, "utf8");
const cache = codeCache(process.env);
let cachedData: Buffer | undefined;
if (cache !== undefined) {
  try {
    cachedData = readFileSync(cache.file);
  } catch {
    // None yet (or unreadable): the run compiles as usual and leaves one.
  }
}

// One line of its own for the wrapper, so that stack traces give main.js's own line numbers.
const script = new Script(`(function (exports, require, module, __filename, __dirname) {\n${source}\n})`, { filename: file, lineOffset: -1, cachedData });
if (cache !== undefined && (cachedData === undefined || script.cachedDataRejected === true)) {
  // At exit, so the cache holds what this run compiled, not only the outline V8 compiles up front; and only after a
  // run that succeeded, which went the whole way. A usage error or a failed request, or a run ended by a signal,
  // leaves none: the next run tries again.
  process.once("exit", (code) => {
    if (code === 0) keep(cache, script);
  });
}
const main = { exports: {} };
(script.runInThisContext() as (...args: unknown[]) => void)(main.exports, createRequire(file), main, file, directory);

/** A code cache: its file, and the start of the names of this build's caches. */
interface CodeCache {
  readonly file: string;
  readonly build: string;
}

/**
 * Where this main.js's code cache for this kind of run is, for this Node version, or undefined when there is no
 * per-user cache directory or the cache is turned off. V8 checks the Node version and flags, but of the source only
 * its length: the name carries the build's digest, and main.js's size and time, so an edited main.js never runs
 * stale code.
 */
function codeCache(env: NodeJS.ProcessEnv): CodeCache | undefined {
  if (env.NODE_DISABLE_COMPILE_CACHE !== undefined && env.NODE_DISABLE_COMPILE_CACHE !== "" && env.NODE_DISABLE_COMPILE_CACHE !== "0") return undefined;
  const base = env.XDG_CACHE_HOME?.startsWith("/") === true ? env.XDG_CACHE_HOME : env.HOME === undefined || env.HOME === "" ? undefined : join(env.HOME, ".cache");
  if (base === undefined) return undefined;
  const { size, mtimeMs } = statSync(file);
  const build = `main-${G4F_RX_MAIN_DIGEST}-${size}-${Math.trunc(mtimeMs)}-`;
  return { file: join(base, "g4f-rx", `${build}${runKind(process.argv.slice(2))}${NODE_SUFFIX}`), build };
}

/**
 * The kind of run, by the command line: a subcommand, help, a replay or a question. Each kind keeps its own cache,
 * since each compiles different code: a first run that only showed --help must not stand for every question after
 * it. A guess from a few words, never an error: a wrong guess costs only the cache's gain.
 */
function runKind(args: readonly string[]): string {
  const [first] = args;
  if (first === "serve" || first === "chat" || first === "logs" || first === "models" || first === "config") return first;
  const end = args.indexOf("--");
  const flags = end < 0 ? args : args.slice(0, end);
  if (flags.some((arg) => arg === "-h" || arg === "--help" || arg === "-V" || arg === "--version")) return "help";
  if (flags.some((arg) => arg === "--replay" || arg.startsWith("--replay="))) return "replay";
  return "ask";
}

/**
 * Writes the cache atomically (a reader sees the old file or the whole new one) and removes older builds' caches. Failing here only means the next run compiles again, so a failure is not reported: the
 * command's output and exit status must not depend on its cache.
 */
function keep(cache: CodeCache, compiled: Script): void {
  try {
    const folder = join(cache.file, "..");
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    const temporary = `${cache.file}.${process.pid}.tmp`;
    writeFileSync(temporary, compiled.createCachedData(), { mode: 0o600 });
    renameSync(temporary, cache.file);
    // Older builds' caches for this Node; those of other Node versions stay, for whoever runs those.
    for (const other of readdirSync(folder)) {
      if (other.startsWith("main-") && !other.startsWith(cache.build) && other.endsWith(NODE_SUFFIX)) rmSync(join(folder, other), { force: true });
    }
  } catch {
    // See above: the next run compiles again.
  }
}

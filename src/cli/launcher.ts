import { type Stats, closeSync, fstatSync, openSync, readSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Script } from "node:vm";
import { makeFolder } from "../folders.js";
import { maybeTerminal } from "./is-terminal.js";

// The `g4f-rx` executable (dist/bin/g4f-rx.js). It runs the bundled command, main.js, and the files main.js requires
// on first use (the openai client, markdown-it, lowlight, openai's error classes), from V8's code cache: the bytecode of
// every function the last run compiled. A command run in a shell loop then spends its start-up answering, not
// compiling its own code again; a question on a terminal does not compile the markdown renderer each time. The cache
// is per user, under $XDG_CACHE_HOME/g4f-rx (or ~/.cache/g4f-rx); NODE_DISABLE_COMPILE_CACHE=1, Node's own switch for
// its compile cache, turns it off. Node's built-in compile cache (22.1+) keeps only the code compiled before a module
// runs, which is little here.

/** The digest of each file of the command (`main.js` → 16 hex digits), written into this file by scripts/build-cli.mjs. */
declare const G4F_RX_DIGESTS: Readonly<Record<string, string>>;

/** A file of the command as CommonJS sees it. */
interface CommandModule {
  exports: unknown;
}

/** The end of a cache's name: which Node it is for. */
const NODE_SUFFIX = `-${process.version}-${process.arch}.v8cache`;
const directory = import.meta.dirname;
const cacheFolder = cacheDirectory(process.env);
const kind = runKind(process.argv.slice(2));
const modules = new Map<string, CommandModule>();
/** The files this run compiled without a cache (none yet, or rejected): their caches are written at exit. */
const compiled: Array<{ readonly name: string; readonly script: Script }> = [];

if (cacheFolder !== undefined) {
  // At exit, so a cache holds what this run compiled, not only the outline V8 compiles up front; and only after a run
  // that succeeded, which went the whole way. A usage error or a failed request, or a run ended by a signal, leaves
  // none: the next run tries again. A run that compiled nothing (every file from its cache) touches nothing.
  process.once("exit", (code) => {
    if (code === 0 && compiled.length > 0) keep(cacheFolder);
  });
}
load("main.js");

/**
 * Runs a file of the command once, as CommonJS would (`exports`, `require`, `module`, `__filename`, `__dirname`), from
 * its code cache when there is a valid one, and returns its exports. Its `require` gives the command's own files
 * (`./name.js`) the same way, so each exists once (openai's error classes, shared by main.js and the client, must),
 * and everything else (Node's modules, ioredis) through Node.
 */
function load(name: string): unknown {
  const known = modules.get(name);
  if (known !== undefined) return known.exports;
  const file = join(directory, name);
  const { source, cachedData, cache } = readWithCache(file, name);
  // The file is already CommonJS's function (scripts/build-cli.mjs wraps it), so its text is compiled as it is: V8
  // would copy a text joined to a wrapper whole, on every run.
  const script = new Script(source, { filename: file, cachedData });
  if (cache !== undefined && (cachedData === undefined || script.cachedDataRejected === true)) compiled.push({ name, script });
  const module: CommandModule = { exports: {} };
  modules.set(name, module);
  try {
    (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, requireInCommand, module, file, directory);
  } catch (error) {
    // As Node's own require: a file that failed is run afresh by the next require, not half there.
    modules.delete(name);
    throw error;
  }
  return module.exports;
}

/**
 * A file's text and its code cache (`undefined` when there is none yet, or it cannot be read: the run compiles as usual
 * and leaves one), read through one buffer: the text is decoded from it, then the cache read over it. A page of memory
 * a process touches for the first time costs it a page fault, which is dear in a virtual machine (about 12 µs a page
 * on the machine the bench ran on); reading each into a buffer of its own (readFileSync) touched half a megabyte
 * more on every run.
 */
function readWithCache(file: string, name: string): { readonly source: string; readonly cachedData: Buffer | undefined; readonly cache: string | undefined } {
  const descriptor = openSync(file, "r");
  let cacheDescriptor: number | undefined;
  try {
    const stats = fstatSync(descriptor);
    const cache = cacheFolder === undefined ? undefined : join(cacheFolder, cacheName(name, stats));
    let cacheSize = 0;
    if (cache !== undefined) {
      try {
        cacheDescriptor = openSync(cache, "r");
        cacheSize = fstatSync(cacheDescriptor).size;
      } catch {
        // None yet, or unreadable (a descriptor opened here is closed below): compiled without one, which leaves one.
        cacheSize = 0;
      }
    }
    const buffer = Buffer.allocUnsafeSlow(Math.max(stats.size, cacheSize, 1));
    const source = buffer.toString("utf8", 0, readAll(descriptor, buffer, stats.size));
    let cachedData: Buffer | undefined;
    if (cacheDescriptor !== undefined && cacheSize > 0) {
      try {
        cachedData = buffer.subarray(0, readAll(cacheDescriptor, buffer, cacheSize));
      } catch {
        // Unreadable after all: compiled as without one.
      }
    }
    return { source, cachedData, cache };
  } finally {
    closeSync(descriptor);
    if (cacheDescriptor !== undefined) closeSync(cacheDescriptor);
  }
}

/** Reads up to `size` bytes from the start of the file into `buffer`; returns how many there were. */
function readAll(descriptor: number, buffer: Buffer, size: number): number {
  let read = 0;
  while (read < size) {
    const count = readSync(descriptor, buffer, read, size - read, read);
    if (count === 0) break;
    read += count;
  }
  return read;
}

function requireInCommand(specifier: string): unknown {
  // This file's own require: it is in the same folder as the files it loads.
  return /^\.\/[\w-]+\.js$/.test(specifier) ? load(specifier.slice(2)) : module.require(specifier);
}

/** The per-user cache folder, or undefined when there is none (no XDG_CACHE_HOME nor HOME) or the cache is turned off. */
function cacheDirectory(env: NodeJS.ProcessEnv): string | undefined {
  if (env.NODE_DISABLE_COMPILE_CACHE !== undefined && env.NODE_DISABLE_COMPILE_CACHE !== "" && env.NODE_DISABLE_COMPILE_CACHE !== "0") return undefined;
  const base = env.XDG_CACHE_HOME?.startsWith("/") === true ? env.XDG_CACHE_HOME : env.HOME === undefined || env.HOME === "" ? undefined : join(env.HOME, ".cache");
  return base === undefined ? undefined : join(base, "g4f-rx");
}

/**
 * The name of a file's code cache for this kind of run and this Node version. V8 checks the Node version and flags,
 * but of the source only its length: the name carries the build's digest of the file, and the file's size and time,
 * so an edited file never runs stale code.
 */
function cacheName(name: string, stats?: Stats): string {
  return `${buildOf(name, stats)}${kind}${NODE_SUFFIX}`;
}

/** The start of the names of a file's caches made from this copy of it: `main-<digest>-<size>-<time>-`. */
function buildOf(name: string, stats: Stats = statSync(join(directory, name))): string {
  const { size, mtimeMs } = stats;
  return `${stemOf(name)}-${G4F_RX_DIGESTS[name] ?? "0000000000000000"}-${size}-${Math.trunc(mtimeMs)}-`;
}

function stemOf(name: string): string {
  return name.replace(/\.js$/, "");
}

/**
 * The kind of run, by the command line: a subcommand, help, a replay or a question, and whether the answer is
 * rendered as markdown (on a terminal, or `--render always`). Each kind keeps its own caches, since each compiles
 * different code: a first run that only showed --help must not stand for every question after it, nor a question
 * piped into a file for one asked on a terminal. A guess from a few words, never an error: a wrong guess costs only
 * the cache's gain.
 */
function runKind(args: readonly string[]): string {
  const [first] = args;
  if (first === "serve" || first === "chat" || first === "logs" || first === "models" || first === "config") return first;
  const end = args.indexOf("--");
  const flags = end < 0 ? args : args.slice(0, end);
  if (flags.some((arg) => arg === "-h" || arg === "--help" || arg === "-V" || arg === "--version")) return "help";
  const kind = flags.some((arg) => arg === "--replay" || arg.startsWith("--replay=")) ? "replay" : "ask";
  return rendered(flags) ? `${kind}-rendered` : kind;
}

/** Whether the answer is likely rendered: `--render always`, or a terminal on stdout without `--render never` or `--json`. */
function rendered(flags: readonly string[]): boolean {
  const render = flags.reduce<string | undefined>((last, arg, index) => (arg === "--render" ? flags[index + 1] : arg.startsWith("--render=") ? arg.slice(9) : last), undefined);
  if (render === "always") return true;
  return render !== "never" && !flags.includes("--json") && maybeTerminal(1) && (module.require("node:tty") as typeof import("node:tty")).isatty(1);
}

/**
 * Writes the caches of the files this run compiled, each atomically (a reader sees the old file or the whole new one),
 * and removes older builds' caches of those files. Failing here only means the next run compiles again, so a failure
 * is not reported: the command's output and exit status must not depend on its cache.
 */
function keep(folder: string): void {
  try {
    makeFolder(folder, 0o700);
    for (const { name, script } of compiled) {
      const file = join(folder, cacheName(name));
      const temporary = `${file}.${process.pid}.tmp`;
      writeFileSync(temporary, script.createCachedData(), { mode: 0o600 });
      renameSync(temporary, file);
    }
    // Caches of other builds or copies of these files for this Node; those of other Node versions stay, for whoever
    // runs those.
    const builds = compiled.map(({ name }) => ({ current: buildOf(name), any: new RegExp(`^${stemOf(name)}-[0-9a-f]{16}-`) }));
    for (const other of readdirSync(folder)) {
      if (other.endsWith(NODE_SUFFIX) && builds.some(({ current, any }) => any.test(other) && !other.startsWith(current))) rmSync(join(folder, other), { force: true });
    }
  } catch {
    // See above: the next run compiles again.
  }
}

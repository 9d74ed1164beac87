// @ts-check
// Bundles the g4f-rx command into dist/bin/: main.js, what a question needs, minified CommonJS with rxjs inside;
// g4f-rx.js, the executable, which runs main.js and the files below from V8's code cache (src/cli/launcher.ts); and
// the files only some runs need, which main.js `require`s on first use. Why:
// - CommonJS, because Node's ES module loader alone costs more start-up time than everything the command then does;
//   dist/bin/package.json marks the folder as CommonJS. For the same reason no `import()` is left in the output
//   (`dynamic-import: false` makes esbuild turn it into `require`): an `import()` of `node:https` or of a lazy file
//   would start that loader.
// - Separate files, because V8 must at least pre-parse every byte of a script it loads, even code that never runs.
//   The `openai` client (for --api responses, models, chat), markdown-it, lowlight and string-width (markdown on a
//   terminal) are most of the command's code; the command's own modules that it imports on first use (the replay,
//   serve, chat, logs, the renderer…) are each a file too (see LAZY_MODULES). A plain question needs none of them.
// - One copy of each module in a run: openai's error classes are one file (openai-error.js), required by the command
//   and by the client file alike, so that `instanceof APIError` holds whichever of them made the error; a lazy file
//   takes what main.js already holds from main.js (see buildCommandFiles).
import { createHash } from "node:crypto";
import { chmod, readFile, rm, writeFile } from "node:fs/promises";
import { relative, resolve } from "node:path";
import process from "node:process";
import { build } from "esbuild";

const outdir = "dist/bin";

/** Packages loaded only by some runs: their files beside main.js, and what the command takes from them. */
const LAZY_PACKAGES = {
  // Named exports where there are: the command imports `{ OpenAI }`, as a default import would be the whole file in
  // CommonJS.
  openai: { file: "openai.js", contents: 'export * from "openai";' },
  // markdown-it's only export is its default, the parser's class: the file's exports are that class, as a default
  // import of a CommonJS file means in Node (and in main.js, bundled for Node).
  "markdown-it": { file: "markdown-it.js", contents: 'module.exports = require("markdown-it");' },
  // Only the common languages' grammars: all of highlight.js's would be a megabyte.
  lowlight: { file: "lowlight.js", contents: 'export { common, createLowlight } from "lowlight";' },
  // The terminal width of text beyond ASCII, for the renderer's tables and the spinner's line (7 KB: East Asian widths,
  // emoji, escape sequences).
  // Its only export is its default, the function: made the file's exports, as markdown-it's class is.
  "string-width": { file: "string-width.js", contents: 'module.exports = require("string-width").default;' },
};
const OPENAI_ERRORS = "openai-error.js";
/** The module, in the installed openai package, whose classes must exist once. */
const OPENAI_ERROR_MODULE = /[\\/]node_modules[\\/]openai[\\/]core[\\/]error\.m?js$/;

/**
 * Points imports of the lazy packages (but `own`, the one being built) and of openai's error module at their files
 * beside main.js, instead of bundling them in.
 * @param {string | undefined} own
 * @returns {import("esbuild").Plugin}
 */
function separateFiles(own) {
  return {
    name: "g4f-rx-separate-files",
    setup(plugin) {
      const packages = Object.keys(LAZY_PACKAGES).filter((name) => name !== own);
      if (packages.length > 0) {
        plugin.onResolve({ filter: new RegExp(`^(${packages.join("|")})$`) }, (args) => ({
          path: `./${LAZY_PACKAGES[/** @type {keyof typeof LAZY_PACKAGES} */ (args.path)].file}`,
          external: true,
        }));
      }
      // openai reaches its error module by relative paths ("./core/error.mjs", "../core/error.mjs"), the sources by
      // "openai/core/error": resolve each, and compare what it resolves to.
      plugin.onResolve({ filter: /error(\.m?js)?$/ }, async (args) => {
        if (args.pluginData === "resolving") return undefined;
        const resolved = await plugin.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: "resolving" });
        return OPENAI_ERROR_MODULE.test(resolved.path) ? { path: `./${OPENAI_ERRORS}`, external: true } : undefined;
      });
    },
  };
}

/**
 * The command's own modules that it imports only on first use (`import()`), each its own file beside main.js, and the
 * files that are always loaded before each (serve imports replay; serve-relay is loaded by serve; chat imports the
 * editor). A file takes every module that main.js or one of those files holds from that file (through its `__held`),
 * so that such a module exists once in a run: one copy of each class and of each module's state.
 */
const LAZY_MODULES = /** @type {const} */ ({
  replay: [],
  markdown: [],
  extract: [],
  editor: [],
  models: [],
  logs: [],
  chat: ["editor"],
  serve: ["replay"],
  "serve-relay": ["serve", "replay"],
});
/** @typedef {"main" | keyof typeof LAZY_MODULES} CommandFile */
const LAZY_NAMES = /** @type {Array<keyof typeof LAZY_MODULES>} */ (Object.keys(LAZY_MODULES));
const LAZY_PATHS = new Map(LAZY_NAMES.map((name) => [resolve(`src/cli/${name}.ts`), name]));
const LAZY_SPECIFIER = new RegExp(`^\\./(${LAZY_NAMES.join("|")})\\.js$`);
const HELD_PREFIX = "g4f-rx-held|";

/**
 * Points the `import()` of a lazy module (but `own`, the one being built) at its file beside main.js.
 * @param {CommandFile} own
 * @returns {import("esbuild").Plugin}
 */
function lazyFiles(own) {
  return {
    name: "g4f-rx-lazy-files",
    setup(plugin) {
      plugin.onResolve({ filter: LAZY_SPECIFIER }, (args) => {
        const name = LAZY_PATHS.get(resolve(args.resolveDir, args.path.replace(/\.js$/, ".ts")));
        return name === undefined || name === own ? undefined : { path: `./${name}.js`, external: true };
      });
    },
  };
}

/**
 * Takes each module that `holders` hold (path → file) from that file instead of bundling it again. In an analysis
 * (`handed` undefined) it stays an import of `g4f-rx-held|file|path`, so that the output lists the names used; in the
 * real build it is a small module that exports those names from the holder's `__held()` list.
 * @param {ReadonlyMap<string, CommandFile>} holders
 * @param {Handed | undefined} handed
 * @param {ReadonlyMap<string, string[]> | undefined} exportNames every export of each module handed on
 * @returns {import("esbuild").Plugin}
 */
function takeHeld(holders, handed, exportNames) {
  return {
    name: "g4f-rx-take-held",
    setup(plugin) {
      plugin.onResolve({ filter: /.*/ }, async (args) => {
        if (args.namespace === "g4f-rx-held") return { path: args.path, external: true };
        if (args.pluginData === "resolving" || args.kind === "entry-point" || LAZY_SPECIFIER.test(args.path)) return undefined;
        // Every build resolves the same imports again: esbuild's answer, asked across processes, is kept.
        const key = `${args.resolveDir}\0${args.kind}\0${args.path}`;
        let resolving = resolvedPaths.get(key);
        if (resolving === undefined) {
          resolving = plugin.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: "resolving" }).then((resolved) => (resolved.errors.length === 0 ? resolved.path : ""));
          resolvedPaths.set(key, resolving);
        }
        const path = await resolving;
        const holder = holders.get(path);
        // A module the analysis took nothing from (its imports were all dropped as unused) is bundled, and dropped again.
        if (holder === undefined || (handed !== undefined && handed.get(holder)?.has(path) !== true)) return undefined;
        return handed === undefined ? { path: `${HELD_PREFIX}${holder}|${path}`, external: true } : { path, namespace: "g4f-rx-held", sideEffects: false };
      });
      plugin.onLoad({ filter: /.*/, namespace: "g4f-rx-held" }, ({ path }) => {
        const holder = holders.get(path);
        if (holder === undefined) throw new Error(`${path} has no holder`);
        const given = handed?.get(holder);
        const place = [...(given?.keys() ?? [])].indexOf(path);
        const names = [...(given?.get(path) ?? [])];
        // Every export of the module, for esbuild links each import of it, also in code it then drops; those the
        // analysis saw no file use are left out of the list, and fail loudly if used after all.
        const all = exportNames?.get(path) ?? [];
        const lines = [`const held = /* @__PURE__ */ require("./${holder}.js").__held()[${String(place)}];`];
        all.forEach((name, index) => {
          const at = names.indexOf(name);
          lines.push(`const held${String(index)} = ${at < 0 ? `/* @__PURE__ */ (() => { throw new Error(${JSON.stringify(`${name} of ${path} is not handed on by ${holder}.js`)}); })()` : `held[${String(at)}]`};`);
        });
        lines.push(`export { ${all.map((name, index) => `held${String(index)} as ${name}`).join(", ")} };`);
        return { contents: lines.join("\n"), loader: "js" };
      });
    },
  };
}

/**
 * The names each module exports, as esbuild reads them (one build for them all).
 * @param {readonly string[]} paths
 * @returns {Promise<Map<string, string[]>>}
 */
async function exportsOf(paths) {
  const { metafile } = await build({ entryPoints: [...paths], bundle: false, write: false, metafile: true, format: "esm", outdir: "/exports", outbase: "/", logLevel: "silent" });
  /** @type {Map<string, string[]>} */
  const names = new Map();
  for (const output of Object.values(metafile.outputs)) if (output.entryPoint !== undefined) names.set(resolve(output.entryPoint), output.exports);
  for (const path of paths) {
    if (!names.has(path)) throw new Error(`esbuild listed no exports for ${path}`);
    if (/^\s*export\s*\*/m.test(await readFile(path, "utf8"))) throw new Error(`${path} has \`export *\`, whose names takeHeld cannot list`);
  }
  return names;
}

/** What esbuild resolves each import to (directory, kind, specifier → path, or "" when it cannot). @type {Map<string, Promise<string>>} */
const resolvedPaths = new Map();

/** @typedef {Map<CommandFile, Map<string, Set<string>>>} Handed each file's modules that others take, with the names they take */

/**
 * Whether a module only passes on other modules' exports (`export … from`, as rxjs's index and our barrels do): a file
 * that imports it bundles it, and takes what it forwards from the files holding those.
 * @param {string} path
 */
async function onlyForwards(path) {
  const text = (await readFile(path, "utf8")).replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  return text.split(";").every((statement) => /^\s*((export|import)\s+(type\s+)?(\*(\s+as\s+\w+)?|\{[^}]*\})\s+from\s+["'][^"']+["']|export\s*\{\s*\})?\s*$/.test(statement));
}

/** @param {import("esbuild").Metafile} metafile */
function entryOutput(metafile) {
  const [output] = Object.values(metafile.outputs).filter((candidate) => candidate.entryPoint !== undefined);
  if (output === undefined) throw new Error("a build wrote no entry point");
  return output;
}

/**
 * The modules a build holds: those with code in its file (not the ones it takes, nor those that only forward).
 * @param {import("esbuild").Metafile} metafile
 * @returns {Promise<string[]>}
 */
async function heldBy(metafile) {
  const held = [];
  for (const [path, { bytesInOutput }] of Object.entries(entryOutput(metafile).inputs)) {
    // (Not the stub that makes a file's entry, `main-entry.js`.)
    if (bytesInOutput === 0 || path.includes(":") || /^[\w-]+-entry\.js$/.test(path) || (await onlyForwards(path))) continue;
    held.push(resolve(path));
  }
  return held;
}

/**
 * The names an analysis output imports from the modules it takes (`import { a, b as c } from "g4f-rx-held|main|path"`),
 * added to `handed`. A module imported whole (`import * as`, or `import()`, which is a `require` in the output) takes
 * every name it exports, noted as `*`.
 * @param {string} code
 * @param {Handed} handed
 */
function noteTaken(code, handed) {
  const escaped = HELD_PREFIX.replace("|", "\\|");
  const take = (/** @type {string} */ holder, /** @type {string} */ path, /** @type {readonly string[]} */ names) => {
    const given = handed.get(/** @type {CommandFile} */ (holder));
    if (given === undefined) throw new Error(`${path} is taken from ${holder}.js, which is not a file of the command`);
    const taken = given.get(path) ?? new Set();
    for (const name of names) taken.add(name);
    given.set(path, taken);
  };
  for (const [, clause = "", holder = "", path = ""] of code.matchAll(new RegExp(`(?:import|export)\\s*([^;"(]*?)\\s*(?:from)?\\s*"${escaped}([\\w-]+)\\|([^"]+)"`, "g"))) {
    const trimmed = clause.trim();
    // A bare `import "…"` (the module runs for its effects) takes no names, only the module.
    if (trimmed === "") take(holder, path, []);
    else if (/^\*\s*as\s+[\w$]+$/.test(trimmed)) take(holder, path, ["*"]);
    else {
      const list = /^\{([^}]*)\}$/.exec(trimmed)?.[1];
      if (list === undefined) throw new Error(`${path} is taken from ${holder}.js as \`${clause}\`, which takeHeld does not read`);
      take(holder, path, list.split(",").map((item) => item.trim().split(/\s+as\s+/)[0] ?? "").filter((name) => name !== ""));
    }
  }
  // A call (`import("…")`, or the `require` esbuild writes for it under whatever name minifying gave it) takes it whole.
  for (const [, holder = "", path = ""] of code.matchAll(new RegExp(`[\\w$]+\\(\\s*"${escaped}([\\w-]+)\\|([^"]+)"\\s*\\)`, "g"))) take(holder, path, ["*"]);
}

/**
 * Replaces each `*` (a module taken whole) by every name the module exports.
 * @param {Handed} handed
 */
async function expandWhole(handed) {
  const whole = [...handed.values()].flatMap((given) => [...given].filter(([, names]) => names.has("*")).map(([path]) => path));
  if (whole.length === 0) return;
  const names = await exportsOf(whole);
  for (const given of handed.values()) {
    for (const [path, taken] of given) {
      if (!taken.delete("*")) continue;
      for (const name of names.get(path) ?? []) taken.add(name);
    }
  }
}

/**
 * Builds main.js and the lazy modules' files so that each module a file can share with the files loaded before it
 * exists once. An analysis first (nothing written): main.js, then each lazy file, taking what main.js and the files
 * loaded before it hold; its output lists the names each file takes from each module. Then each file is built with
 * a `__held()` list of those names, made on first use, and those that take from it get them from there. The names,
 * not whole modules: a module's other exports (and what they import) would otherwise be kept alive in main.js.
 */
async function buildCommandFiles() {
  /** @type {CommandFile[]} */
  const files = ["main", ...LAZY_NAMES];
  const entryOf = (/** @type {CommandFile} */ file) => (file === "main" ? resolve("src/cli/bin.ts") : resolve(`src/cli/${file}.ts`));
  /** @type {Map<CommandFile, string[]>} */
  const held = new Map();
  /** @type {Handed} */
  const handed = new Map(files.map((file) => [file, new Map()]));
  /** What main.js and the files loaded before `file` hold (a module held by two of them: by the first). */
  const holdersFor = (/** @type {CommandFile} */ file) => {
    /** @type {Map<string, CommandFile>} */
    const holders = new Map();
    for (const before of file === "main" ? [] : /** @type {CommandFile[]} */ (["main", ...LAZY_MODULES[file]])) for (const path of held.get(before) ?? []) if (!holders.has(path)) holders.set(path, before);
    return holders;
  };
  const options = (/** @type {CommandFile} */ file, /** @type {Handed | undefined} */ taking, /** @type {Map<string, string[]> | undefined} */ exportNames) => {
    const holders = holdersFor(file);
    return { ...commandOptions, metafile: true, plugins: [lazyFiles(file), separateFiles(undefined), ...(holders.size === 0 ? [] : [takeHeld(holders, taking, exportNames)])] };
  };
  /**
   * A file's entry: its module, and the names it hands on, kept alive (an analysis) or listed in `__held()`.
   * @param {CommandFile} file
   * @param {Handed} giving
   * @param {boolean} final
   */
  const entry = (file, giving, final) => {
    const given = [...(giving.get(file) ?? [])];
    const imports = given.map(([path, names], place) => `${final ? "import" : "export"} { ${[...names].map((name, index) => `${name} as held${place}_${index}`).join(", ")} } from ${JSON.stringify(path)};`);
    const list = `[${given.map(([, names], place) => `[${[...names].map((_, index) => `held${place}_${index}`).join(", ")}]`).join(", ")}]`;
    return {
      contents: [file === "main" ? `import ${JSON.stringify(entryOf(file))};` : `export * from ${JSON.stringify(entryOf(file))};`, ...imports, ...(final ? ["let held;", `export const __held = () => (held ??= ${list});`] : [])].join("\n"),
      resolveDir: process.cwd(),
      sourcefile: `${file}-entry.js`,
      loader: /** @type {const} */ ("js"),
    };
  };
  // The analysis: what each file holds and takes. Names handed on keep their code alive in the holder, and with it
  // what that code takes or holds: repeated until the names handed on no longer change.
  for (let round = 1, last = ""; ; round += 1) {
    const giving = new Map([...handed].map(([file, given]) => [file, new Map(given)]));
    for (const given of handed.values()) given.clear();
    held.clear();
    // Each file once main.js and the files loaded before it are analysed, the others side by side.
    /** @type {Map<CommandFile, Promise<void>>} */
    const analysed = new Map();
    for (const file of files) {
      const before = file === "main" ? [] : ["main", ...LAZY_MODULES[file]];
      analysed.set(
        file,
        Promise.all(before.map((earlier) => /** @type {Promise<void>} */ (analysed.get(/** @type {CommandFile} */ (earlier))))).then(async () => {
          const result = await build({ ...options(file, undefined, undefined), format: "esm", write: false, stdin: entry(file, giving, false), outdir });
          held.set(file, await heldBy(result.metafile));
          for (const output of result.outputFiles) if (output.path.endsWith(".js")) noteTaken(output.text, handed);
        }),
      );
    }
    await Promise.all(analysed.values());
    await expandWhole(handed);
    const now = JSON.stringify([...handed].map(([file, given]) => [file, [...given].map(([path, names]) => [path, [...names].sort()]).sort()]));
    if (now === last) {
      if (process.env.G4F_RX_BUILD_REPORT === "1") process.stderr.write(`the analysis settled in ${String(round)} rounds\n`);
      break;
    }
    if (round === 6) throw new Error("the names the command's files hand on do not settle");
    last = now;
  }
  const exportNames = await exportsOf([...new Set([...handed.values()].flatMap((given) => [...given.keys()]))]);
  const built = await Promise.all(
    files.map(async (file) => {
      const result = await build({ ...options(file, handed, exportNames), stdin: entry(file, handed, true), outfile: `${outdir}/${file}.js` });
      return { file, held: await heldBy(result.metafile) };
    }),
  );
  // No module may be in a file and in one loaded before it (two copies of its classes and state in a run).
  for (const { file, held: now } of built) {
    const before = holdersFor(file);
    const twice = now.filter((path) => before.has(path));
    if (twice.length > 0) throw new Error(`${file}.js holds modules that ${[...new Set(twice.map((path) => before.get(path)))].join(", ")} hold(s) too: ${twice.map((path) => relative(".", path)).join(", ")}`);
  }
  if (process.env.G4F_RX_BUILD_REPORT === "1") {
    for (const [file, given] of handed) process.stderr.write(`${file}.js hands on ${String(given.size)} modules, ${String([...given.values()].reduce((sum, names) => sum + names.size, 0))} names\n`);
  }
}

/** @type {import("esbuild").BuildOptions} */
const common = {
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  treeShaking: true,
  supported: { "dynamic-import": false },
  // The Redis client is an optional peer dependency, loaded only by `serve --redis`.
  external: ["ioredis"],
  legalComments: "none",
  // Less to read and parse at every start. Error classes set their `name` themselves, so renaming them is harmless.
  minify: true,
  logLevel: "warning",
};

await rm(outdir, { recursive: true, force: true });
/** @type {unknown} */
const manifest = JSON.parse(await readFile("package.json", "utf8"));
if (typeof manifest !== "object" || manifest === null || !("version" in manifest) || typeof manifest.version !== "string") throw new Error("package.json has no version");
const { version } = manifest;
/** @type {import("esbuild").BuildOptions} */
const commandOptions = {
  ...common,
  // rxjs lists its CommonJS build under the "node" condition, which cannot be tree-shaken; its ES2015 build can.
  alias: { rxjs: "./node_modules/rxjs/dist/esm/index.js" },
  // The version is written in, so a run does not look for package.json.
  define: { G4F_RX_VERSION: JSON.stringify(version) },
};
await buildCommandFiles();
const separate = [
  ...Object.entries(LAZY_PACKAGES).map(([name, { file, contents }]) => ({ own: name, file, contents })),
  { own: undefined, file: OPENAI_ERRORS, contents: 'export * from "openai/core/error";' },
];
await Promise.all(
  separate.map(({ own, file, contents }) =>
    build({
      ...common,
      stdin: { contents, resolveDir: process.cwd(), sourcefile: file, loader: "js" },
      outfile: `${outdir}/${file}`,
      // The error module is this file's own content; everywhere else it is the shared file.
      plugins: own === undefined ? [] : [separateFiles(own)],
    }),
  ),
);
// Each file above is written as the function CommonJS would wrap it in, which the launcher compiles as it is: joining
// the file to a wrapper at run time would make V8 copy the whole text (main.js: about 180 KiB) on every run.
// The executable: runs the files above from V8's code cache (src/cli/launcher.ts), which it keys by their digests.
/** @type {Record<string, string>} */
const digests = {};
for (const file of ["main.js", ...LAZY_NAMES.map((name) => `${name}.js`), ...separate.map(({ file }) => file)]) {
  const wrapped = `(function (exports, require, module, __filename, __dirname) {\n${await readFile(`${outdir}/${file}`, "utf8")}})\n`;
  await writeFile(`${outdir}/${file}`, wrapped);
  digests[file] = createHash("sha256").update(wrapped).digest("hex").slice(0, 16);
}
await build({
  ...common,
  entryPoints: { "g4f-rx": "src/cli/launcher.ts" },
  outdir,
  define: { "import.meta.dirname": "__dirname", G4F_RX_DIGESTS: JSON.stringify(digests) },
  banner: { js: "#!/usr/bin/env node" },
});
await writeFile(`${outdir}/package.json`, `${JSON.stringify({ type: "commonjs" })}\n`);
await chmod(`${outdir}/g4f-rx.js`, 0o755);

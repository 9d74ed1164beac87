// @ts-check
// Bundles the g4f-rx command into dist/bin/: main.js, the command, minified CommonJS with rxjs inside; g4f-rx.js, the
// executable, which runs main.js and the files below from V8's code cache (src/cli/launcher.ts); and the packages
// only some runs need, each its own file that main.js `require`s on first use. Why:
// - CommonJS, because Node's ES module loader alone costs more start-up time than everything the command then does;
//   dist/bin/package.json marks the folder as CommonJS. For the same reason no `import()` is left in the output
//   (`dynamic-import: false` makes esbuild turn it into `require`): an `import()` of `node:https` or of a lazy file
//   would start that loader.
// - Separate files, because V8 must at least pre-parse every byte of a script it loads, even code that never runs.
//   The `openai` client (for --api responses, models, chat), markdown-it, lowlight and string-width (markdown on a
//   terminal) are most of the command's code; a plain question needs none of them.
// - One copy of openai's error classes (openai-error.js), required by the command and by the client file alike, so
//   that `instanceof APIError` holds whichever of them made the error.
import { createHash } from "node:crypto";
import { chmod, readFile, rm, writeFile } from "node:fs/promises";
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
// The command itself, run by the launcher below.
await build({
  ...common,
  entryPoints: { main: "src/cli/bin.ts" },
  outdir,
  plugins: [separateFiles(undefined)],
  // rxjs lists its CommonJS build under the "node" condition, which cannot be tree-shaken; its ES2015 build can.
  alias: { rxjs: "./node_modules/rxjs/dist/esm/index.js" },
  // The version is written in, so a run does not look for package.json.
  define: { G4F_RX_VERSION: JSON.stringify(version) },
});
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
// the file to a wrapper at run time would make V8 copy the whole text (main.js: 182 KiB) on every run.
// The executable: runs the files above from V8's code cache (src/cli/launcher.ts), which it keys by their digests.
/** @type {Record<string, string>} */
const digests = {};
for (const file of ["main.js", ...separate.map(({ file }) => file)]) {
  const wrapped = `(function (exports, require, module, __filename, __dirname) {\n${await readFile(`${outdir}/${file}`, "utf8")}})\n`;
  await writeFile(`${outdir}/${file}`, wrapped);
  digests[file] = createHash("sha256").update(wrapped).digest("hex").slice(0, 16);
}
await build({
  ...common,
  entryPoints: { "g4f-rx": "src/cli/launcher.ts" },
  outdir,
  define: { "import.meta.url": "__g4f_rx_url", G4F_RX_DIGESTS: JSON.stringify(digests) },
  banner: { js: '#!/usr/bin/env node\nconst __g4f_rx_url = require("node:url").pathToFileURL(__filename).href;' },
});
await writeFile(`${outdir}/package.json`, `${JSON.stringify({ type: "commonjs" })}\n`);
await chmod(`${outdir}/g4f-rx.js`, 0o755);

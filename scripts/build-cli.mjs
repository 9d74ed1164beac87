// @ts-check
// Bundles the g4f-rx command into dist/bin/g4f-rx.js: one executable, minified CommonJS file with rxjs and the
// openai error classes inside (no client: the command sends its request with node:http, see src/cli/http-source.ts).
// CommonJS because Node's ES module loader alone costs more start-up time than everything the command then does;
// dist/bin/package.json marks the folder as CommonJS. Code that only some runs need (the live path, replay, serve)
// is in the same file but runs only when `import()`ed, and V8 compiles a function only when it is first called.
import { chmod, rm, writeFile } from "node:fs/promises";
import { build } from "esbuild";

const outdir = "dist/bin";

await rm(outdir, { recursive: true, force: true });
await build({
  entryPoints: { "g4f-rx": "src/cli/bin.ts" },
  outdir,
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  treeShaking: true,
  // rxjs lists its CommonJS build under the "node" condition, which cannot be tree-shaken; its ES2015 build can.
  alias: { rxjs: "./node_modules/rxjs/dist/esm/index.js" },
  // The sources are ES modules: the one `import.meta.url` (where package.json is) becomes this file's URL.
  define: { "import.meta.url": "__g4f_rx_url" },
  banner: { js: '#!/usr/bin/env node\nconst __g4f_rx_url = require("node:url").pathToFileURL(__filename).href;' },
  // The Redis client is an optional peer dependency, loaded only by `serve --redis`.
  external: ["ioredis"],
  legalComments: "none",
  // Less to read and parse at every start. Error classes set their `name` themselves, so renaming them is harmless.
  minify: true,
  logLevel: "warning",
});
await writeFile(`${outdir}/package.json`, `${JSON.stringify({ type: "commonjs" })}\n`);
await chmod(`${outdir}/g4f-rx.js`, 0o755);

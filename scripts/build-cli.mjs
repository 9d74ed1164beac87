// @ts-check
// Bundles the g4f-rx command into dist/bin/g4f-rx.js, an executable ESM file with openai and rxjs inside:
// `npx g4f-rx` then loads one file instead of resolving hundreds of modules. Code that only some runs need
// (the openai client, the replay server) is split into chunks under dist/bin/chunks, loaded by `import()` when used,
// so a replay never parses the openai client at all.
import { chmod, rm } from "node:fs/promises";
import { build } from "esbuild";

const outdir = "dist/bin";

await rm(outdir, { recursive: true, force: true });
await build({
  entryPoints: { "g4f-rx": "src/cli/bin.ts" },
  outdir,
  bundle: true,
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  format: "esm",
  platform: "node",
  target: "node20",
  treeShaking: true,
  // rxjs lists its CommonJS build under the "node" condition, which cannot be tree-shaken; its ES2015 build can.
  alias: { rxjs: "./node_modules/rxjs/dist/esm/index.js" },
  // No createRequire shim is needed: every bundled dependency (openai, rxjs) ships ESM. `--version` in test/cli
  // checks that the bundle loads.
  banner: { js: "#!/usr/bin/env node" },
  // The Redis client is an optional peer dependency, loaded only by `serve --redis`.
  external: ["ioredis"],
  legalComments: "none",
  logLevel: "warning",
});
await chmod(`${outdir}/g4f-rx.js`, 0o755);

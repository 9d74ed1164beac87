// @ts-check
// Bundles the g4f-rx command into one executable ESM file, dist/bin/g4f-rx.js, with openai, rxjs and yargs inside:
// `npx g4f-rx` then starts by loading one file instead of resolving hundreds of modules.
import { chmod } from "node:fs/promises";
import { build } from "esbuild";

const outfile = "dist/bin/g4f-rx.js";

await build({
  entryPoints: ["src/cli/bin.ts"],
  outfile,
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  treeShaking: true,
  // No createRequire shim is needed: every bundled dependency (yargs 18, openai, rxjs) ships ESM, and yargs makes
  // its own require with createRequire(import.meta.url). `--version` in test/cli checks that the bundle loads.
  banner: { js: "#!/usr/bin/env node" },
  legalComments: "none",
  logLevel: "warning",
});
await chmod(outfile, 0o755);

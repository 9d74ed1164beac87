import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConsumerApp, browserApp, esmApp, legacyNestCommonJsApp, nestCommonJsApp, openai7App, pinnedRxjsApp } from "./apps.js";
import { assertFreshBuild } from "../cli/run-cli.js";

/*
 * Packs the package once, installs the tarball into scratch projects as users would (npm install, each with its
 * own openai and rxjs), then compiles, bundles and runs each. Slow (several npm installs), so it lives alone here.
 */

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));
const tsc = join(root, "node_modules/typescript/bin/tsc");
// Run directly, never through `node`: after a normal install (install scripts on, as in CI) it is esbuild's native binary.
const esbuild = join(root, "node_modules/.bin/esbuild");
const vite = join(root, "node_modules/vite/bin/vite.js");
const nodeMajor = Number(process.versions.node.split(".")[0]);
const devDependencies = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { devDependencies: Record<string, string> }).devDependencies;

let scratch: string;
let tarball: string;
let packed: string[];
const folder = (app: ConsumerApp): string => join(scratch, app.name);

const deps = (extra: Record<string, string>): Record<string, string> => ({
  openai: devDependencies.openai!,
  rxjs: devDependencies.rxjs!,
  "@types/node": devDependencies["@types/node"]!,
  ...extra,
});
const apps = {
  esm: esmApp(deps({})),
  nest: nestCommonJsApp(deps({})),
  legacyNest: legacyNestCommonJsApp(),
  openai7: openai7App(deps({ openai: "^7.0.0" })),
  rxjs781: pinnedRxjsApp(deps({ rxjs: "7.8.1" })),
  browser: browserApp(),
};
/** Every tsc run, started in beforeAll two at a time (tsc is the slow part), and checked by the tests below. */
const compiled = new Map<ConsumerApp, Promise<{ code: number; stdout: string; stderr: string }>>();

async function npm(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run("npm", [...args, "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], {
    cwd,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, npm_config_update_notifier: "false" },
  });
  return stdout;
}

/** Runs a command and resolves with its exit code and output, whatever the code. */
async function attempt(file: string, args: string[], cwd: string, input?: string, env?: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { cwd, maxBuffer: 64 * 1024 * 1024, timeout: 120_000, ...(env === undefined ? {} : { env }) }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

beforeAll(async () => {
  assertFreshBuild();
  scratch = mkdtempSync(join(tmpdir(), "g4f-rx-consumers-"));
  const [pack] = JSON.parse(await npm(root, "pack", "--ignore-scripts", "--json", "--pack-destination", scratch)) as [{ filename: string; files: { path: string }[] }];
  tarball = join(scratch, pack.filename);
  packed = pack.files.map((file) => file.path);
  for (const app of Object.values(apps)) {
    for (const [path, text] of Object.entries(app.files)) {
      mkdirSync(dirname(join(folder(app), path)), { recursive: true });
      writeFileSync(join(folder(app), path), text);
    }
  }
  await Promise.all([apps.esm, apps.nest, apps.openai7, apps.rxjs781].map((app) => twoAtATime(() => npm(folder(app), "install", tarball))));
  for (const app of Object.values(apps)) compiled.set(app, twoAtATime(() => attempt(process.execPath, [tsc, "-p", "."], folder(app))));
}, 600_000);

afterAll(async () => {
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
}, 120_000);

/** Runs `work` when fewer than two others run: the machine is shared, and tsc and npm are heavy. */
let running = 0;
const waiting: (() => void)[] = [];
async function twoAtATime<T>(work: () => Promise<T>): Promise<T> {
  while (running >= 2) await new Promise<void>((resolve) => waiting.push(resolve));
  running += 1;
  try {
    return await work();
  } finally {
    running -= 1;
    waiting.shift()?.();
  }
}

describe("the packed tarball", () => {
  it("ships the LICENSE, the README, the built entries and the example cassettes, and no TypeScript sources", () => {
    expect(packed).toEqual(expect.arrayContaining(["LICENSE", "README.md", "package.json", "dist/src/index.js", "dist/src/node.js", "dist/bin/g4f-rx.js"]));
    expect(packed).toEqual(expect.arrayContaining(["examples/cassettes/say-hello-there.cassette.jsonl"]));
    expect(packed.filter((path) => path.endsWith(".ts") && !path.endsWith(".d.ts"))).toEqual([]);
  });

  it("carries the sources inside every source map, since the .ts files are not shipped", () => {
    const installed = join(folder(apps.esm), "node_modules/g4f-rx");
    const maps = packed.filter((path) => path.endsWith(".js.map"));
    expect(maps.length).toBeGreaterThan(10);
    for (const map of maps) {
      const parsed = JSON.parse(readFileSync(join(installed, map), "utf8")) as { sources: string[]; sourcesContent?: string[] };
      expect(parsed.sourcesContent?.length, map).toBe(parsed.sources.length);
    }
  });

  it("installs no command-only dependency and no copy of openai or rxjs of its own", () => {
    const app = folder(apps.esm);
    const manifest = JSON.parse(readFileSync(join(app, "node_modules/g4f-rx/package.json"), "utf8")) as Record<string, Record<string, string>>;
    // The command is one bundle: what only it uses (markdown-it, lowlight, formerly yargs) is inlined there, not installed.
    // No dependency at all: a browser bundle reaches only ES modules (partial-json, CommonJS, made Angular warn).
    expect(Object.keys(manifest.dependencies ?? {})).toEqual([]);
    expect(manifest.peerDependencies).toMatchObject({ openai: "^6.49.0 || ^7.0.0", rxjs: "^7.8.0" });
    expect(existsSync(join(app, "node_modules/yargs"))).toBe(false);
    // An optional peer, not installed: the app still compiles against g4f-rx/node's Redis store (skipLibCheck: false).
    expect(existsSync(join(app, "node_modules/ioredis"))).toBe(false);
    for (const setup of Object.values(apps)) {
      expect(existsSync(join(folder(setup), "node_modules/g4f-rx/node_modules/openai")), setup.name).toBe(false);
      expect(existsSync(join(folder(setup), "node_modules/g4f-rx/node_modules/rxjs")), setup.name).toBe(false);
    }
    const pinned = JSON.parse(readFileSync(join(folder(apps.rxjs781), "node_modules/rxjs/package.json"), "utf8")) as { version: string };
    expect(pinned.version).toBe("7.8.1");
    const seven = JSON.parse(readFileSync(join(folder(apps.openai7), "node_modules/openai/package.json"), "utf8")) as { version: string };
    expect(seven.version).toMatch(/^7\./);
  });

  it("runs the README's global-install command (the tarball installed globally, a shipped cassette)", async () => {
    const prefix = join(scratch, "global");
    // --legacy-peer-deps: the command is one bundle and must not need the peers the library leaves to apps.
    await npm(scratch, "install", "--global", "--prefix", prefix, "--legacy-peer-deps", tarball);
    const globalRoot = (await npm(scratch, "root", "--global", "--prefix", prefix)).trim();
    // A home of its own: the command keeps its code cache (and would keep conversations) under HOME, never the real one.
    const home = join(scratch, "home");
    const result = await attempt(join(prefix, "bin/g4f-rx"), ["--replay", join(globalRoot, "g4f-rx/examples/cassettes")], scratch, "Say hello there!\n", { PATH: process.env.PATH ?? "", HOME: home });
    expect(result.stderr).toContain("cassette");
    expect(result).toMatchObject({ code: 0, stdout: "Hello there! How can I help you today?\n" });
  }, 300_000);
});

const expectedRun = {
  relayed: "Relayed",
  redisStoreIsAFunction: true,
  text: "Hello there!",
  streamed: "Hello there!",
  frameErrorIsAPIError: true,
  frameErrorIsClientAPIError: true,
  incompleteIsOpenAIError: true,
  incompleteIsIncompleteStreamError: true,
  abortIsAPIUserAbortError: true,
  timeoutIsTimeoutError: true,
  eventStreamStatusIsNotFoundError: true,
  eventStreamFrameIsAPIError: true,
};

describe.each([
  ["an ESM app (nodenext, strict, skipLibCheck: false)", apps.esm, "dist/main.js"],
  ["a CommonJS app with NestJS's default tsconfig", apps.nest, "dist/main.js"],
  ["an app on openai 7", apps.openai7, "dist/main.js"],
  ["an app pinning rxjs 7.8.1", apps.rxjs781, "dist/main.js"],
] as const)("%s", (_title, app, main) => {
  it("compiles the basic call with its own client and its own rxjs, with no cast", async () => {
    const result = await compiled.get(app);
    expect(result!.stdout + result!.stderr).toBe("");
    expect(result!.code).toBe(0);
  }, 300_000);

  // openai 7 needs Node 22; .ci/run runs this file again on Node 24, where the openai 7 app runs too.
  if (app !== apps.openai7 || nodeMajor >= 22) {
    it("streams the answer, and the library's errors are the app's own openai and rxjs classes", async () => {
      const result = await attempt(process.execPath, [main], folder(app));
      expect(result.stderr.replace(/^.*ExperimentalWarning.*\n|^\(Use `node --trace-warnings.*\n/gm, "")).toBe("");
      expect(JSON.parse(result.stdout)).toEqual(expectedRun);
    }, 120_000);
  } else {
    console.warn(`consumers: the openai 7 app is compiled but not run on Node ${process.versions.node}: openai 7 needs Node 22 (.ci/run runs it on Node 24)`);
  }
});

describe("a CommonJS app with NestJS 10's tsconfig (module commonjs: node10 resolution, which reads no exports)", () => {
  // Compiled only: what it emits runs as the NestJS 11 app's does (require of the same entries), which runs above.
  it("compiles the basic call, finding every entry's typings", async () => {
    const result = await compiled.get(apps.legacyNest);
    expect(result!.stdout + result!.stderr).toBe("");
    expect(result!.code).toBe(0);
  }, 300_000);
});

describe("a browser app", () => {
  it("type-checks with the DOM's types only (types: [], lib es2022 + dom, skipLibCheck: false)", async () => {
    const result = await compiled.get(apps.browser);
    expect(result!.stdout + result!.stderr).toBe("");
    expect(result!.code).toBe(0);
  }, 300_000);

  it("bundles with esbuild --platform=browser with no error or warning, and no Node built-in inside", async () => {
    const result = await attempt(esbuild, ["src/main.ts", "--bundle", "--platform=browser", "--format=esm", "--outfile=out/esbuild.js", "--log-level=warning"], folder(apps.browser));
    expect(result.stdout + result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(readFileSync(join(folder(apps.browser), "out/esbuild.js"), "utf8")).not.toMatch(/from\s*"node:|require\("node:/);
  }, 120_000);

  it("reaches only ES modules through package imports, so Angular's builder has no CommonJS warning to give", async () => {
    // Angular's application builder (esbuild) walks the bundle's import graph from the entry and warns "Module 'x' used
    // by 'y' is not ESM" for every package it reaches that is not an ES module, used or not: the same walk here.
    const result = await attempt(esbuild, ["src/main.ts", "--bundle", "--platform=browser", "--format=esm", "--outfile=out/graph.js", "--metafile=out/graph.json", "--log-level=warning"], folder(apps.browser));
    expect(result.code).toBe(0);
    const { inputs } = JSON.parse(readFileSync(join(folder(apps.browser), "out/graph.json"), "utf8")) as {
      inputs: Record<string, { format?: string; imports: { path: string; original?: string }[] }>;
    };
    const notEsm: string[] = [];
    const seen = new Set<string>();
    const files = ["src/main.ts"];
    for (let file = files.shift(); file !== undefined; file = files.shift()) {
      for (const { path, original } of inputs[file]?.imports ?? []) {
        if (original === undefined || seen.has(path)) continue;
        seen.add(path);
        if (!original.startsWith(".") && inputs[path]?.format !== "esm") notEsm.push(`${original} (imported by ${file})`);
        else files.push(path);
      }
    }
    expect(notEsm).toEqual([]);
  }, 120_000);

  it("builds with Vite with no error or warning", async () => {
    const result = await attempt(process.execPath, [vite, "build", "--outDir", "out/vite", "--logLevel", "warn"], folder(apps.browser));
    expect(result.stdout + result.stderr).toBe("");
    expect(result.code).toBe(0);
  }, 120_000);
});

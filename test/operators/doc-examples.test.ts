import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import ts from "typescript";
import { beforeAll, describe, expect, it } from "vitest";

// Every `## Examples` block of an operator's (or a recipe's) JSDoc is compiled against the source with the
// project's strict settings, imports mapped to the entry points, then run, and what it prints on stdout must be
// the trailing `// …` comment lines of the block, line for line (`…` in a line stands for any text).
// An example that needs a live provider says so with LIVE_MARKER before its sample output: it is type-checked
// only, since its output is a model's. An example with neither output comments nor the marker fails.

const root = fileURLToPath(new URL("../../", import.meta.url));
const LIVE_MARKER = "// A live provider's answer, for instance";
const scratch = join(root, "node_modules", ".cache", "g4f-rx-doc-examples");
// Files that are not operators: the barrel, and the chunk reader every operator uses internally.
const NOT_OPERATORS = new Set(["index.ts", "chunk-reader.ts"]);

interface Example {
  name: string;
  source: string;
  code: string;
  live: boolean;
  expected: string[];
}

function examplesOf(file: string): Example[] {
  const text = readFileSync(join(root, file), "utf8");
  const examples: Example[] = [];
  for (const [, comment = ""] of text.matchAll(/\/\*\*([\s\S]*?)\*\//g)) {
    const body = comment.split("\n").map((line) => line.replace(/^\s*\* ?/, "")).join("\n");
    const start = body.indexOf("## Examples");
    if (start < 0) continue;
    for (const [, code = ""] of body.slice(start).matchAll(/```ts\n([\s\S]*?)```/g)) {
      const lines = code.replace(/\n+$/, "").split("\n");
      let first = lines.length;
      while (first > 0 && /^\/\/( |$)/.test(lines[first - 1] ?? "")) first--;
      const trailing = lines.slice(first);
      const live = trailing[0]?.startsWith(LIVE_MARKER) ?? false;
      examples.push({
        name: `${file.replace(/\.ts$/, "").replace(/\//g, "_")}_${examples.length}`,
        source: file,
        code,
        live,
        expected: (live ? trailing.slice(1) : trailing).map((line) => line.replace(/^\/\/ ?/, "")),
      });
    }
  }
  return examples;
}

const files = [
  ...readdirSync(join(root, "operators")).filter((name) => name.endsWith(".ts")).map((name) => `operators/${name}`),
  ...readdirSync(join(root, "src/recipes")).filter((name) => name.endsWith(".ts")).map((name) => `src/recipes/${name}`),
].sort();
const examples = files.flatMap(examplesOf);

function matches(actual: string, expected: string): boolean {
  const pattern = expected.split("…").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("[\\s\\S]*");
  return new RegExp(`^${pattern}$`).test(actual);
}

function run(file: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [file], { timeout: 15_000, encoding: "utf8" }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : null) : 0, stdout, stderr: error && !stderr ? error.message : stderr });
    });
    child.stdin?.end();
  });
}

describe("the examples in operators' documentation", () => {
  let diagnostics = new Map<string, string[]>();

  beforeAll(async () => {
    rmSync(scratch, { recursive: true, force: true });
    mkdirSync(scratch, { recursive: true });
    for (const example of examples) writeFileSync(join(scratch, `${example.name}.ts`), example.code);
    const config = ts.getParsedCommandLineOfConfigFile(join(root, "tsconfig.json"), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
    if (!config) throw new Error("tsconfig.json could not be read");
    const program = ts.createProgram(examples.map((example) => join(scratch, `${example.name}.ts`)), config.options);
    diagnostics = new Map(examples.map((example) => {
      const sourceFile = program.getSourceFile(join(scratch, `${example.name}.ts`));
      const found = sourceFile ? [...program.getSyntacticDiagnostics(sourceFile), ...program.getSemanticDiagnostics(sourceFile)] : [];
      return [example.name, found.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"))];
    }));
    const runnable = examples.filter((example) => !example.live);
    await build({
      entryPoints: runnable.map((example) => join(scratch, `${example.name}.ts`)),
      outdir: scratch,
      outExtension: { ".js": ".mjs" },
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      logLevel: "silent",
      alias: { "g4f-rx/operators": join(root, "operators/index.ts"), "g4f-rx": join(root, "src/index.ts") },
    });
  }, 120_000);

  it("has an example for every operator", () => {
    const without = files.filter((file) => file.startsWith("operators/") && !NOT_OPERATORS.has(file.slice("operators/".length)))
      .filter((file) => !examples.some((example) => example.source === file));
    expect(without).toEqual([]);
  });

  it.concurrent.each(examples.map((example) => [`${example.name}${example.live ? " (live: type-checked only)" : ""}`, example] as const))("%s", async (_, example) => {
    expect(example.code, "imports from the public package").toMatch(/from "g4f-rx(\/operators)?";/);
    expect(diagnostics.get(example.name), `type errors in ${relative(root, join(scratch, example.name))}.ts`).toEqual([]);
    expect(example.expected.length, `${example.source}: an example shows its output in trailing // comments, or says "${LIVE_MARKER}"`).toBeGreaterThan(0);
    if (example.live) return;
    const { code, stdout, stderr } = await run(join(scratch, `${example.name}.mjs`));
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    const actual = stdout.replace(/\n$/, "").split("\n");
    const mismatch = actual.length !== example.expected.length || actual.some((line, i) => !matches(line, example.expected[i] ?? ""));
    // On a mismatch, show the two side by side.
    expect(mismatch ? actual : example.expected, `${example.source}: printed lines vs. the // comments`).toEqual(example.expected);
  });
});

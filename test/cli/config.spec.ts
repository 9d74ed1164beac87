import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type TestServer, startTestServer, streamReply, textChunks } from "g4f-rx/testing";
import { assertFreshBuild, runCli } from "./run-cli.js";

let server: TestServer;
let home: string;
let env: Record<string, string>;
let configFile: string;

beforeAll(() => assertFreshBuild());
beforeEach(async () => {
  server = await startTestServer();
  server.setDefaultReply(streamReply(textChunks(["ok"])));
  home = mkdtempSync(join(tmpdir(), "g4f-rx-config-"));
  mkdirSync(join(home, "config", "g4f-rx"), { recursive: true });
  configFile = join(home, "config", "g4f-rx", "config.json");
  env = { OPENAI_BASE_URL: server.baseURL, XDG_CONFIG_HOME: join(home, "config"), XDG_DATA_HOME: join(home, "data"), HOME: join(home, "home") };
});
afterEach(async () => {
  await server.close();
  rmSync(home, { recursive: true, force: true });
});

const write = (settings: unknown): void => writeFileSync(configFile, typeof settings === "string" ? settings : JSON.stringify(settings, null, 2));
const bodyOf = (index: number): Record<string, unknown> => {
  const body = server.requests[index]?.body;
  return typeof body === "object" && body !== null ? { ...body } : {};
};

describe("g4f-rx config file", () => {
  it("fills what flags and environment leave out: flag > environment > config > built-in default", async () => {
    write({ model: "from-config", system: "Be brief.", temperature: 0.5 });
    await runCli(["-m", "from-flag", "Hi"], { env: { ...env, G4F_RX_MODEL: "from-env" } });
    await runCli(["Hi"], { env: { ...env, G4F_RX_MODEL: "from-env" } });
    await runCli(["Hi"], { env });
    rmSync(configFile);
    await runCli(["Hi"], { env });
    expect([0, 1, 2, 3].map((index) => bodyOf(index).model)).toStrictEqual(["from-flag", "from-env", "from-config", "gpt-4"]);
    expect(bodyOf(2)).toMatchObject({ temperature: 0.5, messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }] });
  });

  it("names endpoints of your own: URL, key variable, default model", async () => {
    write({ endpoints: { work: { url: server.baseURL, keyVariable: "WORK_KEY", model: "qwen" } } });
    const withoutURL = Object.fromEntries(Object.entries(env).filter(([name]) => name !== "OPENAI_BASE_URL"));
    const result = await runCli(["-e", "work", "Hi"], { env: { ...withoutURL, WORK_KEY: "secret" } });
    expect(result).toMatchObject({ code: 0, stdout: "ok\n" });
    expect(bodyOf(0).model).toBe("qwen");
    expect(server.requests[0]?.headers.authorization).toBe("Bearer secret");
    const missing = await runCli(["-e", "work", "Hi"], { env: withoutURL });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("needs an API key: set WORK_KEY");
  });

  it("g4f-rx config prints the effective settings and where each came from", async () => {
    write({ model: "from-config", system: "Be brief." });
    const result = await runCli(["config", "-t", "0.2"], { env: { ...env, G4F_RX_ENDPOINT: "g4f" } });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`config file: ${configFile}\n`);
    expect(result.stdout).toMatch(/^model +"from-config" +config$/m);
    expect(result.stdout).toMatch(/^system +"Be brief\." +config$/m);
    expect(result.stdout).toMatch(/^temperature +0\.2 +flag$/m);
    expect(result.stdout).toMatch(/^endpoint +"g4f" +environment$/m);
    expect(result.stdout).toMatch(/^max-tokens +- +default$/m);
    expect(server.requests).toHaveLength(0);
  });

  it("refuses a malformed file, naming the file and line", async () => {
    write('{\n  "model": "x",\n  system: "y"\n}\n');
    const result = await runCli(["Hi"], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${configFile}:3:`);
    expect(result.stderr).toContain("not valid JSON");
    write('{\n  "model": "x",\n  "colour": "red"\n}\n');
    const unknown = await runCli(["Hi"], { env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(`${configFile}:3: "colour" is not a setting`);
    write({ temperature: "hot" });
    const wrong = await runCli(["Hi"], { env });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain(`temperature in ${configFile}`);
    expect(server.requests).toHaveLength(0);
  });
});

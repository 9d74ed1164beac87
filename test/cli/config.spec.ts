import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type TestServer, errorReply, startTestServer, streamReply, textChunks } from "g4f-rx/testing";
import { assertFreshBuild, runCli, startCli } from "./run-cli.js";

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

  it("gives its system prompt to new conversations; a continued one keeps its own, unless -s is given", async () => {
    write({ system: "From the config." });
    await runCli(["-s", "Custom.", "first"], { env });
    await runCli(["-c", "second"], { env });
    await runCli(["-c", "-s", "Now this.", "third"], { env });
    const turns = (system: string, ...questions: string[]): unknown[] => [{ role: "system", content: system }, ...questions.flatMap((question, index) => [{ role: "user", content: question }, ...(index < questions.length - 1 ? [{ role: "assistant", content: "ok" }] : [])])];
    expect(bodyOf(1)).toMatchObject({ messages: turns("Custom.", "first", "second") });
    expect(bodyOf(2)).toMatchObject({ messages: turns("Now this.", "first", "second", "third") });
    expect(JSON.stringify(server.requests.map((request) => request.body))).not.toContain("From the config.");
  });

  it("shows the conversation log off when G4F_RX_NO_LOG turns it off, and takes only yes or no words for it", async () => {
    const off = await runCli(["config"], { env: { ...env, G4F_RX_NO_LOG: "1" } });
    expect(off.stdout).toMatch(/^log +false +environment$/m);
    // config takes options, not words.
    const extra = await runCli(["config", "extra"], { env });
    expect(extra.code).toBe(2);
    expect(extra.stderr).toContain('config takes no arguments, got "extra"');
    expect(await runCli(["Hi"], { env: { ...env, G4F_RX_NO_LOG: "false" } })).toMatchObject({ code: 0 });
    expect((await runCli(["logs"], { env })).stdout).toContain("Hi");
    const unclear = await runCli(["Hi"], { env: { ...env, G4F_RX_NO_LOG: "maybe" } });
    expect(unclear.code).toBe(2);
    expect(unclear.stderr).toContain('$G4F_RX_NO_LOG must be true or false (1/0, yes/no), got "maybe"');
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
    expect(result.stdout).toMatch(/^model +"from-config" +config file$/m);
    expect(result.stdout).toMatch(/^system +"Be brief\." +config file$/m);
    expect(result.stdout).toMatch(/^temperature +0\.2 +flag$/m);
    expect(result.stdout).toMatch(/^endpoint +"g4f" +environment$/m);
    expect(result.stdout).toMatch(/^max-tokens +- +built-in default$/m);
    expect(server.requests).toHaveLength(0);
  });

  it("g4f-rx config --help describes config, with the question's options, and sends nothing", async () => {
    const result = await runCli(["config", "--help"], { env });
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout).toMatch(/^Usage: g4f-rx config \[options\]\n\nShows the settings a question would use/);
    expect(result.stdout).toContain("  -m, --model ID");
    expect(result.stdout).not.toContain("g4f-rx chat [options]");
    expect(server.requests).toHaveLength(0);
  });

  it("g4f-rx config shows the settings also when the endpoint's key is missing, and says so; a question still refuses", async () => {
    write({ endpoints: { work: { url: "http://127.0.0.1:9/v1", keyVariable: "WORK_API_KEY" } }, endpoint: "work" });
    const own = await runCli(["config"], { env });
    expect(own).toMatchObject({ code: 0, stderr: "" });
    expect(own.stdout).toMatch(/^api-key +missing: set WORK_API_KEY or pass --api-key +endpoint default$/m);
    const openai = await runCli(["config", "-e", "openai"], { env });
    expect(openai.code).toBe(0);
    expect(openai.stdout).toMatch(/^endpoint +"openai" +flag$/m);
    expect(openai.stdout).toMatch(/^api-key +missing: set OPENAI_API_KEY or pass --api-key/m);
    const asked = await runCli(["-e", "openai", "Hi"], { env });
    expect(asked.code).toBe(2);
    expect(asked.stderr).toContain("needs an API key: set OPENAI_API_KEY or pass --api-key");
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
    // A number out of range is shown as the number it is.
    write({ temperature: 5 });
    expect((await runCli(["Hi"], { env })).stderr).toContain(`temperature in ${configFile} must be a number from 0 to 2, got 5\n`);
    expect(server.requests).toHaveLength(0);
  });
  it("an endpoint of your own works inside --fallback: the first endpoint fails, the declared one answers", async () => {
    const backup = await startTestServer();
    try {
      backup.setDefaultReply(streamReply(textChunks(["from ", "backup"])));
      server.setDefaultReply(errorReply(500, "All providers failed"));
      write({ endpoints: { backup: { url: backup.baseURL, keyVariable: "BACKUP_KEY", model: "qwen" } } });
      const result = await runCli(["-m", "main-model", "--fallback", "backup", "Hi"], { env: { ...env, BACKUP_KEY: "secret" } });
      expect(result).toMatchObject({ code: 0, stdout: "from backup\n" });
      expect(result.stderr).toContain("All providers failed");
      expect(bodyOf(0).model).toBe("main-model");
      expect(backup.requests).toHaveLength(1);
      expect(backup.requests[0]?.body).toMatchObject({ model: "qwen" });
      expect(backup.requests[0]?.headers.authorization).toBe("Bearer secret");
      const withoutKey = await runCli(["--api-key", "sk-main", "--fallback", "backup", "Hi"], { env });
      expect(withoutKey.code).toBe(2);
      expect(withoutKey.stderr).toContain(`The backup endpoint (declared in ${configFile}), given to --fallback, needs an API key: set BACKUP_KEY (--api-key is the main endpoint's).`);
      const unknown = await runCli(["--fallback", "nowhere", "Hi"], { env });
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain("Known endpoints: g4f, openai, ollama, lmstudio, openrouter, groq, deepseek, backup");
    } finally {
      await backup.close();
    }
  });

  it("g4f-rx config labels every value exactly: flag, environment, config file, endpoint default, built-in default", async () => {
    const withoutURL = Object.fromEntries(Object.entries(env).filter(([name]) => name !== "OPENAI_BASE_URL"));
    write({ system: "Be brief.", endpoints: { work: { url: server.baseURL, keyVariable: "WORK_KEY", model: "qwen" } } });
    const named = await runCli(["config", "-e", "work"], { env: { ...withoutURL, WORK_KEY: "secret" } });
    expect(named.code).toBe(0);
    expect(named.stdout).toContain(`asks: qwen at ${server.baseURL} (model from endpoint default, endpoint from flag)`);
    expect(named.stdout).toMatch(/^endpoint +"work" +flag$/m);
    expect(named.stdout).toMatch(new RegExp(`^base-url +"${server.baseURL}" +endpoint default$`, "m"));
    expect(named.stdout).toMatch(/^model +"qwen" +endpoint default$/m);
    expect(named.stdout).toMatch(/^api-key +set \(WORK_KEY\) +environment$/m);
    expect(named.stdout).toMatch(/^system +"Be brief\." +config file$/m);
    expect(named.stdout).toMatch(/^temperature +- +built-in default$/m);
    expect(named.stdout).not.toContain("secret");

    write({ endpoint: "work", model: "from-config", endpoints: { work: { url: server.baseURL, model: "qwen" } } });
    const fromConfig = await runCli(["config", "--api-key", "sk-flag"], { env: withoutURL });
    expect(fromConfig.stdout).toMatch(/^endpoint +"work" +config file$/m);
    expect(fromConfig.stdout).toMatch(/^model +"from-config" +config file$/m);
    expect(fromConfig.stdout).toMatch(/^api-key +set +flag$/m);
    expect(fromConfig.stdout).not.toContain("sk-flag");

    rmSync(configFile);
    const nothing = await runCli(["config"], { env: withoutURL });
    expect(nothing.stdout).toContain("asks: gpt-4 at http://localhost:1337/v1 (model from endpoint default, endpoint from built-in default)");
    expect(nothing.stdout).toMatch(/^endpoint +"g4f" +built-in default$/m);
    expect(nothing.stdout).toMatch(/^base-url +"http:\/\/localhost:1337\/v1" +endpoint default$/m);
    expect(nothing.stdout).toMatch(/^model +"gpt-4" +endpoint default$/m);
    expect(nothing.stdout).toMatch(/^retries +0 +built-in default$/m);
    const custom = await runCli(["config"], { env: { ...env, G4F_RX_MODEL: "from-env" } });
    expect(custom.stdout).toMatch(/^endpoint +- +environment$/m);
    expect(custom.stdout).toMatch(new RegExp(`^base-url +"${server.baseURL}" +environment$`, "m"));
    expect(custom.stdout).toMatch(/^model +"from-env" +environment$/m);
    const customDefault = await runCli(["config"], { env });
    expect(customDefault.stdout).toMatch(/^model +"gpt-4" +built-in default$/m);
    expect(server.requests).toHaveLength(0);
  });

  it("names the conversation as where -c's endpoint and model come from, and a flag above it", async () => {
    await runCli(["-m", "model-of-the-talk", "Hi"], { env });
    const continued = await runCli(["config", "-c"], { env });
    expect(continued.code).toBe(0);
    expect(continued.stdout).toContain(`asks: model-of-the-talk at ${server.baseURL} (model from the conversation (-c), endpoint from the conversation (-c))`);
    expect(continued.stdout).toMatch(new RegExp(`^base-url +"${server.baseURL}" +the conversation \\(-c\\)$`, "m"));
    expect(continued.stdout).toMatch(/^model +"model-of-the-talk" +the conversation \(-c\)$/m);
    const flagged = await runCli(["config", "-c", "-m", "other"], { env });
    expect(flagged.stdout).toMatch(/^model +"other" +flag$/m);
    expect(flagged.stdout).toMatch(new RegExp(`^base-url +"${server.baseURL}" +the conversation \\(-c\\)$`, "m"));
  });
});

describe("g4f-rx -r NAME: roles of the config file", () => {
  it("sends a role's system prompt and settings; a role written as a string is its system prompt", async () => {
    write({ temperature: 0.9, roles: { shell: "One POSIX command, nothing else.", reviewer: { system: "Review code.", model: "reviewer-model", temperature: 0.2, "max-tokens": 300 } } });
    expect(await runCli(["-r", "shell", "list files"], { env })).toMatchObject({ code: 0, stdout: "ok\n" });
    expect(await runCli(["--role=reviewer", "diff"], { env })).toMatchObject({ code: 0 });
    expect(bodyOf(0)).toMatchObject({ model: "gpt-4", temperature: 0.9, messages: [{ role: "system", content: "One POSIX command, nothing else." }, { role: "user", content: "list files" }] });
    expect(bodyOf(1)).toMatchObject({ model: "reviewer-model", temperature: 0.2, max_tokens: 300, messages: [{ role: "system", content: "Review code." }, { role: "user", content: "diff" }] });
  });

  it("sits under the flags and over the environment and the file's own settings; G4F_RX_ROLE and the file's \"role\" name one too", async () => {
    write({ model: "from-config", system: "From the config.", role: "reviewer", roles: { reviewer: { system: "Review code.", model: "from-role" }, brief: "Be brief." } });
    await runCli(["-r", "reviewer", "-m", "from-flag", "-s", "Flag system.", "a"], { env });
    await runCli(["-r", "reviewer", "b"], { env: { ...env, G4F_RX_MODEL: "from-env" } });
    await runCli(["c"], { env: { ...env, G4F_RX_ROLE: "brief", G4F_RX_MODEL: "from-env" } });
    await runCli(["d"], { env });
    expect([0, 1, 2, 3].map((index) => bodyOf(index).model)).toStrictEqual(["from-flag", "from-role", "from-env", "from-role"]);
    const systems = [0, 1, 2, 3].map((index) => (bodyOf(index).messages as Array<{ role: string; content: string }>)[0]?.content);
    expect(systems).toStrictEqual(["Flag system.", "Review code.", "Be brief.", "Review code."]);
  });

  it("moves a continued conversation to the role's model and system prompt, as flags would", async () => {
    write({ roles: { reviewer: { system: "Review code.", model: "from-role" } } });
    await runCli(["-m", "first-model", "-s", "First system.", "one"], { env });
    await runCli(["-c", "two"], { env });
    await runCli(["-c", "-r", "reviewer", "three"], { env });
    const messages = (index: number): unknown[] => bodyOf(index).messages as unknown[];
    expect(bodyOf(1).model).toBe("first-model");
    expect(messages(1)[0]).toStrictEqual({ role: "system", content: "First system." });
    // The role's system prompt replaces the conversation's, and its earlier turns go with the question.
    expect(bodyOf(2).model).toBe("from-role");
    expect(messages(2).map((message) => (message as { content: string }).content)).toStrictEqual(["Review code.", "one", "ok", "two", "ok", "three"]);
  });

  it("refuses an unknown role, listing those defined, and sends nothing", async () => {
    const none = await runCli(["-r", "shell", "Hi"], { env });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(`no role "shell": ${configFile} defines no roles (add "roles": {"shell": {"system": "…", "model": "…"}} to it)`);
    write({ roles: { reviewer: "Review.", brief: "Be brief." } });
    const unknown = await runCli(["-r", "shel", "Hi"], { env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(`no role "shel" in ${configFile}; its roles: reviewer, brief`);
    const fromEnv = await runCli(["Hi"], { env: { ...env, G4F_RX_ROLE: "nope" } });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toContain('no role "nope"');
    // "__proto__" or "toString" are not roles because an object has them.
    expect((await runCli(["-r", "toString", "Hi"], { env })).code).toBe(2);
    expect(server.requests).toHaveLength(0);
  });

  it("takes a role or an endpoint named __proto__ as any other name, not as a prototype", async () => {
    write(`{"roles": {"__proto__": {"system": "Odd name."}}, "endpoints": {"__proto__": {"url": "${server.baseURL}", "model": "odd-model"}}}`);
    const withoutURL = Object.fromEntries(Object.entries(env).filter(([name]) => name !== "OPENAI_BASE_URL"));
    expect(await runCli(["-r", "__proto__", "-e", "__proto__", "Hi"], { env: withoutURL })).toMatchObject({ code: 0, stdout: "ok\n" });
    expect(bodyOf(0)).toMatchObject({ model: "odd-model", messages: [{ role: "system", content: "Odd name." }, { role: "user", content: "Hi" }] });
  });

  it("refuses a malformed role with its line: not an object or a string, an unknown setting, one a role cannot hold, a value of the wrong type", async () => {
    write('{\n  "roles": {\n    "a": 3\n  }\n}\n');
    const number = await runCli(["Hi"], { env });
    expect(number.code).toBe(2);
    expect(number.stderr).toContain(`${configFile}:3: "a" must be a system prompt (a string) or settings`);
    write('{\n  "roles": {\n    "a": { "colour": "red" }\n  }\n}\n');
    expect((await runCli(["Hi"], { env })).stderr).toContain(`${configFile}:3: "a" : "colour" is not a setting a role can hold`);
    write({ roles: { a: { record: "x.jsonl" } } });
    expect((await runCli(["Hi"], { env })).stderr).toContain(': "record" is not a setting a role can hold');
    write({ roles: { a: { role: "b" }, b: "B." } });
    expect((await runCli(["Hi"], { env })).stderr).toContain('"a" cannot name another role ("role")');
    write({ roles: ["a"] });
    expect((await runCli(["Hi"], { env })).stderr).toContain('"roles" must map names to a system prompt or to settings');
    write({ roles: { hot: { temperature: 5 } } });
    // Checked when the role is used, as the file's own values are.
    expect(await runCli(["Hi"], { env })).toMatchObject({ code: 0 });
    const wrong = await runCli(["-r", "hot", "Hi"], { env });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain(`temperature in role "hot" of ${configFile} must be a number from 0 to 2, got 5`);
    expect(server.requests).toHaveLength(1);
  });

  it("g4f-rx config -r NAME labels the role's values and lists the roles", async () => {
    const withoutURL = Object.fromEntries(Object.entries(env).filter(([name]) => name !== "OPENAI_BASE_URL"));
    write({ endpoints: { work: { url: server.baseURL, model: "qwen" } }, roles: { reviewer: { system: "Review code.", endpoint: "work", temperature: 0.2 }, brief: "Be brief." } });
    const shown = await runCli(["config", "-r", "reviewer"], { env: withoutURL });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`asks: qwen at ${server.baseURL} (model from endpoint default, endpoint from role reviewer)`);
    expect(shown.stdout).toMatch(/^role +"reviewer" +flag$/m);
    expect(shown.stdout).toMatch(/^endpoint +"work" +role reviewer$/m);
    expect(shown.stdout).toMatch(/^system +"Review code\." +role reviewer$/m);
    expect(shown.stdout).toMatch(/^temperature +0\.2 +role reviewer$/m);
    expect(shown.stdout).toContain("roles (config, -r NAME):\n  reviewer  system, endpoint, temperature\n  brief  system\n");
    expect(server.requests).toHaveLength(0);
  });

  it("starts a chat in the role", async () => {
    write({ roles: { reviewer: { system: "Review code.", model: "from-role" } } });
    const result = await runCli(["chat", "-r", "reviewer"], { env, stdin: "first\nsecond\n" });
    expect(result.code).toBe(0);
    expect(bodyOf(0)).toMatchObject({ model: "from-role", messages: [{ role: "system", content: "Review code." }, { role: "user", content: "first" }] });
    expect(bodyOf(1)).toMatchObject({ model: "from-role", messages: [{ role: "system", content: "Review code." }, { role: "user", content: "first" }, { role: "assistant", content: "ok" }, { role: "user", content: "second" }] });
  });

  it("/role NAME switches a chat to the role from the next question: its system prompt, model and fields; the chat's own flags still win", async () => {
    write({ roles: { reviewer: { system: "Review code.", model: "from-role", temperature: 0.2, "max-tokens": 50, option: ["seed=42"] }, brief: "Be brief." } });
    const result = await runCli(["chat", "-t", "0.7"], { env, stdin: "first\n/role reviewer\nsecond\n/role brief\nthird\n" });
    expect(result.code).toBe(0);
    const turns = (...questions: string[]): unknown[] => questions.flatMap((question, index) => [{ role: "user", content: question }, ...(index < questions.length - 1 ? [{ role: "assistant", content: "ok" }] : [])]);
    expect(bodyOf(0)).toMatchObject({ model: "gpt-4", temperature: 0.7, messages: turns("first") });
    // -t 0.7 was given on the chat's command line: it wins over the role's temperature, as with -r.
    expect(bodyOf(1)).toMatchObject({ model: "from-role", temperature: 0.7, max_tokens: 50, seed: 42, messages: [{ role: "system", content: "Review code." }, ...turns("first", "second")] });
    // The next role's settings replace the last one's: its system prompt, and the model and fields it does not set go back.
    expect(bodyOf(2)).toMatchObject({ model: "gpt-4", temperature: 0.7, messages: [{ role: "system", content: "Be brief." }, ...turns("first", "second", "third")] });
    expect(bodyOf(2)).not.toHaveProperty("seed");
    expect(bodyOf(2)).not.toHaveProperty("max_tokens");
    expect(result.stderr).toContain(`role reviewer: asking from-role at ${server.baseURL}; its system prompt goes with the next question`);
  });

  it("/role NAME on a chat started in a role: a role without a system prompt leaves the last one out; -m and -s of the command line win", async () => {
    write({ roles: { reviewer: { system: "Review code.", model: "from-role" }, quick: { model: "quick-model" } } });
    const plain = await runCli(["chat", "-r", "reviewer"], { env, stdin: "first\n/role quick\nsecond\n" });
    expect(plain.code).toBe(0);
    expect(bodyOf(0)).toMatchObject({ model: "from-role", messages: [{ role: "system", content: "Review code." }, { role: "user", content: "first" }] });
    expect(bodyOf(1)).toMatchObject({ model: "quick-model", messages: [{ role: "user", content: "first" }, { role: "assistant", content: "ok" }, { role: "user", content: "second" }] });
    expect(plain.stderr).toContain("the next question goes without a system prompt");
    const flagged = await runCli(["chat", "-m", "mine", "-s", "Mine."], { env, stdin: "/role reviewer\nthird\n" });
    expect(flagged.code).toBe(0);
    expect(bodyOf(2)).toMatchObject({ model: "mine", messages: [{ role: "system", content: "Mine." }, { role: "user", content: "third" }] });
  });

  it("/role NAME in a chat that goes on with a conversation keeps that conversation's model, also when another question became the latest meanwhile", async () => {
    write({ roles: { brief: "Be brief." } });
    expect((await runCli(["-m", "chat-model", "first"], { env })).code).toBe(0);
    const chat = startCli(["chat", "-c"], { env, keepStdinOpen: true });
    await chat.waitForStderr(/continuing conversation/);
    // Another terminal asks something else on another model: -c would now go on with that one.
    expect((await runCli(["-m", "elsewhere-model", "unrelated"], { env })).code).toBe(0);
    chat.child.stdin.end("/role brief\nsecond\n");
    const result = await chat.exited;
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("role brief: asking chat-model at");
    expect(bodyOf(2)).toMatchObject({ model: "chat-model", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "first" }, { role: "assistant", content: "ok" }, { role: "user", content: "second" }] });
  });

  it("/role alone shows the chat's role and lists those defined; an unknown role is told with them, and the chat goes on as it was", async () => {
    write({ roles: { reviewer: "Review code.", brief: { system: "Be brief.", model: "small" } } });
    const result = await runCli(["chat", "-r", "brief"], { env, stdin: "/role\n/role nope\nfirst\n" });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`role: brief (system, model); the roles of ${configFile}: reviewer, brief; /role NAME switches`);
    expect(result.stderr).toContain(`no role "nope" in ${configFile}; its roles: reviewer, brief; the chat goes on as it was`);
    expect(bodyOf(0)).toMatchObject({ model: "small", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "first" }] });
    rmSync(configFile);
    const none = await runCli(["chat"], { env, stdin: "/role\n/role shell\n/help\n" });
    expect(none.code).toBe(0);
    expect(none.stderr).toContain(`no role; ${configFile} defines no roles`);
    expect(none.stderr).toContain(`no role "shell": ${configFile} defines no roles`);
    expect(none.stderr).toMatch(/^ {2}\/role \[NAME\] +/m);
    expect(server.requests).toHaveLength(1);
  });
});

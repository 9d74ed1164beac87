import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type TestServer, responseEvents, responsesReply, startTestServer, streamReply, textChunks } from "g4f-rx/testing";
import { assertFreshBuild, runCli } from "./run-cli.js";

// `-o KEY=VALUE` on the BUILT command as a real process, against the test server: what reaches the server.

let server: TestServer;
let home: string;
let env: Record<string, string>;

beforeAll(() => assertFreshBuild());
beforeEach(async () => {
  server = await startTestServer();
  server.setDefaultReply(streamReply(textChunks(["ok"])));
  home = mkdtempSync(join(tmpdir(), "g4f-rx-fields-"));
  env = { OPENAI_BASE_URL: server.baseURL, XDG_CONFIG_HOME: join(home, "config"), XDG_DATA_HOME: join(home, "data") };
});
afterEach(async () => {
  await server.close();
  rmSync(home, { recursive: true, force: true });
});

const bodyOf = (index: number): Record<string, unknown> => {
  const body = server.requests[index]?.body;
  return typeof body === "object" && body !== null ? { ...body } : {};
};

describe("g4f-rx -o KEY=VALUE", () => {
  it("sends each field as given: JSON when it is JSON, else text; the last of a key given twice wins", async () => {
    const result = await runCli(["-o", "seed=42", "-o", 'stop=["\\n\\n", "END"]', "--option=response_format={\"type\":\"json_object\"}", "-o", "reasoning_effort=high", "-o", 'user="42"', "-o", "seed=7", "Hi"], { env });
    expect(result).toMatchObject({ code: 0, stdout: "ok\n" });
    expect(bodyOf(0)).toMatchObject({ seed: 7, stop: ["\n\n", "END"], response_format: { type: "json_object" }, reasoning_effort: "high", user: "42", model: "gpt-4", stream: true });
  });

  it("goes with every question of a chat, and is kept with the turn", async () => {
    const result = await runCli(["chat", "-o", "seed=1"], { env, stdin: "first\nsecond\n" });
    expect(result.code).toBe(0);
    expect([bodyOf(0).seed, bodyOf(1).seed]).toStrictEqual([1, 1]);
    const shown = await runCli(["logs", "show", "--json"], { env });
    expect(shown.stdout).toMatch(/"seed": ?1\b/);
  });

  it("sends the Responses API's own names as given with --api responses", async () => {
    server.reply(responsesReply(responseEvents(["Hello"])));
    const result = await runCli(["--api", "responses", "-q", "-o", 'reasoning={"effort":"high"}', "--max-tokens", "50", "Hi"], { env });
    expect(result).toMatchObject({ code: 0, stdout: "Hello\n" });
    expect(server.requests[0]).toMatchObject({ path: "/v1/responses", body: { reasoning: { effort: "high" }, max_output_tokens: 50, input: [{ role: "user", content: "Hi" }] } });
  });

  it("is taken from the config file and from a role", async () => {
    mkdirSync(join(home, "config", "g4f-rx"), { recursive: true });
    writeFileSync(join(home, "config", "g4f-rx", "config.json"), JSON.stringify({ option: ["seed=3"], roles: { careful: { option: ["top_p=0.1"] } } }));
    await runCli(["Hi"], { env });
    await runCli(["-r", "careful", "Hi"], { env });
    await runCli(["-r", "careful", "-o", "seed=9", "Hi"], { env });
    expect(bodyOf(0)).toMatchObject({ seed: 3 });
    expect(bodyOf(1)).toMatchObject({ top_p: 0.1 });
    expect(bodyOf(1).seed).toBeUndefined();
    expect(bodyOf(2)).toMatchObject({ seed: 9 });
    expect(bodyOf(2).top_p).toBeUndefined();
  });

  it("keeps a __proto__ field as a field, not as the body's prototype", async () => {
    expect(await runCli(["-o", '__proto__={"seed":5}', "Hi"], { env })).toMatchObject({ code: 0 });
    // The server's JSON.parse makes it an own key again, as it was sent.
    const body = server.requests[0]?.body;
    expect(typeof body === "object" && body !== null ? Object.getOwnPropertyDescriptor(body, "__proto__")?.value : undefined).toStrictEqual({ seed: 5 });
    expect(bodyOf(0).seed).toBeUndefined();
  });

  it("refuses what is not KEY=VALUE, and the fields the command writes itself, naming their flag; nothing is sent", async () => {
    const cases: Array<[string[], string]> = [
      [["-o", "seed", "42", "Hi"], '-o needs KEY=VALUE, got "seed" (llm\'s "-o KEY VALUE" is "-o KEY=VALUE" here: -o seed=42)'],
      [["-o", "=1", "Hi"], '-o needs KEY=VALUE, got "=1"'],
      [["-o", "model=x", "Hi"], '-o model=…: "model" is set with -m MODEL'],
      [["-o", "messages=[]", "Hi"], '-o messages=…: "messages" is set with the prompt, -s and -c'],
      [["-o", "stream=false", "Hi"], '-o stream=…: "stream" is set with --no-stream'],
      [["-o", "temperature=1", "Hi"], '-o temperature=…: "temperature" is set with -t N'],
      [["-o", "max_tokens=5", "Hi"], '-o max_tokens=…: "max_tokens" is set with --max-tokens N'],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args, { env });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(message);
    }
    expect(server.requests).toHaveLength(0);
  });
});

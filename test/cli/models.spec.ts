import { createServer } from "node:http";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { type TestServer, startTestServer } from "g4f-rx/testing";
import { closeTerminals, hasUtilLinuxScript, onTerminal } from "./pty.js";
import { assertFreshBuild, closedPort, runCli } from "./run-cli.js";

let server: TestServer | undefined;
beforeAll(() => assertFreshBuild());
afterEach(async () => {
  closeTerminals();
  await server?.close();
  server = undefined;
});

describe("g4f-rx models", () => {
  it("prints the endpoint's model ids, one per line, with models and with --list-models", async () => {
    server = await startTestServer({ models: ["gpt-4", "gpt-4o-mini", "llama-3.3-70b"] });
    const env = { OPENAI_BASE_URL: server.baseURL };
    expect(await runCli(["models"], { env })).toMatchObject({ code: 0, stdout: "gpt-4\ngpt-4o-mini\nllama-3.3-70b\n", stderr: "" });
    expect(await runCli(["--list-models", "--base-url", server.baseURL], {})).toMatchObject({ code: 0, stdout: "gpt-4\ngpt-4o-mini\nllama-3.3-70b\n" });
    expect(server.requests.map((request) => `${request.method} ${request.path}`)).toStrictEqual(["GET /v1/models", "GET /v1/models"]);
  });

  it.runIf(hasUtilLinuxScript())("shows control characters in a server's model ids as visible symbols on a terminal", async () => {
    server = await startTestServer({ models: ["m-a", "m-b\u001b[2J"] });
    const { code, screen } = await onTerminal(["models", "--base-url", server.baseURL], {}).exited;
    expect(code).toBe(0);
    expect(screen).toContain("m-b␛[2J");
    expect(screen).not.toContain("\u001b[2J");
  });

  it("models --help describes models, with the options that choose the endpoint", async () => {
    const result = await runCli(["models", "--help"]);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout).toMatch(/^Usage: g4f-rx models \[list\] \[options\]\n\nLists the models the endpoint offers/);
    expect(result.stdout).toContain("  -e, --endpoint NAME");
    expect(result.stdout).not.toContain("g4f-rx chat [options]");
  });

  it("takes llm's models list as models", async () => {
    server = await startTestServer({ models: ["a", "b"] });
    expect(await runCli(["models", "list", "--base-url", server.baseURL])).toMatchObject({ code: 0, stdout: "a\nb\n" });
    // Only as the first word: models takes no other.
    const other = await runCli(["models", "--base-url", server.baseURL, "list", "more"]);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('models takes no arguments, got "list more"');
  });

  it("prints the model objects as JSON lines with --json", async () => {
    server = await startTestServer({ models: ["a", "b"] });
    const result = await runCli(["models", "--json", "--base-url", server.baseURL]);
    expect(result.code).toBe(0);
    expect(result.stdout.trimEnd().split("\n").map((line) => JSON.parse(line) as unknown)).toStrictEqual([
      { id: "a", object: "model", created: 0, owned_by: "g4f-rx-test-server" },
      { id: "b", object: "model", created: 0, owned_by: "g4f-rx-test-server" },
    ]);
  });

  it("says clearly when the endpoint has no model list", async () => {
    const bare = createServer((_request, response) => response.writeHead(404, { "content-type": "application/json" }).end('{"error":{"message":"Not Found"}}'));
    await new Promise<void>((resolve) => bare.listen(0, "127.0.0.1", resolve));
    try {
      const address = bare.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      const result = await runCli(["models", "--base-url", `http://127.0.0.1:${port}/v1`]);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe("");
      expect(result.stderr).toContain(`http://127.0.0.1:${port}/v1/models answered HTTP 404: this endpoint has no model list`);
    } finally {
      await new Promise((resolve) => bare.close(resolve));
    }
  });

  it("says so when the list is empty, when nothing listens, and refuses a prompt", async () => {
    server = await startTestServer({ models: [] });
    const empty = await runCli(["models", "--base-url", server.baseURL]);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain("/v1/models lists no models");
    const port = await closedPort();
    const refused = await runCli(["models", "--base-url", `http://127.0.0.1:${port}/v1`]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`Could not connect to http://127.0.0.1:${port}/v1/models`);
    // A named endpoint's hint, as a question to it gets.
    const ollama = await runCli(["models", "-e", "ollama", "--base-url", `http://127.0.0.1:${port}/v1`]);
    expect(ollama.stderr).toContain("Is Ollama running? To use it, start it with `ollama serve`.");
    const prompt = await runCli(["models", "hello", "--base-url", server.baseURL]);
    expect(prompt.code).toBe(2);
    expect(prompt.stderr).toContain('models takes no arguments, got "hello"');
  });
});

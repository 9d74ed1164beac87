import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type TestServer, errorReply, responseEvents, responsesReply, startTestServer, streamReply, textChunks } from "g4f-rx/testing";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readCassette } from "../../src/replay/cassette.js";
import { assertFreshBuild, runCli } from "./run-cli.js";

// `--api responses` on the BUILT command as a real process, against the test server's POST /v1/responses.

let server: TestServer;
let env: Record<string, string>;

beforeAll(() => assertFreshBuild());
beforeEach(async () => {
  server = await startTestServer();
  env = { OPENAI_BASE_URL: server.baseURL };
});
afterEach(() => server.close());

describe("g4f-rx --api responses", () => {
  it("asks POST /v1/responses with instructions and input, and prints the output text", async () => {
    server.reply(responsesReply(responseEvents(["Hello", " there!"], { reasoning: ["Greet."] })));
    const result = await runCli(["--api", "responses", "-q", "-m", "gpt-5-mini", "-s", "Be brief.", "--max-tokens", "50", "Say hello there!"], { env });
    expect(result).toMatchObject({ code: 0, stdout: "Hello there!\n", stderr: "" });
    expect(server.requests[0]).toMatchObject({
      path: "/v1/responses",
      body: { model: "gpt-5-mini", instructions: "Be brief.", input: [{ role: "user", content: "Say hello there!" }], max_output_tokens: 50, stream: true },
    });
  });

  it("shows the reasoning summary with --show-reasoning, and prints every event with --json", async () => {
    const events = responseEvents(["Hi"], { reasoning: ["Think."] });
    server.reply(responsesReply(events), responsesReply(events));
    const shown = await runCli(["--api", "responses", "-q", "--show-reasoning", "Hi"], { env });
    expect(shown).toMatchObject({ code: 0, stdout: "Hi\n" });
    expect(shown.stderr).toContain("Think.");
    const json = await runCli(["--api", "responses", "-q", "--json", "Hi"], { env });
    expect(json.stdout.trim().split("\n").map((line) => JSON.parse(line) as unknown)).toEqual(events);
  });

  it("prints the whole answer with --no-stream, from one non-streaming request", async () => {
    const completed = responseEvents(["Hello", " there!"]).at(-1);
    server.reply({ headers: { "content-type": "application/json" }, body: [JSON.stringify(completed?.type === "response.completed" ? completed.response : {})] });
    const result = await runCli(["--api", "responses", "--no-stream", "-q", "Hi"], { env });
    expect(result).toMatchObject({ code: 0, stdout: "Hello there!\n" });
    expect(server.requests[0]?.body).toMatchObject({ stream: false });
  });

  it("records the Responses events themselves with --record, and --replay plays them back as they came", async () => {
    const events = responseEvents(["Hello", " there!"], { reasoning: ["Greet."] });
    server.reply(responsesReply(events));
    const folder = mkdtempSync(join(tmpdir(), "g4f-rx-responses-record-"));
    try {
      const file = join(folder, "hello.cassette.jsonl");
      const recorded = await runCli(["--api", "responses", "-q", "-s", "Be brief.", "--record", file, "Say hello there!"], { env });
      expect(recorded).toMatchObject({ code: 0, stdout: "Hello there!\n" });
      const cassette = readCassette(file);
      expect(cassette.api).toBe("responses");
      // Every event as the server sent it, in order: not chat chunks made from them.
      expect(cassette.frames.map((frame) => frame.data)).toStrictEqual(events);

      // Played back offline (no server reply is queued): the text, and with --json the events themselves.
      const replayed = await runCli(["--replay", file, "-q", "-s", "Be brief.", "--speed", "Infinity", "Say hello there!"], { env: {} });
      expect(replayed).toMatchObject({ code: 0, stdout: "Hello there!\n" });
      const json = await runCli(["--replay", file, "-q", "--json", "-s", "Be brief.", "--speed", "Infinity", "Say hello there!"], { env: {} });
      expect(json.stdout.trim().split("\n").map((line) => JSON.parse(line) as unknown)).toStrictEqual(events);
      const reasoning = await runCli(["--replay", file, "-q", "--show-reasoning", "-s", "Be brief.", "--speed", "Infinity", "Say hello there!"], { env: {} });
      expect(reasoning.stderr).toContain("Greet.");
      const whole = await runCli(["--replay", file, "-q", "--no-stream", "-s", "Be brief.", "Say hello there!"], { env: {} });
      expect(whole).toMatchObject({ code: 0, stdout: "Hello there!\n" });
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it("exits 1 and says to ask without --api responses when the server streams chat-completion chunks instead (GPT4Free's /v1/responses)", async () => {
    server.reply(streamReply(textChunks(["Hi"])));
    const result = await runCli(["--api", "responses", "-q", "Hi"], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("streams chat completions, not Responses API events: ask it without --api responses (or with --api chat).");
    expect(result.stderr).not.toContain("fromChatCompletion");
    // The URL asked, not the chat one.
    expect(result.stderr).toContain(`${server.baseURL}/responses`);
    expect(result.stderr).not.toContain("/chat/completions");
  });

  it("passes HTTP errors on as for chat, and refuses an unknown API with exit 2", async () => {
    server.reply(errorReply(401, "Incorrect API key provided"));
    const denied = await runCli(["--api", "responses", "-q", "Hi"], { env });
    expect(denied.code).toBe(1);
    // Said as for chat only when the client's error is an instance of the command's one APIError class: the client
    // is a separate file of the command, loaded only for --api responses, and must share that class.
    expect(denied.stderr).toContain(`${server.baseURL}/responses answered HTTP 401: Incorrect API key provided`);
    expect(denied.stderr).toContain("Check the API key");
    const unknown = await runCli(["--api", "completions", "Hi"], { env });
    expect(unknown.code).toBe(2);
  });
});

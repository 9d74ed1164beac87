import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type TestServer, startTestServer, streamReply, textChunks } from "g4f-rx/testing";
import { closeTerminals, hasUtilLinuxScript, onTerminal } from "./pty.js";
import { assertFreshBuild, runCli } from "./run-cli.js";

// `-x` and `--extract-last`, on the BUILT command as a real process against the test server.

const ANSWER = ["Here you go:\n\n```sh\nfind . -name '*.log'", " -mtime +7 \\\n  -delete\n```\n\nOr, to see them first:\n\n", "```sh\nfind . -name '*.log' -mtime +7\n```\n"];
const FIRST = "find . -name '*.log' -mtime +7 \\\n  -delete\n";
const LAST = "find . -name '*.log' -mtime +7\n";

let server: TestServer;
let env: Record<string, string>;
let home: string;

beforeAll(() => assertFreshBuild());
beforeEach(async () => {
  server = await startTestServer();
  home = mkdtempSync(join(tmpdir(), "g4f-rx-extract-"));
  env = { OPENAI_BASE_URL: server.baseURL, HOME: home, XDG_DATA_HOME: join(home, "data"), XDG_CACHE_HOME: join(home, "cache") };
});
afterEach(async () => {
  closeTerminals();
  await server.close();
  rmSync(home, { recursive: true, force: true });
});

describe("g4f-rx -x / --extract-last", () => {
  it("prints only the first fenced code block's code, and keeps the whole answer in the conversation", async () => {
    server.reply(streamReply(textChunks(ANSWER)));
    const result = await runCli(["-x", "Delete logs older than a week"], { env });
    expect(result).toMatchObject({ code: 0, stdout: FIRST, stderr: "" });
    const shown = await runCli(["logs", "show"], { env });
    expect(shown.stdout).toContain("Or, to see them first:");
    expect(shown.stdout).toContain(LAST.trim());
  });

  it("--extract-last prints the last block; --no-stream takes the block out of the whole answer alike", async () => {
    server.reply(streamReply(textChunks(ANSWER)));
    expect(await runCli(["--extract-last", "Delete logs"], { env })).toMatchObject({ code: 0, stdout: LAST, stderr: "" });
    const completion = { id: "c", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: ANSWER.join("") }, finish_reason: "stop" }] };
    server.reply({ headers: { "content-type": "application/json" }, body: [JSON.stringify(completion)] });
    expect(await runCli(["-x", "--no-stream", "Delete logs"], { env })).toMatchObject({ code: 0, stdout: FIRST });
  });

  it("prints an answer with no code block whole, with a note on stderr (none with -q)", async () => {
    server.reply(streamReply(textChunks(["ls -la ", "| sort"])), streamReply(textChunks(["ls -la"])));
    const noted = await runCli(["-x", "List files"], { env });
    expect(noted).toMatchObject({ code: 0, stdout: "ls -la | sort\n" });
    expect(noted.stderr).toBe("g4f-rx: the answer has no fenced code block; it is printed whole\n");
    expect(await runCli(["-x", "-q", "List files"], { env })).toMatchObject({ code: 0, stdout: "ls -la\n", stderr: "" });
  });

  it("keeps what arrived when the stream fails mid-block: the code so far, then the error", async () => {
    server.reply(streamReply(textChunks(["```py\nprint(1)\nprint(", "2"], { finishReason: null }), { done: false }));
    const result = await runCli(["-x", "Count"], { env });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("print(1)\nprint(2\n");
    expect(result.stderr).toMatch(/ended before the stream's end|incomplete/i);
  });

  it.each([
    [["-x", "--json"], "--json prints the chunks as received"],
    [["-x", "--extract-last"], "use one of them"],
    [["-x", "--render", "always"], "--render always formats the answer as markdown"],
  ])("refuses %j as a usage error, before anything is sent", async (flags, message) => {
    const result = await runCli([...flags, "Hi"], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(server.requests).toHaveLength(0);
  });

  it("is for single questions: chat refuses it", async () => {
    const result = await runCli(["chat", "-x"], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("-x are for single questions");
  });
});

describe.runIf(hasUtilLinuxScript())("g4f-rx -x on a real terminal (util-linux script)", () => {
  it("prints the code as written, not rendered as markdown, its control characters made visible", async () => {
    server.reply(streamReply(textChunks(["# Title\n\n```js\nconst x = '\u001b[2J';\n```\n"])));
    const { code, screen } = await onTerminal(["-q", "-x", "Explain"], { ...env, G4F_RX_NO_LOG: "1" }).exited;
    expect(code).toBe(0);
    expect(screen).toContain("const x = '␛[2J';");
    expect(screen).not.toContain("Title");
    expect(screen).not.toContain("\u001b[");
  });
});

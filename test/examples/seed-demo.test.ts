import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type TestServer, errorFrame, startTestServer, streamReply, textChunks } from "g4f-rx/testing";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../..", import.meta.url));

/** Runs the demo as a user would, with tsx, and returns its stdout and exit code. */
async function demo(args: string[], env: Record<string, string> = {}): Promise<{ stdout: string; code: number }> {
  try {
    const { stdout } = await run(process.execPath, ["--import", "tsx", "examples/seed-demo.ts", ...args], {
      cwd: root,
      env: { ...process.env, OPENAI_BASE_URL: "", ...env },
    });
    return { stdout, code: 0 };
  } catch (error) {
    const failed = error as { stdout: string; code: number };
    return { stdout: failed.stdout, code: failed.code };
  }
}

describe("examples/seed-demo.ts", () => {
  let server: TestServer;
  beforeEach(async () => (server = await startTestServer()));
  afterEach(() => server.close());

  it("prints each delta, then the final accumulated text", async () => {
    server.reply(streamReply(textChunks(["Hello", " there!", " How can I help?"]), { delayMs: 2 }));
    const { stdout, code } = await demo(["--base-url", server.baseURL]);
    expect(stdout).toBe("Hello there! How can I help?\n\nFinal accumulated text: Hello there! How can I help?\n");
    expect(code).toBe(0);
    expect(server.requests[0]?.body).toEqual({
      model: "gpt-4",
      messages: [{ role: "user", content: "Say hello there!" }],
      stream: true,
    });
  });

  it("prints the error after two chunks and keeps the partial text in the final line", async () => {
    server.reply(streamReply(textChunks(["Hello", " the"]).slice(1, 3), { then: [errorFrame("Provider failed: rate limited")] }));
    const { stdout, code } = await demo(["--model", "gpt-4o-mini"], { OPENAI_BASE_URL: server.baseURL });
    expect(stdout).toBe("Hello the\nError occurred: Provider failed: rate limited\n\nFinal accumulated text: Hello the\n");
    expect(code).toBe(1);
    expect(server.requests[0]?.body).toMatchObject({ model: "gpt-4o-mini" });
  });
});

import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type TestServer, errorReply, startTestServer, streamReply, textChunks } from "g4f-rx/testing";
import { BIN, assertFreshBuild } from "./run-cli.js";

/** util-linux's `script` gives the command a real pseudo-terminal; other `script`s take other flags. */
function hasUtilLinuxScript(): boolean {
  try {
    return execFileSync("script", ["--version"], { encoding: "utf8" }).includes("util-linux");
  } catch {
    return false;
  }
}

const quote = (text: string): string => `'${text.replaceAll("'", "'\\''")}'`;

/**
 * Runs the command on a pseudo-terminal: stdin and stderr are the terminal, stdout goes to a file.
 * Resolves with what the terminal showed, what stdout got, and the exit code.
 */
function onTerminal(args: readonly string[], env: Record<string, string>): Promise<{ terminal: string; stdout: string; code: number }> {
  const out = join(mkdtempSync(join(tmpdir(), "g4f-rx-pty-")), "stdout.txt");
  const command = `${[process.execPath, BIN, ...args].map(quote).join(" ")} > ${quote(out)}`;
  return new Promise((resolve) => {
    execFile("script", ["--quiet", "--return", "--command", command, "/dev/null"], { env: { PATH: process.env.PATH ?? "", TERM: "xterm", ...env } }, (error, terminal) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      resolve({ terminal, stdout: readFileSync(out, "utf8"), code });
    });
  });
}

const RED = "\u001b[31m";

describe.runIf(hasUtilLinuxScript())("on a real terminal (util-linux script)", () => {
  let server: TestServer;
  beforeAll(() => assertFreshBuild());
  beforeEach(async () => (server = await startTestServer()));
  afterEach(() => server.close());

  it("shows a spinner on stderr while waiting, erases it, and keeps stdout for the answer alone", async () => {
    server.reply({ ...streamReply(textChunks(["Hello", " there!"])), headersAfterMs: 400 });
    const { terminal, stdout, code } = await onTerminal(["--base-url", server.baseURL, "Hi"], {});
    expect(code).toBe(0);
    expect(stdout).toBe("Hello there!\n");
    expect(terminal).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] /);
    expect(terminal).toContain("waiting for gpt-4");
    expect(terminal).toContain("\r\u001b[K");
  });

  it("colours the error on a terminal", async () => {
    server.reply(errorReply(401, "Incorrect API key provided"));
    const { terminal, code } = await onTerminal(["--base-url", server.baseURL, "Hi"], {});
    expect(code).toBe(1);
    expect(terminal).toContain(`${RED}g4f-rx:`);
    expect(terminal).toContain("Incorrect API key provided");
  });

  it("never colours with NO_COLOR", async () => {
    server.reply(errorReply(401, "Incorrect API key provided"));
    const { terminal, code } = await onTerminal(["--base-url", server.baseURL, "Hi"], { NO_COLOR: "1" });
    expect(code).toBe(1);
    expect(terminal).toContain("Incorrect API key provided");
    expect(terminal).not.toContain(RED);
  });
});

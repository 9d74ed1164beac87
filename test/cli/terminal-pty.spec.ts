import { execFile, execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import stringWidth from "string-width";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type TestServer, errorReply, startTestServer, streamReply, textChunks } from "g4f-rx/testing";
import { BIN, assertFreshBuild, runCli } from "./run-cli.js";
import { temporaryFolder } from "../support/temporary-folder.js";

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
  const out = join(temporaryFolder("g4f-rx-pty-"), "stdout.txt");
  const command = `${[process.execPath, BIN, ...args].map(quote).join(" ")} > ${quote(out)}`;
  return new Promise((resolve) => {
    execFile("script", ["--quiet", "--return", "--command", command, "/dev/null"], { env: { PATH: process.env.PATH ?? "", TERM: "xterm", ...env } }, (error, terminal) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      resolve({ terminal, stdout: readFileSync(out, "utf8"), code });
    });
  });
}

/** Runs the command with stdin, stdout and stderr all on a pseudo-terminal of `columns` columns; resolves with what it showed. */
function allOnTerminal(args: readonly string[], env: Record<string, string>, columns = 80): Promise<{ terminal: string; code: number }> {
  const command = `stty cols ${columns} 2>/dev/null; ${[process.execPath, BIN, ...args].map(quote).join(" ")}`;
  return new Promise((resolve) => {
    execFile("script", ["--quiet", "--return", "--command", command, "/dev/null"], { env: { PATH: process.env.PATH ?? "", TERM: "xterm", ...env } }, (error, terminal) => {
      resolve({ terminal, code: error === null ? 0 : typeof error.code === "number" ? error.code : -1 });
    });
  });
}

/** `onTerminal` on a terminal `columns` wide. */
function onTerminalColumns(args: readonly string[], columns: number): Promise<{ terminal: string; stdout: string; code: number }> {
  const out = join(temporaryFolder("g4f-rx-pty-"), "stdout.txt");
  const command = `stty cols ${columns} 2>/dev/null; ${[process.execPath, BIN, ...args].map(quote).join(" ")} > ${quote(out)}`;
  return new Promise((resolve) => {
    execFile("script", ["--quiet", "--return", "--command", command, "/dev/null"], { env: { PATH: process.env.PATH ?? "", TERM: "xterm" } }, (error, terminal) => {
      resolve({ terminal, stdout: readFileSync(out, "utf8"), code: error === null ? 0 : typeof error.code === "number" ? error.code : -1 });
    });
  });
}

const RED = "\u001b[31m";
const ESC = "\u001b";
const HOSTILE = `Hi${ESC}]0;pwned\u0007${ESC}[2J there\u009b31m!`;

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

  it("says the model is answering while a rendered paragraph is held, instead of still waiting", async () => {
    server.reply(streamReply(textChunks(["A paragraph", " still", " arriving."]), { delayMs: 400 }));
    const { terminal, stdout, code } = await onTerminal(["--base-url", server.baseURL, "Hi"], {});
    expect(code).toBe(0);
    expect(stdout).toContain("A paragraph still arriving.");
    expect(terminal).toContain("gpt-4 is answering");
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

  it("follows FORCE_COLOR: 0 takes the colours off a terminal, 1 puts them on stderr into a pipe", async () => {
    server.reply(errorReply(401, "Incorrect API key provided"), streamReply(textChunks(["```js\nconst x = 1;\n```\n"])), errorReply(401, "Incorrect API key provided"));
    const off = await onTerminal(["--base-url", server.baseURL, "Hi"], { FORCE_COLOR: "0" });
    expect(off.code).toBe(1);
    expect(off.terminal).toContain("Incorrect API key provided");
    expect(off.terminal).not.toContain(RED);
    // The rendered answer keeps its other styles (dim fences), as with NO_COLOR, and loses its colours.
    const rendered = await allOnTerminal(["--base-url", server.baseURL, "-q", "Hi"], { FORCE_COLOR: "0" });
    expect(rendered.terminal).toContain(`${ESC}[2m\`\`\`js${ESC}[22m`);
    expect(rendered.terminal).not.toMatch(new RegExp(`${ESC}\\[3\\dm`));
    const piped = await runCli(["--base-url", server.baseURL, "Hi"], { env: { FORCE_COLOR: "1" } });
    expect(piped.code).toBe(1);
    expect(piped.stderr).toContain(`${RED}g4f-rx:`);
  });

  it("fits the spinner line to a narrow terminal, so each frame overwrites the last", async () => {
    server.reply({ ...streamReply(textChunks(["Hello"])), headersAfterMs: 500 });
    const model = "a-very-long-model-identifier-that-goes-on-and-on-well-past-forty-columns";
    const { terminal, stdout, code } = await onTerminalColumns(["--base-url", server.baseURL, "-m", model, "Hi"], 40);
    expect(code).toBe(0);
    expect(stdout).toBe("Hello\n");
    // Each frame is "\r", the erasure of the line (but the first), the spinner and its text.
    const frames = terminal.split("\r").filter((part) => /^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] /.test(part.replace(`${ESC}[K`, "")));
    expect(frames.length).toBeGreaterThan(1);
    // eslint-disable-next-line no-control-regex
    for (const frame of frames) expect([...frame.replace(/\u001b\[[0-9;]*[mK]/g, "")].length).toBeLessThan(40);
  });

  it("fits a spinner line of wide characters in terminal cells, cut between whole characters", async () => {
    server.reply({ ...streamReply(textChunks(["Hello"])), headersAfterMs: 600 });
    // 22 Chinese characters take 44 cells: counted as 22, the line wrapped in 40 columns and every frame left a line.
    const model = "模型中文很长的名字非常非常长的模型标识符号码👨‍👩‍👧";
    const { terminal, stdout, code } = await onTerminalColumns(["--base-url", server.baseURL, "-m", model, "Hi"], 40);
    expect(code).toBe(0);
    expect(stdout).toBe("Hello\n");
    const frames = terminal.split("\r").filter((part) => /^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] /.test(part.replace(`${ESC}[K`, "")));
    expect(frames.length).toBeGreaterThan(1);
    for (const frame of frames) {
      // eslint-disable-next-line no-control-regex
      const shown = frame.replace(/\u001b\[[0-9;]*[mK]/g, "");
      expect(stringWidth(shown)).toBeLessThan(40);
      expect(shown).toMatch(/^. waiting for 模型中文.*…$/u);
    }
  });

  it("draws no spinner with TERM=dumb", async () => {
    server.reply({ ...streamReply(textChunks(["Hello"])), headersAfterMs: 400 });
    const { terminal, stdout, code } = await onTerminal(["--base-url", server.baseURL, "Hi"], { TERM: "dumb" });
    expect(code).toBe(0);
    expect(stdout).toBe("Hello\n");
    expect(terminal).not.toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/);
    expect(terminal).not.toContain(`${ESC}[K`);
  });

  it("shows escape sequences in the answer and in a server's error as visible text, never raw", async () => {
    server.reply(streamReply(textChunks([HOSTILE])));
    const answer = await allOnTerminal(["--base-url", server.baseURL, "Hi"], {});
    expect(answer.code).toBe(0);
    // The markdown renderer on a terminal, or the command itself, makes them harmless: never raw.
    expect(answer.terminal).toContain("pwned");
    expect(answer.terminal).not.toContain("\u0007");
    expect(answer.terminal).not.toContain("\u009b");
    expect(answer.terminal).not.toContain(`${ESC}]0;`);
    expect(answer.terminal).not.toContain(`${ESC}[2J`);
    server.reply(errorReply(500, HOSTILE));
    const error = await allOnTerminal(["--base-url", server.baseURL, "Hi"], { NO_COLOR: "1" });
    expect(error.code).toBe(1);
    expect(error.terminal).toContain("Hi␛]0;pwned␇␛[2J there");
    expect(error.terminal).not.toContain(`${ESC}]0;`);
  });

  it("keeps a CR LF line end or an emoji cut between two pieces of a raw answer whole, and shows a carriage return alone", async () => {
    // --render never: the raw text, made harmless piece by piece. 😀 comes as its two UTF-16 halves, apart.
    server.reply(streamReply(textChunks(["Line one\r", "\nLine \ud83d", "\ude00\r", "\nLast\r"])));
    const { terminal, code } = await allOnTerminal(["--base-url", server.baseURL, "-q", "--render", "never", "Hi"], {});
    expect(code).toBe(0);
    // Each CR LF is a line end (the terminal's own line discipline adds a CR before each LF); the last CR, alone, shows.
    expect(terminal).toContain("Line one\r\r\nLine 😀\r\r\nLast␍\r\n");
    expect(terminal.match(/␍/g)).toHaveLength(1);
  });

  it("keeps a CR LF or an emoji cut between two pieces of the reasoning (--show-reasoning) whole on the terminal", async () => {
    server.reply(streamReply(textChunks(["<think>One\r", "\nTwo \ud83d", "\ude00</think>", "Answer"])));
    const { terminal, stdout, code } = await onTerminal(["--base-url", server.baseURL, "-q", "--show-reasoning", "Hi"], { NO_COLOR: "1" });
    expect(code).toBe(0);
    expect(stdout).toBe("Answer\n");
    expect(terminal).toContain("One\r\r\nTwo 😀\r\n");
  });

  it("names an endpoint that the environment chose", async () => {
    server.reply(streamReply(textChunks(["Hello"])));
    const { terminal, code } = await onTerminal(["Hi"], { OPENAI_BASE_URL: server.baseURL, NO_COLOR: "1" });
    expect(code).toBe(0);
    expect(terminal).toContain(`g4f-rx: asking ${server.baseURL} (from $OPENAI_BASE_URL), model gpt-4`);
  });
});

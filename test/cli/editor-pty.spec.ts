import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type TestServer, startTestServer, streamReply, textChunks } from "g4f-rx/testing";
import { temporaryFolder } from "../support/temporary-folder.js";
import { closeTerminals, hasUtilLinuxScript, onTerminal } from "./pty.js";
import { assertFreshBuild, runCli } from "./run-cli.js";

let server: TestServer;
let home: string;
let env: Record<string, string>;

const messagesOf = (index: number): unknown => {
  const body = server.requests[index]?.body;
  return typeof body === "object" && body !== null && "messages" in body ? body.messages : undefined;
};

/**
 * An editor as a script: it keeps the file it was given (as `given`), says which terminal mode it found (as `mode`),
 * draws a line on its terminal, and saves `saved` as the question.
 */
function editorSaving(saved: string): string {
  const editor = join(home, "editor.sh");
  const script = [
    "#!/bin/sh",
    `cp "$1" "${join(home, "given")}"`,
    `stty -a | grep -o -- '-icanon\\|icanon' | head -1 > "${join(home, "mode")}"`,
    "echo 'EDITOR ON THE TERMINAL'",
    `printf '%s' '${saved}' > "$1"`,
    "",
  ].join("\n");
  writeFileSync(editor, script, { mode: 0o755 });
  return editor;
}
const quoted = (text: string): string => `'${text.replaceAll("'", "'\\''")}'`;
const given = (): string => readFileSync(join(home, "given"), "utf8");

beforeAll(() => assertFreshBuild());
beforeEach(async () => {
  server = await startTestServer();
  server.setDefaultReply(streamReply(textChunks(["The ", "answer."])));
  home = temporaryFolder("g4f-rx-editor-");
  env = { OPENAI_BASE_URL: server.baseURL, XDG_DATA_HOME: join(home, "data"), XDG_CONFIG_HOME: join(home, "config"), XDG_CACHE_HOME: join(home, "cache"), HOME: join(home, "home") };
});
afterEach(async () => {
  closeTerminals();
  await server.close();
});

describe.runIf(hasUtilLinuxScript())("g4f-rx --editor on a real terminal (util-linux script)", () => {
  it("writes the question in $VISUAL, starting from the arguments, then asks what was saved", async () => {
    const session = onTerminal(["--editor", "Draft", "question"], { ...env, VISUAL: editorSaving("Edited question\nsecond line\n\n"), EDITOR: "false" });
    const { code, screen } = await session.exited;
    expect(code).toBe(0);
    expect(given()).toBe("Draft question\n");
    // The editor had the terminal in its ordinary (canonical) mode.
    expect(readFileSync(join(home, "mode"), "utf8").trim()).toBe("icanon");
    expect(messagesOf(0)).toStrictEqual([{ role: "user", content: "Edited question\nsecond line" }]);
    expect(server.requests).toHaveLength(1);
    expect(screen).toContain("EDITOR ON THE TERMINAL");
    expect(screen).toContain("The answer.");
  });

  it("starts from the text typed on the terminal after -, below the arguments", async () => {
    const session = onTerminal(["--editor", "Translate:", "-"], { ...env, EDITOR: editorSaving("Translate: Bonjour") });
    session.type("Bonjour\r\u0004");
    const { code } = await session.exited;
    expect(code).toBe(0);
    expect(given()).toBe("Translate:\n\nBonjour\n");
    expect(readFileSync(join(home, "mode"), "utf8").trim()).toBe("icanon");
    expect(messagesOf(0)).toStrictEqual([{ role: "user", content: "Translate: Bonjour" }]);
  });

  it("gives the editor the terminal when stdout goes to a file, which then holds the answer alone", async () => {
    const out = join(home, "answer.txt");
    const session = onTerminal(["--editor"], { ...env, EDITOR: editorSaving("From nothing.") }, { stdoutTo: out });
    const { code, screen } = await session.exited;
    expect(code).toBe(0);
    expect(given()).toBe("");
    expect(screen).toContain("EDITOR ON THE TERMINAL");
    expect(readFileSync(out, "utf8")).toBe("The answer.\n");
    expect(messagesOf(0)).toStrictEqual([{ role: "user", content: "From nothing." }]);
  });

  it("sends nothing and exits 2 when the question is saved empty or the editor fails, and says so", async () => {
    const emptied = onTerminal(["--editor", "Draft"], { ...env, EDITOR: editorSaving(" \n\n") });
    const empty = await emptied.exited;
    expect(empty.code).toBe(2);
    expect(empty.screen).toContain("the editor left the question empty; nothing asked");
    const failing = join(home, "failing.sh");
    writeFileSync(failing, "#!/bin/sh\nexit 3\n", { mode: 0o755 });
    const failed = await onTerminal(["--editor", "Draft"], { ...env, EDITOR: failing }).exited;
    expect(failed.code).toBe(2);
    expect(failed.screen).toContain(`the editor (${failing}) exited with status 3; nothing asked`);
    expect(server.requests).toHaveLength(0);
  });

  it("says a conversation it cannot go on with (--cid unknown, a --title taken) before the editor runs, not after: nothing written is lost", async () => {
    expect((await runCli(["--title", "taken", "first"], { env })).code).toBe(0);
    for (const args of [["--cid", "no such"], ["--title", "taken"], ["-c", "--title", "20261130T041612-abcdef"]]) {
      const session = onTerminal(["--editor", ...args, "Draft"], { ...env, EDITOR: editorSaving("A long question.") });
      const { code, screen } = await session.exited;
      expect(code, args.join(" ")).toBe(2);
      expect(screen, args.join(" ")).not.toContain("EDITOR ON THE TERMINAL");
      expect(() => given(), args.join(" ")).toThrow();
    }
    expect(server.requests).toHaveLength(1);
  });

  it("ends by SIGINT (130), sending nothing, when Ctrl-C stops the editor, so that a shell loop around it stops too", async () => {
    // The editor is one process that says it is ready only once it is: a shell script that echoes, then runs sleep,
    // could take the Ctrl-C between the two, and sh then waits for the sleep (60 s) before it dies of the signal.
    const slow = join(home, "slow.sh");
    const waiting = `console.log("EDITOR ON THE TERMINAL"); setTimeout(() => undefined, 60_000);`;
    writeFileSync(slow, `#!/bin/sh\nexec ${quoted(process.execPath)} -e ${quoted(waiting)}\n`, { mode: 0o755 });
    // SHELL: script runs the command through it; bash runs a lone command in its place, so the exit is the command's
    // own (sh would wait for it, and die by the Ctrl-C itself).
    const session = onTerminal(["--editor", "Draft"], { ...env, EDITOR: slow, SHELL: "/bin/bash" });
    await session.waitFor("EDITOR ON THE TERMINAL");
    session.type("\u0003");
    const { code, screen } = await session.exited;
    expect(code).toBe(130);
    expect(screen).toContain("was stopped by SIGINT; nothing asked");
    expect(server.requests).toHaveLength(0);
  });

  it("draws on the controlling terminal when stdout and stderr both go to files", async () => {
    const out = join(home, "out.txt");
    const session = onTerminal(["--editor", "Draft"], { ...env, EDITOR: editorSaving("Redirected.") }, { stdoutTo: out, stderrTo: join(home, "errors.txt") });
    const { code, screen } = await session.exited;
    expect(code).toBe(0);
    expect(screen).toContain("EDITOR ON THE TERMINAL");
    expect(readFileSync(out, "utf8")).toBe("The answer.\n");
    expect(messagesOf(0)).toStrictEqual([{ role: "user", content: "Redirected." }]);
  });

  it("edits text piped in on the controlling terminal, as vipe does: git diff | g4f-rx --editor \"Review:\"", async () => {
    const piped = join(home, "diff.txt");
    writeFileSync(piped, "-old line\n+new line\n");
    const session = onTerminal(["--editor", "Review:"], { ...env, EDITOR: editorSaving("Review: is +new line right?") }, { stdinFrom: piped });
    const { code, screen } = await session.exited;
    expect(code).toBe(0);
    // The editor started from the words, a blank line and what came down the pipe, on the terminal in its usual mode.
    expect(given()).toBe("Review:\n\n-old line\n+new line\n");
    expect(readFileSync(join(home, "mode"), "utf8").trim()).toBe("icanon");
    expect(screen).toContain("EDITOR ON THE TERMINAL");
    expect(screen).toContain("The answer.");
    expect(messagesOf(0)).toStrictEqual([{ role: "user", content: "Review: is +new line right?" }]);
  });
});

describe("g4f-rx --editor without a terminal", () => {
  it("refuses with exit 2 and sends nothing, also when the text comes on stdin", async () => {
    const editor = join(home, "never.sh");
    writeFileSync(editor, `#!/bin/sh\ntouch "${join(home, "ran")}"\n`, { mode: 0o755 });
    for (const stdin of ["piped text\n", ""]) {
      // Detached: no controlling terminal, as under cron, even when the tests run on one.
      const result = await runCli(["--editor", "Draft"], { env: { ...env, EDITOR: editor }, stdin, detached: true });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("--editor needs a terminal for the editor, and there is none (no controlling terminal); nothing sent");
      expect(result.stdout).toBe("");
    }
    expect(() => readFileSync(join(home, "ran"))).toThrow();
    expect(server.requests).toHaveLength(0);
  });

  it("is for single questions: chat refuses it and names /edit", async () => {
    const result = await runCli(["chat", "--editor"], { env, stdin: "Hi\n" });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--editor is for single questions; in the chat, /edit writes the next question in the editor");
    expect(server.requests).toHaveLength(0);
  });
});

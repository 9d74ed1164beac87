import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DONE_EVENT, type TestServer, sseFrame, startTestServer, streamReply, textChunks } from "g4f-rx/testing";
import { closeTerminals, hasUtilLinuxScript, onTerminal } from "./pty.js";
import { assertFreshBuild, runCli } from "./run-cli.js";

const ESC = "\u001b";
const MARKDOWN = ["# Title\n\nSome **bold", "** text.\n\n```js\nconst x = 1;\n```\n\nEnd."];

let server: TestServer;
let env: Record<string, string>;
beforeAll(() => assertFreshBuild());
beforeEach(async () => {
  server = await startTestServer();
  env = { OPENAI_BASE_URL: server.baseURL, G4F_RX_NO_LOG: "1" };
});
afterEach(() => {
  closeTerminals();
  return server.close();
});

describe.runIf(hasUtilLinuxScript())("--render on a real terminal (util-linux script)", () => {
  it("renders markdown append-only: complete blocks at once, the open block held back, nothing redrawn", async () => {
    server.reply(streamReply(textChunks(MARKDOWN), { delayMs: 1500 }));
    // -q: no spinner on stderr (the same terminal), so what the screen shows is the answer alone.
    const session = onTerminal(["-q", "Explain"], env);
    await session.waitFor("Title");
    // The heading is out while the paragraph after it is still being written: held back, not drawn and redrawn.
    expect(session.screen()).not.toContain("Some");
    const { code, screen } = await session.exited;
    expect(code).toBe(0);
    expect(screen).toContain(`${ESC}[4m${ESC}[1mTitle${ESC}[22m${ESC}[24m`);
    expect(screen).toContain(`Some ${ESC}[1mbold${ESC}[22m text.`);
    // The terminal helper sets NO_COLOR: the code has no colours, the other styles stay (no-color.org).
    expect(screen).toContain(`const x = 1;`);
    expect(screen).not.toMatch(new RegExp(`${ESC}\\[3\\dm`));
    expect(screen).toContain("End.");
    // No cursor movement, line erasing or carriage return without a newline: scrollback and logs stay clean.
    expect(screen).not.toMatch(new RegExp(`${ESC}\\[\\d*[ABCDGHJK]|\\r(?!\\n)`));
  });

  it("draws a rule no wider than the terminal, as wide as it is when the rule is printed (after a resize too)", async () => {
    const [start, before, after, end] = textChunks(["Above\n\n---\n\nMiddle", " words\n\n---\n\nEnd."]);
    // The first rule is printed when "Middle" begins; the window is resized during the wait; the second, when "End." does.
    server.reply({ body: [sseFrame(start), sseFrame(before), { wait: 4000 }, sseFrame(after), sseFrame(end), DONE_EVENT] });
    const session = onTerminal(["-q", "Explain"], env, { columns: 20 });
    await session.waitFor("─");
    session.resize(30);
    const { code, screen } = await session.exited;
    expect(code).toBe(0);
    // 40 columns of rule took two lines of a terminal 20 wide.
    const rules = [...screen.matchAll(/─+/g)].map(([rule]) => rule.length);
    expect(rules).toEqual([20, 30]);
  });

  it("wraps a list item under its text and a quote with its bar at the terminal's width, not a code block", async () => {
    const answer = "- an item whose words are more than a line\n\n> a quote whose words are more than a line\n\n```\nconst aLongName = 1; // more than a line\n```\n";
    server.reply(streamReply(textChunks([answer])));
    const { code, screen } = await onTerminal(["-q", "Explain"], env, { columns: 24 }).exited;
    expect(code).toBe(0);
    const plain = screen.replace(new RegExp(`${ESC}\\[\\d+m`, "g"), "");
    // The terminal turns each line break into CR LF.
    expect(plain).toContain("• an item whose words\r\n  are more than a line\r\n");
    expect(plain).toContain("│ a quote whose words\r\n│ are more than a line\r\n");
    expect(plain).toContain("const aLongName = 1; // more than a line\r\n");
  });

  it("colours code without NO_COLOR, and prints the raw text on a dumb terminal", async () => {
    server.reply(streamReply(textChunks(MARKDOWN)), streamReply(textChunks(MARKDOWN)));
    const coloured = await onTerminal(["-q", "Explain"], { ...env, NO_COLOR: "" }).exited;
    expect(coloured.screen).toContain(`${ESC}[35mconst${ESC}[39m x = ${ESC}[34m1${ESC}[39m;`);
    const dumb = await onTerminal(["-q", "Explain"], { ...env, TERM: "dumb" }).exited;
    expect(dumb.screen).toContain("# Title\r\n\r\nSome **bold** text.");
    expect(dumb.screen).not.toContain(ESC);
  });

  it("prints the raw text with --render never", async () => {
    server.reply(streamReply(textChunks(MARKDOWN)));
    const { code, screen } = await onTerminal(["--render", "never", "Explain"], env).exited;
    expect(code).toBe(0);
    expect(screen).toContain("# Title\r\n\r\nSome **bold** text.");
  });
});

describe("--render into a pipe", () => {
  it("passes the raw text through by default, and renders with --render always", async () => {
    server.reply(streamReply(textChunks(MARKDOWN)), streamReply(textChunks(MARKDOWN)));
    expect(await runCli(["Explain"], { env })).toMatchObject({ code: 0, stdout: `${MARKDOWN.join("")}\n` });
    const always = await runCli(["--render", "always", "Explain"], { env });
    expect(always.code).toBe(0);
    expect(always.stdout).toContain(`Some ${ESC}[1mbold${ESC}[22m text.`);
    const conflict = await runCli(["--render", "always", "--json", "Explain"], { env });
    expect(conflict.code).toBe(2);
  });
});

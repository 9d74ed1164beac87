import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import type { ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type TestServer, errorReply, startTestServer, streamReply, textChunks } from "g4f-rx/testing";
import { ConversationStore } from "../../src/conversations/index.js";
import { type TerminalSession, closeTerminals, hasUtilLinuxScript, onTerminal } from "./pty.js";
import { assertFreshBuild, runCli, startCli } from "./run-cli.js";

let server: TestServer;
let home: string;
let env: Record<string, string>;
let store: ConversationStore;

const ESC = "\u001b";
const answer = (...pieces: string[]): ReturnType<typeof streamReply> => streamReply(textChunks(pieces));
/** Waits for `text` of an answer, then for the prompt that follows it. */
async function answered(session: TerminalSession, text: string): Promise<void> {
  await session.waitFor(text);
  await session.waitFor("> ", session.screen().indexOf(text));
}
/**
 * Presses arrow up until the terminal shows `text`. Node 24 first moves up through the lines of an entry of several
 * lines, as a shell does, where Node 20 goes to the older entry at once; Enter asks the whole entry either way.
 */
async function recall(session: TerminalSession, text: string): Promise<void> {
  for (let press = 0; press < 6; press += 1) {
    const from = session.screen().length;
    session.type("\u001b[A");
    // Every press redraws the prompt and the entry (Node 24 too, when it moves up a line within one).
    await session.waitFor("> ", from);
    if (session.screen().includes(text, from)) return;
  }
  throw new Error(`arrow up never showed ${JSON.stringify(text)}; the terminal showed ${JSON.stringify(session.screen())}`);
}
const messagesOf = (index: number): unknown => {
  const body = server.requests[index]?.body;
  return typeof body === "object" && body !== null && "messages" in body ? body.messages : undefined;
};
const modelOf = (index: number): unknown => {
  const body = server.requests[index]?.body;
  return typeof body === "object" && body !== null && "model" in body ? body.model : undefined;
};

describe.runIf(hasUtilLinuxScript())("g4f-rx chat on a real terminal (util-linux script)", () => {
  beforeAll(() => assertFreshBuild());
  beforeEach(async () => {
    server = await startTestServer();
    home = mkdtempSync(join(tmpdir(), "g4f-rx-chat-"));
    env = { OPENAI_BASE_URL: server.baseURL, XDG_DATA_HOME: join(home, "data"), HOME: join(home, "home") };
    store = new ConversationStore(join(home, "data", "g4f-rx"));
  });
  afterEach(async () => {
    closeTerminals();
    await server.close();
    rmSync(home, { recursive: true, force: true });
  });

  it("asks, keeps the context, switches model, and leaves on Ctrl-D", async () => {
    server.reply(answer("Hello", " there!"), answer("Bonjour !"));
    const session = onTerminal(["chat"], env);
    await session.waitFor("> ");
    session.type("Say hello\r");
    await answered(session, "Hello there!");
    session.type("/model llama\r");
    await session.waitFor("now asking llama");
    session.type("In French?\r");
    await session.waitFor("Bonjour !");
    session.type("\u0004");
    const { code } = await session.exited;
    expect(code).toBe(0);
    expect(modelOf(1)).toBe("llama");
    expect(messagesOf(1)).toStrictEqual([
      { role: "user", content: "Say hello" },
      { role: "assistant", content: "Hello there!" },
      { role: "user", content: "In French?" },
    ]);
    const [conversation] = store.list();
    expect(conversation?.turns).toBe(2);
  });

  it("cancels the streaming answer on Ctrl-C, keeps the partial answer, and returns to the prompt", async () => {
    server.reply(streamReply(textChunks(["Once upon"], { finishReason: null }), { done: false, then: [{ wait: 30_000 }] }), answer("The end."));
    // Raw text, so the open paragraph shows as it streams (rendered markdown holds it back until it is complete).
    const session = onTerminal(["chat", "--render", "never"], env);
    await session.waitFor("> ");
    session.type("Tell a story\r");
    await session.waitFor("Once upon");
    session.type("\u0003");
    const request = await server.waitForRequest(0);
    await request.closed;
    expect(request.disconnected).toBe(true);
    await session.waitFor("> ", session.screen().indexOf("Once upon"));
    session.type("Go on\r");
    await session.waitFor("The end.");
    session.type("/exit\r");
    expect((await session.exited).code).toBe(0);
    expect(messagesOf(1)).toStrictEqual([
      { role: "user", content: "Tell a story" },
      { role: "assistant", content: "Once upon" },
      { role: "user", content: "Go on" },
    ]);
    const [conversation] = store.list();
    expect(store.turns(conversation?.id ?? "").map((turn) => [turn.status, turn.answer])).toStrictEqual([
      ["cancelled", "Once upon"],
      ["complete", "The end."],
    ]);
  });

  it("queues a question typed while an answer streams, and asks it once that answer ends", async () => {
    server.reply(streamReply(textChunks(["Slow", " answer."]), { delayMs: 600 }), answer("Second."));
    const session = onTerminal(["chat", "--render", "never"], env);
    await session.waitFor("> ");
    session.type("First\r");
    await session.waitFor("Slow");
    session.type("Next\r");
    await session.waitFor("queued");
    await session.waitFor("Second.");
    session.type("\u0004");
    const { code, screen } = await session.exited;
    expect(code).toBe(0);
    // The queued question's answer is not printed after a prompt of its own ("> Second.").
    const plain = screen.replaceAll(String.fromCharCode(27), "").replaceAll(/\[\d*[A-Za-z]/g, "");
    expect(plain).not.toContain("> Second.");
    expect(server.requests[0]?.disconnected).toBe(false);
    expect(messagesOf(1)).toStrictEqual([
      { role: "user", content: "First" },
      { role: "assistant", content: "Slow answer." },
      { role: "user", content: "Next" },
    ]);
  });

  it("leaves a streaming answer alone when keys are typed or the window is resized; what was typed waits on the prompt", async () => {
    const words = Array.from({ length: 8 }, (_, i) => `word${String(i)} `);
    server.reply(streamReply(textChunks(words), { delayMs: 150 }), answer("Got it."));
    const session = onTerminal(["chat", "--render", "never"], env);
    await session.waitFor("> ");
    session.type("Count\r");
    await session.waitFor("word1");
    session.type("abcd\u007f");
    session.resize(50);
    await session.waitFor("word7");
    const start = session.screen().indexOf("word0");
    // Then the prompt, with what was typed meanwhile on it.
    await session.waitFor("abc", session.screen().indexOf("word7"));
    // The answer's words follow one another: no prompt, echo or redraw came between them.
    const during = session.screen().slice(start, session.screen().indexOf("word7", start));
    expect(during).toBe(words.slice(0, 7).join(""));
    session.type("\r");
    await answered(session, "Got it.");
    session.type("/exit\r");
    expect((await session.exited).code).toBe(0);
    expect(messagesOf(1)).toMatchObject([{ content: "Count" }, { role: "assistant" }, { role: "user", content: "abc" }]);
  });

  it("asks a pasted block of lines as one question, sent by the Enter after it", async () => {
    server.reply(answer("One question."));
    const session = onTerminal(["chat", "--render", "never"], env);
    await session.waitFor("> ");
    session.type("\u001b[200~def foo():\r    return 1 \\\r\r\"\"\"\rprint(foo())\u001b[201~");
    await session.waitFor("print(foo())");
    session.type("\r");
    await answered(session, "One question.");
    session.type("/exit\r");
    expect((await session.exited).code).toBe(0);
    expect(server.requests).toHaveLength(1);
    // Taken as pasted: a trailing backslash and a line of """ are the text's own.
    expect(messagesOf(0)).toStrictEqual([{ role: "user", content: 'def foo():\n    return 1 \\\n\n"""\nprint(foo())' }]);
  });

  it("shows the … prompt for a line that continues; Ctrl-C drops the gathered lines, Ctrl-D asks them", async () => {
    server.reply(answer("Fresh."), answer("Last."));
    const session = onTerminal(["chat", "--render", "never"], env);
    await session.waitFor("> ");
    session.type("dropped \\\r");
    await session.waitFor("… ");
    session.type("\u0003");
    await session.waitFor("> ", session.screen().indexOf("^C"));
    session.type("fresh\r");
    await answered(session, "Fresh.");
    session.type('"""\rlast one\r');
    await session.waitFor("… ", session.screen().indexOf("last one"));
    session.type("\u0004");
    await session.waitFor("Last.");
    expect((await session.exited).code).toBe(0);
    expect(messagesOf(0)).toStrictEqual([{ role: "user", content: "fresh" }]);
    expect(messagesOf(1)).toMatchObject([{ content: "fresh" }, { content: "Fresh." }, { role: "user", content: "last one" }]);
  });

  it("asks a question that starts with / when it is typed with //", async () => {
    server.reply(answer("A tool."));
    const session = onTerminal(["chat", "--render", "never"], env);
    await session.waitFor("> ");
    session.type("//usr/bin/env is what?\r");
    await answered(session, "A tool.");
    session.type("/exit\r");
    expect((await session.exited).code).toBe(0);
    expect(messagesOf(0)).toStrictEqual([{ role: "user", content: "/usr/bin/env is what?" }]);
  });

  it("renders markdown answers on the terminal (--render auto)", async () => {
    server.reply(answer("# Plan\n\n", "Use **RxJS**."));
    const session = onTerminal(["chat"], env);
    await session.waitFor("> ");
    session.type("Plan?\r");
    await session.waitFor("Use \u001b[1mRxJS\u001b[22m.");
    expect(session.screen()).toContain("\u001b[4m\u001b[1mPlan\u001b[22m\u001b[24m");
    session.type("/exit\r");
    expect((await session.exited).code).toBe(0);
  });

  it("shows escape sequences in a raw answer (--render never, TERM=dumb) and in a server's error as visible text, never raw", async () => {
    const hostile = `Hi${ESC}]0;pwned\u0007${ESC}[2J there\u009b31m!`;
    // The first answer's CR LF comes cut in two: a line end, not a CR shown as ␍.
    server.reply(answer(hostile, "\r", "\nok"), errorReply(500, `bad${ESC}[2J news`), answer(hostile));
    const session = onTerminal(["chat", "--render", "never"], env);
    await session.waitFor("> ");
    session.type("One\r");
    await answered(session, "ok");
    session.type("Two\r");
    await answered(session, "news");
    session.type("/exit\r");
    const never = await session.exited;
    expect(never.code).toBe(0);
    expect(never.screen).toContain("Hi␛]0;pwned␇␛[2J there\\u009b31m!");
    expect(never.screen).toContain("bad␛[2J news");
    expect(never.screen).not.toContain("␍");
    // A dumb terminal gets the raw text too (auto does not render there), as harmless.
    const dumb = onTerminal(["chat"], { ...env, TERM: "dumb" });
    await dumb.waitFor("> ");
    dumb.type("Three\r");
    await answered(dumb, "there");
    dumb.type("/exit\r");
    const { code, screen } = await dumb.exited;
    expect(code).toBe(0);
    expect(screen).toContain("Hi␛]0;pwned␇␛[2J there\\u009b31m!");
    // Only the command's own sequences reach the terminal: bracketed paste and colours, never the answer's.
    for (const screenShown of [never.screen, screen]) {
      expect(screenShown).not.toContain(`${ESC}]0;`);
      expect(screenShown).not.toContain(`${ESC}[2J`);
      expect(screenShown).not.toContain("\u009b");
    }
  });

  it("resumes the latest conversation with chat -c, takes multi-line input, /system and /retry", async () => {
    server.reply(answer("Four."));
    await runCli(["What is 2+2?"], { env });
    server.reply(answer("Twelve."), answer("12"));
    const session = onTerminal(["chat", "-c"], env);
    await session.waitFor("continuing conversation");
    session.type("/system Answer with digits.\r");
    await session.waitFor("system prompt changes");
    session.type("And 3\\\r");
    session.type("times 4?\r");
    await answered(session, "Twelve.");
    session.type("/retry\r");
    await session.waitFor("12\r\n");
    session.type("\u0004");
    expect((await session.exited).code).toBe(0);
    const expected = [
      { role: "system", content: "Answer with digits." },
      { role: "user", content: "What is 2+2?" },
      { role: "assistant", content: "Four." },
      { role: "user", content: "And 3\ntimes 4?" },
    ];
    expect(messagesOf(1)).toStrictEqual(expected);
    expect(messagesOf(2)).toStrictEqual(expected);
    // The retried answer replaces the first in the kept conversation.
    const [conversation] = store.list();
    expect(store.messages(conversation?.id ?? "").at(-1)).toStrictEqual({ role: "assistant", content: "12" });
    expect(store.messages(conversation?.id ?? "")).toHaveLength(5);
  });

  it("a chat that used /retry, served by g4f-rx serve, replays to the openai client turn by turn with the answers it got", async () => {
    server.reply(answer("Five"), answer("Six"), answer("Next"));
    const session = onTerminal(["chat"], env);
    await session.waitFor("> ");
    session.type("count\r");
    await answered(session, "Five");
    session.type("/retry\r");
    await answered(session, "Six");
    session.type("next\r");
    await answered(session, "Next");
    session.type("\u0004");
    expect((await session.exited).code).toBe(0);
    const [conversation] = store.list();
    const serve = startCli(["serve", "--port", "0", "--cassettes", store.directoryOf(conversation?.id ?? ""), "--speed", "Infinity"]);
    try {
      const [, baseURL] = await serve.waitForStderr(/at (http:\/\/127\.0\.0\.1:\d+\/v1)/);
      const client = new OpenAI({ baseURL, apiKey: "none", maxRetries: 0 });
      const messages: ChatCompletionMessageParam[] = [{ role: "user", content: "count" }];
      const ask = async (): Promise<string> => {
        let text = "";
        for await (const chunk of await client.chat.completions.create({ model: "gpt-4", messages, stream: true })) text += chunk.choices[0]?.delta.content ?? "";
        return text;
      };
      expect(await ask()).toBe("Five");
      const retried = await ask();
      messages.push({ role: "assistant", content: retried }, { role: "user", content: "next" });
      expect([retried, await ask()]).toStrictEqual(["Six", "Next"]);
      await serve.waitForStderr(/\(recording 2 of 2 of this request\)\n(.*\n)*.*POST \/v1\/chat\/completions → \S+\.cassette\.jsonl\n/);
      expect(serve.stderr()).not.toContain("404");
    } finally {
      serve.child.kill("SIGTERM");
      await serve.exited;
    }
  });

  it("keeps the lines typed in two chats open at once, and offers both to the next one (arrow up)", async () => {
    server.setDefaultReply(answer("Noted."));
    const first = onTerminal(["chat"], env);
    const second = onTerminal(["chat"], env);
    await first.waitFor("> ");
    await second.waitFor("> ");
    first.type("typed in the first\r");
    await answered(first, "Noted.");
    second.type("typed in the second\r");
    await answered(second, "Noted.");
    // The first leaves last: before, each chat rewrote the file from its own lines, and this one's would win.
    second.type("\u0004");
    await second.exited;
    first.type("\u0004");
    await first.exited;
    const next = onTerminal(["chat"], env);
    await next.waitFor("> ");
    next.type("\u001b[A");
    await next.waitFor("typed in the second");
    next.type("\u001b[A");
    await next.waitFor("typed in the first");
    // Ctrl-U clears the recalled line, so that Ctrl-D leaves.
    next.type("\u0015\u0004");
    await next.exited;
    expect(store.chatHistory(10)).toStrictEqual(["typed in the second", "typed in the first"]);
  });

  it("keeps a question of several lines as one history entry, which arrow up recalls whole, also in the next chat", async () => {
    server.setDefaultReply(answer("Noted."));
    const first = onTerminal(["chat", "--render", "never"], env);
    await first.waitFor("> ");
    first.type("And 3\\\rtimes 4?\r");
    await answered(first, "Noted.");
    const from = first.screen().length;
    first.type("\u001b[A");
    await first.waitFor("times 4?", from);
    expect(first.screen().slice(from)).toContain("And 3");
    // Ctrl-C drops it: ^C goes after it, and nothing moves up to draw over it.
    first.type("\u0003");
    await first.waitFor("^C\r\n", from);
    await first.waitFor("> ", first.screen().indexOf("^C", from));
    const afterCancel = first.screen().slice(first.screen().indexOf("^C", from)).split(String.fromCharCode(27)).slice(1);
    expect(afterCancel.filter((sequence) => /^\[\d*A/.test(sequence))).toStrictEqual([]);
    first.type('"""\rblock a\rblock b\r"""\r');
    await answered(first, "Noted.");
    first.type("\u0004");
    expect((await first.exited).code).toBe(0);
    expect(store.chatHistory(10)).toStrictEqual(["block a\nblock b", "And 3\ntimes 4?"]);
    const next = onTerminal(["chat", "--render", "never"], env);
    await next.waitFor("> ");
    await recall(next, "times 4?");
    next.type("\r");
    await answered(next, "Noted.");
    next.type("\u0004");
    expect((await next.exited).code).toBe(0);
    expect(messagesOf(2)).toStrictEqual([{ role: "user", content: "And 3\ntimes 4?" }]);
    expect(store.chatHistory(10)).toStrictEqual(["And 3\ntimes 4?", "block a\nblock b"]);
  });

  it("gives back a question of several lines recalled while an answer streamed, whole, once the answer ends", async () => {
    server.reply(answer("First."), streamReply(textChunks(["Slow", " answer."]), { delayMs: 600 }), answer("Again."));
    const session = onTerminal(["chat", "--render", "never"], env);
    await session.waitFor("> ");
    session.type('"""\rline one\rline two\r"""\r');
    await answered(session, "First.");
    session.type("Slow?\r");
    await session.waitFor("Slow", session.screen().indexOf("Slow?") + 5);
    // Arrow up twice: past "Slow?" to the question of two lines, edited, while the answer streams.
    session.type("\u001b[A\u001b[A edited");
    await answered(session, "Slow answer.");
    await session.waitFor("line two edited", session.screen().indexOf("Slow answer."));
    session.type("\r");
    await answered(session, "Again.");
    session.type("\u0004");
    expect((await session.exited).code).toBe(0);
    expect(server.requests).toHaveLength(3);
    expect(messagesOf(2)).toMatchObject([{}, {}, {}, {}, { role: "user", content: "line one\nline two edited" }]);
  });

  it("draws the prompt and what is typed on stderr when stdout goes to a file, which then holds the answers alone", async () => {
    server.reply(answer("Kept", " apart."));
    const file = join(home, "answers.txt");
    const session = onTerminal(["chat"], env, { stdoutTo: file });
    await session.waitFor("> ");
    session.type("Into a file?\r");
    await session.waitFor("Into a file?");
    // The answer goes to the file; the next prompt comes on the terminal.
    await session.waitFor("> ", session.screen().indexOf("Into a file?"));
    session.type("dropped\u0003");
    await session.waitFor("^C");
    session.type("\u0004");
    expect((await session.exited).code).toBe(0);
    expect(readFileSync(file, "utf8")).toBe("Kept apart.\n");
  });

  it("/retry after /system asks again with the new system prompt", async () => {
    server.reply(answer("Twelve."), answer("12"));
    const session = onTerminal(["chat"], env);
    await session.waitFor("> ");
    session.type("What is 3 times 4?\r");
    await answered(session, "Twelve.");
    session.type("/system Answer with digits.\r");
    await session.waitFor("system prompt changes");
    session.type("/retry\r");
    await session.waitFor("12\r\n");
    session.type("\u0004");
    expect((await session.exited).code).toBe(0);
    expect(messagesOf(0)).toStrictEqual([{ role: "user", content: "What is 3 times 4?" }]);
    expect(messagesOf(1)).toStrictEqual([
      { role: "system", content: "Answer with digits." },
      { role: "user", content: "What is 3 times 4?" },
    ]);
  });

  it("/edit writes the question in $EDITOR, from the text given, asks it, and gives the terminal back to the chat", async () => {
    server.reply(answer("Edited answer."), answer("Typed answer."));
    // An editor as a script: it keeps what it was given, writes a question of two lines, and says which terminal mode it found.
    const editor = join(home, "editor.sh");
    writeFileSync(editor, `#!/bin/sh\ncp "$1" "${join(home, "given")}"\nstty -a | grep -o -- '-icanon\\|icanon' | head -1 > "${join(home, "mode")}"\nprintf 'Edited question\\nsecond line\\n' > "$1"\n`, { mode: 0o755 });
    const session = onTerminal(["chat"], { ...env, EDITOR: editor, VISUAL: "" });
    await session.waitFor("> ");
    session.type("/edit Draft\r");
    await answered(session, "Edited answer.");
    // Typed (and edited with readline's keys) as before: the chat has its terminal back.
    session.type("Typed x\u007f?\r");
    await answered(session, "Typed answer.");
    session.type("\u0004");
    expect((await session.exited).code).toBe(0);
    expect(readFileSync(join(home, "given"), "utf8")).toBe("Draft\n");
    // The editor found the terminal in its ordinary (canonical) mode, not in readline's raw one.
    expect(readFileSync(join(home, "mode"), "utf8").trim()).toBe("icanon");
    expect(messagesOf(0)).toStrictEqual([{ role: "user", content: "Edited question\nsecond line" }]);
    expect(messagesOf(1)).toStrictEqual([
      { role: "user", content: "Edited question\nsecond line" },
      { role: "assistant", content: "Edited answer." },
      { role: "user", content: "Typed ?" },
    ]);
    expect(session.screen()).toContain("Edited question\r\nsecond line");
  });

  it("/edit asks nothing when the editor fails or leaves the question empty, and says so", async () => {
    const failing = join(home, "failing.sh");
    writeFileSync(failing, "#!/bin/sh\nexit 3\n", { mode: 0o755 });
    const emptying = join(home, "emptying.sh");
    writeFileSync(emptying, '#!/bin/sh\nprintf "  \\n" > "$1"\n', { mode: 0o755 });
    for (const [editor, said] of [
      [failing, `the editor (${failing}) exited with status 3; nothing asked`],
      [emptying, "the editor left the question empty; nothing asked"],
    ] as const) {
      const session = onTerminal(["chat"], { ...env, VISUAL: editor });
      await session.waitFor("> ");
      session.type("/edit\r");
      await session.waitFor(said);
      session.type("\u0004");
      expect((await session.exited).code).toBe(0);
    }
    // Not on a terminal, there is no editor to give it to.
    const piped = await runCli(["chat"], { env: { ...env, EDITOR: failing }, stdin: "/edit\n" });
    expect(piped.code).toBe(0);
    expect(piped.stderr).toContain("/edit needs a terminal for the editor; nothing asked");
    expect(server.requests).toHaveLength(0);
  });
});

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import type { ChatCompletion, ChatCompletionChunk } from "openai/resources/chat/completions";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type TestServer, errorFrame, errorReply, startTestServer, streamReply, textChunks } from "g4f-rx/testing";
import { BIN, assertFreshBuild, closedPort, runCli, startCli } from "./run-cli.js";

// These tests run the BUILT command (dist/bin/g4f-rx.js) as a real process. `npm test` builds first;
// `assertFreshBuild` fails the suite with a clear message when the build is missing or older than the sources.

let server: TestServer;
/** The environment that points the command at the test server, and nothing else. */
let env: Record<string, string>;

beforeAll(() => assertFreshBuild());

beforeEach(async () => {
  server = await startTestServer();
  env = { OPENAI_BASE_URL: server.baseURL };
});

afterEach(async () => {
  await server.close();
});

const hello = (): ReturnType<typeof streamReply> => streamReply(textChunks(["Hello", " there!"]));

/** The body of the `index`th request the server received. */
function bodyOf(index: number): unknown {
  const request = server.requests[index];
  if (request === undefined) throw new Error(`the server received no request #${index}`);
  return request.body;
}

describe("g4f-rx: the prompt", () => {
  it("reads the prompt from stdin and streams the answer to stdout, ending with a newline", async () => {
    server.reply(hello());
    const result = await runCli([], { env, stdin: "Say hello there!\n" });
    expect(result).toMatchObject({ code: 0, stdout: "Hello there!\n", stderr: "" });
    expect(server.requests).toHaveLength(1);
    expect(bodyOf(0)).toEqual({ model: "gpt-4", messages: [{ role: "user", content: "Say hello there!" }], stream: true });
    // A custom base URL without OPENAI_API_KEY sends no key at all.
    expect(server.requests[0]?.headers.authorization).toBeUndefined();
  });

  it("takes the prompt from the arguments, joined by spaces", async () => {
    server.reply(hello());
    const result = await runCli(["Say", "hello", "42"], { env });
    expect(result).toMatchObject({ code: 0, stdout: "Hello there!\n", stderr: "" });
    expect(bodyOf(0)).toMatchObject({ messages: [{ role: "user", content: "Say hello 42" }] });
  });

  it("sends the arguments, a blank line, then stdin when both are given", async () => {
    server.reply(hello());
    const result = await runCli(["Summarize:"], { env, stdin: "line one\nline two\n\n" });
    expect(result.code).toBe(0);
    expect(bodyOf(0)).toMatchObject({ messages: [{ role: "user", content: "Summarize:\n\nline one\nline two" }] });
  });

  it("exits 2 with a usage message and sends nothing when there is no prompt", async () => {
    server.setDefaultReply(hello());
    const empty = await runCli([], { env });
    expect(empty.code).toBe(2);
    expect(empty.stdout).toBe("");
    expect(empty.stderr).toContain("no prompt");
    const blank = await runCli([], { env, stdin: " \n\t\n" });
    expect(blank.code).toBe(2);
    expect(server.requests).toHaveLength(0);
  });
});

describe("g4f-rx: options", () => {
  it("sends --model, --system, --temperature and --max-tokens in the request body", async () => {
    server.reply(hello());
    const args = ["--model", "m-1", "--system", "Be brief.", "--temperature", "0.25", "--max-tokens", "42", "Hi"];
    const result = await runCli(args, { env });
    expect(result.code).toBe(0);
    expect(bodyOf(0)).toEqual({
      model: "m-1",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Hi" },
      ],
      temperature: 0.25,
      max_tokens: 42,
      stream: true,
    });
  });

  it("accepts the short forms -m, -s and -t", async () => {
    server.reply(hello());
    const result = await runCli(["-m", "m-2", "-s", "Terse.", "-t", "0", "Hi"], { env });
    expect(result.code).toBe(0);
    expect(bodyOf(0)).toMatchObject({ model: "m-2", temperature: 0, messages: [{ role: "system", content: "Terse." }, { role: "user", content: "Hi" }] });
  });

  it("names each unknown flag once, refuses an empty number and a timer overflow, with exit 2 and no request", async () => {
    server.setDefaultReply(hello());
    const unknown = await runCli(["--list-all", "--listAll", "--list-all", "Hi"], { env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown options --list-all, --listAll.");
    const empty = await runCli(["--temperature=", "Hi"], { env });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('--temperature must be a number from 0 to 2, got ""');
    const huge = await runCli(["--idle-timeout", "1e99", "Hi"], { env });
    expect(huge.code).toBe(2);
    expect(huge.stderr).toContain("--idle-timeout must be a number of milliseconds above 0 up to 2147483647");
    expect(huge.stderr).not.toContain("TimeoutOverflowWarning");
    expect(server.requests).toHaveLength(0);
  });

  it("refuses stdin that is not UTF-8 with exit 2, naming the byte, and sends nothing", async () => {
    server.setDefaultReply(hello());
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const result = await runCli(["Describe:"], { env, stdin: png });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("stdin is not UTF-8 text: byte 0 is 89 50 4e 47 …");
    const latin1 = await runCli([], { env, stdin: Buffer.from("caf\xe9 au lait", "latin1") });
    expect(latin1.code).toBe(2);
    expect(latin1.stderr).toContain("byte 3 is e9 20 61 75");
    expect(server.requests).toHaveLength(0);
  });

  it("says on stderr and exits 3 when the answer is cut off, filtered, refused, reasoning only, empty or a tool call", async () => {
    const [role, template] = textChunks(["x"]);
    if (role === undefined || template === undefined) throw new Error("textChunks gave no chunks");
    const chunk = (delta: ChatCompletionChunk.Choice.Delta, finish: ChatCompletionChunk.Choice["finish_reason"] = null): ChatCompletionChunk => ({
      ...template,
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    // Not in the SDK's types: what DeepSeek, vLLM and xAI send.
    const reasoningDelta = { content: null, reasoning_content: "Thinking hard." };
    const cases: readonly [ReturnType<typeof streamReply>, string, string][] = [
      [streamReply(textChunks(["Once upon"], { finishReason: "length" })), "Once upon\n", "cut off at the token limit (finish_reason: length)"],
      [streamReply(textChunks(["Well"], { finishReason: "content_filter" })), "Well\n", "content filter withheld the rest of the answer"],
      [streamReply([role, chunk({ refusal: "I can't help with that." }), chunk({}, "stop")]), "", "the model refused: I can't help with that."],
      [streamReply([role, chunk(reasoningDelta), chunk({}, "stop")]), "", "only reasoning (14 characters) and no answer; --show-reasoning prints it"],
      [streamReply(textChunks([])), "", "the answer was empty"],
      [
        streamReply([
          role,
          chunk({ tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"ci' } }] }),
          chunk({ tool_calls: [{ index: 0, function: { arguments: 'ty":"Paris"}' } }] }),
          chunk({}, "tool_calls"),
        ]),
        "",
        'instead of answering, the model asked to call get_weather({"city":"Paris"}); the command runs no tools',
      ],
    ];
    for (const [reply, stdout, message] of cases) {
      server.reply(reply);
      const result = await runCli(["Hi"], { env });
      expect(result).toMatchObject({ code: 3, stdout });
      expect(result.stderr).toContain(message);
    }
  });

  it("passes escape sequences in the answer to a pipe byte for byte", async () => {
    const hostile = "Hi\u001b]0;title\u0007\u001b[2J\r\n\u009b!";
    server.reply(streamReply(textChunks([hostile])));
    const result = await runCli(["Hi"], { env });
    expect(result).toMatchObject({ code: 0, stdout: `${hostile}\n` });
  });

  it("writes a character cut between two chunks in the middle of its surrogate pair whole into a pipe", async () => {
    // JSON lets a server send 😀 as "\ud83d" in one chunk and "\ude00" in the next: each half written alone became U+FFFD.
    const pieces = ["Emoji \ud83d", "\ude00 and flag \ud83c", "\uddef\ud83c", "\uddf5."];
    server.reply(streamReply(textChunks(pieces)));
    expect(await runCli(["Hi"], { env })).toMatchObject({ code: 0, stdout: "Emoji 😀 and flag 🇯🇵.\n" });
  });

  it("lets the last of a repeated flag win", async () => {
    server.setDefaultReply(hello());
    const result = await runCli(["--temperature", "0.5", "--temperature", "0.7", "Hi"], { env });
    expect(result.code).toBe(0);
    expect(bodyOf(0)).toMatchObject({ temperature: 0.7 });
  });

  it("reads stdin from a shell's pipe and from a file, and says when stdin cannot be read", async () => {
    // A shell's pipe (pipe(2)) and a redirected file, as users give them; the other tests' stdin is a socket pair.
    const shell = (command: string): Promise<{ code: number | null; stdout: string; stderr: string }> =>
      new Promise((resolve, reject) => {
        const child = spawn("sh", ["-c", command], { env: { PATH: process.env.PATH ?? "", ...env, G4F_RX_NO_LOG: "1", NODE_BIN: process.execPath, BIN } });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (data: Buffer) => (stdout += data.toString()));
        child.stderr.on("data", (data: Buffer) => (stderr += data.toString()));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stdout, stderr }));
      });
    server.reply(hello());
    expect(await shell('printf "Say hello there!\\n" | "$NODE_BIN" "$BIN"')).toMatchObject({ code: 0, stdout: "Hello there!\n", stderr: "" });
    expect(bodyOf(0)).toMatchObject({ messages: [{ role: "user", content: "Say hello there!" }] });
    server.reply(hello());
    expect(await shell('"$NODE_BIN" "$BIN" Summarize: < package.json')).toMatchObject({ code: 0, stdout: "Hello there!\n" });
    expect(bodyOf(1)).toMatchObject({ messages: [{ role: "user", content: `Summarize:\n\n${readFileSync("package.json", "utf8").trimEnd()}` }] });
    const directory = await shell('"$NODE_BIN" "$BIN" < .');
    expect(directory.code).toBe(2);
    expect(directory.stderr).toContain("g4f-rx: could not read stdin: EISDIR");
    expect(server.requests).toHaveLength(2);
  });

  it("reads stdin where the prompt is -", async () => {
    server.setDefaultReply(hello());
    const result = await runCli(["-"], { env, stdin: "from stdin\n" });
    expect(result.code).toBe(0);
    expect(bodyOf(0)).toMatchObject({ messages: [{ role: "user", content: "from stdin" }] });
  });

  it("rejects an unknown flag or a value out of range with exit 2 and no request", async () => {
    server.setDefaultReply(hello());
    const unknown = await runCli(["--colour", "Hi"], { env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown option --colour.");
    const hot = await runCli(["--temperature", "3", "Hi"], { env });
    expect(hot.code).toBe(2);
    expect(hot.stderr).toContain('--temperature must be a number from 0 to 2, got "3"');
    const endpoint = await runCli(["--endpoint", "nowhere", "Hi"], { env });
    expect(endpoint.code).toBe(2);
    expect(endpoint.stderr).toContain('Unknown endpoint "nowhere"');
    expect(server.requests).toHaveLength(0);
  });

  it("lets a flag win over the environment, and the environment over the default", async () => {
    server.setDefaultReply(hello());
    const unreachable = `http://127.0.0.1:${await closedPort()}/v1`;

    // Environment over default: model, base URL and key all come from the environment.
    await runCli(["Hi"], { env: { ...env, G4F_RX_MODEL: "env-model", OPENAI_API_KEY: "env-key" } });
    expect(bodyOf(0)).toMatchObject({ model: "env-model" });
    expect(server.requests[0]?.headers.authorization).toBe("Bearer env-key");

    // Flag over environment: the environment points at a dead port, the flags at the server.
    const flagged = await runCli(["--base-url", server.baseURL, "--model", "flag-model", "--api-key", "flag-key", "Hi"], {
      env: { OPENAI_BASE_URL: unreachable, G4F_RX_MODEL: "env-model", OPENAI_API_KEY: "env-key" },
    });
    expect(flagged.code).toBe(0);
    expect(bodyOf(1)).toMatchObject({ model: "flag-model" });
    expect(server.requests[1]?.headers.authorization).toBe("Bearer flag-key");
  });

  it("uses a named endpoint's own key variable and default model, and never another provider's key", async () => {
    server.setDefaultReply(hello());
    const missing = await runCli(["Hi"], { env: { G4F_RX_ENDPOINT: "groq", OPENAI_API_KEY: "an-openai-key" } });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("GROQ_API_KEY");
    expect(server.requests).toHaveLength(0);

    const result = await runCli(["--endpoint", "groq", "--base-url", server.baseURL, "Hi"], {
      env: { GROQ_API_KEY: "groq-key", OPENAI_API_KEY: "an-openai-key" },
    });
    expect(result.code).toBe(0);
    expect(bodyOf(0)).toMatchObject({ model: "llama-3.3-70b-versatile" });
    expect(server.requests[0]?.headers.authorization).toBe("Bearer groq-key");
  });
});

describe("g4f-rx: output modes", () => {
  it("--json prints every chunk as one JSON line, equal to the chunk the server sent", async () => {
    const chunks = textChunks(["Hello", " there!"]);
    server.reply(streamReply(chunks));
    const result = await runCli(["--json", "Hi"], { env });
    expect(result.code).toBe(0);
    expect(result.stdout.endsWith("\n")).toBe(true);
    const lines = result.stdout.trimEnd().split("\n").map((line): unknown => JSON.parse(line));
    expect(lines).toEqual(chunks);
  });

  it("--no-stream sends one non-streaming request and prints the whole answer", async () => {
    const completion: ChatCompletion = {
      id: "chatcmpl-whole",
      object: "chat.completion",
      created: 1_700_000_000,
      model: "gpt-4",
      choices: [{ index: 0, message: { role: "assistant", content: "The whole answer.", refusal: null }, finish_reason: "stop", logprobs: null }],
    };
    const jsonReply = { headers: { "content-type": "application/json" }, body: [JSON.stringify(completion)] };
    server.reply(jsonReply, jsonReply);

    const text = await runCli(["--no-stream", "Hi"], { env });
    expect(text).toMatchObject({ code: 0, stdout: "The whole answer.\n", stderr: "" });
    expect(bodyOf(0)).toMatchObject({ stream: false });

    const json = await runCli(["--no-stream", "--json", "Hi"], { env });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(completion);
  });
});

describe("g4f-rx: errors", () => {
  it("exits 1 on HTTP 401, naming the URL, the status and the server's message", async () => {
    server.reply(errorReply(401, "Invalid API key provided"));
    const result = await runCli(["Hi"], { env });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(`${server.baseURL}/chat/completions answered HTTP 401: Invalid API key provided`);
    expect(result.stderr).toContain("OPENAI_API_KEY");
  });

  it("exits 1 on HTTP 500 without retrying a local server", async () => {
    server.reply(errorReply(500, "All providers failed"));
    const result = await runCli(["Hi"], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("HTTP 500: All providers failed");
    expect(server.requests).toHaveLength(1);
  });

  it("says each retry and its wait on stderr", async () => {
    server.reply(errorReply(429, "slow down", { headers: { "retry-after-ms": "50" } }), errorReply(503, "busy", { headers: { "retry-after": "0" } }), hello());
    const result = await runCli(["--retries", "2", "Hi"], { env });
    expect(result).toMatchObject({ code: 0, stdout: "Hello there!\n" });
    expect(result.stderr).toContain(`rate-limited by ${server.baseURL}/chat/completions (HTTP 429); retrying in 0.1 s (1/2)`);
    expect(result.stderr).toContain(`HTTP 503 from ${server.baseURL}/chat/completions; retrying in 0 s (2/2)`);
  });

  it("gives up at once, saying why, when the server asks to wait longer than --max-wait", async () => {
    server.reply(errorReply(429, "Rate limit reached", { headers: { "retry-after": "3600" } }), hello());
    const cli = startCli(["--retries", "2", "--max-wait", "20000", "Hi"], { env });
    const result = await cli.exited;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("the server asks to wait 3600 s, more than --max-wait 20 s: not retrying");
    expect(result.stderr).toContain("HTTP 429: Rate limit reached");
    expect(server.requests).toHaveLength(1);
  });

  it("--no-stream explains an HTML page, a JSON error with status 200 and answers an SSE reply", async () => {
    server.reply({ status: 200, headers: { "content-type": "text/html" }, body: ["<!doctype html><title>Login</title>"] });
    const html = await runCli(["--no-stream", "Hi"], { env });
    expect(html.code).toBe(1);
    // What was asked for: a whole completion (an SSE reply is read too), not "a text/event-stream body".
    expect(html.stderr).toContain('Expected a JSON chat completion or an event stream but received text/html: "<!doctype html><title>Login</title>"');
    expect(html.stderr).not.toContain("Cannot read properties");
    server.reply({ status: 200, headers: { "content-type": "application/json" }, body: [JSON.stringify({ error: { message: "All providers failed" } })] });
    const error = await runCli(["--no-stream", "Hi"], { env });
    expect(error.code).toBe(1);
    expect(error.stderr).toContain("All providers failed");
    server.reply(hello());
    const sse = await runCli(["--no-stream", "Hi"], { env });
    expect(sse).toMatchObject({ code: 0, stdout: "Hello there!\n" });
  });

  it("prints a whole JSON completion from a server that ignores stream: true, and its JSON error likewise", async () => {
    const completion = { id: "c", object: "chat.completion", created: 1, model: "gpt-4", choices: [{ index: 0, message: { role: "assistant", content: "Whole answer." }, finish_reason: "stop" }] };
    server.reply(
      { status: 200, headers: { "content-type": "application/json" }, body: [JSON.stringify(completion)] },
      { status: 200, headers: { "content-type": "application/json" }, body: [JSON.stringify({ error: { message: "All providers failed" } })] },
    );
    const whole = await runCli(["Hi"], { env });
    expect(whole).toMatchObject({ code: 0, stdout: "Whole answer.\n", stderr: "g4f-rx: the server sent one whole completion, not a stream\n" });
    const error = await runCli(["Hi"], { env });
    expect(error.code).toBe(1);
    expect(error.stderr).toContain("All providers failed");
  });

  it("--retries N passes request retries to the client", async () => {
    server.reply(errorReply(503, "busy"), hello());
    const result = await runCli(["--retries", "1", "Hi"], { env });
    expect(result).toMatchObject({ code: 0, stdout: "Hello there!\n" });
    expect(server.requests).toHaveLength(2);
  });

  it("keeps the text printed before an error frame, ends the line, and exits 1", async () => {
    server.reply(streamReply(textChunks(["Hello", " there"], { finishReason: null }).slice(1), { then: [errorFrame("provider went away")] }));
    const result = await runCli(["Hi"], { env });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("Hello there\n");
    expect(result.stderr).toContain("sent an error in the stream: provider went away");
    expect(result.stderr).toContain("partial answer");
  });

  it("keeps a truncated answer and says on stderr that it is incomplete (IncompleteStreamError)", async () => {
    server.reply(streamReply(textChunks(["Hello", " the"], { finishReason: null }), { done: false }));
    const result = await runCli(["Hi"], { env });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("Hello the\n");
    expect(result.stderr).toContain("was cut off");
    expect(result.stderr).toContain("(9 characters) was kept; it is incomplete");
  });

  it("names the URL of an unreachable endpoint and how to start GPT4Free or choose another", async () => {
    const url = `http://127.0.0.1:${await closedPort()}/v1`;
    const result = await runCli(["--endpoint", "g4f", "--base-url", url, "Hi"], { env: {} });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(`Could not connect to ${url}/chat/completions (connect ECONNREFUSED`);
    expect(result.stderr).toContain("g4f api");
    expect(result.stderr).toContain("--endpoint NAME");
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });
});

describe("g4f-rx: signals and pipes", () => {
  const stalled = (): ReturnType<typeof streamReply> =>
    streamReply(textChunks(["Hel", "lo"], { finishReason: null }), { done: false, then: [{ wait: 30_000 }] });

  it("on SIGINT during a stall aborts the request, keeps the partial answer, ends the line and dies by SIGINT (status 130)", async () => {
    server.reply(stalled());
    const cli = startCli(["Hi"], { env });
    await cli.waitForStdout("Hello");
    cli.child.kill("SIGINT");
    const result = await cli.exited;
    expect(result).toMatchObject({ code: null, signal: "SIGINT", stdout: "Hello\n", stderr: "" });
    const request = server.requests[0];
    await request?.closed;
    expect(request?.disconnected).toBe(true);
  });

  it("on SIGTERM does the same and dies by SIGTERM (status 143)", async () => {
    server.reply(stalled());
    const cli = startCli(["Hi"], { env });
    await cli.waitForStdout("Hello");
    cli.child.kill("SIGTERM");
    const result = await cli.exited;
    expect(result).toMatchObject({ code: null, signal: "SIGTERM", stdout: "Hello\n" });
    await server.requests[0]?.closed;
    expect(server.requests[0]?.disconnected).toBe(true);
  });

  it.each([
    ["markdown rendering holds", ["--render", "always"], ["First paragraph.\n\n", "Second, still"], "First paragraph.", "Second, still"],
    ["--smooth sentence holds", ["--smooth", "sentence"], ["One sentence. ", "And half"], "One sentence.", "And half"],
  ])("on SIGINT prints what %s (the text received), then dies by SIGINT", async (_what, flags, pieces, shown, held) => {
    server.reply(streamReply(textChunks(pieces, { finishReason: null }), { done: false, then: [{ wait: 30_000 }] }));
    const cli = startCli([...flags, "Hi"], { env });
    await cli.waitForStdout(shown);
    cli.child.kill("SIGINT");
    const result = await cli.exited;
    expect(result).toMatchObject({ code: null, signal: "SIGINT", stderr: "" });
    expect(result.stdout).toContain(held);
    expect(result.stdout.endsWith("\n")).toBe(true);
    await server.requests[0]?.closed;
    expect(server.requests[0]?.disconnected).toBe(true);
  });

  it("--smooth sentence prints a sentence still arriving once it has waited a second, not at the answer's end", async () => {
    server.reply(streamReply(textChunks(["No full stop", " yet"], { finishReason: null }), { done: false, then: [{ wait: 30_000 }] }));
    const cli = startCli(["--smooth", "sentence", "Hi"], { env });
    await cli.waitForStdout("No full stop yet");
    cli.child.kill("SIGINT");
    expect(await cli.exited).toMatchObject({ signal: "SIGINT", stdout: "No full stop yet\n" });
  });

  it.each(["SIGINT", "SIGTERM"] as const)("on %s while stdin is still open (the read blocks the thread) dies by it without sending a request", async (signal) => {
    server.setDefaultReply(hello());
    // 1 MiB does not fit in a pipe: once it is all written, the command is reading stdin.
    const cli = startCli([], { env, stdin: "x".repeat(1 << 20), keepStdinOpen: true });
    await cli.stdinWritten;
    cli.child.kill(signal);
    const result = await cli.exited;
    expect(result).toMatchObject({ code: null, signal, stdout: "", stderr: "" });
    expect(server.requests).toHaveLength(0);
  });

  it("stops a shell loop on Ctrl-C: SIGINT to the foreground group ends the loop, not just the current answer", async () => {
    server.reply(stalled());
    server.setDefaultReply(hello());
    // As a terminal's Ctrl-C does: SIGINT to the whole process group (bash and the command), here its own group.
    const loop = spawn("bash", ["-c", `for i in 1 2 3; do "${process.execPath}" "${BIN}" Hi </dev/null; echo "after round $i"; done`], {
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let stdout = "";
    loop.stdout.setEncoding("utf8");
    const sawHello = new Promise<void>((resolve) =>
      loop.stdout.on("data", (text: string) => {
        stdout += text;
        if (stdout.includes("Hello")) resolve();
      }),
    );
    loop.stderr.resume();
    const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => loop.once("close", (code, signal) => resolve({ code, signal })));
    await sawHello;
    process.kill(-(loop.pid ?? 0), "SIGINT");
    const result = await ended;
    expect(stdout).toBe("Hello\n");
    expect(result.code === 130 || result.signal === "SIGINT").toBe(true);
    expect(server.requests).toHaveLength(1);
  });

  it("ends the request and exits 0 quietly when stdout is closed early (| head -c 5)", async () => {
    const pieces = Array.from({ length: 500 }, (_, i) => `word${i} `);
    server.reply(streamReply(textChunks(pieces), { delayMs: 5 }));
    const cli = startCli(["Hi"], { env });
    await cli.waitForStdout("word0");
    cli.child.stdout.destroy();
    const result = await cli.exited;
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    await server.requests[0]?.closed;
    expect(server.requests[0]?.disconnected).toBe(true);
  });
});

describe("g4f-rx: --help and --version", () => {
  it("--version prints the package version", async () => {
    const manifest: unknown = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    const version = typeof manifest === "object" && manifest !== null && "version" in manifest ? manifest.version : undefined;
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    const result = await runCli(["--version"]);
    expect(result).toMatchObject({ code: 0, stdout: `${String(version)}\n`, stderr: "" });
  });

  it("--help lists every endpoint with its URL and key variable, and the exit codes", async () => {
    const result = await runCli(["--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/g4f\s+http:\/\/localhost:1337\/v1\s+\(no key\)/);
    expect(result.stdout).toMatch(/groq\s+https:\/\/api\.groq\.com\/openai\/v1\s+GROQ_API_KEY/);
    for (const name of ["openai", "ollama", "lmstudio", "openrouter", "deepseek"]) expect(result.stdout).toContain(name);
    for (const code of ["0", "1", "2", "130", "143"]) expect(result.stdout).toMatch(new RegExp(`^\\s+${code}\\s`, "m"));
    expect(server.requests).toHaveLength(0);
  });
});

import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { performance } from "node:perf_hooks";
import OpenAI, { InternalServerError, NotFoundError } from "openai";
import { firstValueFrom, last, toArray } from "rxjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accumulate, extractDelta, fromChatCompletion } from "g4f-rx";
import { type ReplayServer, fromCassette, readCassettes, startReplayServer } from "g4f-rx/node";
import { collect } from "../support/collect.js";

const examples = fileURLToPath(new URL("../../examples/cassettes", import.meta.url));
const hello = { model: "gpt-4", messages: [{ role: "user" as const, content: "Say hello there!" }] };

describe("the replay server", () => {
  let server: ReplayServer;
  let client: OpenAI;
  beforeAll(async () => {
    server = await startReplayServer({ cassettes: examples, port: 0, speed: 20 });
    client = new OpenAI({ baseURL: server.baseURL, apiKey: "none", maxRetries: 0 });
  });
  afterAll(() => server.close());

  it("streams a cassette's chunks to the openai client, identical to the recording", async () => {
    const [recorded] = readCassettes(examples).filter((cassette) => cassette.file?.endsWith("say-hello-there.cassette.jsonl"));
    const expected = await collect(fromCassette(recorded!, { speed: Infinity }));
    const outcome = await collect(fromChatCompletion(client, hello));
    expect(outcome.completed).toBe(true);
    expect(outcome.values).toStrictEqual(expected.values);
  });

  it("matches a prompt piped with a trailing newline, whatever the model asked for", async () => {
    const text = await firstValueFrom(
      fromChatCompletion(client, { model: "some-other-model", messages: [{ role: "user", content: "Say hello there!\n" }] }).pipe(extractDelta(), accumulate(), last()),
    );
    expect(text).toBe("Hello there! How can I help you today?");
  });

  it("answers a non-streaming request with the assembled chat.completion", async () => {
    const completion = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Tell me a joke." }] });
    expect(completion.object).toBe("chat.completion");
    expect(completion.choices[0]?.message).toMatchObject({ role: "assistant", content: "Why don't scientists trust atoms? Because they make up everything!" });
    expect(completion.choices[0]?.finish_reason).toBe("stop");
    expect(completion.usage?.prompt_tokens).toBe(11);
  });

  it("keeps the reasoning of a reasoning model in the non-streaming message", async () => {
    const completion = await client.chat.completions.create({ model: "deepseek-reasoner", messages: [{ role: "user", content: "What is 17 * 23?" }] });
    expect(completion.choices[0]?.message.content).toBe("17 × 23 = **391**.");
    expect(completion.choices[0]?.message).toHaveProperty("reasoning_content", expect.stringContaining("340 + 51 = 391"));
  });

  it("lists the cassettes' models at GET /v1/models", async () => {
    const models = [];
    for await (const model of client.models.list()) models.push(model.id);
    expect(models.sort()).toEqual(["deepseek-reasoner", "gpt-4", "gpt-4o-mini"]);
  });

  it("answers an unmatched request with a 404 in OpenAI's format that lists the nearest cassettes", async () => {
    const outcome = await collect(fromChatCompletion(client, { model: "gpt-4", messages: [{ role: "user", content: "Say hello!" }] }));
    expect(outcome.error).toBeInstanceOf(NotFoundError);
    const error = outcome.error as NotFoundError;
    expect(error.code).toBe("cassette_not_found");
    expect(error.message).toMatch(/^404 No cassette matches this request's messages\. Nearest: say-hello-there\.cassette\.jsonl \("Say hello there!"\)/);
  });

  it("says in the 404 how the conversation differs when a cassette asks the same question after other messages", async () => {
    const messages = [{ role: "system" as const, content: "Be brief." }, ...hello.messages];
    const outcome = await collect(fromChatCompletion(client, { model: "gpt-4", messages }));
    expect(outcome.error).toBeInstanceOf(NotFoundError);
    expect((outcome.error as NotFoundError).message).toContain(
      'Nearest: say-hello-there.cassette.jsonl ("Say hello there!": the same question, but only this request has the system message "Be brief."), ',
    );
  });

  it("refuses a request OpenAI would refuse with a 400, instead of searching the cassettes for it", async () => {
    const post = async (path: string, body: unknown): Promise<{ status: number; message: unknown }> => {
      const response = await fetch(`${server.baseURL}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      const json: unknown = await response.json();
      return { status: response.status, message: typeof json === "object" && json !== null && "error" in json && typeof json.error === "object" && json.error !== null && "message" in json.error ? json.error.message : undefined };
    };
    for (const body of [null, [], { model: "gpt-4" }, { model: "gpt-4", messages: "hi" }, { model: "gpt-4", messages: [] }]) {
      expect((await post("/chat/completions", body)).status).toBe(400);
    }
    expect(await post("/chat/completions", { model: "gpt-4", messages: "hi" })).toStrictEqual({ status: 400, message: "'messages' must be a non-empty array of messages" });
    expect(await post("/chat/completions", { model: "gpt-4", messages: ["hi"] })).toStrictEqual({ status: 400, message: "Each of 'messages' must be an object with a 'role'" });
    expect(await post("/responses", { model: "gpt-4" })).toStrictEqual({ status: 400, message: "'input' must be a string or an array of input items" });
    // A well-formed Responses request with no Responses cassettes says that, not "no cassettes loaded".
    const responses = await post("/responses", { model: "gpt-4", input: "Say hello there!" });
    expect(responses.status).toBe(404);
    expect(responses.message).toMatch(/Nearest: none \(no Responses API cassettes among the \d+ loaded\)$/);
  });

  it("speaks plain HTTP: a raw fetch gets SSE frames ending with [DONE]", async () => {
    const response = await fetch(`${server.baseURL}/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...hello, stream: true }) });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const body = await response.text();
    expect(body.startsWith('data: {"id":"chatcmpl-')).toBe(true);
    expect(body.endsWith("data: [DONE]\n\n")).toBe(true);
  });

  it("works with curl", async () => {
    const { stdout } = await promisify(execFile)("curl", ["-sS", "-N", `${server.baseURL}/chat/completions`, "-H", "content-type: application/json", "-d", JSON.stringify({ ...hello, stream: true })]);
    expect(stdout).toContain('"content":" there"');
    expect(stdout.trimEnd().endsWith("data: [DONE]")).toBe(true);
  });
});

describe("replay timing", () => {
  it("waits for the recorded offsets at speed 1", async () => {
    const server = await startReplayServer({ cassettes: examples, port: 0 });
    try {
      const client = new OpenAI({ baseURL: server.baseURL, apiKey: "none", maxRetries: 0 });
      const start = performance.now();
      const first = await firstValueFrom(fromChatCompletion(client, hello));
      // The first frame of say-hello-there was recorded at 612 ms.
      expect(performance.now() - start).toBeGreaterThanOrEqual(600);
      expect(first.choices[0]?.delta.content).toBe("Hello");
    } finally {
      await server.close();
    }
  });

  it("gives every chunk when read back at full speed", async () => {
    const server = await startReplayServer({ cassettes: examples, port: 0, speed: Infinity });
    try {
      const client = new OpenAI({ baseURL: server.baseURL, apiKey: "none", maxRetries: 0 });
      const deltas = await firstValueFrom(fromChatCompletion(client, hello).pipe(extractDelta(), toArray()));
      expect(deltas.join("")).toBe("Hello there! How can I help you today?");
    } finally {
      await server.close();
    }
  });
});

describe("the replay server, for a non-streaming request whose recording failed", () => {
  it("answers with the recorded error, once: a 500 for an error frame, a 502 for a stream cut short, neither retried", async () => {
    const directory = mkdtempSync(join(tmpdir(), "g4f-rx-failed-"));
    const header = (content: string): string => JSON.stringify({ "g4f-rx-cassette": 1, request: { model: "gpt-4", messages: [{ role: "user", content }] }, response: { status: 200, headers: { "content-type": "text/event-stream" } } });
    const chunk = (content: string): string => JSON.stringify({ at: 1, data: { id: "c", object: "chat.completion.chunk", created: 1, model: "gpt-4", choices: [{ index: 0, delta: { content }, finish_reason: null }] } });
    writeFileSync(join(directory, "error.cassette.jsonl"), [header("Fails"), chunk("Half"), JSON.stringify({ at: 2, data: { error: { message: "The provider is overloaded", type: "overloaded_error", code: "overloaded" } } })].join("\n") + "\n");
    writeFileSync(join(directory, "cut.cassette.jsonl"), [header("Cut"), chunk("Half")].join("\n") + "\n");
    const asked: string[] = [];
    const server = await startReplayServer({ cassettes: directory, port: 0, onRequest: ({ cassette }) => asked.push(basename(cassette?.file ?? "none")) });
    try {
      // The client's default: two retries of a 5xx, unless the server says not to.
      const client = new OpenAI({ baseURL: server.baseURL, apiKey: "none" });
      const failed: unknown = await client.chat.completions.create({ model: "gpt-4", messages: [{ role: "user", content: "Fails" }] }).catch((error: unknown) => error);
      expect(failed).toBeInstanceOf(InternalServerError);
      expect(failed).toMatchObject({ status: 500, code: "overloaded", type: "overloaded_error" });
      expect((failed as Error).message).toContain("The provider is overloaded");
      const cut: unknown = await client.chat.completions.create({ model: "gpt-4", messages: [{ role: "user", content: "Cut" }] }).catch((error: unknown) => error);
      expect(cut).toMatchObject({ status: 502, code: "incomplete_stream" });
      expect((cut as Error).message).toContain("The recording ends after 1 chunk");
      expect(asked).toStrictEqual(["error.cassette.jsonl", "cut.cassette.jsonl"]);
    } finally {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe("the replay server, for a cassette it cannot answer from", () => {
  it("names the cassette by its name in the folder, never the server's path to it; onError gets the whole error", async () => {
    const directory = mkdtempSync(join(tmpdir(), "g4f-rx-damaged-"));
    const header = JSON.stringify({ "g4f-rx-cassette": 1, request: { model: "gpt-4", messages: [{ role: "user", content: "Damaged?" }] }, response: { status: 200, headers: { "content-type": "text/event-stream" } } });
    // Written by hand: the second line is no chat-completion chunk, which a recording never holds.
    writeFileSync(join(directory, "damaged.cassette.jsonl"), [header, JSON.stringify({ at: 1, data: { not: "a chunk" } })].join("\n") + "\n");
    const logged: unknown[] = [];
    const server = await startReplayServer({ cassettes: directory, port: 0, onError: ({ error, cassette }) => logged.push(error, cassette?.file) });
    try {
      const response = await fetch(`${server.baseURL}/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "gpt-4", messages: [{ role: "user", content: "Damaged?" }] }) });
      const text = await response.text();
      expect(response.status).toBe(500);
      expect(text).not.toContain(directory);
      expect(text).not.toContain(tmpdir());
      const { error } = JSON.parse(text) as { error: { message: string; type: string } };
      expect(error.type).toBe("server_error");
      expect(error.message).toMatch(/^replay server failed: damaged\.cassette\.jsonl:2: /);
      // The server's own log keeps where the file is.
      expect(logged).toHaveLength(2);
      expect(String(logged[0])).toContain(join(directory, "damaged.cassette.jsonl:2"));
      expect(logged[1]).toBe(join(directory, "damaged.cassette.jsonl"));
    } finally {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe("the replay server, for a non-streaming request to an OpenRouter recording", () => {
  it("answers with the reasoning_details the stream carried, merged, which the next request with the tool call needs", async () => {
    const directory = mkdtempSync(join(tmpdir(), "g4f-rx-details-"));
    const header = JSON.stringify({ "g4f-rx-cassette": 1, request: { model: "anthropic/claude", messages: [{ role: "user", content: "Weather?" }] }, response: { status: 200, headers: { "content-type": "text/event-stream" } } });
    const frame = (delta: object, finish: string | null = null): string =>
      JSON.stringify({ at: 1, data: { id: "gen-1", object: "chat.completion.chunk", created: 1, model: "anthropic/claude", choices: [{ index: 0, delta, finish_reason: finish }] } });
    writeFileSync(
      join(directory, "details.cassette.jsonl"),
      [
        header,
        frame({ role: "assistant", content: "", reasoning: "Need weather.", reasoning_details: [{ type: "reasoning.text", text: "Need weather.", index: 0 }] }),
        frame({ reasoning_details: [{ type: "reasoning.text", signature: "EqMBCkgI…", index: 0 }] }),
        frame({ tool_calls: [{ index: 0, id: "toolu_1", type: "function", function: { name: "weather", arguments: "{}" } }] }, "tool_calls"),
        JSON.stringify({ at: 2, data: "[DONE]" }),
      ].join("\n") + "\n",
    );
    const server = await startReplayServer({ cassettes: directory, port: 0 });
    try {
      const client = new OpenAI({ baseURL: server.baseURL, apiKey: "none", maxRetries: 0 });
      const completion = await client.chat.completions.create({ model: "anthropic/claude", messages: [{ role: "user", content: "Weather?" }] });
      expect(completion.choices[0]?.message).toHaveProperty("reasoning_details", [{ type: "reasoning.text", text: "Need weather.", index: 0, signature: "EqMBCkgI…" }]);
    } finally {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

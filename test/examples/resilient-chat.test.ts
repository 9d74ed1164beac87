import OpenAI from "openai";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CONTINUE_INSTRUCTION, extractDelta } from "g4f-rx";
import { type TestServer, startTestServer, streamReply, textChunks } from "g4f-rx/testing";
import { type Provider, resilientChat } from "../../examples/resilient-chat.js";
import { collect } from "../support/collect.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../..", import.meta.url));
const messages = [{ role: "user" as const, content: "Say hello" }];

describe("examples/resilient-chat.ts", () => {
  let server: TestServer;
  let providers: Provider[];
  beforeEach(async () => {
    server = await startTestServer();
    const client = new OpenAI({ baseURL: server.baseURL, apiKey: "test", maxRetries: 0 });
    // Three "providers" on one test server, told apart by model.
    providers = ["g4f", "ollama", "openai"].map((name) => ({ name, client, model: `${name}-model` }));
  });
  afterEach(() => server.close());

  it("retries a stalled provider, falls back, resumes a broken answer elsewhere, and aborts every abandoned request", async () => {
    // Each provider's reply is chosen by its model, not by the order requests arrive in, and the timeouts leave a loaded
    // machine a wide margin: a request still on its way when a timeout fires would otherwise take another one's reply.
    server.setDefaultReply((request) => {
      const model = typeof request.body === "object" && request.body !== null && "model" in request.body ? request.body.model : undefined;
      if (model === "g4f-model") return { headersAfterMs: 30_000, body: [] }; // g4f stalls, also on the retry
      if (model === "ollama-model") return streamReply(textChunks(["Hello", " wor"], { finishReason: null }), { done: false, then: [{ destroy: true }] }); // ollama breaks off
      return streamReply(textChunks(["ld!"])); // openai continues
    });
    const fallbacks: string[] = [];
    const outcome = await collect(
      resilientChat(providers, messages, {
        firstTimeoutMs: 1_500,
        idleTimeoutMs: 1_500,
        retries: 1,
        retryDelayMs: 10,
        onFallback: (from, to, error) => fallbacks.push(`${from.name} -> ${to.name}: ${error instanceof Error ? error.name : "?"}`),
      }).pipe(extractDelta()),
    );
    expect(outcome).toStrictEqual({ values: ["Hello", " wor", "ld!"], error: undefined, completed: true });
    expect(fallbacks).toStrictEqual(["g4f -> ollama: StreamTimeoutError", "ollama -> openai: IncompleteStreamError"]);
    const requests = await Promise.all([0, 1, 2, 3].map((index) => server.waitForRequest(index)));
    await Promise.all(requests.map((request) => request.closed));
    expect(requests.map((request) => request.body)).toMatchObject(["g4f-model", "g4f-model", "ollama-model", "openai-model"].map((model) => ({ model })));
    expect(requests.map((request) => request.disconnected)).toStrictEqual([true, true, true, false]);
    expect(requests[3]?.body).toMatchObject({
      messages: [...messages, { role: "assistant", content: "Hello wor" }, { role: "user", content: CONTINUE_INSTRUCTION }],
    });
  });

  it("runs as a script against --base-url, printing only the answer on stdout", async () => {
    server.reply(streamReply(textChunks(["Hello", " there!"])));
    const { stdout } = await run(process.execPath, ["--import", "tsx", "examples/resilient-chat.ts", "--base-url", server.baseURL, "Say hello"], {
      cwd: root,
      env: { ...process.env, OPENAI_BASE_URL: "", OPENAI_API_KEY: "" },
    });
    expect(stdout).toBe("Hello there!\n");
    expect(server.requests[0]?.body).toMatchObject({ model: "gpt-4o-mini", messages, stream: true });
  });
});

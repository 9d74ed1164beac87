import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type TestServer, errorReply, responseEvents, responsesReply, startTestServer, streamReply, textChunks } from "g4f-rx/testing";
import type { Response, ResponseOutputItem, ResponseStreamEvent } from "openai/resources/responses/responses";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { readCassette } from "../../src/replay/cassette.js";
import { assertFreshBuild, runCli } from "./run-cli.js";
import { temporaryFolder } from "../support/temporary-folder.js";

// `--api responses` on the BUILT command as a real process, against the test server's POST /v1/responses.

let server: TestServer;
let env: Record<string, string>;

beforeAll(() => assertFreshBuild());
beforeEach(async () => {
  server = await startTestServer();
  env = { OPENAI_BASE_URL: server.baseURL };
});
afterEach(() => server.close());

/**
 * A response that ends in a call to `weather` (after `text`, when given), as servers stream one: its arguments in
 * deltas (OpenAI, Azure), or whole only in the `.done` events (LM Studio), with the raw reasoning text LM Studio sends.
 */
function callEvents(options: { text?: string; argumentsIn: "deltas" | "done"; reasoningText?: string }): ResponseStreamEvent[] {
  const args = '{"location":"Paris"}';
  const events: ResponseStreamEvent[] = [];
  let sequence_number = 0;
  const push = (event: ResponseStreamEvent): void => void events.push({ ...event, sequence_number: sequence_number++ });
  const output: ResponseOutputItem[] = [];
  const response = (status: "in_progress" | "completed", items: ResponseOutputItem[]): Response => ({
    ...(responseEvents([]).find((event) => event.type === "response.created")?.response ?? failTest("no response.created")),
    status,
    output: items,
  });
  push({ sequence_number, type: "response.created", response: response("in_progress", []) });
  if (options.reasoningText !== undefined) {
    push({ sequence_number, type: "response.output_item.added", output_index: output.length, item: { id: "rs_1", type: "reasoning", summary: [], content: [] } });
    push({ sequence_number, type: "response.reasoning_text.delta", item_id: "rs_1", output_index: output.length, content_index: 0, delta: options.reasoningText });
    output.push({ id: "rs_1", type: "reasoning", summary: [], content: [{ type: "reasoning_text", text: options.reasoningText }] });
  }
  if (options.text !== undefined) {
    const output_index = output.length;
    push({ sequence_number, type: "response.output_text.delta", item_id: "msg_1", output_index, content_index: 0, delta: options.text, logprobs: [] });
    output.push({ id: "msg_1", type: "message", status: "completed", role: "assistant", content: [{ type: "output_text", text: options.text, annotations: [] }] });
  }
  const output_index = output.length;
  const call = { id: "fc_1", type: "function_call" as const, call_id: "call_1", name: "weather" };
  push({ sequence_number, type: "response.output_item.added", output_index, item: { ...call, arguments: "", status: "in_progress" } });
  if (options.argumentsIn === "deltas") {
    for (const delta of ['{"loc', 'ation":"Paris"}']) push({ sequence_number, type: "response.function_call_arguments.delta", item_id: "fc_1", output_index, delta });
  }
  push({ sequence_number, type: "response.function_call_arguments.done", item_id: "fc_1", output_index, name: "weather", arguments: args });
  const item: ResponseOutputItem = { ...call, arguments: args, status: "completed" };
  push({ sequence_number, type: "response.output_item.done", output_index, item });
  output.push(item);
  push({ sequence_number, type: "response.completed", response: response("completed", output) });
  return events;
}

function failTest(message: string): never {
  throw new Error(message);
}

describe("g4f-rx --api responses", () => {
  it("asks POST /v1/responses with instructions and input, and prints the output text", async () => {
    server.reply(responsesReply(responseEvents(["Hello", " there!"], { reasoning: ["Greet."] })));
    const result = await runCli(["--api", "responses", "-q", "-m", "gpt-5-mini", "-s", "Be brief.", "--max-tokens", "50", "Say hello there!"], { env });
    expect(result).toMatchObject({ code: 0, stdout: "Hello there!\n", stderr: "" });
    expect(server.requests[0]).toMatchObject({
      path: "/v1/responses",
      body: { model: "gpt-5-mini", instructions: "Be brief.", input: [{ role: "user", content: "Say hello there!" }], max_output_tokens: 50, stream: true },
    });
  });

  it("shows the reasoning summary with --show-reasoning, and prints every event with --json", async () => {
    const events = responseEvents(["Hi"], { reasoning: ["Think."] });
    server.reply(responsesReply(events), responsesReply(events));
    const shown = await runCli(["--api", "responses", "-q", "--show-reasoning", "Hi"], { env });
    expect(shown).toMatchObject({ code: 0, stdout: "Hi\n" });
    expect(shown.stderr).toContain("Think.");
    const json = await runCli(["--api", "responses", "-q", "--json", "Hi"], { env });
    expect(json.stdout.trim().split("\n").map((line) => JSON.parse(line) as unknown)).toEqual(events);
  });

  it("prints the whole answer with --no-stream, from one non-streaming request", async () => {
    const completed = responseEvents(["Hello", " there!"]).at(-1);
    server.reply({ headers: { "content-type": "application/json" }, body: [JSON.stringify(completed?.type === "response.completed" ? completed.response : {})] });
    const result = await runCli(["--api", "responses", "--no-stream", "-q", "Hi"], { env });
    expect(result).toMatchObject({ code: 0, stdout: "Hello there!\n" });
    expect(server.requests[0]?.body).toMatchObject({ stream: false });
  });

  it("records the Responses events themselves with --record, and --replay plays them back as they came", async () => {
    const events = responseEvents(["Hello", " there!"], { reasoning: ["Greet."] });
    server.reply(responsesReply(events));
    const folder = temporaryFolder("g4f-rx-responses-record-");
    try {
      const file = join(folder, "hello.cassette.jsonl");
      const recorded = await runCli(["--api", "responses", "-q", "-s", "Be brief.", "--record", file, "Say hello there!"], { env });
      expect(recorded).toMatchObject({ code: 0, stdout: "Hello there!\n" });
      const cassette = readCassette(file);
      expect(cassette.api).toBe("responses");
      // Every event as the server sent it, in order: not chat chunks made from them.
      expect(cassette.frames.map((frame) => frame.data)).toStrictEqual(events);

      // Played back offline (no server reply is queued): the text, and with --json the events themselves.
      const replayed = await runCli(["--replay", file, "-q", "-s", "Be brief.", "--speed", "Infinity", "Say hello there!"], { env: {} });
      expect(replayed).toMatchObject({ code: 0, stdout: "Hello there!\n" });
      const json = await runCli(["--replay", file, "-q", "--json", "-s", "Be brief.", "--speed", "Infinity", "Say hello there!"], { env: {} });
      expect(json.stdout.trim().split("\n").map((line) => JSON.parse(line) as unknown)).toStrictEqual(events);
      const reasoning = await runCli(["--replay", file, "-q", "--show-reasoning", "-s", "Be brief.", "--speed", "Infinity", "Say hello there!"], { env: {} });
      expect(reasoning.stderr).toContain("Greet.");
      const whole = await runCli(["--replay", file, "-q", "--no-stream", "-s", "Be brief.", "Say hello there!"], { env: {} });
      expect(whole).toMatchObject({ code: 0, stdout: "Hello there!\n" });
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it("exits 1 and says to ask without --api responses when the server streams chat-completion chunks instead (GPT4Free's /v1/responses)", async () => {
    server.reply(streamReply(textChunks(["Hi"])));
    const result = await runCli(["--api", "responses", "-q", "Hi"], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("streams chat completions, not Responses API events: ask it without --api responses (or with --api chat).");
    expect(result.stderr).not.toContain("fromChatCompletion");
    // The URL asked, not the chat one.
    expect(result.stderr).toContain(`${server.baseURL}/responses`);
    expect(result.stderr).not.toContain("/chat/completions");
  });

  it("passes HTTP errors on as for chat, and refuses an unknown API with exit 2", async () => {
    server.reply(errorReply(401, "Incorrect API key provided"));
    const denied = await runCli(["--api", "responses", "-q", "Hi"], { env });
    expect(denied.code).toBe(1);
    // Said as for chat only when the client's error is an instance of the command's one APIError class: the client
    // is a separate file of the command, loaded only for --api responses, and must share that class.
    expect(denied.stderr).toContain(`${server.baseURL}/responses answered HTTP 401: Incorrect API key provided`);
    expect(denied.stderr).toContain("Check the API key");
    const unknown = await runCli(["--api", "completions", "Hi"], { env });
    expect(unknown.code).toBe(2);
  });
  it("names a function call the model asked for, and exits 3, whether its arguments stream or come whole at the end", async () => {
    server.reply(responsesReply(callEvents({ argumentsIn: "deltas" })), responsesReply(callEvents({ text: "Let me look.", argumentsIn: "done", reasoningText: "Use the tool." })));
    const streamed = await runCli(["--api", "responses", "-q", "Weather in Paris?"], { env });
    expect(streamed).toMatchObject({ code: 3, stdout: "" });
    expect(streamed.stderr).toContain('instead of answering, the model asked to call weather({"location":"Paris"})');
    // LM Studio: text, raw reasoning text, and the arguments only in the .done events (taken once, not twice).
    const whole = await runCli(["--api", "responses", "-q", "--show-reasoning", "Weather in Paris?"], { env });
    expect(whole).toMatchObject({ code: 3, stdout: "Let me look.\n" });
    expect(whole.stderr).toContain("Use the tool.");
    expect(whole.stderr).toContain('the answer ends in a call to weather({"location":"Paris"});');
  });

  it("says why an incomplete response stopped: the token limit, or the content filter", async () => {
    const cut = responseEvents(["Once upon"], { end: "incomplete" });
    const filtered = cut.map((event) =>
      event.type === "response.incomplete" ? { ...event, response: { ...event.response, incomplete_details: { reason: "content_filter" as const } } } : event,
    );
    server.reply(responsesReply(cut), responsesReply(filtered));
    const limit = await runCli(["--api", "responses", "-q", "Tell a story"], { env });
    expect(limit).toMatchObject({ code: 3, stdout: "Once upon\n" });
    expect(limit.stderr).toContain("cut off at the token limit");
    const filter = await runCli(["--api", "responses", "-q", "Tell a story"], { env });
    expect(filter).toMatchObject({ code: 3, stdout: "Once upon\n" });
    expect(filter.stderr).toContain("content filter withheld the rest");
  });

  it("reads a --no-stream reply that is not a response as a stream reads it: a function call, an SSE body, an error body, an HTML page", async () => {
    const json = (value: unknown): { headers: Record<string, string>; body: string[] } => ({ headers: { "content-type": "application/json" }, body: [JSON.stringify(value)] });
    const completed = callEvents({ argumentsIn: "deltas" }).at(-1);
    server.reply(
      json(completed?.type === "response.completed" ? completed.response : {}),
      responsesReply(responseEvents(["Hello", " there!"])),
      json({ error: { message: "The model is overloaded" } }),
      { status: 200, headers: { "content-type": "text/html" }, body: ["<html>Sign in to the proxy</html>"] },
      json({ id: "resp_1", object: "response" }),
    );
    const call = await runCli(["--api", "responses", "--no-stream", "-q", "Weather?"], { env });
    expect(call).toMatchObject({ code: 3, stdout: "" });
    expect(call.stderr).toContain('the model asked to call weather({"location":"Paris"})');
    const stream = await runCli(["--api", "responses", "--no-stream", "-q", "Hi"], { env });
    expect(stream).toMatchObject({ code: 0, stdout: "Hello there!\n" });
    const error = await runCli(["--api", "responses", "--no-stream", "-q", "Hi"], { env });
    expect(error.code).toBe(1);
    expect(error.stderr).toContain("The model is overloaded");
    const page = await runCli(["--api", "responses", "--no-stream", "-q", "Hi"], { env });
    expect(page.code).toBe(1);
    expect(page.stderr).toContain('Expected a JSON response or an event stream but received text/html: "<html>Sign in to the proxy</html>"');
    const notResponse = await runCli(["--api", "responses", "--no-stream", "-q", "Hi"], { env });
    expect(notResponse.code).toBe(1);
    expect(notResponse.stderr).toContain('not a response (no "output" list)');
    for (const result of [error, page, notResponse]) expect(result.stderr).not.toMatch(/TypeError|Cannot use|not iterable/);
  });
});

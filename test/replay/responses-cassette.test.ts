import { readFileSync } from "node:fs";
import { join } from "node:path";
import OpenAI from "openai";
import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import { lastValueFrom, toArray } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { IncompleteStreamError, StreamErrorFrameError, fromChatCompletion, fromResponses } from "g4f-rx";
import { CassetteError, type ReplayServer, fromCassette, fromResponsesCassette, readCassette, recordCassette, startReplayServer } from "g4f-rx/node";
import { type TestServer, responseEvents, responsesReply, startTestServer, streamReply, textChunks } from "g4f-rx/testing";
import { collect } from "../support/collect.js";
import { temporaryFolder } from "../support/temporary-folder.js";

const params = { model: "gpt-5-mini", instructions: "Be brief.", input: "Say hello there!" };
const sent = responseEvents(["Hello", " there!"], { reasoning: ["Greet."] });

let server: TestServer;
let client: OpenAI;
let directory: string;
beforeEach(async () => {
  server = await startTestServer();
  client = new OpenAI({ baseURL: server.baseURL, apiKey: "k", maxRetries: 0 });
  directory = temporaryFolder("g4f-rx-responses-");
});
afterEach(() => server.close());

async function record(name: string, events: readonly ResponseStreamEvent[], then: ReadonlyArray<string> = []): Promise<string> {
  const file = join(directory, name);
  server.reply(responsesReply(events, { then }));
  await collect(fromResponses(client, params).pipe(recordCassette(file, params)));
  return file;
}

describe("Responses API cassettes", () => {
  it("record a live stream and replay identical events, with the header saying api: responses", async () => {
    const file = await record("hello.cassette.jsonl", sent);
    const header = JSON.parse(readFileSync(file, "utf8").split("\n")[0] ?? "{}") as Record<string, unknown>;
    expect(header).toMatchObject({ api: "responses", request: params });
    expect(header.request).not.toHaveProperty("messages");
    expect(readCassette(file).request.messages).toEqual([{ role: "system", content: "Be brief." }, { role: "user", content: "Say hello there!" }]);
    expect(await collect(fromResponsesCassette(file, { speed: Infinity }))).toEqual({ values: sent, error: undefined, completed: true });
  });

  it("replay response.failed as the live stream ended: the events, then StreamErrorFrameError", async () => {
    const failed = responseEvents(["Hel"], { end: "failed" });
    const file = await record("failed.cassette.jsonl", failed);
    const outcome = await collect(fromResponsesCassette(file, { speed: Infinity }));
    expect(outcome.values).toEqual(failed);
    expect(outcome.error).toBeInstanceOf(StreamErrorFrameError);
    expect(readFileSync(file, "utf8").trim().split("\n")).toHaveLength(1 + failed.length);
  });

  it("replay a recording that stopped early as IncompleteStreamError, by the live decoder's rule", async () => {
    const cut = responseEvents(["Hel"], { end: null });
    const file = await record("cut.cassette.jsonl", cut);
    const outcome = await collect(fromResponsesCassette(file, { speed: Infinity }));
    expect(outcome.values).toEqual(cut);
    expect(outcome.error).toBeInstanceOf(IncompleteStreamError);
    expect((outcome.error as Error).message).toContain("The recording ends after");
  });

  it("are refused by fromCassette, and chat cassettes by fromResponsesCassette, with CassetteError", async () => {
    const file = await record("hello.cassette.jsonl", sent);
    expect((await collect(fromCassette(file))).error).toBeInstanceOf(CassetteError);
    const chatFile = join(directory, "chat.cassette.jsonl");
    server.reply(streamReply(textChunks(["Hi"])));
    const chatParams = { model: "gpt-4", messages: [{ role: "user" as const, content: "Hi" }] };
    await collect(fromChatCompletion(client, chatParams).pipe(recordCassette(chatFile, chatParams)));
    expect((await collect(fromResponsesCassette(chatFile))).error).toBeInstanceOf(CassetteError);
  });
});

describe("the replay server's POST /v1/responses", () => {
  let replay: ReplayServer;
  let replayClient: OpenAI;
  beforeEach(async () => {
    await record("hello.cassette.jsonl", sent);
    replay = await startReplayServer({ cassettes: directory, port: 0, speed: Infinity });
    replayClient = new OpenAI({ baseURL: replay.baseURL, apiKey: "k", maxRetries: 0 });
  });
  afterEach(() => replay.close());

  it("streams the recorded events to the real openai client, each with its event: name", async () => {
    const events: ResponseStreamEvent[] = [];
    for await (const event of await replayClient.responses.create({ ...params, stream: true })) events.push(event);
    expect(events).toEqual(sent);
    const raw = await fetch(`${replay.baseURL}/responses`, { method: "POST", body: JSON.stringify({ ...params, stream: true }) }).then((response) => response.text());
    expect(raw.startsWith(`event: response.created\ndata: {"sequence_number":0`)).toBe(true);
  });

  it("feeds fromResponses the same events", async () => {
    expect(await lastValueFrom(fromResponses(replayClient, params).pipe(toArray()))).toEqual(sent);
  });

  it("answers a request without stream with the whole Response", async () => {
    const response = await replayClient.responses.create(params);
    const completed = sent.at(-1);
    expect(completed?.type === "response.completed" ? { ...completed.response, output_text: "Hello there!" } : undefined).toEqual(response);
  });

  it("matches Responses cassettes only, and says so in a 404 when none matches", async () => {
    const outcome = await collect(fromResponses(replayClient, { ...params, input: "Something else" }));
    expect(outcome.error).toMatchObject({ status: 404 });
  });
});

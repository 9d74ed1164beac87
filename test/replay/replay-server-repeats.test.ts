import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { lastValueFrom, toArray } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fromChatCompletion, fromResponses } from "g4f-rx";
import { type ReplayServer, recordCassette, startReplayServer } from "g4f-rx/node";
import { type TestServer, errorReply, responseEvents, responsesReply, startTestServer, streamReply, textChunks } from "g4f-rx/testing";
import { collect } from "../support/collect.js";

// A session that asked one thing twice and got two answers, recorded by recordCassette from a live (test) server, then
// replayed through the replay server to the real openai client: the nth identical request gets the nth recording.

const params = { model: "gpt-4", messages: [{ role: "user" as const, content: "Pick a number" }] };
const responsesParams = { model: "gpt-5-mini", input: "Pick a number" };

let live: TestServer;
let liveClient: OpenAI;
let directory: string;
let replay: ReplayServer | undefined;
beforeEach(async () => {
  live = await startTestServer();
  liveClient = new OpenAI({ baseURL: live.baseURL, apiKey: "k", maxRetries: 0 });
  directory = mkdtempSync(join(tmpdir(), "g4f-rx-repeats-"));
});
afterEach(async () => {
  await replay?.close();
  replay = undefined;
  await live.close();
  rmSync(directory, { recursive: true, force: true });
});

/**
 * Lets the clock pass a millisecond, so that recordings made one after the other have distinct `recordedAt` times
 * (equal times fall back to file-name order, which these tests choose to be the other way round).
 */
async function nextMillisecond(): Promise<void> {
  const start = Date.now();
  while (Date.now() === start) await new Promise((resolve) => setTimeout(resolve, 1));
}

/** Asks the live server and records the exchange into `name`. */
async function recordChat(name: string, answer: string): Promise<void> {
  await nextMillisecond();
  live.reply(streamReply(textChunks([answer])));
  const outcome = await collect(fromChatCompletion(liveClient, params).pipe(recordCassette(join(directory, name), params)));
  expect(outcome.completed).toBe(true);
}

async function recordResponses(name: string, answer: string): Promise<void> {
  await nextMillisecond();
  live.reply(responsesReply(responseEvents([answer])));
  const outcome = await collect(fromResponses(liveClient, responsesParams).pipe(recordCassette(join(directory, name), responsesParams)));
  expect(outcome.completed).toBe(true);
}

async function streamed(client: OpenAI): Promise<string> {
  const chunks = await lastValueFrom(fromChatCompletion(client, params).pipe(toArray()));
  return chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("");
}

async function whole(client: OpenAI): Promise<string | null | undefined> {
  return (await client.chat.completions.create(params)).choices[0]?.message.content;
}

describe("the replay server, with a request recorded several times", () => {
  it("answers the nth identical request with the nth recording, in the order recorded (not by file name), then the last again", async () => {
    // Recorded first under the name that sorts last: the recording time orders them.
    await recordChat("z-first.cassette.jsonl", "Five");
    await recordChat("a-second.cassette.jsonl", "Six");
    const events: Array<{ file: string | undefined; nth: number | undefined; recordings: number | undefined; repeated: boolean | undefined }> = [];
    replay = await startReplayServer({
      cassettes: directory,
      port: 0,
      speed: Infinity,
      onRequest: ({ cassette, answer }) => events.push({ file: cassette?.file?.split("/").at(-1), nth: answer?.nth, recordings: answer?.recordings, repeated: answer?.repeated }),
    });
    const client = new OpenAI({ baseURL: replay.baseURL, apiKey: "none", maxRetries: 0 });
    expect([await streamed(client), await streamed(client), await streamed(client)]).toStrictEqual(["Five", "Six", "Six"]);
    expect(events).toStrictEqual([
      { file: "z-first.cassette.jsonl", nth: 1, recordings: 2, repeated: false },
      { file: "a-second.cassette.jsonl", nth: 2, recordings: 2, repeated: false },
      { file: "a-second.cassette.jsonl", nth: 2, recordings: 2, repeated: true },
    ]);
  });

  it("answers a client that retries a recorded 429 by itself with the next recording, as the recorded session went", async () => {
    // Recorded: the server said 429 once, then answered.
    await nextMillisecond();
    live.reply(errorReply(429, "Slow down", { type: "rate_limit_error", headers: { "retry-after-ms": "10" } }));
    const limited = await collect(fromChatCompletion(liveClient, params).pipe(recordCassette(join(directory, "limited.cassette.jsonl"), params)));
    expect(limited.error).toMatchObject({ status: 429 });
    await recordChat("answered.cassette.jsonl", "Five");
    const statuses: number[] = [];
    replay = await startReplayServer({ cassettes: directory, port: 0, speed: Infinity, onRequest: ({ status }) => statuses.push(status) });
    // The openai client retries a 429 (after the recorded retry-after-ms), as the recording client's app would have.
    expect(await streamed(new OpenAI({ baseURL: replay.baseURL, apiKey: "none", maxRetries: 1 }))).toBe("Five");
    expect(statuses).toStrictEqual([429, 200]);
    // Started over, a client that does not retry gets the 429 the session began with.
    replay.reset();
    const refused = await collect(fromChatCompletion(new OpenAI({ baseURL: replay.baseURL, apiKey: "none", maxRetries: 0 }), params));
    expect(refused.error).toMatchObject({ status: 429 });
    expect(String(refused.error)).toContain("Slow down");
  });

  it("plays requests without stream by the same rule, and starts over after reset() or POST /replay/reset", async () => {
    await recordChat("one.cassette.jsonl", "Five");
    await recordChat("two.cassette.jsonl", "Six");
    const resets: number[] = [];
    replay = await startReplayServer({ cassettes: directory, port: 0, speed: Infinity, onReset: (played) => resets.push(played) });
    const client = new OpenAI({ baseURL: replay.baseURL, apiKey: "none", maxRetries: 0 });
    expect([await whole(client), await whole(client), await whole(client)]).toStrictEqual(["Five", "Six", "Six"]);
    expect(replay.reset()).toBe(2);
    expect(await streamed(client)).toBe("Five");
    const reset = await fetch(`${replay.url}/replay/reset`, { method: "POST" });
    expect(reset.status).toBe(200);
    expect(await reset.json()).toStrictEqual({ object: "replay.reset", played: 1 });
    expect([await whole(client), await streamed(client)]).toStrictEqual(["Five", "Six"]);
    // Under the client's base URL too.
    expect(await fetch(`${replay.baseURL}/replay/reset`, { method: "POST" }).then((response) => response.json())).toStrictEqual({ object: "replay.reset", played: 2 });
    expect(await whole(client)).toBe("Five");
    expect(resets).toStrictEqual([2, 1, 2]);
  });

  it("gives two clients asking at once two different recordings, in the order their requests arrived", async () => {
    await recordChat("one.cassette.jsonl", "Five");
    await recordChat("two.cassette.jsonl", "Six");
    const order: Array<string | undefined> = [];
    replay = await startReplayServer({ cassettes: directory, port: 0, speed: Infinity, onRequest: ({ cassette }) => order.push(cassette?.file?.split("/").at(-1)) });
    const client = new OpenAI({ baseURL: replay.baseURL, apiKey: "none", maxRetries: 0 });
    for (let round = 0; round < 5; round += 1) {
      order.length = 0;
      replay.reset();
      const answers = await Promise.all([whole(client), whole(client)]);
      expect([...answers].sort()).toStrictEqual(["Five", "Six"]);
      expect(order).toStrictEqual(["one.cassette.jsonl", "two.cassette.jsonl"]);
    }
  });

  it("plays Responses API recordings of one request in turn, streaming or not", async () => {
    await recordResponses("first.cassette.jsonl", "Five");
    await recordResponses("second.cassette.jsonl", "Six");
    replay = await startReplayServer({ cassettes: directory, port: 0, speed: Infinity });
    const client = new OpenAI({ baseURL: replay.baseURL, apiKey: "none", maxRetries: 0 });
    const streamedText = async (): Promise<string> => {
      let text = "";
      for await (const event of await client.responses.create({ ...responsesParams, stream: true })) if (event.type === "response.output_text.delta") text += event.delta;
      return text;
    };
    expect([await streamedText(), await streamedText(), await streamedText()]).toStrictEqual(["Five", "Six", "Six"]);
    replay.reset();
    const texts = [];
    for (let ask = 0; ask < 3; ask += 1) texts.push((await client.responses.create(responsesParams)).output_text);
    expect(texts).toStrictEqual(["Five", "Six", "Six"]);
  });
});

/** Latency over loopback and soak runs against the in-process test server, with the real openai client. */
import OpenAI from "openai";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { filter, finalize, lastValueFrom, take, tap } from "rxjs";
import { extractDelta, fromChatCompletion } from "g4f-rx";
import { type ReplyStep, DONE_EVENT, sseFrame, startTestServer, streamReply, textChunks } from "g4f-rx/testing";
import { percentile } from "./stats.js";

const params = { model: "gpt-4", messages: [{ role: "user" as const, content: "bench" }] };
const [, template] = textChunks(["x"]);

/** A reply whose chunks carry, as their content, the time the server wrote them. */
function timestampedReply(chunks: number, gapMs: number): { body: ReplyStep[] } {
  const body: ReplyStep[] = [];
  for (let i = 0; i < chunks; i += 1) {
    body.push(() => sseFrame({ ...template, choices: [{ index: 0, delta: { content: String(performance.now()) }, finish_reason: null }] }));
    body.push({ wait: gapMs });
  }
  body.push(sseFrame(textChunks([])[1]!), DONE_EVENT);
  return { body };
}

export interface LatencyResult {
  streams: number;
  chunks: number;
  p50: number;
  p99: number;
  completed: number;
  openSubscriptions: number;
  openSockets: { before: number; after: number };
}

function openTcpHandles(): number {
  return process.getActiveResourcesInfo().filter((name) => name === "TCPSocketWrap" || name === "TCPWRAP").length;
}

/** `streams` concurrent streams of `chunks` chunks each, `gapMs` apart; latency from server write to subscriber. */
export async function latency(streams: number, chunks: number, gapMs: number): Promise<LatencyResult> {
  const server = await startTestServer();
  const before = openTcpHandles();
  const client = new OpenAI({ baseURL: server.baseURL, apiKey: "k", maxRetries: 0 });
  server.setDefaultReply(() => timestampedReply(chunks, gapMs));
  const samples: number[] = [];
  let open = 0;
  let completed = 0;
  await Promise.all(
    Array.from({ length: streams }, () => {
      open += 1;
      return lastValueFrom(
        fromChatCompletion(client, params).pipe(
          extractDelta(),
          tap((sentAt) => samples.push(performance.now() - Number(sentAt))),
          finalize(() => (open -= 1)),
        ),
        { defaultValue: "" },
      ).then(() => (completed += 1));
    }),
  );
  await server.close();
  await new Promise((resolve) => setTimeout(resolve, 50));
  return { streams, chunks: samples.length, p50: percentile(samples, 50), p99: percentile(samples, 99), completed, openSubscriptions: open, openSockets: { before, after: openTcpHandles() } };
}

export interface SoakReading {
  at: number;
  heapMiB: number;
  openSockets: number;
}

function reading(at: number): SoakReading {
  globalThis.gc?.();
  return { at, heapMiB: process.memoryUsage().heapUsed / 2 ** 20, openSockets: openTcpHandles() };
}

/** `count` sequential streams; readings after the first tenth and at the end. */
export async function soakSequential(count: number): Promise<SoakReading[]> {
  const server = await startTestServer({ record: false });
  const client = new OpenAI({ baseURL: server.baseURL, apiKey: "k", maxRetries: 0 });
  server.setDefaultReply(streamReply(textChunks(["Hello", " there", "!"])));
  const readings: SoakReading[] = [];
  for (let i = 1; i <= count; i += 1) {
    await lastValueFrom(fromChatCompletion(client, params).pipe(extractDelta()));
    if (i === count / 10 || i === count) readings.push(reading(i));
  }
  await server.close();
  return readings;
}

/** `count` streams, each cancelled after its first chunk while the server stalls; readings after a tenth and at the end. */
export async function soakCancelled(count: number): Promise<{ readings: SoakReading[]; serverSawClose: number }> {
  const server = await startTestServer({ record: false });
  const client = new OpenAI({ baseURL: server.baseURL, apiKey: "k", maxRetries: 0 });
  server.setDefaultReply(streamReply(textChunks(["Hello"]).slice(0, 2), { done: false, then: [{ wait: 60_000 }] }));
  const allClosed = async (): Promise<void> => {
    while (server.tally.closed < server.tally.received) await new Promise((resolve) => setTimeout(resolve, 5));
  };
  const readings: SoakReading[] = [];
  for (let i = 1; i <= count; i += 1) {
    await lastValueFrom(fromChatCompletion(client, params).pipe(filter((chunk: ChatCompletionChunk) => chunk.choices.length > 0), take(1)));
    if (i === count / 10 || i === count) {
      await allClosed();
      readings.push(reading(i));
    }
  }
  await allClosed();
  const serverSawClose = server.tally.disconnected;
  await server.close();
  return { readings, serverSawClose };
}

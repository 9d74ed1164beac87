/**
 * Throughput: the same 100,000-chunk OpenAI-format body, delivered by a `fetch`
 * stub in 16 KiB pieces, decoded by each contender in turn, rounds interleaved.
 */
import OpenAI from "openai";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { from, lastValueFrom, map } from "rxjs";
import { accumulate, extractDelta, fromChatCompletion } from "g4f-rx";
import { median } from "./stats.js";

const PIECE = 16 * 1024;

/** An OpenAI-format body: a role chunk, `count - 2` content chunks, a finish chunk, then [DONE]. */
export function makeBody(count: number): Uint8Array {
  const base = { id: "chatcmpl-bench0000000000000000000", object: "chat.completion.chunk", created: 1_764_000_000, model: "gpt-4o-mini-2024-07-18", service_tier: "default", system_fingerprint: "fp_51db84afab" };
  const frames: string[] = [];
  const push = (delta: object, finish: string | null): void => {
    frames.push(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], usage: null })}\n\n`);
  };
  push({ role: "assistant", content: "", refusal: null }, null);
  for (let i = 0; i < count - 2; i += 1) push({ content: ` word${i % 1000}` }, null);
  push({}, "stop");
  frames.push("data: [DONE]\n\n");
  return new TextEncoder().encode(frames.join(""));
}

/** A `fetch` that answers every request with `body` in 16 KiB pieces. */
export function stubFetch(body: Uint8Array): (input: string | URL | Request, init?: RequestInit) => Promise<Response> {
  return () => {
    let offset = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (offset >= body.length) return controller.close();
        controller.enqueue(body.subarray(offset, offset + PIECE));
        offset += PIECE;
      },
    });
    return Promise.resolve(new Response(stream, { status: 200, headers: { "content-type": "text/event-stream" } }));
  };
}

const params = { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: "bench" }] };

type Contender = { name: string; run: (body: Uint8Array) => Promise<string> };

export const contenders: Contender[] = [
  {
    name: "g4f-rx fromChatCompletion → extractDelta → accumulate",
    run: (body) => {
      const client = new OpenAI({ apiKey: "k", baseURL: "http://stub/v1", fetch: stubFetch(body), maxRetries: 0 });
      return lastValueFrom(fromChatCompletion(client, params).pipe(extractDelta(), accumulate()));
    },
  },
  {
    name: "openai-node for await over create({ stream: true })",
    run: async (body) => {
      const client = new OpenAI({ apiKey: "k", baseURL: "http://stub/v1", fetch: stubFetch(body), maxRetries: 0 });
      let text = "";
      for await (const chunk of await client.chat.completions.create({ ...params, stream: true })) text += chunk.choices[0]?.delta?.content ?? "";
      return text;
    },
  },
  {
    name: "RxJS from() over openai-node's stream",
    run: async (body) => {
      const client = new OpenAI({ apiKey: "k", baseURL: "http://stub/v1", fetch: stubFetch(body), maxRetries: 0 });
      const stream = await client.chat.completions.create({ ...params, stream: true });
      return lastValueFrom(from(stream).pipe(map((chunk) => chunk.choices[0]?.delta?.content ?? ""), accumulate()));
    },
  },
  {
    name: "hand-written floor: split + JSON.parse",
    run: async (body) => {
      const response = await stubFetch(body)("http://stub");
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      let text = "";
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf("\n\n")) !== -1) {
          const data = buffer.slice(6, end);
          buffer = buffer.slice(end + 2);
          if (data === "[DONE]") return text;
          const chunk = JSON.parse(data) as ChatCompletionChunk;
          text += chunk.choices[0]?.delta.content ?? "";
        }
      }
      return text;
    },
  },
];

export async function throughput(chunks: number, rounds: number): Promise<Array<{ name: string; mChunksPerSecond: number }>> {
  const body = makeBody(chunks);
  const expected = await contenders[3]!.run(body);
  const times = new Map<string, number[]>(contenders.map((contender) => [contender.name, []]));
  for (const contender of contenders) await contender.run(body); // warm-up
  for (let round = 0; round < rounds; round += 1) {
    for (const contender of contenders) {
      const start = performance.now();
      const text = await contender.run(body);
      times.get(contender.name)!.push(performance.now() - start);
      if (text !== expected) throw new Error(`${contender.name} decoded a different text`);
    }
  }
  return contenders.map(({ name }) => ({ name, mChunksPerSecond: chunks / median(times.get(name)!) / 1000 }));
}

/** Peak memory over baseline while accumulating a long answer delivered by a `fetch` stub, generated as it is read. */
import { pathToFileURL } from "node:url";
import OpenAI from "openai";
import { lastValueFrom } from "rxjs";
import { accumulate, extractDelta, fromChatCompletion } from "g4f-rx";

export interface MemoryResult {
  chunks: number;
  answerMiB: number;
  /** Highest `heapUsed` over baseline, garbage not yet collected included. */
  peakHeapMiB: number;
  /** Highest live heap over baseline: `heapUsed` right after a forced GC, sampled every 64 pieces of 16 KiB. */
  peakLiveMiB: number;
  peakRssMiB: number;
  liveRatio: number;
}

/** A fetch whose body is `chunks` content chunks of `piece`, produced 16 KiB at a time so the body itself is never held. */
function generatingFetch(chunks: number, piece: string, sample: () => void): () => Promise<Response> {
  const encoder = new TextEncoder();
  const frame = `data: ${JSON.stringify({ id: "chatcmpl-mem", object: "chat.completion.chunk", created: 0, model: "gpt-4", choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] })}\n\n`;
  const perPiece = Math.max(1, Math.floor((16 * 1024) / frame.length));
  const block = encoder.encode(frame.repeat(perPiece));
  const last = encoder.encode(`data: ${JSON.stringify({ id: "chatcmpl-mem", object: "chat.completion.chunk", created: 0, model: "gpt-4", choices: [{ index: 0, delta: {}, finish_reason: "stop" }] })}\n\ndata: [DONE]\n\n`);
  return () => {
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        sample();
        if (sent >= chunks) {
          controller.enqueue(last);
          return controller.close();
        }
        const count = Math.min(perPiece, chunks - sent);
        controller.enqueue(count === perPiece ? block : encoder.encode(frame.repeat(count)));
        sent += count;
      },
    });
    return Promise.resolve(new Response(stream, { headers: { "content-type": "text/event-stream" } }));
  };
}

export async function memory(chunks: number, piece = " token"): Promise<MemoryResult> {
  globalThis.gc?.();
  const base = process.memoryUsage();
  let peakHeap = 0;
  let peakLive = 0;
  let peakRss = 0;
  let samples = 0;
  const sample = (): void => {
    const now = process.memoryUsage();
    peakHeap = Math.max(peakHeap, now.heapUsed - base.heapUsed);
    peakRss = Math.max(peakRss, now.rss - base.rss);
    if ((samples += 1) % 64 === 0 && globalThis.gc) {
      globalThis.gc();
      peakLive = Math.max(peakLive, process.memoryUsage().heapUsed - base.heapUsed);
    }
  };
  const client = new OpenAI({ apiKey: "k", baseURL: "http://stub/v1", fetch: generatingFetch(chunks, piece, sample), maxRetries: 0 });
  const text = await lastValueFrom(fromChatCompletion(client, { model: "gpt-4", messages: [] }).pipe(extractDelta(), accumulate()));
  sample();
  const answer = Buffer.byteLength(text);
  const mib = (bytes: number): number => bytes / 2 ** 20;
  return { chunks, answerMiB: mib(answer), peakHeapMiB: mib(peakHeap), peakLiveMiB: mib(peakLive), peakRssMiB: mib(peakRss), liveRatio: peakLive / answer };
}

// Run alone (`node --expose-gc --import tsx bench/memory.ts CHUNKS`), so that no earlier benchmark's heap or RSS
// stays in the baseline; bench/run.ts does that and reads the JSON line.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const chunks = Number(process.argv[2] ?? 1_000_000);
  process.stdout.write(`${JSON.stringify(await memory(chunks))}\n`);
}

import fc from "fast-check";
import OpenAI from "openai";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeEventStream, fromChatCompletion } from "g4f-rx";
import { DONE_EVENT, type TestServer, sseFrame, startTestServer, textChunks } from "g4f-rx/testing";
import { collect } from "../support/collect.js";

// Multi-byte text of every UTF-8 length: 2 (Cyrillic), 3 (CJK) and 4 bytes (emoji).
const sent: ChatCompletionChunk[] = [
  ...textChunks(["Привет, ", "世界 ", "👋", " done"]),
  { id: "u", object: "chat.completion.chunk", created: 1, model: "gpt-4", choices: [], usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 } },
];
const body = Buffer.from(sent.map((chunk) => sseFrame(chunk)).join("") + ": keep-alive comment\n\n" + DONE_EVENT, "utf8");

/** Cut points of the body, sorted and distinct: every split of it into pieces. */
const cuts = fc.uniqueArray(fc.integer({ min: 1, max: body.length - 1 }), { maxLength: 40 }).map((points) => [...points].sort((a, b) => a - b));

function piecesOf(points: readonly number[]): Uint8Array[] {
  return [0, ...points].map((start, i) => body.subarray(start, points[i] ?? body.length));
}

describe("any split of the body yields the same chunks", () => {
  it("when the decoder reads the pieces exactly as split", async () => {
    await fc.assert(
      fc.asyncProperty(cuts, async (points) => {
        const pieces = piecesOf(points);
        const stream = new ReadableStream<Uint8Array>({
          start(controller) {
            for (const piece of pieces) controller.enqueue(piece);
            controller.close();
          },
        });
        const response = new Response(stream, { headers: { "content-type": "text/event-stream" } });
        const received: ChatCompletionChunk[] = [];
        await decodeEventStream(response, (chunk) => received.push(chunk), new AbortController().signal);
        expect(received).toStrictEqual(sent);
      }),
      { numRuns: 300 },
    );
  });

  describe("over real HTTP with the openai client", () => {
    let server: TestServer;
    let client: OpenAI;
    beforeAll(async () => {
      server = await startTestServer();
      client = new OpenAI({ baseURL: server.baseURL, apiKey: "k", maxRetries: 0 });
    });
    afterAll(() => server.close());

    it("when the server writes each piece separately", async () => {
      await fc.assert(
        fc.asyncProperty(cuts, async (points) => {
          const steps = piecesOf(points).flatMap((piece) => [piece, { wait: 0 }]);
          server.reply({ body: steps });
          const outcome = await collect(fromChatCompletion(client, { model: "gpt-4", messages: [] }));
          expect(outcome).toEqual({ values: sent, error: undefined, completed: true });
        }),
        { numRuns: 60 },
      );
    });
  });
});

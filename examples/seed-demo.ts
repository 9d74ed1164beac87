/**
 * The original GPT4Free demo, declaratively: stream the answer to "Say hello there!",
 * print each delta as it arrives, report an error, and always print the final text.
 *
 *   npx tsx examples/seed-demo.ts [--base-url URL] [--model NAME] [prompt]
 *
 * The endpoint is --base-url, else OPENAI_BASE_URL, else a GPT4Free API server
 * on http://localhost:1337/v1; the key is OPENAI_API_KEY (GPT4Free needs none).
 */
import OpenAI from "openai";
import { parseArgs } from "node:util";
import { EMPTY, catchError, finalize, tap } from "rxjs";
import { accumulate, extractDelta, fromChatCompletion, printTo } from "g4f-rx";

const { values: options, positionals } = parseArgs({
  options: { "base-url": { type: "string" }, model: { type: "string", default: "gpt-4" } },
  allowPositionals: true,
});
const baseURL = options["base-url"] ?? process.env.OPENAI_BASE_URL ?? "http://localhost:1337/v1";
const prompt = positionals.join(" ") || "Say hello there!";
const client = new OpenAI({ baseURL, apiKey: process.env.OPENAI_API_KEY ?? "not-needed-for-g4f" });

let accumulatedText = "";
fromChatCompletion(client, { model: options.model, messages: [{ role: "user", content: prompt }] })
  .pipe(
    extractDelta(),
    printTo(process.stdout),
    accumulate(),
    tap((text) => (accumulatedText = text)),
    catchError((error: unknown) => {
      process.stdout.write(`\nError occurred: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
      return EMPTY;
    }),
    finalize(() => process.stdout.write(`\n\nFinal accumulated text: ${accumulatedText}\n`)),
  )
  .subscribe();

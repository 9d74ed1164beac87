/**
 * JSON extraction with live partial values: ask for JSON, show the value as it
 * fills in, and end with the strictly parsed result (or a clear error).
 *
 *   npx tsx examples/json-extraction.ts [--base-url URL] [--model NAME] [text to extract from]
 *
 * The endpoint is --base-url, else OPENAI_BASE_URL, else a GPT4Free API server
 * on http://localhost:1337/v1; the key is OPENAI_API_KEY (GPT4Free needs none).
 */
import OpenAI from "openai";
import { lastValueFrom, tap } from "rxjs";
import { accumulate, extractDelta, failOnFinishReason, fromChatCompletion, partialJson } from "g4f-rx";
import { exampleArguments } from "./support/example-arguments.js";
import { isEntryModule } from "./support/is-entry-module.js";

export interface ExtractOptions {
  model: string;
  /** The text to extract from. */
  text: string;
  /** What to extract, described for the model. */
  instruction?: string;
  /** Called with each new partial value, and last with the complete one. */
  onValue?: (value: unknown) => void;
}

/** Streams a JSON-mode answer and resolves with the final, strictly parsed value. */
export async function extractJson(client: OpenAI, options: ExtractOptions): Promise<unknown> {
  const { model, text, instruction = 'Reply with JSON only: {"people": [{"name": string, "city": string}]} for every person mentioned.', onValue } = options;
  return lastValueFrom(
    fromChatCompletion(client, {
      model,
      response_format: { type: "json_object" },
      messages: [
        { role: "system", content: instruction },
        { role: "user", content: text },
      ],
    }).pipe(
      // A JSON answer cut by the token limit cannot parse: say why instead.
      failOnFinishReason(["length", "content_filter"]),
      extractDelta(),
      accumulate(),
      partialJson(),
      tap((value) => onValue?.(value)),
    ),
  );
}

async function main(): Promise<void> {
  const { client, model, prompt } = exampleArguments({ model: "gpt-4o-mini", prompt: "Ada lives in London; her friend Grace moved from New York to Arlington." });
  const live = process.stderr.isTTY;
  const value = await extractJson(client, {
    model,
    text: prompt,
    // On a terminal, redraw the partial value in place on stderr; stdout gets only the result.
    onValue: (partial) => live && process.stderr.write(`\r\u001b[2K${JSON.stringify(partial).slice(0, (process.stderr.columns || 80) - 1)}`),
  });
  if (live) process.stderr.write("\r\u001b[2K");
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

if (isEntryModule(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`\nError: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}


/**
 * Rendering a streamed answer in a UI without re-rendering on every delta:
 * accumulate the text, then `throttleTime` with leading and trailing, so the
 * first text shows at once, the view updates at most once per interval, and
 * the final text is always rendered (trailing). No new operator needed.
 *
 *   npx tsx examples/throttled-render.ts [--base-url URL] [--model NAME] [--interval MS] [prompt]
 *
 * This script's "UI" redraws the whole answer in the terminal (or, when stdout
 * is not a terminal, prints one line per render with the text length).
 */
import OpenAI from "openai";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { parseArgs } from "node:util";
import { type Observable, type SchedulerLike, asyncScheduler, tap, throttleTime } from "rxjs";
import { accumulate, extractDelta, fromChatCompletion } from "g4f-rx";
import { isEntryModule } from "./support/is-entry-module.js";

/**
 * The answer so far, at most once per `intervalMs` (plus the final text),
 * handed to `render` as it goes. Emits each rendered text.
 */
export function throttledRender(
  chunks: Observable<ChatCompletionChunk>,
  render: (text: string) => void,
  intervalMs = 100,
  scheduler: SchedulerLike = asyncScheduler,
): Observable<string> {
  return chunks.pipe(
    extractDelta(),
    accumulate(),
    // Leading: the first words show at once. Trailing: the last text is never dropped.
    throttleTime(intervalMs, scheduler, { leading: true, trailing: true }),
    tap(render),
  );
}

function main(): void {
  const { values, positionals } = parseArgs({
    options: { "base-url": { type: "string" }, model: { type: "string", default: "gpt-4" }, interval: { type: "string", default: "100" } },
    allowPositionals: true,
  });
  const baseURL = values["base-url"] || process.env.OPENAI_BASE_URL || "http://localhost:1337/v1";
  const client = new OpenAI({ baseURL, apiKey: process.env.OPENAI_API_KEY || "none" });
  const prompt = positionals.join(" ") || "Write a short poem about rivers.";
  let renders = 0;
  const render = (text: string): void => {
    renders += 1;
    if (process.stdout.isTTY) process.stdout.write(`\x1b[H\x1b[J${text}\n\n(render ${renders})`);
    else process.stdout.write(`render ${renders}: ${text.length} characters\n`);
  };
  throttledRender(fromChatCompletion(client, { model: values.model, messages: [{ role: "user", content: prompt }] }), render, Number(values.interval)).subscribe({
    complete: () => process.stdout.write("\n"),
    error: (error: unknown) => {
      process.stderr.write(`\nError: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  });
}

if (isEntryModule(import.meta.url)) main();

/**
 * A chat that survives stalls, rate limits and dying providers: each provider's
 * request is bounded by a first-chunk and an idle timeout (which abort it),
 * retried once if it fails before any text, and when it still fails the next
 * provider takes over (GPT4Free, then Ollama, then OpenAI). When a provider
 * breaks off mid-answer, the next one is asked to continue it, and only the
 * new text is printed.
 *
 *   npx tsx examples/resilient-chat.ts [--base-url URL] [--model NAME] [prompt]
 *
 * The first provider is --base-url, else OPENAI_BASE_URL, else GPT4Free's API
 * on http://localhost:1337/v1; then Ollama on http://localhost:11434/v1; then
 * OpenAI when OPENAI_API_KEY is set. Fallback notices go to stderr.
 */
import OpenAI from "openai";
import type { ChatCompletionChunk, ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { parseArgs } from "node:util";
import type { Observable } from "rxjs";
import { extractDelta, fallback, fromChatCompletion, printTo, retryBeforeContent, streamTimeout, withContinuation } from "g4f-rx";
import { isEntryModule } from "./support/is-entry-module.js";

/** One OpenAI-compatible endpoint and the model to ask there. */
export interface Provider {
  readonly name: string;
  readonly client: OpenAI;
  readonly model: string;
}

export interface ResilientChatOptions {
  /** Milliseconds to wait for a provider's first chunk. Default 20 000. */
  firstTimeoutMs?: number;
  /** Milliseconds a provider may stay silent mid-answer. Default 10 000. */
  idleTimeoutMs?: number;
  /** New requests to the same provider when it fails before any text. Default 1. */
  retries?: number;
  /** Milliseconds before such a retry (a 429's Retry-After wins). Default 1 000. */
  retryDelayMs?: number;
  /** Told each time the next provider takes over, and why. */
  onFallback?: (from: Provider, to: Provider, error: unknown) => void;
}

/** The chunks of one answer, from the first provider that gives one. */
export function resilientChat(
  providers: readonly Provider[],
  messages: readonly ChatCompletionMessageParam[],
  options: ResilientChatOptions = {},
): Observable<ChatCompletionChunk> {
  const { firstTimeoutMs = 20_000, idleTimeoutMs = 10_000, retries = 1, retryDelayMs = 1_000, onFallback } = options;
  const sources = providers.map(
    (provider) => (continuation?: { text: string }) =>
      fromChatCompletion(provider.client, { model: provider.model, messages: withContinuation(messages, continuation) }).pipe(
        // Timeouts first, so that a stall is a failure that retry and fallback can act on.
        streamTimeout({ first: firstTimeoutMs, idle: idleTimeoutMs }),
        retryBeforeContent({ count: retries, delay: retryDelayMs }),
      ),
  );
  return fallback(sources, {
    resume: true,
    onAttempt: (index, error) => {
      const from = providers[index - 1];
      const to = providers[index];
      if (from !== undefined && to !== undefined) onFallback?.(from, to, error);
    },
  });
}

/** GPT4Free (or --base-url), Ollama, and OpenAI when a key is set. */
export function defaultProviders(baseURL: string | undefined, model: string | undefined, env: NodeJS.ProcessEnv): Provider[] {
  // The SDK's own retries would multiply ours; local servers fail fast anyway.
  const client = (url: string, apiKey: string): OpenAI => new OpenAI({ baseURL: url, apiKey, maxRetries: 0 });
  const providers: Provider[] = [
    { name: baseURL ?? "gpt4free", client: client(baseURL ?? "http://localhost:1337/v1", env.OPENAI_API_KEY || "none"), model: model ?? "gpt-4o-mini" },
    { name: "ollama", client: client("http://localhost:11434/v1", "ollama"), model: "llama3.2" },
  ];
  if (env.OPENAI_API_KEY) providers.push({ name: "openai", client: client("https://api.openai.com/v1", env.OPENAI_API_KEY), model: "gpt-4o-mini" });
  return providers;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function main(): void {
  const { values, positionals } = parseArgs({
    options: { "base-url": { type: "string" }, model: { type: "string" } },
    allowPositionals: true,
  });
  const providers = defaultProviders(values["base-url"] || process.env.OPENAI_BASE_URL || undefined, values.model, process.env);
  const prompt = positionals.join(" ") || "Say hello there!";
  resilientChat(providers, [{ role: "user", content: prompt }], {
    onFallback: (from, to, error) => process.stderr.write(`\n[${from.name} failed: ${describe(error)}; trying ${to.name}]\n`),
  })
    .pipe(extractDelta(), printTo(process.stdout))
    .subscribe({
      complete: () => process.stdout.write("\n"),
      error: (error: unknown) => {
        process.stderr.write(`\nError: ${describe(error)}\n`);
        process.exitCode = 1;
      },
    });
}

if (isEntryModule(import.meta.url)) main();

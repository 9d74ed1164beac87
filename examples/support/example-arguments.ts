import { parseArgs } from "node:util";
import OpenAI from "openai";

/** What an example's command line asks for. */
export interface ExampleArguments {
  /** A client for --base-url, else OPENAI_BASE_URL, else GPT4Free's API on http://localhost:1337/v1; the key is OPENAI_API_KEY. */
  client: OpenAI;
  /** --model, else the example's default. */
  model: string;
  /** The positional arguments, joined; the example's default prompt when there are none. */
  prompt: string;
}

/** Reads `[--base-url URL] [--model NAME] [prompt…]`, the command line every example shares. */
export function exampleArguments(defaults: { model: string; prompt: string }): ExampleArguments {
  const { values, positionals } = parseArgs({
    options: { "base-url": { type: "string" }, model: { type: "string", default: defaults.model } },
    allowPositionals: true,
  });
  const baseURL = values["base-url"] || process.env.OPENAI_BASE_URL || "http://localhost:1337/v1";
  // GPT4Free's API needs no key, but the openai client insists on one.
  const client = new OpenAI({ baseURL, apiKey: process.env.OPENAI_API_KEY || "not-needed-for-g4f" });
  return { client, model: values.model, prompt: positionals.join(" ") || defaults.prompt };
}

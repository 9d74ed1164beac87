/**
 * A reasoning viewer: shows the model's thinking as it streams (dimmed on a
 * terminal), then the answer. Reads reasoning from `reasoning_content` /
 * `reasoning` deltas and from `<think>…</think>` written inline in the text.
 *
 *   npx tsx examples/reasoning-viewer.ts [--base-url URL] [--model NAME] [prompt]
 *
 * The endpoint is --base-url, else OPENAI_BASE_URL, else a GPT4Free API server
 * on http://localhost:1337/v1; the key is OPENAI_API_KEY (GPT4Free needs none).
 */
import OpenAI from "openai";
import type { ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { lastValueFrom, reduce, tap } from "rxjs";
import { type TextWritable, type ThinkingPart, fromChatCompletion, thinkingParts } from "g4f-rx";
import { exampleArguments } from "./support/example-arguments.js";
import { isEntryModule } from "./support/is-entry-module.js";

const DIM = "\u001b[2m";
const UNDIM = "\u001b[22m";

export interface ViewOptions {
  model: string;
  messages: ChatCompletionMessageParam[];
  out: TextWritable;
  /** Dim the reasoning with ANSI codes. Default: whether `out` is a terminal. */
  dim?: boolean;
}

/** Streams one answer to `out`: the reasoning (dimmed), a blank line, then the answer. Resolves with both texts. */
export async function viewReasoning(client: OpenAI, options: ViewOptions): Promise<{ reasoning: string; content: string }> {
  const { model, messages, out } = options;
  const dim = options.dim ?? ("isTTY" in out && out.isTTY === true);
  let shown: ThinkingPart["kind"] | undefined;
  // The blank line between the two is the viewer's own: the model's newlines around `<think>…</think>` are dropped.
  // Whitespace at the end of the reasoning so far is held until more reasoning follows it.
  let heldSpace = "";
  const write = (part: ThinkingPart): void => {
    let text = part.text;
    if (part.kind === "reasoning") {
      if (shown !== "reasoning") out.write(dim ? DIM : "");
      text = shown === "reasoning" ? heldSpace + text : text.trimStart();
      const end = text.trimEnd().length;
      heldSpace = text.slice(end);
      text = text.slice(0, end);
    } else if (shown === "reasoning") {
      text = text.trimStart();
      if (text === "") return;
      out.write(dim ? `${UNDIM}\n\n` : "\n\n");
    }
    if (text === "" && part.kind === shown) return;
    shown = part.kind;
    out.write(text);
  };
  const texts = await lastValueFrom(
    thinkingParts(fromChatCompletion(client, { model, messages })).pipe(
      tap(write),
      reduce((sum, part) => ({ ...sum, [part.kind]: sum[part.kind] + part.text }), { reasoning: "", content: "" }),
    ),
    { defaultValue: { reasoning: "", content: "" } },
  );
  if (dim && shown === "reasoning") out.write(UNDIM);
  out.write("\n");
  return texts;
}

async function main(): Promise<void> {
  const { client, model, prompt } = exampleArguments({ model: "deepseek-r1", prompt: "How many r's are in strawberry?" });
  await viewReasoning(client, { model, messages: [{ role: "user", content: prompt }], out: process.stdout });
}

if (isEntryModule(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`Error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}


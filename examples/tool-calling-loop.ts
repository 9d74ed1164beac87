/**
 * A tool-calling loop: stream the answer, run each tool call as soon as it is
 * complete (while the model may still be writing the next), send the results
 * back, and stream again until the model answers in text.
 *
 *   npx tsx examples/tool-calling-loop.ts [--base-url URL] [--model NAME] [prompt]
 *
 * The endpoint is --base-url, else OPENAI_BASE_URL, else a GPT4Free API server
 * on http://localhost:1337/v1; the key is OPENAI_API_KEY (GPT4Free needs none).
 */
import OpenAI from "openai";
import type { ChatCompletionFunctionTool, ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { forkJoin, last, lastValueFrom, map, mergeMap, share, toArray } from "rxjs";
import { type AppendAnswerOptions, type CompletedToolCall, type TextWritable, accumulateMessage, assistantMessage, extractDelta, fromChatCompletion, printTo, toolCalls } from "g4f-rx";
import { exampleArguments } from "./support/example-arguments.js";
import { isEntryModule } from "./support/is-entry-module.js";

/** A tool the model may call: its JSON-schema definition and the function that answers it. */
export interface Tool {
  definition: ChatCompletionFunctionTool;
  run(args: unknown): unknown;
}

export interface ToolLoopOptions {
  model: string;
  messages: ChatCompletionMessageParam[];
  tools: readonly Tool[];
  /** Where the answer's text is written as it streams. */
  out: TextWritable;
  /** Stop after this many requests. Default 5. */
  maxRounds?: number;
  /** Send the reasoning back in this field: DeepSeek's thinking mode needs `"reasoning_content"`. Default: left out. */
  reasoningField?: AppendAnswerOptions["reasoningField"];
}

export interface ToolLoopResult {
  /** The final answer's text. */
  text: string;
  /** The whole conversation, with the assistant's tool calls and the tool results. */
  messages: ChatCompletionMessageParam[];
  /** The requests sent. */
  rounds: number;
}

/** Runs the conversation until the model answers without calling a tool. */
export async function runToolLoop(client: OpenAI, options: ToolLoopOptions): Promise<ToolLoopResult> {
  const { model, tools, out, maxRounds = 5, reasoningField } = options;
  const messages = [...options.messages];
  const byName = new Map(tools.map((tool) => [tool.definition.function.name, tool]));
  const answer = async (call: CompletedToolCall): Promise<ChatCompletionMessageParam> => {
    const tool = byName.get(call.name);
    const result: unknown = tool === undefined ? { error: `unknown tool ${call.name}` } : await tool.run(call.arguments);
    return { role: "tool", tool_call_id: call.id, content: JSON.stringify(result) };
  };

  for (let round = 1; round <= maxRounds; round += 1) {
    // One request, read three ways: the text to print, the whole message, and each tool call once complete.
    const chunks = fromChatCompletion(client, { model, messages, tools: tools.map((tool) => tool.definition) }).pipe(share());
    // The assistant message as the next request must carry it (with what a provider attached to each tool call,
    // such as Gemini's thought signature, which it refuses a request without).
    const { message, results } = await lastValueFrom(
      forkJoin({
        message: chunks.pipe(accumulateMessage(), last(), map((snapshot) => assistantMessage(snapshot, { reasoningField }))),
        results: chunks.pipe(toolCalls(), mergeMap(answer), toArray()),
        printed: chunks.pipe(extractDelta(), printTo(out), toArray()),
      }),
    );
    messages.push(message);
    const calls = message.tool_calls ?? [];
    if (calls.length === 0) {
      const text = typeof message.content === "string" ? message.content : "";
      return { text, messages, rounds: round };
    }
    // Tool messages in the order of the calls, whatever order the tools finished in.
    const order = calls.map((call) => call.id);
    messages.push(...results.sort((a, b) => order.indexOf(idOf(a)) - order.indexOf(idOf(b))));
  }
  throw new Error(`The model was still calling tools after ${maxRounds} requests`);
}

function idOf(message: ChatCompletionMessageParam): string {
  return message.role === "tool" ? message.tool_call_id : "";
}

/** Two toy tools for the demo. */
export const demoTools: readonly Tool[] = [
  {
    definition: {
      type: "function",
      function: {
        name: "get_time",
        description: "The current time in an IANA time zone",
        parameters: { type: "object", properties: { tz: { type: "string" } }, required: ["tz"] },
      },
    },
    run: (args) => {
      const tz = typeof args === "object" && args !== null && "tz" in args && typeof args.tz === "string" ? args.tz : "UTC";
      return { tz, time: new Date().toLocaleTimeString("en-GB", { timeZone: tz }) };
    },
  },
  {
    definition: {
      type: "function",
      function: { name: "add", description: "Adds two numbers", parameters: { type: "object", properties: { a: { type: "number" }, b: { type: "number" } }, required: ["a", "b"] } },
    },
    run: (args) => {
      const value = (key: "a" | "b"): number => (typeof args === "object" && args !== null && key in args ? Number(Reflect.get(args, key)) : Number.NaN);
      return { sum: value("a") + value("b") };
    },
  },
];

async function main(): Promise<void> {
  const { client, model, prompt } = exampleArguments({ model: "gpt-4o-mini", prompt: "What time is it in Tokyo, and what is 19 + 23? Use the tools." });
  const result = await runToolLoop(client, { model, messages: [{ role: "user", content: prompt }], tools: demoTools, out: process.stdout });
  process.stdout.write(`\n\n(${result.rounds} requests, ${result.messages.length} messages)\n`);
}

if (isEntryModule(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`Error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}


import { describe, expect, it } from "vitest";
import { UsageError, parseCommandLine, parseWithYargs, quickParse } from "../../src/cli/options.js";

// Ordinary command lines are read without loading yargs (start-up time); yargs stays the reference.

/** What a parser makes of `args`: the options, or the usage error's message. */
async function outcome(parse: typeof parseCommandLine, args: readonly string[]): Promise<unknown> {
  try {
    return await parse(args, "1.2.3");
  } catch (error) {
    if (error instanceof UsageError) return { usage: error.message };
    throw error;
  }
}

const ORDINARY: readonly (readonly string[])[] = [
  [],
  ["Say", "hello", "42"],
  ["-m", "m-1", "-s", "Be brief.", "-t", "0.25", "--max-tokens", "42", "Hi"],
  ["--model=gpt-4o", "--temperature=0", "-q", "Hi"],
  ["--endpoint", "ollama", "--base-url", "http://host:8000/v1", "--api-key", "k", "--retries", "1", "Hi"],
  ["--json", "--no-stream", "Hi"],
  ["--stream", "Hi"],
  ["--show-reasoning", "--timeout", "1500", "--idle-timeout", "2e3", "--stats", "Hi"],
  ["--fallback", "ollama,openai=http://x/v1", "--smooth", "sentence", "Hi"],
  ["--record", "a.cassette.jsonl", "Hi"],
  ["--replay", "examples/cassettes", "--speed", "Infinity"],
  ["--replay", "examples/cassettes", "--speed", "2.5", "--", "serve", "-q"],
  // Values that pass the parser but not the checks: the same usage error either way.
  ["--temperature", "3", "Hi"],
  ["--timeout", "0", "Hi"],
  ["--speed", "2", "Hi"],
  ["--smooth", "word", "--json", "Hi"],
];

const UNUSUAL: readonly (readonly string[])[] = [
  ["--help"],
  ["--version"],
  ["--colour", "Hi"],
  ["--maxTokens", "5", "Hi"],
  ["-qm", "x", "Hi"],
  ["-t", "-1", "Hi"],
  ["-t", "warm", "Hi"],
  ["--model", "a", "--model", "b"],
  ["--fallback", "a", "--fallback", "b"],
  ["--json", "true", "Hi"],
  ["--smooth", "letter", "Hi"],
  ["--model"],
];

describe("parseCommandLine without yargs", () => {
  it.each(ORDINARY.map((args) => [args.join(" ") || "(nothing)", args] as const))("reads %s as yargs does", async (_name, args) => {
    expect(quickParse(args)).toBeDefined();
    expect(await outcome(parseCommandLine, args)).toEqual(await outcome(parseWithYargs, args));
  });

  it.each(UNUSUAL.map((args) => [args.join(" "), args] as const))("leaves %s to yargs", async (_name, args) => {
    expect(quickParse(args)).toBeUndefined();
    expect(await outcome(parseCommandLine, args)).toEqual(await outcome(parseWithYargs, args));
  });
});

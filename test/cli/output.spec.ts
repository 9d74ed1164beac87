import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { concat, lastValueFrom, of, throwError } from "rxjs";
import { describe, expect, it } from "vitest";
import { answerPrinter, dimmedReasoning, formatStats } from "../../src/cli/output.js";
import { contentChunk } from "../support/chunks.js";
import { asChunk } from "../support/wire.js";

const reasoning = (text: string): ChatCompletionChunk =>
  asChunk({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { reasoning_content: text }, finish_reason: null }] });

function writers(): { answer: string[]; reasoning: string[]; sinks: Parameters<typeof answerPrinter>[1] } {
  const answer: string[] = [];
  const thoughts: string[] = [];
  return {
    answer,
    reasoning: thoughts,
    sinks: { answer: { write: (text: string) => answer.push(text) }, reasoning: { write: (text: string) => thoughts.push(text) }, dim: (text) => `<dim>${text}</dim>` },
  };
}

const options = { json: false, showReasoning: true, smooth: undefined, stats: false } as const;

describe("answerPrinter", () => {
  it("dims each piece of reasoning, ends its line before the answer, and prints the answer without its leading blank line", async () => {
    const out = writers();
    const printer = answerPrinter(options, out.sinks);
    await lastValueFrom(printer.print(of(reasoning("Think"), reasoning("ing."), contentChunk("\n\nDone."))), { defaultValue: undefined });
    printer.finish();
    expect(out.reasoning).toEqual(["<dim>Think</dim>", "<dim>ing.</dim>", "\n"]);
    expect(out.answer).toEqual(["Done."]);
  });

  it("finish() ends a reasoning line when the stream stopped during the reasoning", async () => {
    const out = writers();
    const printer = answerPrinter(options, out.sinks);
    await expect(lastValueFrom(printer.print(concat(of(reasoning("Hmm")), throwError(() => new Error("cut")))))).rejects.toThrow("cut");
    printer.finish();
    expect(out.reasoning.join("")).toBe("<dim>Hmm</dim>\n");
  });

  it("keeps a CR LF or a character cut between two pieces of reasoning whole on a terminal, and shows a CR that ended it", async () => {
    const thoughts: string[] = [];
    const sinks = { answer: { write: () => true }, reasoning: { write: (text: string) => thoughts.push(text) }, ...dimmedReasoning(true, (text) => `<dim>${text}</dim>`) };
    const printer = answerPrinter(options, sinks);
    await lastValueFrom(printer.print(of(reasoning("One\r"), reasoning("\nTwo \ud83d"), reasoning("\ude00\r"))), { defaultValue: undefined });
    printer.finish();
    expect(thoughts.join("")).toBe("<dim>One</dim><dim>\r\nTwo </dim><dim>😀</dim><dim>␍</dim>\n");
  });

  it("without --show-reasoning prints the content only, <think> tags and all", async () => {
    const out = writers();
    const printer = answerPrinter({ ...options, showReasoning: false }, out.sinks);
    await lastValueFrom(printer.print(of(reasoning("Hidden."), contentChunk("<think>x</think>Yes"))), { defaultValue: undefined });
    expect(out.answer.join("")).toBe("<think>x</think>Yes");
    expect(out.reasoning).toEqual([]);
  });

  it("--json prints each chunk, or the whole completion it stands for, as one line; --stats measures the same stream", async () => {
    const out = writers();
    const chunk = contentChunk("Hi", 0, "stop");
    const printer = answerPrinter({ ...options, json: true, stats: true }, out.sinks, (seen) => (seen === chunk ? { whole: true } : seen));
    await lastValueFrom(printer.print(of(contentChunk(""), chunk)), { defaultValue: undefined });
    expect(out.answer).toEqual([`${JSON.stringify(contentChunk(""))}\n`, '{"whole":true}\n']);
    expect(printer.stats).toMatchObject({ chunks: 2, characters: 2 });
  });
});

describe("formatStats", () => {
  it("says everything in one line, tokens only when usage arrived", () => {
    expect(formatStats({ firstContentMs: 612.4, durationMs: 1420, chunks: 12, characters: 38, charactersPerSecond: 47.2 })).toBe(
      "first content after 612 ms, 1.42 s in all, 12 chunks, 38 characters, 47 characters/s",
    );
    expect(
      formatStats({ firstContentMs: null, durationMs: 5, chunks: 1, characters: 0, charactersPerSecond: null, usage: { prompt_tokens: 9, completion_tokens: 0, total_tokens: 9 } }),
    ).toBe("no content, 0.01 s in all, 1 chunk, 0 characters, 9 tokens (9 prompt + 0 completion)");
  });
});

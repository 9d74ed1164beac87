/**
 * The markdown renderer a terminal gets (src/cli/markdown.ts) over long answers arriving in token-sized deltas: its
 * time, and the same answer rendered whole, side by side. A renderer that re-reads the open block on every delta
 * grows with the square of the block's length; one that reads it per line that may end it stays in step.
 */
import { from, lastValueFrom, toArray } from "rxjs";
import { loadHighlighter, renderMarkdown } from "../src/cli/markdown.js";
import { median } from "./stats.js";

export interface MarkdownRow {
  readonly answer: string;
  readonly kib: number;
  readonly deltas: number;
  readonly streamedMs: number;
  readonly wholeMs: number;
}

async function time(parts: readonly string[]): Promise<number> {
  const start = performance.now();
  await lastValueFrom(from(parts).pipe(renderMarkdown(), toArray()));
  return performance.now() - start;
}

/** Answers of about `kib` KiB: one long code block, paragraphs, one long list and one long table, each cut into 4-character deltas. */
export async function markdownRendering(kib: number, rounds: number): Promise<MarkdownRow[]> {
  await loadHighlighter();
  const line = "const value = compute(alpha, beta, gamma); // one line of a long file\n";
  const sentence = "A sentence of an ordinary answer, with **some bold** and `code` in it. ";
  const repeat = (text: string): string => text.repeat(Math.ceil((kib * 1024) / text.length));
  const answers = [
    { answer: "one code block (js)", text: `Here it is:\n\n\`\`\`js\n${repeat(line)}\`\`\`\n\nDone.\n` },
    { answer: "paragraphs of 4 sentences", text: repeat(`${sentence.repeat(4)}\n\n`) },
    { answer: "one long list", text: `${repeat("- an item of a long list, a few words\n")}\nDone.\n` },
    { answer: "one long table", text: `| name | value |\n|---|---|\n${repeat("| a row of a long table | 42 |\n")}\nDone.\n` },
  ];
  return Promise.all(
    answers.map(async ({ answer, text }) => {
      const parts: string[] = [];
      for (let start = 0; start < text.length; start += 4) parts.push(text.slice(start, start + 4));
      const streamed: number[] = [];
      const whole: number[] = [];
      for (let round = 0; round < rounds; round += 1) {
        streamed.push(await time(parts));
        whole.push(await time([text]));
      }
      return { answer, kib: text.length / 1024, deltas: parts.length, streamedMs: median(streamed), wholeMs: median(whole) };
    }),
  );
}

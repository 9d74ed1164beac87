import type { ChatCompletionChunk } from "openai/resources/chat/completions";

/**
 * Helpers that read chunk fields the way every provider sends them, shared by
 * the operators in this folder. Not exported from the package: the operators
 * are the public surface.
 */

/** A chunk's choice as it may arrive: Azure's content-filter chunks carry no `delta`, whatever the types say. */
export type WireChoice = Partial<ChatCompletionChunk.Choice>;

/** The chunk's choices, read defensively (a provider that omits the array gives none). */
export function choicesOf(chunk: ChatCompletionChunk): readonly WireChoice[] {
  const choices: readonly WireChoice[] | undefined = chunk.choices;
  return choices ?? [];
}

/** The choice whose `index` field equals `index`, or `undefined`. A choice without `index` counts as 0. */
export function choiceOf(chunk: ChatCompletionChunk, index: number): WireChoice | undefined {
  for (const choice of choicesOf(chunk)) {
    if ((choice.index ?? 0) === index) return choice;
  }
  return undefined;
}

/**
 * The reasoning text of a delta: `reasoning_content` (DeepSeek, vLLM, xAI) or
 * `reasoning` (GPT4Free, OpenRouter, Groq, Ollama). Some servers (recent vLLM)
 * send both with the same text, so the first non-empty one wins and the two
 * are never added together.
 */
export function reasoningOf(delta: object | null | undefined): string | undefined {
  if (delta === null || delta === undefined) return undefined;
  if ("reasoning_content" in delta && typeof delta.reasoning_content === "string" && delta.reasoning_content !== "") {
    return delta.reasoning_content;
  }
  if ("reasoning" in delta && typeof delta.reasoning === "string" && delta.reasoning !== "") {
    return delta.reasoning;
  }
  return undefined;
}

/** `value` when it is a non-empty string, else `undefined`: providers repeat fields as `""` or `null`. */
export function nonEmpty(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** Validates the `choice` option shared by several operators, eagerly. */
export function choiceOption(operator: string, choice: unknown): number {
  if (typeof choice !== "number" || !Number.isInteger(choice) || choice < 0) {
    throw new TypeError(`${operator}: choice must be a non-negative integer, got ${String(choice)}`);
  }
  return choice;
}

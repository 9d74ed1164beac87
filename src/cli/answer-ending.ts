import type { ChatCompletionChunk } from "openai/resources/chat/completions";

/**
 * What a completed answer amounts to, from its chunks (the first choice): a `finish_reason` that cut it short, a
 * refusal (`delta.refusal`, which the answer text never includes), reasoning without an answer, or nothing at all.
 * An answer that "succeeded" this way is not what the user asked for, so the command says so and exits 3.
 */
export class AnswerEnding {
  #finishReason: string | null = null;
  #refusal = "";
  #content = 0;
  #reasoning = 0;
  /** Tool calls by index: their names and arguments as they streamed. */
  readonly #toolCalls = new Map<number, { name: string; arguments: string }>();

  /** Takes one chunk into account. */
  readonly see = (chunk: ChatCompletionChunk): void => {
    for (const choice of Array.isArray(chunk.choices) ? chunk.choices : []) {
      if ((choice.index ?? 0) !== 0) continue;
      if (typeof choice.finish_reason === "string") this.#finishReason = choice.finish_reason;
      const delta: unknown = choice.delta;
      if (typeof delta !== "object" || delta === null) continue;
      if ("content" in delta && typeof delta.content === "string") this.#content += delta.content.length;
      if ("refusal" in delta && typeof delta.refusal === "string") this.#refusal += delta.refusal;
      const toolCalls: unknown = Reflect.get(delta, "tool_calls");
      if (Array.isArray(toolCalls)) toolCalls.forEach((call: unknown) => this.#seeToolCall(call));
      for (const field of ["reasoning_content", "reasoning"] as const) {
        const value: unknown = Reflect.get(delta, field);
        if (typeof value === "string") this.#reasoning += value.length;
      }
    }
  };

  #seeToolCall(call: unknown): void {
    if (typeof call !== "object" || call === null) return;
    const index: unknown = Reflect.get(call, "index");
    const fn: unknown = Reflect.get(call, "function");
    const known = this.#toolCalls.get(typeof index === "number" ? index : 0) ?? { name: "", arguments: "" };
    if (typeof fn === "object" && fn !== null) {
      const name: unknown = Reflect.get(fn, "name");
      const args: unknown = Reflect.get(fn, "arguments");
      if (typeof name === "string") known.name += name;
      if (typeof args === "string") known.arguments += args;
    }
    this.#toolCalls.set(typeof index === "number" ? index : 0, known);
  }

  /**
   * Why the answer is not a whole answer, for stderr; `undefined` when it is one. `json` says whether `--json` is
   * there to print a tool call's chunks (not in chat).
   */
  problem({ showReasoning, json }: { showReasoning: boolean; json: boolean }): string | undefined {
    if (this.#refusal !== "") return `the model refused: ${this.#refusal}`;
    if (this.#toolCalls.size > 0) {
      const calls = [...this.#toolCalls.values()].map((call) => `${call.name || "(unnamed)"}(${call.arguments})`).join(", ");
      const what = this.#content === 0 ? "instead of answering, the model asked to call" : "the answer ends in a call to";
      return `${what} ${calls}; the command runs no tools${json ? " (--json prints the call as it arrived)" : ""}`;
    }
    if (this.#finishReason === "length") {
      return "the answer was cut off at the token limit (finish_reason: length); allow more with --max-tokens, or ask for less";
    }
    if (this.#finishReason === "content_filter") return "the provider's content filter withheld the rest of the answer (finish_reason: content_filter)";
    if (this.#content === 0 && this.#reasoning > 0) {
      return `the model sent only reasoning (${this.#reasoning} characters) and no answer${showReasoning ? "" : "; --show-reasoning prints it"}`;
    }
    if (this.#content === 0) return "the answer was empty";
    return undefined;
  }
}

import { describe, expect, it } from "vitest";
import { contentText, isContentChunk } from "../../operators/index.js";
import { chunkWith, contentChunk } from "../support/chunks.js";
import { asChunk } from "../support/wire.js";

const withDelta = (delta: object | null) =>
  asChunk({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: null }] });

/** A chunk whose choices array holds the given entries, `null` ones included. */
const withChoices = (choices: unknown[]) => asChunk({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices });

/** A chunk whose `choices` is not an array, as a broken provider may send; set at run time, as the types forbid it. */
const malformed = (choices: unknown) => {
  const chunk = chunkWith([]);
  Reflect.set(chunk, "choices", choices);
  return chunk;
};

describe("isContentChunk", () => {
  it("is false for chunks that carry nothing a consumer could have shown", () => {
    expect(isContentChunk(withDelta({ role: "assistant", content: "" }))).toBe(false);
    expect(isContentChunk(withDelta({ role: "assistant", content: null, reasoning_content: "" }))).toBe(false);
    expect(isContentChunk(contentChunk(undefined, 0, "stop"))).toBe(false);
    expect(isContentChunk(chunkWith([], { usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }))).toBe(false);
    expect(isContentChunk(withDelta({ tool_calls: [] }))).toBe(false);
    // Azure's content-filter chunk: a choice without a delta.
    expect(isContentChunk(asChunk({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, finish_reason: null }] }))).toBe(false);
  });

  it("is false, without throwing, for malformed chunks: a null delta, null choices, choices that is not an array", () => {
    expect(isContentChunk(withDelta(null))).toBe(false);
    expect(isContentChunk(malformed(null))).toBe(false);
    expect(isContentChunk(malformed({ 0: { index: 0, delta: { content: "Hi" } } }))).toBe(false);
    expect(isContentChunk(withChoices([null]))).toBe(false);
    // A null entry does not hide the content of the others.
    expect(isContentChunk(withChoices([null, { index: 1, delta: { content: "Hi" }, finish_reason: null }]))).toBe(true);
  });

  it("is true for text, a refusal, reasoning (both field names) and tool-call deltas, in any choice", () => {
    expect(isContentChunk(contentChunk("Hi"))).toBe(true);
    expect(isContentChunk(contentChunk("Hi", 1))).toBe(true);
    expect(isContentChunk(withDelta({ refusal: "I can't" }))).toBe(true);
    expect(isContentChunk(withDelta({ reasoning_content: "First" }))).toBe(true);
    expect(isContentChunk(withDelta({ reasoning: "Okay" }))).toBe(true);
    expect(isContentChunk(withDelta({ tool_calls: [{ index: 0, function: { arguments: "{" } }] }))).toBe(true);
  });
});

describe("contentText", () => {
  it("reads delta.content of the choice with that index, or the empty string", () => {
    const both = chunkWith([
      { index: 1, delta: { content: "B" }, finish_reason: null },
      { index: 0, delta: { content: "A" }, finish_reason: null },
    ]);
    expect(contentText(both)).toBe("A");
    expect(contentText(both, 1)).toBe("B");
    expect(contentText(both, 2)).toBe("");
    expect(contentText(contentChunk(null))).toBe("");
  });

  it("is the empty string, without throwing, for a null delta, null choices or choices that is not an array", () => {
    expect(contentText(withDelta(null))).toBe("");
    expect(contentText(malformed(null))).toBe("");
    expect(contentText(malformed("Hi"))).toBe("");
    expect(contentText(withChoices([null, { index: 0, delta: { content: "A" }, finish_reason: null }]))).toBe("A");
  });
});

import fc from "fast-check";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { type Observable, catchError, defer, lastValueFrom, of, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import {
  FinishReasonError,
  ToolCallArgumentsError,
  accumulateMessage,
  extractDelta,
  extractReasoning,
  failOnFinishReason,
  fallback,
  isContentChunk,
  retryBeforeContent,
  smooth,
  streamStats,
  streamTimeout,
  toUIMessageStream,
  toolCalls,
  usage,
} from "g4f-rx/operators";

// Any JSON value a provider could put where a field belongs.
const junk = fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), fc.string({ maxLength: 4 }), fc.constant([]), fc.constant({}), fc.constant([null]));
const maybe = <T>(value: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(value, { nil: undefined });

const toolCall = fc.oneof(
  junk,
  fc.record(
    {
      index: fc.oneof(fc.nat(3), junk),
      id: fc.oneof(fc.constantFrom("call_1", "call_2", ""), junk),
      type: fc.oneof(fc.constantFrom("function", "custom"), junk),
      function: fc.oneof(fc.record({ name: fc.oneof(fc.constantFrom("f", ""), junk), arguments: fc.oneof(fc.constantFrom("{", "}", '{"a":1}', ""), junk) }, { requiredKeys: [] }), junk),
      custom: fc.oneof(fc.record({ name: fc.oneof(fc.constant("c"), junk), input: fc.oneof(fc.constant("text"), junk) }, { requiredKeys: [] }), junk),
    },
    { requiredKeys: [] },
  ),
);
const delta = fc.oneof(
  junk,
  fc.record(
    {
      role: fc.oneof(fc.constantFrom("assistant", ""), junk),
      content: fc.oneof(fc.constantFrom("Hi", " there", ""), junk),
      refusal: fc.oneof(fc.constant("no"), junk),
      reasoning: fc.oneof(fc.constant("hmm"), junk),
      reasoning_content: fc.oneof(fc.constant("think"), junk),
      tool_calls: fc.oneof(fc.array(toolCall, { maxLength: 3 }), junk),
      function_call: fc.oneof(fc.record({ name: fc.oneof(fc.constant("f"), junk), arguments: fc.oneof(fc.constant("{}"), junk) }, { requiredKeys: [] }), junk),
    },
    { requiredKeys: [] },
  ),
);
const choice = fc.oneof(
  junk,
  fc.record(
    {
      index: fc.oneof(fc.nat(2), junk),
      delta,
      finish_reason: fc.oneof(fc.constantFrom("stop", "length", "tool_calls"), junk),
      logprobs: fc.oneof(fc.record({ content: fc.oneof(fc.constant([{ token: "a", logprob: 0, bytes: null, top_logprobs: [] }]), junk), refusal: junk }, { requiredKeys: [] }), junk),
    },
    { requiredKeys: [] },
  ),
);
const chunk = fc.record(
  {
    id: fc.oneof(fc.constant("c1"), junk),
    object: fc.constant("chat.completion.chunk"),
    created: fc.oneof(fc.nat(), junk),
    model: fc.oneof(fc.constant("gpt-4"), junk),
    choices: fc.oneof(fc.array(choice, { maxLength: 3 }), junk),
    usage: fc.oneof(fc.record({ prompt_tokens: fc.nat(), completion_tokens: fc.nat(), total_tokens: fc.nat() }), junk),
    system_fingerprint: maybe(junk),
    provider: maybe(junk),
  },
  { requiredKeys: ["object"] },
);

// The types say what a chunk should be; the property feeds what the wire can hold, so it reads them as chunks on purpose.
function asChunks(values: readonly unknown[]): ChatCompletionChunk[] {
  return values.filter((value): value is ChatCompletionChunk => typeof value === "object" && value !== null);
}

/** Runs `pipeline` to its end and returns the error it ended with, if any. */
async function outcomeOf(pipeline: Observable<unknown>): Promise<unknown> {
  return lastValueFrom(pipeline.pipe(toArray(), catchError((error: unknown) => of(error)))).then((result) => (Array.isArray(result) ? undefined : result));
}

const operators: ReadonlyArray<[string, (chunks: ChatCompletionChunk[]) => Observable<unknown>, ReadonlyArray<new (...args: never[]) => Error>]> = [
  ["extractDelta", (chunks) => of(...chunks).pipe(extractDelta()), []],
  ["extractDelta({ choice: 1 })", (chunks) => of(...chunks).pipe(extractDelta({ choice: 1 })), []],
  ["extractReasoning", (chunks) => of(...chunks).pipe(extractReasoning()), []],
  ["accumulateMessage", (chunks) => of(...chunks).pipe(accumulateMessage()), []],
  ["toolCalls", (chunks) => of(...chunks).pipe(toolCalls()), [ToolCallArgumentsError]],
  ["usage", (chunks) => of(...chunks).pipe(usage()), []],
  ["streamStats", (chunks) => of(...chunks).pipe(streamStats()), []],
  ["failOnFinishReason", (chunks) => of(...chunks).pipe(failOnFinishReason(["length"])), [FinishReasonError]],
  ["smooth", (chunks) => of(...chunks).pipe(extractDelta(), smooth({ delayMs: 0 })), []],
  ["isContentChunk", (chunks) => defer(() => of(chunks.map(isContentChunk))), []],
  ["retryBeforeContent", (chunks) => of(...chunks).pipe(retryBeforeContent({ count: 1, delay: 0 })), []],
  ["streamTimeout", (chunks) => of(...chunks).pipe(streamTimeout({ first: 1_000, idle: 1_000 })), []],
  ["fallback", (chunks) => fallback([of(...chunks)]), []],
  ["toUIMessageStream", (chunks) => of(...chunks).pipe(toUIMessageStream()), []],
];

describe("every operator on any chunk a provider could send", () => {
  it.each(operators)("%s never throws a TypeError: odd shapes are skipped or give its documented error", async (_name, run, documented) => {
    await fc.assert(
      fc.asyncProperty(fc.array(chunk, { maxLength: 6 }), async (values) => {
        const error = await outcomeOf(run(asChunks(values)));
        if (error !== undefined) expect(documented.some((kind) => error instanceof kind), error instanceof Error ? error.stack : JSON.stringify(error)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe("one rule for choice 0", () => {
  const noIndex = { id: "c", object: "chat.completion.chunk", created: 0, model: "m", choices: [{ delta: { content: "Hi", reasoning_content: "hmm" }, finish_reason: "length" }] };
  const chunks = asChunks([noIndex]);
  it("counts a choice without index as choice 0 in every operator", async () => {
    expect(await lastValueFrom(of(...chunks).pipe(extractDelta(), toArray()))).toEqual(["Hi"]);
    expect(await lastValueFrom(of(...chunks).pipe(extractReasoning(), toArray()))).toEqual(["hmm"]);
    expect((await lastValueFrom(of(...chunks).pipe(accumulateMessage()))).choices[0]).toMatchObject({ index: 0, message: { content: "Hi" } });
    expect(await outcomeOf(of(...chunks).pipe(failOnFinishReason("length")))).toMatchObject({ choice: 0, text: "Hi" });
  });
});

describe("custom tool calls", () => {
  const chunkOf = (delta: object, finish: string | null = null): unknown => ({ id: "c", object: "chat.completion.chunk", created: 0, model: "m", choices: [{ index: 0, delta, finish_reason: finish }] });
  const chunks = asChunks([
    chunkOf({ tool_calls: [{ index: 0, id: "call_1", type: "custom", custom: { name: "run_sql", input: "SELECT " } }] }),
    chunkOf({ tool_calls: [{ index: 0, custom: { input: "1;" } }] }),
    chunkOf({}, "tool_calls"),
  ]);

  it("keeps type custom, the name and the whole input in accumulateMessage", async () => {
    const snapshot = await lastValueFrom(of(...chunks).pipe(accumulateMessage()));
    expect(snapshot.choices[0]?.message.tool_calls).toEqual([{ id: "call_1", type: "custom", custom: { name: "run_sql", input: "SELECT 1;" } }]);
  });

  it("emits them from toolCalls with their input", async () => {
    expect(await lastValueFrom(of(...chunks).pipe(toolCalls(), toArray()))).toEqual([
      { index: 0, id: "call_1", type: "custom", name: "run_sql", input: "SELECT 1;", arguments: "SELECT 1;", rawArguments: "SELECT 1;" },
    ]);
  });
});

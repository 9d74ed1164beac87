import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { type OperatorFunction, concat, defer, from, mergeMap } from "rxjs";
import { type ToolCallSnapshot, accumulateMessage } from "./accumulate-message.js";
import { choiceOption } from "./chunk-reader.js";
import { explainFinishReason } from "./fail-on-finish-reason.js";

export interface ToolCallsOptions {
  /** The `index` of the choice to read (for `n > 1`). Default `0`. */
  choice?: number;
}

/**
 * A complete tool call: a function call with its arguments parsed, or a
 * custom (free-form) tool call with the `input` text the model wrote.
 */
export type CompletedToolCall =
  | {
      /** Its position among the choice's tool calls (0 for the first). */
      index: number;
      /** The id to answer it with, in the `tool` message's `tool_call_id`. */
      id: string;
      type: "function";
      /** The function's name. */
      name: string;
      /** The arguments, parsed from JSON (`{}` when the model sent none). Validate them before use. */
      arguments: unknown;
      /** The arguments as the model wrote them. */
      rawArguments: string;
    }
  | {
      index: number;
      id: string;
      type: "custom";
      /** The custom tool's name. */
      name: string;
      /** The input, as the model wrote it (free-form text, not parsed). */
      input: string;
      /** The same text as `input`, so code written for function calls reads it too. */
      arguments: string;
      rawArguments: string;
    };

/** A tool call's arguments are not valid JSON. */
export class ToolCallArgumentsError extends Error {
  override readonly name = "ToolCallArgumentsError";
  /**
   * The choice's `finish_reason` when it ended the answer before the arguments were whole (`"length"`: the token
   * limit), rather than the model writing them wrong; `undefined` otherwise.
   */
  readonly finishReason: string | undefined;
  constructor(
    /** The function's name. */
    readonly toolName: string,
    /** The tool call's id. */
    readonly toolCallId: string,
    /** The arguments as received. */
    readonly rawArguments: string,
    options?: { cause?: unknown; finishReason?: string },
  ) {
    const reason = options?.cause instanceof Error ? ` (${options.cause.message})` : "";
    const call = `The arguments of tool call "${toolName}" (${toolCallId || "no id"})`;
    const finishReason = options?.finishReason;
    const why = finishReason === undefined ? undefined : explainFinishReason(finishReason);
    const problem =
      finishReason === undefined
        ? `are not valid JSON${reason}`
        : `are cut off: the choice finished with "${finishReason}"${why === undefined ? "" : ` (${why})`} before they were whole JSON${reason}`;
    super(`${call} ${problem}: ${JSON.stringify(rawArguments)}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.finishReason = finishReason;
  }
}

/** Finish reasons after which arguments that are not JSON were written wrong, not cut off. */
const WHOLE_ANSWER_REASONS: ReadonlySet<unknown> = new Set(["tool_calls", "function_call", "stop"]);

/** The choice finished with its answer whole (tool calls, or a plain stop), rather than cut off or not at all. Internal to the operators. */
export function finishedWhole(reason: unknown): boolean {
  return WHOLE_ANSWER_REASONS.has(reason);
}

/** The finish reason, when it is one that can cut a call's arguments off (`"length"`, a content filter…). Internal to the operators. */
export function cuttingReason(reason: unknown): string | undefined {
  return typeof reason === "string" && reason !== "" && !WHOLE_ANSWER_REASONS.has(reason) ? reason : undefined;
}

/**
 * Emits each tool call of one choice once it is complete, with its arguments
 * parsed as JSON.
 *
 * Assembles the chunks with `accumulateMessage()` (so a call sent whole and a
 * call sent in fragments are the same) and emits a call as soon as nothing
 * more can arrive for it: once a call with a higher index has begun and its
 * own arguments are whole JSON (some servers interleave the fragments of
 * parallel calls, so a call whose arguments are still empty or cut off waits),
 * when its choice gets a `finish_reason`, or when the source completes. You can start
 * running the first tool while the model is still writing the second. Calls
 * come out in index order, each once. A custom (free-form) tool call
 * (`type: "custom"`, `custom: { name, input }`) is emitted with its `input` text. Arguments the model left empty parse as
 * `{}`; arguments that are not valid JSON error the stream with
 * `ToolCallArgumentsError`, which names the tool and holds the raw text, and
 * when the choice finished with `"length"` (or another reason that cuts an
 * answer short) says the arguments were cut off, in its `finishReason`.
 *
 * ## Examples
 * ```ts
 * import { of } from "rxjs";
 * import { toolCalls } from "g4f-rx/operators";
 *
 * const chunk = (delta: object, finish_reason: "tool_calls" | null = null) => ({
 *   id: "c1", object: "chat.completion.chunk" as const, created: 0, model: "gpt-4",
 *   choices: [{ index: 0, delta, finish_reason }],
 * });
 * // The first call is complete as soon as the call with index 1 begins, the second when the choice finishes.
 * of(
 *   chunk({ tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":' } }] }),
 *   chunk({ tool_calls: [{ index: 0, function: { arguments: '"Oslo"}' } }] }),
 *   chunk({ tool_calls: [{ index: 1, id: "call_2", type: "function", function: { name: "time", arguments: "{}" } }] }),
 *   chunk({}, "tool_calls"),
 * ).pipe(toolCalls()).subscribe((call) => console.log(call.name, call.arguments));
 * // weather { city: 'Oslo' }
 * // time {}
 * ```
 */
export function toolCalls(options: ToolCallsOptions = {}): OperatorFunction<ChatCompletionChunk, CompletedToolCall> {
  const choice = choiceOption("toolCalls", options.choice ?? 0);
  return (source) =>
    defer(() => {
      let emitted = 0;
      let latest: readonly ToolCallSnapshot[] = [];
      // The choice's finish reason when it is one that can cut arguments off (the token limit, a content filter…).
      let cutBy: string | undefined;
      // The call found unfinished last time: snapshots are frozen, so while it is the same object it has not changed.
      let unfinished: ToolCallSnapshot | undefined;
      // A generator, so the calls before one with invalid arguments are still delivered before the error.
      function* complete(upTo: number, final: boolean): Generator<CompletedToolCall> {
        for (; emitted < upTo; emitted += 1) {
          const call = latest[emitted];
          if (call === undefined) continue;
          if (final) {
            yield parse(call, emitted, cutBy);
            continue;
          }
          // A later call has begun, but some servers interleave parallel calls' fragments: only whole JSON is done.
          const done = call === unfinished ? undefined : parseWhole(call, emitted);
          if (done === undefined) {
            unfinished = call;
            return;
          }
          yield done;
        }
      }
      return concat(
        source.pipe(
          accumulateMessage(),
          mergeMap((snapshot) => {
            const found = snapshot.choices.find((candidate) => candidate.index === choice);
            latest = found?.message.tool_calls ?? [];
            cutBy = cuttingReason(found?.finish_reason);
            const finished = found?.finish_reason != null;
            return from(finished ? complete(latest.length, true) : complete(latest.length - 1, false));
          }),
        ),
        defer(() => from(complete(latest.length, true))),
      );
    });
}

/** The call, when its arguments are already whole JSON (or it is a custom call, whose text cannot tell); else `undefined`. */
function parseWhole(call: ToolCallSnapshot, index: number): CompletedToolCall | undefined {
  if (call.type === "custom") return parse(call, index);
  const raw = call.function.arguments;
  if (raw.trim() === "") return undefined;
  try {
    const parsed: unknown = JSON.parse(raw);
    return { index, id: call.id, type: "function", name: call.function.name, arguments: parsed, rawArguments: raw };
  } catch {
    // Not whole yet: more fragments may come, until the choice finishes.
    return undefined;
  }
}

function parse(call: ToolCallSnapshot, index: number, cutBy?: string): CompletedToolCall {
  if (call.type === "custom") {
    const { name, input } = call.custom;
    return { index, id: call.id, type: "custom", name, input, arguments: input, rawArguments: input };
  }
  const raw = call.function.arguments;
  let parsed: unknown;
  if (raw.trim() === "") {
    parsed = {};
  } else {
    try {
      parsed = JSON.parse(raw);
    } catch (cause) {
      throw new ToolCallArgumentsError(call.function.name, call.id, raw, cutBy === undefined ? { cause } : { cause, finishReason: cutBy });
    }
  }
  return { index, id: call.id, type: "function", name: call.function.name, arguments: parsed, rawArguments: raw };
}

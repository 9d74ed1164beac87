import type { Response, ResponseOutputItem, ResponseOutputText, ResponseStreamEvent } from "openai/resources/responses/responses";
import { type OperatorFunction, defer, filter, map } from "rxjs";

/**
 * Assembles the events of a Responses API stream into the `Response` so far,
 * emitting a snapshot after every event.
 *
 * The Responses counterpart of `accumulateMessage()`. The events that carry
 * the whole response (`response.created`, `response.in_progress`,
 * `response.queued`, `response.completed`, `response.incomplete`,
 * `response.failed`) replace the snapshot, so the last snapshot of a complete
 * stream deep-equals the `response` of its `response.completed` event, with
 * `output_text` set. In
 * between, each event updates the output it names: `response.output_item.added`
 * / `.done` set an item, `response.content_part.added` / `.done` a message
 * part, `response.output_text.delta` and `response.refusal.delta` append to
 * it (their `.done` events set the whole text), `response.function_call_arguments.delta`
 * and `response.custom_tool_call_input.delta` append to a tool call,
 * `response.reasoning_summary_*` and `response.reasoning_text.*` build a
 * reasoning item, `response.output_text.annotation.added` adds an
 * annotation, `response.code_interpreter_call_code.*` and
 * `response.mcp_call_arguments.*` build the code and arguments of those calls,
 * and the progress events of built-in tools (`response.web_search_call.searching`,
 * `response.code_interpreter_call.interpreting`…) set their item's `status`,
 * as the `openai` client's own accumulator does. An event that names an item or part the snapshot lacks, or
 * any other event, leaves it as it was (and emits it again).
 *
 * Every snapshot's `output_text` is the text of its `output_text` parts,
 * joined, as the `openai` client sets it on a `Response` it returns: servers
 * send no such field (it is the SDK's), and its type promises a string.
 *
 * Snapshots are immutable (frozen) and share every part an event did not
 * change. Nothing is emitted before the first event carrying the response.
 *
 * ## Examples
 * ```ts
 * import OpenAI from "openai";
 * import { last } from "rxjs";
 * import { accumulateResponse, fromResponses } from "g4f-rx";
 *
 * fromResponses(new OpenAI(), { model: "gpt-5-mini", input: "Say hello there!" })
 *   .pipe(accumulateResponse(), last())
 *   .subscribe((response) => console.log(response.status, response.output.map((item) => item.type), response.output_text));
 * // A live provider's answer, for instance:
 * // completed [ 'message' ] Hello there!
 * ```
 */
export function accumulateResponse(): OperatorFunction<ResponseStreamEvent, Response> {
  return (source) =>
    defer(() => {
      let snapshot: Response | undefined;
      return source.pipe(
        map((event) => (snapshot = withOutputText(applyEvent(snapshot, event), snapshot, event))),
        filter((value): value is Response => value !== undefined),
      );
    });
}

function applyEvent(snapshot: Response | undefined, event: ResponseStreamEvent): Response | undefined {
  if (typeof event !== "object" || event === null) return snapshot;
  switch (event.type) {
    case "response.created":
    case "response.in_progress":
    case "response.queued":
    case "response.completed":
    case "response.incomplete":
    case "response.failed":
      return isObject(event.response) ? deepFrozen(structuredClone(event.response)) : snapshot;
  }
  if (snapshot === undefined) return undefined;
  switch (event.type) {
    case "response.output_item.added":
    case "response.output_item.done":
      return isObject(event.item) ? putItem(snapshot, event.output_index, deepFrozen(structuredClone(event.item))) : snapshot;
    case "response.content_part.added":
    case "response.content_part.done": {
      const part = event.part;
      if (!isObject(part)) return snapshot;
      if (part.type === "reasoning_text") {
        // LM Studio opens raw reasoning text with a part of its own, on the reasoning item.
        return setItem(snapshot, event.output_index, (item) => (item.type === "reasoning" ? { ...item, content: replaced(item.content ?? [], event.content_index, deepFrozen(structuredClone(part))) } : item));
      }
      if (part.type !== "output_text" && part.type !== "refusal") return snapshot;
      return setItem(snapshot, event.output_index, (item) => (item.type === "message" ? { ...item, content: replaced(item.content, event.content_index, deepFrozen(structuredClone(part))) } : item));
    }
    case "response.output_text.delta":
    case "response.output_text.done":
    case "response.refusal.delta":
    case "response.refusal.done": {
      const appending = event.type.endsWith(".delta");
      const text = "delta" in event ? event.delta : "text" in event ? event.text : event.refusal;
      return setItem(snapshot, event.output_index, (item) => {
        if (item.type !== "message") return item;
        const part = item.content[event.content_index];
        if (part === undefined) return item;
        const changed =
          part.type === "output_text" && event.type.startsWith("response.output_text")
            ? { ...part, text: appending ? part.text + text : text }
            : part.type === "refusal" && event.type.startsWith("response.refusal")
              ? { ...part, refusal: appending ? part.refusal + text : text }
              : part;
        return changed === part ? item : { ...item, content: replaced(item.content, event.content_index, Object.freeze(changed)) };
      });
    }
    case "response.output_text.annotation.added":
      return setItem(snapshot, event.output_index, (item) => {
        const part = item.type === "message" ? item.content[event.content_index] : undefined;
        if (item.type !== "message" || part?.type !== "output_text" || !isAnnotation(event.annotation)) return item;
        const annotations = replaced(part.annotations, event.annotation_index, deepFrozen(structuredClone(event.annotation)));
        return { ...item, content: replaced(item.content, event.content_index, Object.freeze({ ...part, annotations })) };
      });
    case "response.function_call_arguments.delta":
    case "response.function_call_arguments.done":
      return setItem(snapshot, event.output_index, (item) =>
        item.type === "function_call" ? { ...item, arguments: event.type.endsWith(".delta") && "delta" in event ? item.arguments + event.delta : "arguments" in event ? event.arguments : item.arguments } : item,
      );
    case "response.custom_tool_call_input.delta":
    case "response.custom_tool_call_input.done":
      return setItem(snapshot, event.output_index, (item) =>
        item.type === "custom_tool_call" ? { ...item, input: "delta" in event ? item.input + event.delta : event.input } : item,
      );
    case "response.reasoning_summary_part.added":
    case "response.reasoning_summary_part.done":
      return setItem(snapshot, event.output_index, (item) =>
        item.type === "reasoning" && isObject(event.part) ? { ...item, summary: replaced(item.summary, event.summary_index, Object.freeze({ type: "summary_text", text: event.part.text })) } : item,
      );
    case "response.reasoning_summary_text.delta":
    case "response.reasoning_summary_text.done":
      return setItem(snapshot, event.output_index, (item) => {
        const part = item.type === "reasoning" ? item.summary[event.summary_index] : undefined;
        if (item.type !== "reasoning" || part === undefined) return item;
        const text = "delta" in event ? part.text + event.delta : event.text;
        return { ...item, summary: replaced(item.summary, event.summary_index, Object.freeze({ ...part, text })) };
      });
    case "response.reasoning_text.delta":
    case "response.reasoning_text.done":
      return setItem(snapshot, event.output_index, (item) => {
        if (item.type !== "reasoning") return item;
        const content = item.content ?? [];
        const part = content[event.content_index] ?? { type: "reasoning_text" as const, text: "" };
        const text = "delta" in event ? part.text + event.delta : event.text;
        return { ...item, content: replaced(content, event.content_index, Object.freeze({ ...part, text })) };
      });
    case "response.code_interpreter_call_code.delta":
    case "response.code_interpreter_call_code.done":
      return setItem(snapshot, event.output_index, (item) =>
        item.type === "code_interpreter_call" ? { ...item, code: "delta" in event ? (item.code ?? "") + event.delta : event.code } : item,
      );
    case "response.mcp_call_arguments.delta":
    case "response.mcp_call_arguments.done":
      return setItem(snapshot, event.output_index, (item) => (item.type === "mcp_call" ? { ...item, arguments: "delta" in event ? item.arguments + event.delta : event.arguments } : item));
    case "response.web_search_call.in_progress":
    case "response.web_search_call.searching":
    case "response.web_search_call.completed": {
      const status = WEB_SEARCH_STATUS[event.type];
      return setItem(snapshot, event.output_index, (item) => (item.type === "web_search_call" ? { ...item, status } : item));
    }
    case "response.file_search_call.in_progress":
    case "response.file_search_call.searching":
    case "response.file_search_call.completed": {
      const status = FILE_SEARCH_STATUS[event.type];
      return setItem(snapshot, event.output_index, (item) => (item.type === "file_search_call" ? { ...item, status } : item));
    }
    case "response.code_interpreter_call.in_progress":
    case "response.code_interpreter_call.interpreting":
    case "response.code_interpreter_call.completed": {
      const status = CODE_INTERPRETER_STATUS[event.type];
      return setItem(snapshot, event.output_index, (item) => (item.type === "code_interpreter_call" ? { ...item, status } : item));
    }
    case "response.image_generation_call.in_progress":
    case "response.image_generation_call.generating":
    case "response.image_generation_call.completed": {
      const status = IMAGE_GENERATION_STATUS[event.type];
      return setItem(snapshot, event.output_index, (item) => (item.type === "image_generation_call" ? { ...item, status } : item));
    }
    case "response.mcp_call.in_progress":
    case "response.mcp_call.completed":
    case "response.mcp_call.failed": {
      const status = MCP_STATUS[event.type];
      return setItem(snapshot, event.output_index, (item) => (item.type === "mcp_call" ? { ...item, status } : item));
    }
    default:
      return snapshot;
  }
}

// The status a built-in tool's progress event gives its item, as the openai client's own accumulator sets it.
const WEB_SEARCH_STATUS = {
  "response.web_search_call.in_progress": "in_progress",
  "response.web_search_call.searching": "searching",
  "response.web_search_call.completed": "completed",
} as const;
const FILE_SEARCH_STATUS = {
  "response.file_search_call.in_progress": "in_progress",
  "response.file_search_call.searching": "searching",
  "response.file_search_call.completed": "completed",
} as const;
const CODE_INTERPRETER_STATUS = {
  "response.code_interpreter_call.in_progress": "in_progress",
  "response.code_interpreter_call.interpreting": "interpreting",
  "response.code_interpreter_call.completed": "completed",
} as const;
const IMAGE_GENERATION_STATUS = {
  "response.image_generation_call.in_progress": "in_progress",
  "response.image_generation_call.generating": "generating",
  "response.image_generation_call.completed": "completed",
} as const;
const MCP_STATUS = {
  "response.mcp_call.in_progress": "in_progress",
  "response.mcp_call.completed": "completed",
  "response.mcp_call.failed": "failed",
} as const;

/**
 * `next` with its `output_text`: the one output-text part's own string when there is one (no copy of a long
 * answer), the text before plus the delta when a delta grew the last part, else every part's text joined.
 */
function withOutputText(next: Response | undefined, before: Response | undefined, event: ResponseStreamEvent): Response | undefined {
  if (next === undefined || next === before) return next;
  const parts = outputTextParts(outputOf(next));
  const last = parts.at(-1);
  const text =
    parts.length === 1 && last !== undefined
      ? last.part.text
      : event.type === "response.output_text.delta" && typeof before?.output_text === "string" && last?.itemIndex === event.output_index && last.partIndex === event.content_index
        ? before.output_text + event.delta
        : parts.map(({ part }) => part.text).join("");
  return next.output_text === text ? next : Object.freeze({ ...next, output_text: text });
}

/** Every `output_text` part of the output's messages, in order, with where it is. */
function outputTextParts(output: readonly ResponseOutputItem[]): { itemIndex: number; partIndex: number; part: ResponseOutputText }[] {
  const parts: { itemIndex: number; partIndex: number; part: ResponseOutputText }[] = [];
  output.forEach((item, itemIndex) => {
    if (!isObject(item) || item.type !== "message" || !Array.isArray(item.content)) return;
    item.content.forEach((part, partIndex) => {
      if (isObject(part) && part.type === "output_text" && typeof part.text === "string") parts.push({ itemIndex, partIndex, part });
    });
  });
  return parts;
}

/** The snapshot with `output[index]` changed by `change`; the same snapshot when there is no such item or nothing changed. */
function setItem(snapshot: Response, index: unknown, change: (item: ResponseOutputItem) => ResponseOutputItem): Response {
  const before = outputOf(snapshot)[typeof index === "number" ? index : -1];
  if (before === undefined) return snapshot;
  const after = change(before);
  return after === before ? snapshot : putItem(snapshot, index, Object.freeze(after));
}

/** The snapshot with `item` at `output[index]` (appended when `index` is past the end). */
function putItem(snapshot: Response, index: unknown, item: ResponseOutputItem): Response {
  if (typeof index !== "number" || !Number.isInteger(index) || index < 0) return snapshot;
  return Object.freeze({ ...snapshot, output: replaced(outputOf(snapshot), index, item) });
}

function outputOf(snapshot: Response): readonly ResponseOutputItem[] {
  return Array.isArray(snapshot.output) ? snapshot.output : [];
}

/** A frozen copy of `list` with `value` at `index` (appended when `index` is past the end). */
function replaced<T>(list: readonly T[], index: number, value: T): T[] {
  const copy = list.slice();
  copy[Math.min(Math.max(0, index), copy.length)] = value;
  return frozen(copy);
}

function frozen<T extends object>(value: T): T {
  Object.freeze(value);
  return value;
}

function deepFrozen<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFrozen(child);
  }
  return value;
}

type Annotation = ResponseOutputText["annotations"][number];

/** An annotation of a kind an output-text part can hold. */
function isAnnotation(value: unknown): value is Annotation {
  if (!isObject(value) || !("type" in value)) return false;
  return value.type === "file_citation" || value.type === "url_citation" || value.type === "container_file_citation" || value.type === "file_path";
}

function isObject(value: unknown): value is object {
  return typeof value === "object" && value !== null;
}

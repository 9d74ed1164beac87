import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import type { EasyInputMessage, Response, ResponseStreamEvent } from "openai/resources/responses/responses";
import type { ResponsesStreamParams } from "../sources/from-responses.js";
import type { RequestParams } from "./answer-source.js";

/**
 * `--api responses`: the command asks through OpenAI's Responses API
 * (`POST /v1/responses`) and reads its events into the chat-completion chunks
 * the rest of the command prints, so every flag works alike. `--json` prints
 * the events themselves (see `live.ts`).
 */

/** The Responses request for a chat request: system messages become `instructions`, the others `input`. */
export function responsesParams(body: RequestParams): ResponsesStreamParams {
  const instructions: string[] = [];
  const input: EasyInputMessage[] = [];
  for (const message of body.messages) {
    const text = typeof message.content === "string" ? message.content : "";
    if (message.role === "system" || message.role === "developer") instructions.push(text);
    else if (message.role === "user" || message.role === "assistant") input.push({ role: message.role, content: text });
  }
  return {
    model: body.model,
    input,
    ...(instructions.length === 0 ? {} : { instructions: instructions.join("\n\n") }),
    ...(typeof body.temperature === "number" ? { temperature: body.temperature } : {}),
    ...(typeof body.max_tokens === "number" ? { max_output_tokens: body.max_tokens } : {}),
  };
}

/**
 * The chunk an event stands for: output text is `content`, the reasoning
 * summary `reasoning_content`, and the end of the response a `finish_reason`
 * with its usage; any other event a chunk without choices (so that `--json`
 * can still print every event).
 */
export function chunkOfEvent(event: ResponseStreamEvent, id: string, model: string): ChatCompletionChunk {
  const chunk = (delta: ChatCompletionChunk.Choice.Delta & { reasoning_content?: string }, finish: ChatCompletionChunk.Choice["finish_reason"] = null): ChatCompletionChunk => ({
    id,
    object: "chat.completion.chunk",
    created: 0,
    model,
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
  });
  switch (event.type) {
    case "response.output_text.delta":
      return chunk({ content: event.delta });
    case "response.refusal.delta":
      return chunk({ refusal: event.delta });
    case "response.reasoning_summary_text.delta":
      return chunk({ reasoning_content: event.delta });
    case "response.completed":
    case "response.incomplete":
      return finalChunk(event.response, id, model);
    default:
      return { id, object: "chat.completion.chunk", created: 0, model, choices: [] };
  }
}

/** The last chunk: the finish reason and the token usage of the whole response. */
function finalChunk(response: Response, id: string, model: string): ChatCompletionChunk {
  const usage = response.usage;
  return {
    id: response.id || id,
    object: "chat.completion.chunk",
    created: response.created_at,
    model: response.model || model,
    choices: [{ index: 0, delta: {}, finish_reason: response.status === "incomplete" ? "length" : "stop", logprobs: null }],
    ...(usage === undefined ? {} : { usage: { prompt_tokens: usage.input_tokens, completion_tokens: usage.output_tokens, total_tokens: usage.total_tokens } }),
  };
}

/** A whole (non-streamed) response as one chunk, like `completionChunk` for a chat completion. */
export function chunkOfResponse(response: Response): ChatCompletionChunk {
  let text = "";
  let reasoning = "";
  for (const item of response.output) {
    if (item.type === "message") for (const part of item.content) text += part.type === "output_text" ? part.text : "";
    if (item.type === "reasoning") for (const part of item.summary) reasoning += part.text;
  }
  const last = finalChunk(response, response.id, response.model);
  const delta: ChatCompletionChunk.Choice.Delta & { reasoning_content?: string } = { role: "assistant", content: text };
  if (reasoning !== "") delta.reasoning_content = reasoning;
  return { ...last, choices: [{ index: 0, delta, finish_reason: last.choices[0]?.finish_reason ?? "stop", logprobs: null }] };
}

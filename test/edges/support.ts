import { EventSourceParserStream } from "eventsource-parser/stream";

/** One SSE event as a reader sees it. */
export interface ReadEvent {
  id: string | undefined;
  data: string;
}

/** Reads an SSE response's events, stopping (and cancelling the body) after `limit` of them when given. */
export async function readEvents(response: Response, limit = Infinity): Promise<ReadEvent[]> {
  if (response.body === null) return [];
  const reader = response.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream()).getReader();
  const events: ReadEvent[] = [];
  while (events.length < limit) {
    const { done, value } = await reader.read();
    if (done) return events;
    events.push({ id: value.id, data: value.data });
  }
  await reader.cancel();
  return events;
}

/** The answer's text in OpenAI-format events (content deltas of choice 0), ignoring `[DONE]` and error frames. */
export function textOf(events: readonly ReadEvent[]): string {
  let text = "";
  for (const { data } of events) {
    if (data === "[DONE]") continue;
    const value: unknown = JSON.parse(data);
    const choices: unknown = typeof value === "object" && value !== null ? Reflect.get(value, "choices") : undefined;
    const first: unknown = Array.isArray(choices) ? choices[0] : undefined;
    const delta: unknown = typeof first === "object" && first !== null ? Reflect.get(first, "delta") : undefined;
    const content: unknown = typeof delta === "object" && delta !== null ? Reflect.get(delta, "content") : undefined;
    if (typeof content === "string") text += content;
  }
  return text;
}

/** A chat request body for the relay. */
export function chatBody(prompt = "Say hello there!", extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ model: "gpt-4", messages: [{ role: "user", content: prompt }], stream: true, ...extra });
}

/** Waits until `check` holds, polling; fails with `what` after `timeoutMs` (wide: the machine is shared). */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

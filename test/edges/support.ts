import { EventSourceParserStream } from "eventsource-parser/stream";
import { Observable } from "rxjs";

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

/** An endless source of SSE frames and what the test learns of it. */
export interface EndlessFrames {
  readonly frames$: Observable<string>;
  /** Bytes pushed so far. */
  readonly producedBytes: () => number;
  /** Resolves with who stopped it: `"unsubscribed"` (the edge under test) or `"safety valve"`. */
  readonly stopped: Promise<"unsubscribed" | "safety valve">;
}

/**
 * Frames of about 1 KiB, pushed 64 at a time on every macrotask, as a fast upstream pushes, until unsubscribed. A test
 * that finds no limit must fail rather than fill the machine's memory: past `valveBytes` (64 MiB) the source stops
 * by itself and `stopped` says so.
 */
export function endlessFrames(valveBytes = 64 * 1024 * 1024): EndlessFrames {
  let producedBytes = 0;
  let stop: (how: "unsubscribed" | "safety valve") => void = () => undefined;
  const stopped = new Promise<"unsubscribed" | "safety valve">((resolve) => (stop = resolve));
  const frames$ = new Observable<string>((subscriber) => {
    let running = true;
    const tick = (): void => {
      if (!running) return;
      for (let k = 0; k < 64; k += 1) {
        const frame = `data: ${JSON.stringify({ n: producedBytes, pad: "x".repeat(1000) })}\n\n`;
        producedBytes += frame.length;
        subscriber.next(frame);
        if (!running) return;
      }
      if (producedBytes < valveBytes) {
        setImmediate(tick);
        return;
      }
      running = false;
      stop("safety valve");
      subscriber.complete();
    };
    tick();
    return () => {
      if (running) stop("unsubscribed");
      running = false;
    };
  });
  return { frames$, producedBytes: () => producedBytes, stopped };
}

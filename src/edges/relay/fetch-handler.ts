import type { Observable } from "rxjs";
import { type RelayAnswer, RelayHttpError, type RelayRoutesOptions, answerRelayRequest } from "./routes.js";

/**
 * The relay's routes (see `answerRelayRequest`) as a web-standard handler,
 * `(request: Request) => Promise<Response>`, for Deno, Bun, Cloudflare-style
 * workers, Hono, Next.js route handlers… Anything else gets a 404. A stream's
 * body is a `ReadableStream`; cancelling it (the client left) unsubscribes the
 * reader only, never the generation.
 *
 * ## Example
 * ```ts
 * import OpenAI from "openai";
 * import { Relay, createRelayFetchHandler } from "g4f-rx";
 *
 * const upstream = new OpenAI({ baseURL: "http://localhost:1337/v1", apiKey: "none" });
 * const handle = createRelayFetchHandler({ relay: new Relay(), upstream });
 * export default { fetch: handle }; // Bun, Deno, workers
 * ```
 */
export function createRelayFetchHandler(options: RelayRoutesOptions): (request: Request) => Promise<Response> {
  return async (request) => {
    const answer = await answerRelayRequest(options, {
      method: request.method,
      url: request.url,
      header: (name) => request.headers.get(name) ?? undefined,
      body: async (limit) => {
        const text = await request.text();
        if (new TextEncoder().encode(text).length > limit) throw new RelayHttpError(413, `The request body is larger than ${limit} bytes`);
        return text;
      },
    });
    if (answer === undefined) {
      return Response.json({ error: { message: `Nothing at ${request.method} ${new URL(request.url).pathname}`, type: "not_found_error" } }, { status: 404 });
    }
    return toWebResponse(answer);
  };
}

function toWebResponse(answer: RelayAnswer): Response {
  if ("json" in answer) return new Response(JSON.stringify(answer.json), { status: answer.status, headers: answer.headers });
  if ("empty" in answer) return new Response(null, { status: answer.status, headers: answer.headers });
  return new Response(eventStream(answer.events), { status: answer.status, headers: answer.headers });
}

/** SSE text as a byte stream; cancel unsubscribes. */
function eventStream(events: Observable<string>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let unsubscribe = (): void => undefined;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const subscription = events.subscribe({
        next: (text) => controller.enqueue(encoder.encode(text)),
        error: (error: unknown) => controller.error(error),
        complete: () => controller.close(),
      });
      unsubscribe = () => subscription.unsubscribe();
    },
    cancel() {
      unsubscribe();
    },
  });
}

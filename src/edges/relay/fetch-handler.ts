import { toReadableStream } from "../web-stream.js";
import { type RelayAnswer, RelayHttpError, type RelayRoutesOptions, answerRelayRequest } from "./routes.js";

/**
 * The relay's routes (see `answerRelayRequest`) as a web-standard handler,
 * `(request: Request) => Promise<Response>`, for Deno, Bun, Cloudflare-style
 * workers, Hono, Next.js route handlers… Anything else gets a 404. A stream's
 * body is a `ReadableStream` (`toReadableStream`); cancelling it (the client
 * left) unsubscribes the reader only, never the generation, and a reader that
 * stops reading is cut off past 1 MiB waiting for it with `SlowClientError`,
 * as the Node handler's `pipeToResponse` cuts it off.
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
      body: (limit) => readBody(request, limit),
    });
    if (answer === undefined) {
      return Response.json({ error: { message: `Nothing at ${request.method} ${new URL(request.url).pathname}`, type: "not_found_error" } }, { status: 404 });
    }
    return toWebResponse(answer);
  };
}

/**
 * The request's body as text, read up to `limit` bytes: a larger one is refused with HTTP 413 as soon as it passes the
 * limit, and the rest is not read (`request.text()` first held all of it, however large, in memory).
 */
async function readBody(request: Request, limit: number): Promise<string> {
  if (request.body === null) return "";
  const reader = request.body.getReader();
  const pieces: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > limit) {
      await reader.cancel().catch(() => undefined);
      throw new RelayHttpError(413, `The request body is larger than ${limit} bytes`);
    }
    pieces.push(value);
  }
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const piece of pieces) {
    bytes.set(piece, offset);
    offset += piece.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

function toWebResponse(answer: RelayAnswer): Response {
  if ("json" in answer) return new Response(JSON.stringify(answer.json), { status: answer.status, headers: answer.headers });
  if ("empty" in answer) return new Response(null, { status: answer.status, headers: answer.headers });
  return new Response(toReadableStream(answer.events), { status: answer.status, headers: answer.headers });
}

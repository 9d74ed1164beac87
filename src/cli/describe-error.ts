// The error classes alone, not the client: the --replay path must not load the openai client (start-up time).
import { APIConnectionError, APIConnectionTimeoutError, APIError } from "openai/core/error";
import { PartialResponseError, StreamTimeoutError } from "../../operators/index.js";
import { type ResolvedEndpoint, chatCompletionsURL, responsesURL } from "../endpoints.js";
import { IncompleteStreamError, MalformedChunkError, StreamErrorFrameError } from "../errors.js";
import { parseFrameData } from "../sources/frames.js";
import { counted } from "../sources/protocol.js";
import { isChatCompletionChunk } from "../sources/responses-protocol.js";

/**
 * What the user needs to know about a failed request: the URL tried (`/responses` for the Responses API, else
 * `/chat/completions`), what went wrong, what to do.
 */
export function describeError(error: unknown, resolved: ResolvedEndpoint, api: "chat" | "responses" = "chat"): string {
  const url = api === "responses" ? responsesURL(resolved.baseURL) : chatCompletionsURL(resolved.baseURL);

  // An answer that broke off after every fallback was tried: what broke it is what to explain.
  if (error instanceof PartialResponseError) return describeError(error.cause, resolved, api);
  if (error instanceof StreamTimeoutError) return `${url}: ${describeTimeout(error)}`;

  if (error instanceof APIConnectionTimeoutError) {
    return `The request to ${url} timed out.`;
  }
  if (error instanceof APIConnectionError) return describeConnectionFailure(error, url, resolved);
  if (error instanceof StreamErrorFrameError) {
    return `${url} sent an error in the stream: ${error.message}`;
  }
  // `instanceof` narrows to APIError<any>: read the status as what it may really be.
  const status: unknown = error instanceof APIError ? error.status : undefined;
  if (error instanceof APIError && typeof status === "number") {
    const lines = [`${url} answered HTTP ${status}: ${serverMessage(error.error, error.message, status)}`];
    if (status === 401 || status === 403) {
      const variable = resolved.apiKeyVariable;
      lines.push(`Check the API key (--api-key${variable === undefined ? "" : ` or ${variable}`}).`);
    } else if (status === 404) {
      lines.push(`Check the model (--model ${resolved.model}) and the base URL (${resolved.baseURL}).`);
    }
    return lines.join("\n");
  }
  if (error instanceof IncompleteStreamError) {
    return `The answer from ${url} was cut off: ${error.message}`;
  }
  if (api === "responses" && error instanceof MalformedChunkError && isChatCompletionChunk(parseFrameData(error.data).value)) {
    return `${url} streams chat completions, not Responses API events: ask it without --api responses (or with --api chat).`;
  }
  if (error instanceof Error) {
    return `${url}: ${error.message}`;
  }
  return `${url}: ${String(error)}`;
}

/** A connection that could not be made to `url`: why, how to start the endpoint's server, or how to choose another. */
export function describeConnectionFailure(error: APIConnectionError, url: string, resolved: ResolvedEndpoint): string {
  const reason = connectionReason(error);
  const server = resolved.endpoint;
  const lines = [`Could not connect to ${url}${reason === undefined ? "" : ` (${reason})`}.`];
  if (server?.startHint !== undefined) {
    lines.push(`Is ${server.title} running? To use it, ${server.startHint}.`);
  } else {
    lines.push("Check that the server is running and the URL is right.");
  }
  lines.push("Or choose another endpoint: --endpoint NAME (see --help) or --base-url URL.");
  return lines.join("\n");
}

/**
 * The reason a request failed, in a few words for a one-line note such as
 * "g4f at URL failed: HTTP 500: All providers failed; trying ollama at URL".
 */
export function shortReason(error: unknown): string {
  if (error instanceof PartialResponseError) return shortReason(error.cause);
  if (error instanceof StreamTimeoutError) return describeTimeout(error);
  if (error instanceof APIConnectionTimeoutError) return "the request timed out";
  if (error instanceof APIConnectionError) {
    const reason = connectionReason(error);
    return `could not connect${reason === undefined ? "" : ` (${reason})`}`;
  }
  if (error instanceof StreamErrorFrameError) return `error in the stream: ${oneLine(error.message)}`;
  const status: unknown = error instanceof APIError ? error.status : undefined;
  if (error instanceof APIError && typeof status === "number") return `HTTP ${status}: ${serverMessage(error.error, error.message, status)}`;
  return oneLine(error instanceof Error ? error.message : String(error));
}

/**
 * What went wrong while replaying a recording: the recorded error (an HTTP
 * status, an error frame, a cut-off stream), or why the file cannot be read.
 */
export function describeReplayError(error: unknown, file: string): string {
  const cause = error instanceof PartialResponseError ? error.cause : error;
  if (cause instanceof StreamTimeoutError) return `The recording ${file}: ${describeTimeout(cause)}`;
  if (cause instanceof IncompleteStreamError) return `The recording ${file} was cut off: ${cause.message}`;
  if (cause instanceof StreamErrorFrameError || cause instanceof APIError) return `The recording ${file} holds an error: ${shortReason(cause)}`;
  return `Replaying ${file} failed: ${cause instanceof Error ? cause.message : String(cause)}`;
}

/** Which wait ran out and how much had arrived by then. */
function describeTimeout(error: StreamTimeoutError): string {
  // The first chunk waits for --timeout, or without it for --idle-timeout: the message names neither.
  if (error.phase === "first") return `no chunk arrived within ${error.limitMs} ms of the request`;
  return `the stream stalled: no chunk for ${error.limitMs} ms (the idle timeout) after ${counted(error.chunks, "chunk")} and ${counted(error.text.length, "character")} of text`;
}

/** The server's own words: the `message` of its JSON error body, else the body's text, else the SDK's message. */
function serverMessage(body: unknown, sdkMessage: string, status: number): string {
  if (typeof body === "object" && body !== null && "message" in body && typeof body.message === "string") {
    return oneLine(body.message);
  }
  // The SDK's message starts with the status; the line already says it.
  const text = sdkMessage.replace(new RegExp(`^${status}\\s*`), "");
  return text === "" || text === "status code (no body)" ? "(no message)" : oneLine(pageTitle(text) ?? text);
}

/** An HTML error page (a proxy's, a gateway's) by its title or first heading, not its markup and styles. */
function pageTitle(text: string): string | undefined {
  if (!/^\s*<(?:!doctype\s+html|html)\b/i.test(text)) return undefined;
  const heading = /<title[^>]*>([^<]*)</i.exec(text)?.[1] ?? /<h1[^>]*>([^<]*)</i.exec(text)?.[1];
  const body = text.replace(/<(style|script)\b[^>]*>[\s\S]*?<\/\1\s*>/gi, " ").replace(/<[^>]*>/g, " ");
  const words = (heading ?? body).replace(/\s+/g, " ").trim();
  return `${words === "" ? "an empty page" : words} (an HTML page)`;
}


/** The system's reason for a failed connection, like "ECONNREFUSED" or "getaddrinfo ENOTFOUND example.invalid". */
function connectionReason(error: APIConnectionError): string | undefined {
  let cause: unknown = error.cause;
  let reason: string | undefined;
  // fetch wraps the socket error: APIConnectionError → TypeError("fetch failed") → Error { code }.
  for (let depth = 0; depth < 5 && typeof cause === "object" && cause !== null; depth += 1) {
    if ("code" in cause && typeof cause.code === "string") {
      reason = "message" in cause && typeof cause.message === "string" && cause.message.includes(cause.code) ? cause.message : cause.code;
    }
    cause = "cause" in cause ? cause.cause : undefined;
  }
  return reason;
}

const LONGEST_MESSAGE = 500;

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > LONGEST_MESSAGE ? `${flat.slice(0, LONGEST_MESSAGE)}…` : flat;
}

import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { isObject } from "../sources/frames.js";

/** The cassette format version this package writes and reads. */
export const CASSETTE_VERSION = 1;

/** File names that hold cassettes. */
export const CASSETTE_EXTENSION = ".cassette.jsonl";

/**
 * The request of a recorded exchange: the chat-completion body (`model`,
 * `messages`, the other parameters), or a Responses API body (`model`,
 * `instructions`, `input`…), whose `messages` are then worked out from
 * `instructions` and `input` when the cassette is read.
 */
export interface CassetteRequest {
  model?: string;
  messages: unknown[];
  input?: unknown;
  [parameter: string]: unknown;
}

/** How the server answered, before the body. */
export interface CassetteResponse {
  status: number;
  /** The headers worth replaying (`content-type`, `retry-after`, `x-request-id`…). */
  headers: Record<string, string>;
  /** For an error status: the JSON body, e.g. `{"error":{"message":…}}`. */
  body?: unknown;
}

/** One SSE frame: its time offset from the request, its event name when it had one, and its data (parsed JSON, or the text). */
export interface CassetteFrame {
  at: number;
  event?: string;
  data: unknown;
}

/** One recorded exchange. */
export interface Cassette {
  version: number;
  /** The protocol of the recorded stream: `"responses"` for the Responses API; absent for chat completions. */
  api?: "responses";
  /** When the exchange was recorded (ISO 8601). */
  recordedAt?: string;
  /** Where the exchange comes from, when it was not recorded by g4f-rx (e.g. written by hand in a provider's format). */
  source?: string;
  request: CassetteRequest;
  response: CassetteResponse;
  frames: CassetteFrame[];
  /** Where it was read from, when it was read from a file. */
  file?: string;
}

/** A cassette file that cannot be read, with the file and line that say why. */
export class CassetteError extends Error {
  override readonly name = "CassetteError";
  constructor(
    readonly file: string,
    readonly line: number,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}:${line}: ${problem}`, options);
  }
}

/** The line each frame was read from, kept aside so that frames stay plain `{ at, event, data }` objects. */
const frameLines = new WeakMap<CassetteFrame, number>();

/** The line of its file a frame was read from, when it was read by `parseCassette`. */
export function lineOfFrame(frame: CassetteFrame): number | undefined {
  return frameLines.get(frame);
}

/**
 * Parses a cassette: JSON Lines, one JSON object per line. The first line
 * is the header, `{"g4f-rx-cassette":1,"request":{…},"response":{…}}`, and
 * every next line a frame, `{"at":12,"data":{…chunk…}}` (blank lines are
 * ignored). A line that breaks the format throws `CassetteError` naming it.
 */
export function parseCassette(text: string, file = "<cassette>"): Cassette {
  const lines = text.split("\n");
  let cassette: Cassette | undefined;
  for (let index = 0; index < lines.length; index += 1) {
    const line = (lines[index] ?? "").trim();
    if (line === "") continue;
    const lineNumber = index + 1;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new CassetteError(file, lineNumber, `not valid JSON (${error instanceof Error ? error.message : String(error)})`);
    }
    const fail: (problem: string) => never = (problem) => {
      throw new CassetteError(file, lineNumber, problem);
    };
    if (!isObject(value)) fail("expected a JSON object");
    const record = value;
    if (cassette === undefined) {
      const version = record["g4f-rx-cassette"];
      if (typeof version !== "number") fail(`the first line must be the header {"g4f-rx-cassette":${CASSETTE_VERSION},…}`);
      if (version !== CASSETTE_VERSION) fail(`cassette version ${String(version)} is not supported (this g4f-rx reads version ${CASSETTE_VERSION})`);
      const api = record.api;
      if (api !== undefined && api !== "responses") fail(`"api" must be "responses" or absent (chat completions), got ${JSON.stringify(api)}`);
      const request = record.request;
      if (api === "responses") {
        if (!isObject(request) || request.input === undefined) fail('the header of a Responses cassette needs "request" with an "input"');
      } else if (!isObject(request) || !Array.isArray(request.messages)) {
        fail('the header needs "request" with a "messages" array');
      }
      const response = record.response;
      if (!isObject(response) || typeof response.status !== "number") fail('the header needs "response" with a numeric "status"');
      const headers = response.headers ?? {};
      if (!isStringRecord(headers)) fail('"response.headers" must map names to strings');
      cassette = {
        version: CASSETTE_VERSION,
        ...(api === "responses" ? { api } : {}),
        request: { ...request, messages: Array.isArray(request.messages) ? request.messages : messagesOfResponsesRequest(request) },
        response: {
          status: response.status,
          headers,
          ...(response.body === undefined ? {} : { body: response.body }),
        },
        frames: [],
        file,
        ...(typeof record.recordedAt === "string" ? { recordedAt: record.recordedAt } : {}),
        ...(typeof record.source === "string" ? { source: record.source } : {}),
      };
      continue;
    }
    const { at, event, data } = record;
    if (typeof at !== "number" || !Number.isFinite(at) || at < 0) fail('a frame needs "at", its offset in milliseconds (a number ≥ 0)');
    const previous = cassette.frames.at(-1);
    if (previous !== undefined && at < previous.at) fail(`frame offsets must not go back in time (${String(at)} after ${previous.at})`);
    if (event !== undefined && typeof event !== "string") fail('a frame\'s "event" must be a string');
    if (data === undefined) fail('a frame needs "data"');
    const frame: CassetteFrame = event === undefined ? { at, data } : { at, event, data };
    frameLines.set(frame, lineNumber);
    cassette.frames.push(frame);
  }
  if (cassette === undefined) throw new CassetteError(file, 1, "the file is empty: expected the cassette header");
  return cassette;
}

/**
 * The chat messages a Responses API request stands for, so that one matching
 * rule serves both APIs: `instructions` as a system message, then `input` (a
 * string is one user message; a list keeps its messages).
 */
export function messagesOfResponsesRequest(request: Record<string, unknown>): unknown[] {
  const messages: unknown[] = [];
  if (typeof request.instructions === "string" && request.instructions !== "") messages.push({ role: "system", content: request.instructions });
  const input = request.input;
  if (typeof input === "string") messages.push({ role: "user", content: input });
  else if (Array.isArray(input)) for (const item of input) if (isObject(item) && typeof item.role === "string") messages.push({ role: item.role, content: item.content });
  return messages;
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return isObject(value) && Object.values(value).every((item) => typeof item === "string");
}

/** Writes a cassette as JSON Lines: the header, then one line per frame. */
export function serializeCassette(cassette: Cassette): string {
  return [headerLine(cassette), ...cassette.frames.map(frameLine)].join("\n") + "\n";
}

/** The header line of a cassette. */
export function headerLine(cassette: Pick<Cassette, "api" | "recordedAt" | "source" | "request" | "response">): string {
  return JSON.stringify({
    "g4f-rx-cassette": CASSETTE_VERSION,
    ...(cassette.api === undefined ? {} : { api: cassette.api }),
    ...(cassette.recordedAt === undefined ? {} : { recordedAt: cassette.recordedAt }),
    ...(cassette.source === undefined ? {} : { source: cassette.source }),
    // A Responses request's messages were worked out on reading: it is written as it was sent.
    request: cassette.api === "responses" ? withoutMessages(cassette.request) : cassette.request,
    response: cassette.response,
  });
}

function withoutMessages(request: CassetteRequest): Record<string, unknown> {
  const sent: Record<string, unknown> = { ...request };
  delete sent.messages;
  return sent;
}

/** One frame line of a cassette. */
export function frameLine(frame: CassetteFrame): string {
  return JSON.stringify(frame.event === undefined ? { at: frame.at, data: frame.data } : { at: frame.at, event: frame.event, data: frame.data });
}

/** Reads and parses one cassette file. */
export function readCassette(file: string): Cassette {
  return parseCassette(readFileSync(file, "utf8"), file);
}

/**
 * Reads every `*.cassette.jsonl` file of a directory, sorted by name. A file that is not a cassette throws
 * `CassetteError`, unless `skip` is given: it then gets the error, and the other files are read.
 */
export function readCassettes(directory: string, skip?: (error: CassetteError) => void): Cassette[] {
  const cassettes: Cassette[] = [];
  for (const name of readdirSync(directory).filter((entry) => entry.endsWith(CASSETTE_EXTENSION)).sort()) {
    try {
      cassettes.push(readCassette(join(directory, name)));
    } catch (error) {
      if (skip === undefined || !(error instanceof CassetteError)) throw error;
      skip(error);
    }
  }
  return cassettes;
}

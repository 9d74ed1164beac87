import { readFileSync, readdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { isObject } from "../sources/frames.js";

/**
 * The newest cassette format version, which this package reads with every older one. It writes version 1, and 2 only
 * for a cassette whose request `continues` another's (a conversation's turn), which a reader of version 1 would take
 * for the whole request.
 */
export const CASSETTE_VERSION = 2;

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

/**
 * Where the first messages of a cassette's request are kept: in the request of another cassette of the same
 * directory. Each turn of a conversation is sent with every message before it, so the conversation store keeps in a
 * turn's file only what the turn added, and names the turn it goes on from; a reader puts the messages back together.
 */
export interface CassetteContinuation {
  /** The earlier cassette's file name, in the same directory. */
  readonly cassette: string;
  /** How many of the earlier request's messages come before this request's own. */
  readonly messages: number;
}

/** One recorded exchange. */
export interface Cassette {
  /** The format version of its file: 1, or 2 when its request continued another cassette's on disk. */
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
  /**
   * For a cassette whose request continues another's that cannot be put together: the name of the file, first of the
   * chain of cassettes it goes back through, that cannot be read (every later turn of a conversation fails for it).
   */
  readonly unreadable?: string;
  constructor(
    readonly file: string,
    readonly line: number,
    problem: string,
    options: { cause?: unknown; unreadable?: string } = {},
  ) {
    super(`${file}:${line}: ${problem}`, "cause" in options ? { cause: options.cause } : undefined);
    if (options.unreadable !== undefined) this.unreadable = options.unreadable;
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
 *
 * A request that continues another cassette's (a conversation's turn, see `CassetteContinuation`) needs `earlier`,
 * which gives the whole message list of the cassette it names; `readCassette` and `readCassettes` read it beside the
 * file. Without `earlier`, such a cassette throws `CassetteError`.
 */
export function parseCassette(text: string, file = "<cassette>", options: { earlier?: (cassette: string) => readonly unknown[] } = {}): Cassette {
  return joined(parseCassetteLines(text, file), file, options.earlier);
}

/** A cassette with its request whole: a continuing one's earlier messages put before its own. */
function joined(
  parsed: CassetteLines,
  file: string,
  earlier: ((cassette: string) => readonly unknown[]) | undefined,
  /** The cassette, first of the chain the named one goes back through, that could not be read; when known. */
  unreadableOf: (cassette: string) => string | undefined = () => undefined,
): Cassette {
  const { continues } = parsed;
  if (continues === undefined) return parsed.cassette;
  if (earlier === undefined) throw new CassetteError(file, 1, `its request continues ${continues.cassette}: read it with readCassette or readCassettes, which find that file beside it`);
  let before: readonly unknown[];
  try {
    before = earlier(continues.cassette);
  } catch (error) {
    const unreadable = unreadableOf(continues.cassette) ?? continues.cassette;
    // Naming only the cassette before would send the reader to a file that is whole, when one before it is missing.
    const through = unreadable === continues.cassette ? "" : `, whose request goes back to ${unreadable}`;
    throw new CassetteError(file, 1, `its request continues ${continues.cassette}${through}, which cannot be read: ${unreadableReason(error)}`, { cause: error, unreadable });
  }
  if (before.length < continues.messages) {
    throw new CassetteError(file, 1, `its request continues the first ${continues.messages} messages of ${continues.cassette}, whose request has ${before.length}`);
  }
  const { cassette } = parsed;
  return { ...cassette, request: { ...cassette.request, messages: [...before.slice(0, continues.messages), ...cassette.request.messages] } };
}

/** Why a cassette cannot be read, in words: a missing file says so, rather than with the system's message. */
function unreadableReason(error: unknown): string {
  if (isObject(error) && error.code === "ENOENT") return "there is no such file";
  return error instanceof Error ? error.message : String(error);
}

/** A cassette as its file has it: a continuing request's own messages only, with where the others are. */
export interface CassetteLines {
  readonly cassette: Cassette;
  readonly continues?: CassetteContinuation;
  /** The header line, parsed: the fields g4f-rx does not read too (the conversation store's `turn`). */
  readonly header: Record<string, unknown>;
}

/** Parses a cassette's lines (see `parseCassette`), leaving a continuing request's earlier messages out. */
export function parseCassetteLines(text: string, file = "<cassette>"): CassetteLines {
  const lines = text.split("\n");
  let cassette: Cassette | undefined;
  let continues: CassetteContinuation | undefined;
  let header: Record<string, unknown> = {};
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
      if (typeof version !== "number") fail('the first line must be the header {"g4f-rx-cassette":1,…}');
      if (version !== 1 && version !== 2) fail(`cassette version ${String(version)} is not supported (this g4f-rx reads versions 1 to ${CASSETTE_VERSION})`);
      header = record;
      if (version === 2) continues = continuationOf(record.continues, fail);
      else if (record.continues !== undefined) fail('"continues" needs format version 2 ({"g4f-rx-cassette":2,…})');
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
        version,
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
  return { cassette, header, ...(continues === undefined ? {} : { continues }) };
}

function continuationOf(value: unknown, fail: (problem: string) => never): CassetteContinuation | undefined {
  if (value === undefined) return undefined;
  const problem = '"continues" must be {"cassette": the earlier file\'s name, "messages": how many of its messages come first}';
  if (!isObject(value) || typeof value.cassette !== "string" || typeof value.messages !== "number") fail(problem);
  const { cassette, messages } = value;
  // A name only: the earlier cassette is in the same directory, never elsewhere on the disk.
  if (!cassette.endsWith(CASSETTE_EXTENSION) || basename(cassette) !== cassette || !Number.isInteger(messages) || messages < 0) fail(problem);
  return { cassette, messages };
}

/**
 * The request `messages` as a turn written after the cassette `cassette` keeps them, when that cassette's request
 * sent `earlier`: how many messages they begin with in common, and the rest. None in common: the whole list.
 */
export function continuing(messages: readonly unknown[], earlier: readonly unknown[], cassette: string): { readonly continues?: CassetteContinuation; readonly messages: unknown[] } {
  let shared = 0;
  // The same object is the same message: a chat goes on from its own, without turning the whole conversation into text at every turn.
  const same = (a: unknown, b: unknown): boolean => a === b || JSON.stringify(a) === JSON.stringify(b);
  while (shared < messages.length && shared < earlier.length && same(messages[shared], earlier[shared])) shared += 1;
  return shared === 0 ? { messages: [...messages] } : { continues: { cassette, messages: shared }, messages: messages.slice(shared) };
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

/**
 * The header line of a cassette; with `continues`, `request.messages` holds only the messages after those of the
 * cassette it names, and the line is format version 2. `extra` fields go at its end (the conversation store's `turn`).
 */
export function headerLine(cassette: Pick<Cassette, "api" | "recordedAt" | "source" | "request" | "response"> & { readonly continues?: CassetteContinuation | undefined }, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    "g4f-rx-cassette": cassette.continues === undefined ? 1 : 2,
    ...(cassette.api === undefined ? {} : { api: cassette.api }),
    ...(cassette.recordedAt === undefined ? {} : { recordedAt: cassette.recordedAt }),
    ...(cassette.source === undefined ? {} : { source: cassette.source }),
    // A Responses request's messages were worked out on reading: it is written as it was sent.
    request: cassette.api === "responses" ? withoutMessages(cassette.request) : cassette.request,
    ...(cassette.continues === undefined ? {} : { continues: cassette.continues }),
    response: cassette.response,
    ...extra,
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

/** Reads and parses one cassette file; a request that continues another cassette's gets its messages from beside it. */
export function readCassette(file: string): Cassette {
  return new CassetteReader().read(file);
}

/**
 * Reads every `*.cassette.jsonl` file of a directory, sorted by name. A file that is not a cassette throws
 * `CassetteError`, unless `skip` is given: it then gets the error, and the other files are read.
 */
export function readCassettes(directory: string, skip?: (error: CassetteError) => void): Cassette[] {
  const reader = new CassetteReader();
  const cassettes: Cassette[] = [];
  for (const name of readdirSync(directory).filter((entry) => entry.endsWith(CASSETTE_EXTENSION)).sort()) {
    try {
      cassettes.push(reader.read(join(directory, name)));
    } catch (error) {
      if (skip === undefined || !(error instanceof CassetteError)) throw error;
      skip(error);
    }
  }
  return cassettes;
}

/**
 * Reads cassette files, remembering each one's whole request message list, so that the requests of a directory's
 * chain of continuing cassettes (a conversation's turns) are put together reading each file once.
 */
export class CassetteReader {
  private readonly messages = new Map<string, readonly unknown[]>();
  /** Why a file's request cannot be put together: the file of its chain that cannot be read, and the error. */
  private readonly failures = new Map<string, { readonly file: string; readonly error: unknown }>();
  /** What the requests of files read by `parseLines` hold themselves, and what they continue. */
  private readonly own = new Map<string, OwnMessages>();

  /** How many files' whole message lists are held: what a long-lived reader (a chat's store) keeps in memory. */
  get heldRequests(): number {
    return this.messages.size;
  }

  /** Reads one cassette file, its request whole. Throws `CassetteError`, or the system's error for a missing file. */
  read(file: string): Cassette {
    return this.whole(file, parseCassetteLines(readFileSync(file, "utf8"), file));
  }

  /**
   * Parses a cassette file's text as `parseCassetteLines` does, and remembers what its request holds, so that putting
   * a later request together does not read the file again (the conversation store reads every turn of a
   * conversation before it adds one).
   */
  parseLines(file: string, text: string): CassetteLines {
    const parsed = parseCassetteLines(text, file);
    this.own.set(file, ownMessages(parsed));
    return parsed;
  }

  /**
   * A cassette file's request, whole: its header line's, with the messages of the cassettes it continues put before
   * its own (their header lines are read, not their frames). Throws like `read`.
   */
  request(file: string): CassetteRequest {
    return this.whole(file, parseCassetteLines(headerText(readFileSync(file, "utf8")), file)).request;
  }

  /** A parsed cassette file with its request whole, its messages remembered for the cassettes that continue it. */
  private whole(file: string, parsed: CassetteLines): Cassette {
    const beside = (name: string): string => join(dirname(file), name);
    const failed = (name: string): string | undefined => {
      const unreadable = this.failures.get(beside(name))?.file;
      return unreadable === undefined ? undefined : basename(unreadable);
    };
    const cassette = joined(parsed, file, (name) => this.messagesOf(beside(name)), failed);
    this.messages.set(file, cassette.request.messages);
    return cassette;
  }

  /**
   * The whole message list of a cassette file's request. The files it continues are read back to the first, without
   * recursion (a conversation may have thousands of turns), then put together forwards.
   */
  messagesOf(file: string): readonly unknown[] {
    const known = this.messages.get(file);
    if (known !== undefined) return known;
    const chain: Array<{ readonly file: string; readonly parsed: OwnMessages }> = [];
    const seen = new Set<string>();
    // Every file of the chain walked fails with the first that cannot be read: it is said once, by name.
    const fail = (failure: { readonly file: string; readonly error: unknown }): unknown => {
      for (const link of chain) this.failures.set(link.file, failure);
      this.failures.set(failure.file, failure);
      return failure.error;
    };
    for (let current = file; !this.messages.has(current); ) {
      const failure = this.failures.get(current);
      if (failure !== undefined) throw fail(failure);
      if (seen.has(current)) throw fail({ file: current, error: new CassetteError(current, 1, "its request continues itself, through the cassettes it continues") });
      seen.add(current);
      let parsed: OwnMessages;
      try {
        parsed = this.own.get(current) ?? ownMessages(parseCassetteLines(headerText(readFileSync(current, "utf8")), current));
      } catch (error) {
        throw fail({ file: current, error });
      }
      chain.push({ file: current, parsed });
      if (parsed.continues === undefined) break;
      current = join(dirname(current), parsed.continues.cassette);
    }
    // One list, grown turn by turn (each usually keeps all of the one before): only the file asked for is kept.
    const start = chain.at(-1)?.parsed.continues;
    const startFile = start === undefined ? undefined : join(dirname(chain.at(-1)?.file ?? ""), start.cassette);
    let messages = startFile === undefined ? [] : [...(this.messages.get(startFile) ?? [])];
    // The list copied from is superseded: a chat asks for each new turn's list once, and keeping every older one held
    // a second copy of the whole conversation (and a list per turn, so memory grew with the square of its length).
    // Asked for again, it is put together anew from the files.
    if (startFile !== undefined) this.messages.delete(startFile);
    for (const { file: link, parsed } of chain.reverse()) {
      const { continues } = parsed;
      if (continues === undefined) messages = [];
      else if (continues.messages > messages.length) {
        const error = new CassetteError(link, 1, `its request continues the first ${continues.messages} messages of ${continues.cassette}, whose request has ${messages.length}`);
        this.failures.set(link, { file: link, error });
        throw error;
      } else messages.length = continues.messages;
      for (const message of parsed.messages) messages.push(message);
    }
    this.messages.set(file, messages);
    return messages;
  }
}

/**
 * A cassette's text up to the end of its header line: all that a later cassette needs of it. Its frames are not parsed
 * for that: one damaged by hand does not take the requests of the turns after it along, and a long answer's are not
 * parsed twice.
 */
function headerText(text: string): string {
  for (let start = 0; ; ) {
    const end = text.indexOf("\n", start);
    if (end < 0) return text;
    if (text.slice(start, end).trim() !== "") return text.slice(0, end);
    start = end + 1;
  }
}

/** What a cassette's request holds itself, and what it continues. */
interface OwnMessages {
  readonly continues?: CassetteContinuation | undefined;
  readonly messages: readonly unknown[];
}

function ownMessages(parsed: CassetteLines): OwnMessages {
  return { continues: parsed.continues, messages: parsed.cassette.request.messages };
}

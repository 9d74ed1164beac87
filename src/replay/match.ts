import { basename } from "node:path";
import { isObject } from "../sources/frames.js";
import type { Cassette } from "./cassette.js";

/** A cassette close to an unmatched request, to say what the user may have meant. */
export interface NearCassette {
  file: string;
  model: string | undefined;
  /** The last user message the cassette answers. */
  prompt: string;
  /** 0 (nothing alike) to 1 (the same text). */
  similarity: number;
  /**
   * When the cassette asks the same question in another conversation, how the conversations differ, e.g.
   * `only the cassette has the system message "Be brief"`; absent otherwise.
   */
  difference?: string;
}

/** The cassette that answers a request, and where it stands among the recordings of that same request. */
export interface CassetteAnswer {
  cassette: Cassette;
  /** Which of the recordings of this request it is, from 1, in the order they were recorded. */
  nth: number;
  /** How many recordings of this request there are (1 for most requests). */
  recordings: number;
  /** Every recording of this request had answered already: this one, the last, answers again. */
  repeated: boolean;
}

/**
 * Which recording of a request answered, in words, for logs and notes: `recording 2 of 3 of this request`, or once all
 * have played `again: the last of 3 recordings of this request, all played`; `undefined` for a request recorded once.
 */
export function describePlay(answer: Omit<CassetteAnswer, "cassette">): string | undefined {
  if (answer.recordings === 1) return undefined;
  return answer.repeated ? `again: the last of ${answer.recordings} recordings of this request, all played` : `recording ${answer.nth} of ${answer.recordings} of this request`;
}

export type CassetteMatch = CassetteAnswer | { cassette: undefined; nearest: NearCassette[] };

/**
 * Finds the cassette that answers a chat-completion request: the one whose
 * messages are the same, role by role, with text compared after trimming and
 * collapsing whitespace (so a prompt piped with a trailing newline matches).
 * Other parameters (temperature, max_tokens…) do not take part. When several
 * match, those recorded with the request's model win; among them, the first
 * in the order recorded (see `inRecordedOrder`) that `played` does not name,
 * or once every one has played, the last: a request asked again (a chat's
 * /retry, a test that asks twice) gets the recordings in turn, as the session
 * recorded went. `CassettePlays` keeps what was played.
 */
export function matchCassette(cassettes: readonly Cassette[], request: unknown, played: (cassette: Cassette) => boolean = () => false): CassetteMatch {
  const messages = isObject(request) && Array.isArray(request.messages) ? request.messages : [];
  const model = isObject(request) && typeof request.model === "string" ? request.model : undefined;
  const key = conversationKey(messages);
  // Only a cassette with as many messages can match: the others are not looked into, so that a request among the turns
  // of a long conversation costs its own length, not the length of every turn's.
  const matches = cassettes.filter((cassette) => cassette.request.messages.length === messages.length && conversationKey(cassette.request.messages) === key);
  const sameModel = matches.filter((candidate) => candidate.request.model === model);
  const candidates = inRecordedOrder(sameModel.length > 0 ? sameModel : matches);
  const unplayed = candidates.findIndex((candidate) => !played(candidate));
  const nth = unplayed >= 0 ? unplayed : candidates.length - 1;
  const cassette = candidates[nth];
  if (cassette !== undefined) return { cassette, nth: nth + 1, recordings: candidates.length, repeated: unplayed < 0 };
  const prompt = lastUserText(messages);
  const nearest = cassettes
    .map((candidate): NearCassette => {
      const candidatePrompt = lastUserText(candidate.request.messages);
      const alike = similarity(prompt, candidatePrompt);
      // The same question recorded after another system prompt or other turns is the usual surprise: say what differs.
      const difference = alike === 1 ? conversationDifference(candidate.request.messages, messages) : undefined;
      return {
        file: candidate.file === undefined ? "(in memory)" : basename(candidate.file),
        model: candidate.request.model,
        prompt: candidatePrompt,
        similarity: alike,
        ...(difference === undefined ? {} : { difference }),
      };
    })
    .sort((a, b) => b.similarity - a.similarity)
    .slice(0, 3);
  return { cassette: undefined, nearest };
}

/**
 * Which recordings of a replay session have answered, so that the recordings of one request answer in turn
 * (`matchCassette`): a replay server keeps one while it runs, `g4f-rx chat --replay` one per chat. A recording read
 * from a file is known by its path, so a directory read again (chat reads it for each question) keeps its place.
 */
export class CassettePlays {
  readonly #played = new Set<Cassette | string>();

  /**
   * The cassette that answers `request` (see `matchCassette`), counted as played. Choosing and counting are one
   * synchronous step: two requests that arrive together get two recordings, in the order they arrived.
   */
  next(cassettes: readonly Cassette[], request: unknown): CassetteMatch {
    const match = matchCassette(cassettes, request, (cassette) => this.#played.has(playKey(cassette)));
    if (match.cassette !== undefined) this.#played.add(playKey(match.cassette));
    return match;
  }

  /** Forgets every play, so that the session can be replayed again from its first recordings; says how many there were. */
  reset(): number {
    const count = this.#played.size;
    this.#played.clear();
    return count;
  }
}

function playKey(cassette: Cassette): Cassette | string {
  return cassette.file ?? cassette;
}

/**
 * Cassettes in the order they were recorded: by the `recordedAt` time of their header, which the recorder and the
 * conversation store write as they record, and which survives copying and renaming; equal times, and cassettes
 * without one (written by hand), keep their order in the list (by file name, as `readCassettes` reads them), those
 * without a time first. File names alone are no such order: `--record` names a clashing recording `NAME.2`, which
 * sorts before `NAME`, and names a person chooses sort as they happen to.
 */
export function inRecordedOrder(cassettes: readonly Cassette[]): Cassette[] {
  const timeOf = (cassette: Cassette): number => {
    const time = cassette.recordedAt === undefined ? Number.NaN : Date.parse(cassette.recordedAt);
    return Number.isNaN(time) ? Number.NEGATIVE_INFINITY : time;
  };
  // Array.prototype.sort is stable: equal times keep the list's order.
  return cassettes
    .map((cassette) => ({ cassette, time: timeOf(cassette) }))
    .sort((a, b) => (a.time === b.time ? 0 : a.time < b.time ? -1 : 1))
    .map(({ cassette }) => cassette);
}

/**
 * The requests recorded more than once (the same API, model and messages), each with its recordings in the order
 * they answer it (`inRecordedOrder`).
 */
export function repeatedRecordings(cassettes: readonly Cassette[]): Cassette[][] {
  const groups = new Map<string, Cassette[]>();
  for (const cassette of cassettes) {
    const key = JSON.stringify([cassette.api ?? "chat", cassette.request.model ?? null, conversationKey(cassette.request.messages)]);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [cassette]);
    else group.push(cassette);
  }
  return [...groups.values()].filter((group) => group.length > 1).map(inRecordedOrder);
}

function conversationKey(messages: readonly unknown[]): string {
  return JSON.stringify(messages.map(messageKey));
}

function messageKey(message: unknown): [unknown, string] | [] {
  return isObject(message) ? [message.role, normalize(textOf(message.content))] : [];
}

/** The messages only one of two conversations has, in words; `undefined` when they hold the same messages. */
function conversationDifference(recorded: readonly unknown[], asked: readonly unknown[]): string | undefined {
  const onlyIn = (these: readonly unknown[], those: readonly unknown[]): unknown[] => {
    const left = those.map((message) => JSON.stringify(messageKey(message)));
    return these.filter((message) => {
      const at = left.indexOf(JSON.stringify(messageKey(message)));
      if (at >= 0) left.splice(at, 1);
      return at < 0;
    });
  };
  const describe = (extra: readonly unknown[]): string => {
    const [first] = extra;
    const [role, text] = messageKey(first);
    const shown = text === undefined ? "" : text.length > 60 ? `${text.slice(0, 59)}…` : text;
    const more = extra.length > 1 ? ` and ${String(extra.length - 1)} more` : "";
    return `the ${typeof role === "string" ? role : "unknown"} message ${JSON.stringify(shown)}${more}`;
  };
  const onlyRecorded = onlyIn(recorded, asked);
  const onlyAsked = onlyIn(asked, recorded);
  const parts = [
    ...(onlyRecorded.length > 0 ? [`only the cassette has ${describe(onlyRecorded)}`] : []),
    ...(onlyAsked.length > 0 ? [`only this request has ${describe(onlyAsked)}`] : []),
  ];
  if (parts.length > 0) return parts.join("; ");
  return conversationKey(recorded) === conversationKey(asked) ? undefined : "the same messages in another order";
}

function lastUserText(messages: readonly unknown[]): string {
  for (let index = messages.length - 1; index >= 0; index -= 1) {
    const message = messages[index];
    if (isObject(message) && message.role === "user") return normalize(textOf(message.content));
  }
  return "";
}

/** The text of a message's content: a string, or the text parts of an array. */
function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((part) => (isObject(part) && typeof part.text === "string" ? part.text : "")).join("");
}

function normalize(text: string): string {
  return text.trim().replace(/\s+/g, " ");
}

/** How much of each prompt the nearest-cassette hint compares: enough to tell prompts apart, and quick for a huge one. */
const COMPARED_CHARACTERS = 2000;

/** Dice's coefficient over character bigrams of the lower-cased texts (their first `COMPARED_CHARACTERS`). */
function similarity(whole: string, wholeOther: string): number {
  const a = whole.slice(0, COMPARED_CHARACTERS);
  const b = wholeOther.slice(0, COMPARED_CHARACTERS);
  const bigrams = (text: string): Map<string, number> => {
    const counts = new Map<string, number>();
    const lower = text.toLowerCase();
    for (let index = 0; index < lower.length - 1; index += 1) {
      const pair = lower.slice(index, index + 2);
      counts.set(pair, (counts.get(pair) ?? 0) + 1);
    }
    return counts;
  };
  if (a === b) return 1;
  const left = bigrams(a);
  const right = bigrams(b);
  let shared = 0;
  for (const [pair, count] of left) shared += Math.min(count, right.get(pair) ?? 0);
  const total = Math.max(0, a.length - 1) + Math.max(0, b.length - 1);
  return total === 0 ? 0 : (2 * shared) / total;
}

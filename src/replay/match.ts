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

export type CassetteMatch = { cassette: Cassette } | { cassette: undefined; nearest: NearCassette[] };

/**
 * Finds the cassette that answers a chat-completion request: the one whose
 * messages are the same, role by role, with text compared after trimming and
 * collapsing whitespace (so a prompt piped with a trailing newline matches).
 * When several match, those recorded with the request's model win; among
 * them, the first in `cassettes`, or with `prefer: "newest"` the most recently
 * recorded (`recordedAt`, then the later in `cassettes`): a question asked
 * again (/retry) is answered as the conversation last was. Other parameters
 * (temperature, max_tokens…) do not take part.
 */
export function matchCassette(cassettes: readonly Cassette[], request: unknown, prefer: "first" | "newest" = "first"): CassetteMatch {
  const messages = isObject(request) && Array.isArray(request.messages) ? request.messages : [];
  const model = isObject(request) && typeof request.model === "string" ? request.model : undefined;
  const key = conversationKey(messages);
  // Only a cassette with as many messages can match: the others are not looked into, so that a request among the turns
  // of a long conversation costs its own length, not the length of every turn's.
  const matches = cassettes.filter((cassette) => cassette.request.messages.length === messages.length && conversationKey(cassette.request.messages) === key);
  const sameModel = matches.filter((candidate) => candidate.request.model === model);
  const candidates = sameModel.length > 0 ? sameModel : matches;
  const cassette = prefer === "first" ? candidates[0] : candidates.reduce<Cassette | undefined>((newest, candidate) => (newest === undefined || (candidate.recordedAt ?? "") >= (newest.recordedAt ?? "") ? candidate : newest), undefined);
  if (cassette !== undefined) return { cassette };
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
 * The cassettes `matchCassette` (preferring the first) can never choose: each one's API, model and messages are
 * those of an earlier cassette, `by`, which answers every request it would.
 */
export function shadowedCassettes(cassettes: readonly Cassette[]): Array<{ cassette: Cassette; by: Cassette }> {
  const first = new Map<string, Cassette>();
  const shadowed: Array<{ cassette: Cassette; by: Cassette }> = [];
  for (const cassette of cassettes) {
    const key = JSON.stringify([cassette.api ?? "chat", cassette.request.model ?? null, conversationKey(cassette.request.messages)]);
    const by = first.get(key);
    if (by === undefined) first.set(key, cassette);
    else shadowed.push({ cassette, by });
  }
  return shadowed;
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

import { basename } from "node:path";
import { CassetteError, type CassetteRequest } from "../replay/cassette.js";
import { ConversationError, type ConversationSummary, DamagedTurnError, type Turn, firstCodePoints } from "../conversations/index.js";
import { storeFor } from "./conversation.js";
import { EXIT } from "./exit-codes.js";
import type { CliIo } from "./io.js";
import { UsageError, parseLogsCommandLine } from "./options.js";
import { type Styles, neutralise } from "./terminal.js";

/** `g4f-rx logs`: lists, shows, searches and removes kept conversations. */
export function logs(io: CliIo, args: readonly string[], style: Styles): number {
  const fail = (code: number, message: string): number => {
    io.stderr.write(`${style.error("g4f-rx logs:")} ${message}\n`);
    return code;
  };
  let parsed;
  try {
    parsed = parseLogsCommandLine(args, io.version, io.stdout.columns ?? 80);
  } catch (error) {
    if (error instanceof UsageError) return fail(EXIT.usage, `${error.message}\nRun g4f-rx logs --help for usage.`);
    throw error;
  }
  if (parsed.kind === "print") {
    io.stdout.write(parsed.text);
    return EXIT.success;
  }
  const { count, query, json, words: written, response, continue: latestWanted, cid, sources } = parsed.options;
  // `logs show -r ID` is `logs -r ID`: -r shows the last answer (a conversation titled "show" is --cid show then).
  const words = response && written[0] === "show" ? written.slice(1) : written;
  // Kept prompts and answers came from people and models: on a terminal, their control characters are made visible.
  const forTerminal = io.stdout.isTTY === true ? neutralise : (text: string): string => text;
  const store = storeFor(io.env);
  if (store === undefined) return fail(EXIT.usage, "neither XDG_DATA_HOME nor HOME is set: no conversations are kept");
  // With -r, the only word is the conversation; else an action and its words.
  const [action, id, ...extra] = response ? ["show", ...words] : words;

  if ((action === undefined && !latestWanted && cid === undefined) || action === "list") {
    if (id !== undefined) return fail(EXIT.usage, `unexpected "${id}". Run g4f-rx logs --help for usage.`);
    if (latestWanted || cid !== undefined) return fail(EXIT.usage, "-c and --cid choose one conversation, for show or -r; the list has them all");
    const found = query === undefined ? store.list() : store.search(query);
    const shown = count === 0 ? found : found.slice(0, count);
    io.stdout.write(json ? shown.map((summary) => `${JSON.stringify(summary)}\n`).join("") : forTerminal(shown.map((summary) => `${summaryLine(summary)}\n`).join("")));
    if (!json && shown.length < found.length) io.stderr.write(`${style.note(`g4f-rx: ${found.length - shown.length} more; -n 0 lists all`)}\n`);
    return EXIT.success;
  }
  const verb = action ?? "show";
  if (verb !== "show" && verb !== "rm" && verb !== "rename") return fail(EXIT.usage, `unknown action "${verb}" (list, show, rename or rm). Run g4f-rx logs --help for usage.`);
  if (sources.count === "flag") return fail(EXIT.usage, `-n ${String(count)} is how many conversations the list shows; ${response ? "-r prints one answer" : `logs ${verb} takes one conversation`}`);
  if (response && (json || query !== undefined)) return fail(EXIT.usage, "-r prints the last answer's text alone; --json and -q are for the list and show");
  // The conversation: the word after the action, --cid, or -c (the latest; show's default). rm and rename remove or
  // rename only what they are told.
  const given = id ?? cid;
  const newTitle = verb === "rename" ? extra.shift() : undefined;
  if (id !== undefined && cid !== undefined) return fail(EXIT.usage, `"${id}" and --cid ${cid} name two conversations: give one`);
  if (latestWanted && given !== undefined) return fail(EXIT.usage, "-c is the latest conversation, and an ID or --cid names one: give one of them");
  if (extra.length > 0 || (verb !== "show" && given === undefined) || (verb === "rename" && newTitle === undefined)) {
    const how = { show: "logs show takes one conversation id, or none for the latest", rm: "logs rm takes one conversation id", rename: 'logs rename takes a conversation (id or title) and its new title ("" removes it)' };
    return fail(EXIT.usage, response ? "logs -r takes one conversation id or title, or none for the latest" : how[verb]);
  }
  let full: string;
  try {
    if (given !== undefined) {
      full = store.resolveId(given);
    } else {
      const latest = store.latest();
      // Nothing to show is not a misuse: exit 1, as when the latest conversation has no answer for -r.
      if (latest === undefined) return fail(EXIT.failure, "no conversation is kept yet");
      full = latest;
    }
  } catch (error) {
    if (error instanceof ConversationError) return fail(EXIT.usage, error.message);
    throw error;
  }
  if (verb === "rm") {
    try {
      store.remove(full);
    } catch (error) {
      if (error instanceof ConversationError) return fail(EXIT.failure, error.message);
      throw error;
    }
    io.stderr.write(`${style.note(`g4f-rx: removed conversation ${full}`)}\n`);
    return EXIT.success;
  }
  if (verb === "rename") {
    try {
      store.setTitle(full, newTitle ?? "");
    } catch (error) {
      if (error instanceof ConversationError) return fail(EXIT.usage, error.message);
      if (error instanceof Error && "code" in error) return fail(EXIT.failure, `could not rename conversation ${full}: ${error.message}`);
      throw error;
    }
    io.stderr.write(`${style.note(`g4f-rx: ${newTitle === "" ? `conversation ${full} has no title now` : `conversation ${full} is now "${newTitle}"`}`)}\n`);
    return EXIT.success;
  }
  if (response) return lastAnswer(io, full, store.turnsOrDamage(full), fail, style);
  const entries = store.turnsOrDamage(full);
  const title = store.titles().get(full);
  const damaged = entries.filter((entry) => entry instanceof DamagedTurnError);
  if (json) {
    // Each turn with the request it sent, whole; a turn whose request cannot be put together says why instead.
    const turns = entries.flatMap((entry): Array<Turn & { request?: CassetteRequest; requestUnreadable?: string }> => {
      if (entry instanceof DamagedTurnError) return [];
      try {
        return [{ ...entry, request: store.requestOf(entry) }];
      } catch (error) {
        if (!(error instanceof CassetteError)) throw error;
        return [{ ...entry, requestUnreadable: error.message }];
      }
    });
    const unreadable = damaged.map(({ file, line, problem }) => ({ file, line, problem }));
    io.stdout.write(JSON.stringify({ id: full, ...(title === undefined ? {} : { title }), directory: store.directoryOf(full), turns, ...(unreadable.length > 0 ? { damaged: unreadable } : {}) }, null, 2) + "\n");
  } else {
    io.stdout.write(forTerminal(showConversation(full, store.directoryOf(full), entries, title)));
  }
  // The readable turns are shown all the same; stderr says that some are missing, and why -c refuses the conversation.
  if (damaged.length > 0) {
    const files = damaged.length === 1 ? "1 turn's file" : `${damaged.length} turns' files`;
    io.stderr.write(`${style.error("g4f-rx logs:")} ${forTerminal(`${files} cannot be read (marked [damaged]); -c and --cid refuse this conversation until it is moved away`)}\n`);
  }
  return EXIT.success;
}

/**
 * `logs -r`: the text of the conversation's last answer, the one the next `-c` goes on from, alone on stdout: byte for
 * byte into a pipe (no newline added), its control characters made visible on a terminal. A turn that got no text
 * (failed before its first word, a tool call alone), one asked again with `/retry` and one another process is still
 * answering are passed over. Exit 1, saying why, when there is no such answer or a later turn cannot be read.
 */
function lastAnswer(io: CliIo, id: string, entries: readonly (Turn | DamagedTurnError)[], fail: (code: number, message: string) => number, style: Styles): number {
  const replaced = new Set(entries.flatMap((turn) => (turn instanceof DamagedTurnError || turn.replaces === undefined ? [] : [turn.replaces])));
  for (const turn of [...entries].reverse()) {
    if (turn instanceof DamagedTurnError) return fail(EXIT.failure, `the last answer of conversation ${id} cannot be told: a turn's file cannot be read: ${turn.message}`);
    if (turn.answer === "" || turn.status === "streaming" || replaced.has(turn.turn)) continue;
    const note = STATUS_NOTES[turn.status];
    if (note !== undefined) io.stderr.write(`${style.note(`g4f-rx: ${note}`)}\n`);
    io.stdout.write(io.stdout.isTTY === true ? `${neutralise(turn.answer)}${turn.answer.endsWith("\n") ? "" : "\n"}` : turn.answer);
    return EXIT.success;
  }
  return fail(EXIT.failure, `conversation ${id} has no answer with text yet`);
}

/** One line of the list: id, when, model at endpoint, turns, title, first words. */
export function summaryLine(summary: ConversationSummary): string {
  // Cut by code points: an emoji is never cut in half.
  const shown = firstCodePoints(summary.firstWords, 60);
  const words = shown === summary.firstWords ? shown : `${firstCodePoints(shown, 59)}…`;
  const title = summary.title === undefined ? [] : [`"${summary.title}"`];
  return [summary.id, utcMinute(summary.updatedAt), `${summary.model} @ ${summary.endpoint}`, `${summary.turns} turn${summary.turns === 1 ? "" : "s"}`, ...title, words].join("  ");
}

const STATUS_NOTES: Partial<Record<Turn["status"], string>> = {
  error: "the answer stopped with an error",
  cancelled: "the answer was cancelled",
  partial: "the process stopped mid-answer: the answer is partial",
  streaming: "another process is still answering",
};

/** A conversation as plain text, the same on a terminal and in a pipe; a turn whose file cannot be read is marked. */
export function showConversation(id: string, directory: string, turns: readonly (Turn | DamagedTurnError)[], title?: string): string {
  // chat, which plays every turn back as its questions are asked again: a single question would need one of them.
  const lines = [`conversation ${id}${title === undefined ? "" : ` "${title}"`} (${turns.length} turn${turns.length === 1 ? "" : "s"}; replay: g4f-rx chat --replay ${directory})`];
  const replaced = new Set(turns.flatMap((turn) => (turn instanceof DamagedTurnError || turn.replaces === undefined ? [] : [turn.replaces])));
  for (const turn of turns) {
    if (turn instanceof DamagedTurnError) {
      lines.push("", `--- ${basename(turn.file)}  [damaged]`, `(this turn's file cannot be read: ${turn.message})`);
      continue;
    }
    const marks = [...(turn.status === "complete" ? [] : [turn.status]), ...(replaced.has(turn.turn) ? ["replaced"] : [])];
    lines.push("", `--- ${utcMinute(turn.startedAt)}  ${turn.model} @ ${turn.endpoint}${marks.map((mark) => `  [${mark}]`).join("")}`);
    for (const message of turn.input) lines.push(`${message.role}: ${textOf(message.content)}`);
    lines.push(`assistant: ${turn.answer}`);
    const note = STATUS_NOTES[turn.status];
    if (note !== undefined) lines.push(`(${note}${turn.error === undefined ? "" : `: ${turn.error}`})`);
    if (replaced.has(turn.turn)) lines.push("(asked again with /retry: the conversation goes on with the newer answer, below)");
  }
  return lines.join("\n") + "\n";
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((part: unknown) => {
      if (typeof part !== "object" || part === null) return "";
      if ("text" in part && typeof part.text === "string") return part.text;
      if ("type" in part && part.type === "image_url") return "[image]";
      return "";
    })
    .join("\n");
}

/** `2026-11-30T04:16:12.345Z` → `2026-11-30 04:16`: UTC, so logs read the same everywhere. */
function utcMinute(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}

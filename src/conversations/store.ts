import { appendFileSync, chmodSync, closeSync, existsSync, fstatSync, linkSync, lstatSync, openSync, readFileSync, readSync, readdirSync, readlinkSync, renameSync, rmSync, rmdirSync, statSync, symlinkSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { basename, join } from "node:path";
import type { ChatCompletionChunk, ChatCompletionMessageParam } from "openai/resources/chat/completions";
import type { CompletionUsage } from "openai/resources/completions";
import { type ChatCompletionSnapshot, accumulateMessage, assistantMessage, contentText } from "../../operators/index.js";
import { type Cassette, type CassetteContinuation, CassetteError, type CassetteFrame, CASSETTE_EXTENSION, CassetteReader, type CassetteRequest, type CassetteResponse, continuing, frameLine, headerLine, parseCassetteLines } from "../replay/cassette.js";
import { makeFolder, randomHex } from "../folders.js";
import { isoTime } from "../iso-time.js";
import { processAlive } from "../process-alive.js";
import { isObject } from "../sources/frames.js";
import { Subject, from, last } from "rxjs";
import { forEachPiece } from "./pieces.js";

/**
 * How a turn ended: `complete`; `error` (the partial answer before it is
 * kept); `cancelled` (Ctrl-C, a closed pipe: the partial answer is kept);
 * `partial` (the process died mid-answer: what was written is kept);
 * `streaming` (another process is answering it right now).
 */
export type TurnStatus = "complete" | "error" | "cancelled" | "partial" | "streaming";

/** What the store keeps about a turn besides its cassette, in the cassette's header as `turn`. */
export interface TurnInfo {
  readonly conversation: string;
  /** The turn's file name without extension; sorts by start time. */
  readonly turn: string;
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly status: TurnStatus;
  /** The base URL asked. */
  readonly endpoint: string;
  readonly model: string;
  /** The messages this turn added to the conversation: a system prompt when given, and the user's message. */
  readonly input: ChatCompletionMessageParam[];
  /** The assistant's answer (text; tool calls and refusals are in `reply`). */
  readonly answer: string;
  /**
   * Set in a turn's header when its answer was longer than `KEPT_ANSWER_LENGTH`: the header then holds no answer
   * (`answer` is "") and the answer is read back from the turn's frames, so that recording a long answer never
   * holds it in memory.
   */
  readonly answerInFrames?: true;
  readonly reply?: ChatCompletionMessageParam;
  readonly usage?: CompletionUsage;
  readonly error?: string;
  /** The turn this one asks again (`/retry` in chat): the conversation keeps only the newer answer. */
  readonly replaces?: string;
  readonly pid: number;
}

/**
 * One turn as read back: its information and its cassette file. The request it sent is the cassette's (read it with
 * `readCassette`: a turn keeps only the messages it added, and names the turn before it for the others).
 */
export interface Turn extends TurnInfo {
  readonly file: string;
}

/** One line of `g4f-rx logs`. */
export interface ConversationSummary {
  readonly id: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** The endpoint and model of the latest turn that got an answer (else of the latest), which `-c` goes on with. */
  readonly endpoint: string;
  readonly model: string;
  readonly turns: number;
  /** The first user message, on one line. */
  readonly firstWords: string;
  /** The name the user gave it (`--title`, `logs rename`), if any. */
  readonly title?: string;
}

/** A conversation id that names none, or names several, or a store that cannot be read. */
export class ConversationError extends Error {
  override readonly name = "ConversationError";
}

/**
 * A turn's file that cannot be read (overwritten, emptied, a line that is not JSON): the file, the line and why. Going
 * on with the conversation without that turn would change what it says, so continuing it stops at this.
 */
export class DamagedTurnError extends Error {
  override readonly name = "DamagedTurnError";
  constructor(
    readonly file: string,
    readonly line: number,
    readonly problem: string,
  ) {
    super(`${file}:${line}: ${problem}`);
  }
}

/**
 * A turn was to go on with a conversation that is gone: removed (`logs rm`, or its folder by hand) after the process
 * read it. The turn is not begun, so that none of the removed words come back on disk.
 */
export class ConversationRemovedError extends Error {
  override readonly name = "ConversationRemovedError";
}

/**
 * The data directory could not be written (read-only, full, a file where a folder should be): the turn is not kept,
 * and the answer goes on all the same.
 */
export class StoreWriteError extends Error {
  override readonly name = "StoreWriteError";
  constructor(
    readonly directory: string,
    /** The system's reason, e.g. `ENOSPC: no space left on device, write`. */
    readonly reason: string,
  ) {
    super(`could not keep this turn in ${directory}: ${reason}`);
  }
}

const INDEX_FILE = "index.jsonl";
/** Every prompt and answer is kept here: readable by the user alone, whatever the umask (as the code cache is). */
const PRIVATE_FOLDER = 0o700;
const PRIVATE_FILE = 0o600;
const TEXTS_FILE = "texts.jsonl";
/**
 * The questions and commands entered in `g4f-rx chat`, oldest first, one per line; one of several lines (or that
 * starts with a quote) is kept as a JSON string (see `historyLine`).
 */
const HISTORY_FILE = "chat-history";
/** How much of a turn's prompt the index keeps, for `logs`; the whole text is in the texts file, for `logs -q`. */
const INDEX_WORDS = 100;
/** The start of a turn's end line in the index, as `JSON.stringify` writes it (ids hold no quotes). */
const END_LINE = /^\{"cid":"[^"\\]*","turn":"[^"\\]*","end":/;
/**
 * The longest answer (in characters) a turn's header and the texts file keep whole. A longer one is kept in the turn's
 * frames only, and the texts file keeps its beginning for `logs -q` (which reads the turn's file for the rest).
 */
export const KEPT_ANSWER_LENGTH = 64 * 1024;
const PARTIAL_EXTENSION = ".partial.jsonl";
const CONVERSATIONS = "conversations";
/**
 * The folder of the conversations' titles: one symbolic link per title, named after it (see `titleFileName`) and
 * pointing to its conversation's folder (`../conversations/<id>`). Making a link fails when one of that name exists,
 * so a title names one conversation whatever processes name theirs at once; a link whose conversation is gone
 * (removed by hand) names none, and its title is free.
 */
const TITLES = "titles";
/** The longest title, in characters: its file name then stays within the 255 bytes file systems allow (4 per character at most). */
export const TITLE_LENGTH = 60;
/** The shape of the ids `newId` makes: a title of that shape would read as an id. */
const ID_SHAPE = /^\d{8}T\d{6}-[0-9a-f]{6}$/;

/**
 * One line of the index: a turn began (with the prompt's first words), a turn ended, or a conversation was removed.
 * Stores written before the texts file have the whole `prompt` and `answer` (`answerCut` when only its beginning)
 * here; they are read as well.
 */
type IndexLine =
  | { readonly cid: string; readonly turn: string; readonly at: string; readonly endpoint: string; readonly model: string; readonly words: string; readonly pid: number }
  | TurnEnd
  | { readonly cid: string; readonly removed: true };

/** The index line that ends a turn; with the endpoint and model when another one answered (a fallback). */
interface TurnEnd {
  readonly cid: string;
  readonly turn: string;
  readonly endpoint?: string;
  readonly model?: string;
  /**
   * The turn got no answer (it failed before its first word): `-c` goes on with the endpoint and model of an earlier
   * one, and so the listing shows them. Before `end`, so that a listing reads this line (see `END_LINE`).
   */
  readonly unanswered?: true;
  readonly end: TurnStatus;
  readonly at: string;
}

/** One line of the texts file: a turn's whole prompt, or its answer (`cut`: only its beginning), for search. */
interface TextLine {
  readonly cid: string;
  readonly turn: string;
  readonly text: string;
  readonly cut?: true;
}

/**
 * Where the command keeps its data: `$XDG_DATA_HOME/g4f-rx`, else
 * `$HOME/.local/share/g4f-rx`. `undefined` when the environment has
 * neither (nothing is then kept, rather than guessing a home directory).
 */
export function dataDirectory(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const xdg = env.XDG_DATA_HOME;
  if (xdg !== undefined && xdg.startsWith("/")) return join(xdg, "g4f-rx");
  const home = env.HOME;
  if (home !== undefined && home !== "") return join(home, ".local", "share", "g4f-rx");
  return undefined;
}

/**
 * The conversations on disk: one directory per conversation under
 * `<directory>/conversations/<id>/`, one cassette per turn
 * (`<start time>-<pid>-<random>.cassette.jsonl`, so `--replay` plays a
 * conversation directory offline), `index.jsonl` for fast listing (small
 * lines: ids, times, endpoint, model, a prompt's first words) and
 * `texts.jsonl` for search (whole prompts and answers).
 *
 * Concurrency and crashes: a turn streams into its own `.partial.jsonl`
 * journal (one file per turn and process, so two processes never write the
 * same file), and ends by writing the whole cassette to a temporary file and
 * renaming it into place (atomic), then removing the journal. A journal left
 * by a dead process is read back as a `partial` turn. The index and texts
 * files are append-only, one line per `write` with O_APPEND, so lines of two
 * processes never interleave; they are caches of the turn files, which stay
 * the truth for `show` and for continuing.
 */
export class ConversationStore {
  readonly root: string;
  private readonly index: string;
  private readonly texts: string;
  readonly historyFile: string;
  /** Whether this process has made the store's folder already (a turn's folder is inside it). */
  private made = false;
  /** Whether this process has looked for a lost index or texts file already (see `rebuildLostCaches`). */
  private cachesChecked = false;
  /**
   * A lost index or texts file rebuilt from the turn files that could not be put in place (a store that cannot be
   * written): read from here instead, so that a read-only store lists, finds and continues what it holds.
   */
  private readonly unplaced = new Map<string, string>();
  /** The requests of the turns a new turn went on from, read once per process (chat goes on from each of its turns). */
  private readonly requests = new CassetteReader();
  /**
   * The whole request of the turn this store began last, and the file it is kept in once finished: the next turn of a
   * chat goes on from it as it is in memory, rather than from a copy read back from disk, which kept a second copy of
   * the whole conversation for as long as the chat stayed open.
   */
  private lastRequest: { readonly file: string; readonly messages: readonly unknown[] } | undefined;

  constructor(readonly directory: string) {
    this.root = join(directory, CONVERSATIONS);
    this.index = join(directory, INDEX_FILE);
    this.texts = join(directory, TEXTS_FILE);
    this.historyFile = join(directory, HISTORY_FILE);
  }

  /**
   * The last `limit` different entries of chat's history, newest first (as readline wants them); an entry is a
   * question or command as entered, of one line or several. A file grown past twice that is rewritten with them, so
   * it stays small.
   */
  chatHistory(limit: number): string[] {
    let text: string;
    try {
      text = readFileSync(this.historyFile, "utf8");
    } catch {
      return [];
    }
    const all = text.split("\n").filter((line) => line !== "");
    const newestFirst = [...new Set([...all].reverse().map(historyEntry))].slice(0, limit);
    // A line another chat appends meanwhile leaves the file as it is, for the next time.
    if (all.length > 2 * limit) replaceIfUnchanged(this.historyFile, text, [...newestFirst].reverse().map((entry) => `${historyLine(entry)}\n`).join(""));
    return newestFirst;
  }

  /**
   * Adds a question or command entered in chat to the history, whole: one of several lines is recalled as one.
   * Appended, not rewritten, so that chats running at once all keep theirs.
   */
  addChatHistory(entry: string): void {
    if (entry.trim() === "") return;
    this.makeFolder();
    appendFileSync(this.historyFile, `${historyLine(entry)}\n`, { mode: PRIVATE_FILE });
  }

  /** A new conversation id: sortable by time, unique across processes. */
  newId(): string {
    return `${compactTime(new Date()).slice(0, 15)}-${randomHex(6)}`;
  }

  /** Every conversation, the most recently active first. */
  list(): ConversationSummary[] {
    return this.summaries().map(({ summary }) => summary);
  }

  /** The conversations whose prompts or answers contain `text` (case-insensitive), the most recently active first. */
  search(text: string): ConversationSummary[] {
    const needle = text.toLowerCase();
    // A long answer's texts line holds only its beginning: the rest is read from the turn's file.
    const inCutAnswer = (id: string, cut: readonly string[]): boolean =>
      cut.length > 0 && this.turnsOrDamage(id).some((turn) => !(turn instanceof DamagedTurnError) && cut.includes(turn.turn) && turn.answer.toLowerCase().includes(needle));
    return this.summaries(needle)
      .filter(({ summary, matched, cut }) => matched || inCutAnswer(summary.id, cut))
      .map(({ summary }) => summary);
  }

  /**
   * The most recently active conversation's id, if any: the last turn begun
   * in a conversation not removed since. Read from the end of the index, so
   * `-c` costs the same with ten conversations or ten thousand.
   */
  latest(): string | undefined {
    this.rebuildLostCaches();
    const removed = new Set<string>();
    const unplaced = this.unplaced.get(this.index);
    for (const raw of unplaced === undefined ? linesFromEnd(this.index) : unplaced.split("\n").reverse()) {
      const line = parseLine(raw);
      if (line === undefined || typeof line.cid !== "string") continue;
      if (line.removed === true) removed.add(line.cid);
      else if (typeof line.at === "string" && (typeof line.words === "string" || typeof line.prompt === "string") && !removed.has(line.cid)) {
        // A folder removed by hand (rm -r) leaves its lines in the index: the folders are the truth.
        if (this.has(line.cid)) return line.cid;
        removed.add(line.cid);
      }
    }
    return undefined;
  }

  /**
   * The full id a user gave: the id, the conversation's title (`--title`), or a unique start of an id, in that order
   * (a title is unique, so only a start of ids can name several). Throws `ConversationError`, listing the conversations
   * a start names when it names several.
   */
  resolveId(given: string): string {
    const wanted = given.trim();
    if (wanted === "") throw new ConversationError(`"${given}" is not a conversation id or title`);
    const idLike = !wanted.includes("/") && !wanted.startsWith(".");
    if (idLike && existsSync(join(this.root, wanted))) return wanted;
    const titled = this.titled(wanted);
    if (titled !== undefined) return titled;
    const names = idLike && existsSync(this.root) ? readdirSync(this.root).filter((name) => name.startsWith(wanted)).sort() : [];
    if (names.length === 1 && names[0] !== undefined) return names[0];
    if (names.length > 1) {
      const titles = this.titles();
      const shown = names.slice(0, 10).map((name) => (titles.has(name) ? `${name} ("${titles.get(name)}")` : name));
      throw new ConversationError(`"${given}" starts ${names.length} conversation ids: ${shown.join(", ")}${names.length > shown.length ? ", …" : ""}; give more of the id, or a title`);
    }
    throw new ConversationError(`no conversation "${given}" in ${this.root}: no id starts with it and no title is it (g4f-rx logs lists them)`);
  }

  /** The conversation a title names, if any: its link's, while that conversation is on disk. */
  titled(title: string): string | undefined {
    const fileName = titleFileName(title);
    if (fileName === undefined) return undefined;
    const id = linkedConversation(join(this.directory, TITLES, fileName));
    return id !== undefined && this.has(id) ? id : undefined;
  }

  /**
   * Every title, by conversation id. A conversation named twice (a process stopped between making its new title and
   * removing the old one, or two renames at once) has its newer one here; both name it.
   */
  titles(): Map<string, string> {
    const folder = join(this.directory, TITLES);
    let names: string[];
    try {
      names = readdirSync(folder);
    } catch {
      return new Map();
    }
    const found = new Map<string, { title: string; file: string }>();
    const newer = (file: string, than: string): boolean => {
      try {
        return lstatSync(file).mtimeMs > lstatSync(than).mtimeMs;
      } catch {
        return false;
      }
    };
    for (const name of names) {
      const title = titleOfFileName(name);
      const file = join(folder, name);
      const id = title === undefined ? undefined : linkedConversation(file);
      if (title === undefined || id === undefined) continue;
      const before = found.get(id);
      if (before === undefined || newer(file, before.file)) found.set(id, { title, file });
    }
    return new Map([...found].map(([id, { title }]) => [id, title]));
  }

  /**
   * Checks that `title` can name conversation `id` (or a new one): a title of at most `TITLE_LENGTH` characters, no
   * control characters, not shaped like an id, and naming no other conversation. Throws `ConversationError` saying
   * which conversation has it.
   */
  checkTitle(title: string, id?: string): void {
    const problem = titleProblem(title);
    if (problem !== undefined) throw new ConversationError(problem);
    const holder = this.titled(title);
    if (holder !== undefined && holder !== id) throw new ConversationError(titleTaken(title, holder));
  }

  /**
   * Names conversation `id` `title`, in place of any title it had: the new title's link is made (atomic: it fails
   * when another process made one of that name first, and then that conversation keeps it), then its old ones go.
   * `""` removes its title. Throws `ConversationError` when the title is another conversation's, and the system's
   * error when the store cannot be written.
   */
  setTitle(id: string, title: string): void {
    if (!this.has(id)) throw new ConversationError(`no conversation "${id}" in ${this.root} (g4f-rx logs lists them)`);
    const folder = join(this.directory, TITLES);
    const old = this.titleFilesOf(id);
    let kept: string | undefined;
    if (title !== "") {
      this.checkTitle(title, id);
      const fileName = titleFileName(title) ?? "";
      kept = fileName;
      this.makeFolder();
      makeFolder(folder, PRIVATE_FOLDER);
      const file = join(folder, fileName);
      for (let attempt = 0; ; attempt += 1) {
        try {
          symlinkSync(join("..", CONVERSATIONS, id), file);
          break;
        } catch (error) {
          if (!(isSystemError(error) && error.code === "EEXIST") || attempt === 10) throw error;
        }
        const holder = linkedConversation(file);
        if (holder === id) break;
        if (holder !== undefined && this.has(holder)) throw new ConversationError(titleTaken(title, holder));
        // A title whose conversation is gone (removed by hand) is free: its link goes, unless another process made a new one meanwhile.
        removeStaleLink(file, holder);
      }
    }
    for (const name of old) {
      const file = join(folder, name);
      // Only while it still names this conversation: a title another process gave meanwhile stays.
      if (name !== kept && linkedConversation(file) === id) rmSync(file, { force: true });
    }
  }

  /** The file names of the titles that name conversation `id`. */
  private titleFilesOf(id: string): string[] {
    const folder = join(this.directory, TITLES);
    try {
      return readdirSync(folder).filter((name) => titleOfFileName(name) !== undefined && linkedConversation(join(folder, name)) === id);
    } catch {
      return [];
    }
  }

  /** Whether a conversation has any turn on disk. */
  has(id: string): boolean {
    return existsSync(join(this.root, id));
  }

  /** The directory of a conversation (for `--replay`). */
  directoryOf(id: string): string {
    return join(this.root, id);
  }

  /**
   * The turns of a conversation in the order they began, ended or not. Throws `DamagedTurnError` for a turn's file
   * that cannot be read.
   */
  turns(id: string): Turn[] {
    return this.turnsOrDamage(id).map((turn) => {
      if (turn instanceof DamagedTurnError) throw turn;
      return turn;
    });
  }

  /**
   * The request a turn sent, whole: its file keeps only what the turn added, and names the turn before it for the
   * rest. Throws `CassetteError` when a turn it goes back through cannot be read, or the system's error for its own file.
   */
  requestOf(turn: Turn): CassetteRequest {
    return this.requests.request(turn.file);
  }

  /** The turns of a conversation, with a `DamagedTurnError` in the place of each turn whose file cannot be read. */
  turnsOrDamage(id: string): Array<Turn | DamagedTurnError> {
    const folder = join(this.root, id);
    return this.turnFiles(id).flatMap((name) => this.readTurnFile(folder, name) ?? []);
  }

  /**
   * The turn whose endpoint and model `-c` goes on with: the last that got an answer, else the last. Read from the
   * newest back, so it usually costs one file, not the whole conversation. Throws like `turns`.
   */
  lastAnsweredTurn(id: string): Turn | undefined {
    const folder = join(this.root, id);
    let newest: Turn | undefined;
    for (const name of this.turnFiles(id).reverse()) {
      const turn = this.readTurnFile(folder, name);
      if (turn instanceof DamagedTurnError) throw turn;
      if (turn === undefined) continue;
      newest ??= turn;
      if (gotAnswer(turn)) return turn;
    }
    return newest;
  }

  /** The names of a conversation's turn files, in the order the turns began: cassettes, and journals without one. */
  private turnFiles(id: string): string[] {
    let names: string[];
    try {
      names = readdirSync(join(this.root, id));
    } catch {
      throw new ConversationError(`no conversation "${id}" in ${this.root} (g4f-rx logs lists them)`);
    }
    const finished = new Set(names.filter((name) => name.endsWith(CASSETTE_EXTENSION)).map((name) => name.slice(0, -CASSETTE_EXTENSION.length)));
    return names.sort().filter((name) => name.endsWith(CASSETTE_EXTENSION) || (name.endsWith(PARTIAL_EXTENSION) && !finished.has(name.slice(0, -PARTIAL_EXTENSION.length))));
  }

  /** One turn file read, or why it cannot be; `undefined` for a journal with nothing to read yet. */
  private readTurnFile(folder: string, name: string): Turn | DamagedTurnError | undefined {
    const file = join(folder, name);
    return name.endsWith(CASSETTE_EXTENSION) ? readOrDamage(file, () => readTurn(file, this.requests)) : readOrDamage(file, () => readJournal(folder, name));
  }

  /** The messages the next request of a conversation starts with: every turn's input and answer, in order. */
  messages(id: string): ChatCompletionMessageParam[] {
    return conversationMessages(this.turns(id));
  }

  /**
   * Removes a conversation: its turns, and its lines in the index and texts
   * files, so none of its words stay on disk. Throws `ConversationError` saying what stays when the store cannot be
   * written. A line that another process
   * appends while a file is rewritten is kept: the rewrite starts over when
   * the file grew.
   */
  remove(id: string): void {
    // Its questions go from the chat history too, whole and line by line (as histories before whole entries kept
    // them), and so does the same line typed elsewhere.
    let typed = new Set<string>();
    try {
      typed = new Set(this.turns(id).flatMap((turn) => [inputText(turn.input), ...inputText(turn.input).split("\n")]));
    } catch {
      // A conversation that cannot be read (gone, or a file damaged) is removed all the same.
    }
    try {
      rmSync(join(this.root, id), { recursive: true, force: true });
    } catch (error) {
      if (!isSystemError(error)) throw error;
      throw new ConversationError(`could not remove conversation ${id}: ${error.message}`);
    }
    try {
      this.rebuildLostCaches();
      // The marker first: should a rewrite fail, the conversation is still gone from every listing.
      this.appendIndex({ cid: id, removed: true });
      const ofConversation = `{"cid":${JSON.stringify(id)},`;
      for (const file of [this.texts, this.index]) withoutLines(file, (line) => line.startsWith(ofConversation));
      if (typed.size > 0) withoutLines(this.historyFile, (line) => typed.has(historyEntry(line)));
      for (const name of this.titleFilesOf(id)) rmSync(join(this.directory, TITLES, name), { force: true });
    } catch (error) {
      if (!isSystemError(error)) throw error;
      throw new ConversationError(`removed conversation ${id}'s turns, but some of its words stay in ${this.directory} (${INDEX_FILE}, ${TEXTS_FILE}, ${HISTORY_FILE} or ${TITLES}/): ${error.message}`);
    }
  }

  /**
   * How many requests read back from turn files this store holds in memory, to go on from in the next turn: each is a
   * copy of a conversation. None while a chat goes on from the turns it began itself, which it has in memory already.
   */
  get heldRequests(): number {
    return this.requests.heldRequests;
  }

  /** Begins a turn: its journal is on disk before the request is sent. */
  startTurn(turn: {
    conversation: string;
    endpoint: string;
    model: string;
    input: ChatCompletionMessageParam[];
    request: CassetteRequest;
    replaces?: string | undefined;
    /** Which endpoint and model answered, asked when the turn ends: another than the first when it fell back. */
    answeredBy?: (() => { readonly endpoint: string; readonly model: string }) | undefined;
    /**
     * The conversation is on disk already (continued, or a turn kept in it): its folder missing means it was removed,
     * and the turn is refused with `ConversationRemovedError` rather than bringing it back.
     */
    continues?: boolean | undefined;
  }): TurnRecorder {
    const folder = join(this.root, turn.conversation);
    if (turn.continues === true && !existsSync(folder)) throw new ConversationRemovedError(`conversation ${turn.conversation} was removed (logs rm)`);
    let recorder: TurnRecorder | undefined;
    try {
      // Before this turn's line makes an index again: a lost one is rebuilt first, not replaced by this line alone.
      this.rebuildLostCaches();
      this.makeFolder();
      // A conversation on disk has its folder (just checked above); only a new one's is made.
      const madeNow = turn.continues === true ? false : makeFolder(folder, PRIVATE_FOLDER);
      const startedAt = nextStartTime();
      const name = `${compactTime(startedAt)}-${process.pid}-${randomHex(4)}`;
      const info: TurnInfo = {
        conversation: turn.conversation,
        turn: name,
        startedAt: isoTime(startedAt),
        status: "streaming",
        endpoint: turn.endpoint,
        model: turn.model,
        input: turn.input,
        answer: "",
        ...(turn.replaces === undefined ? {} : { replaces: turn.replaces }),
        pid: process.pid,
      };
      const request = stripStream(turn.request);
      // A folder made just now holds no earlier turn to go on from.
      const stored = madeNow ? { request } : this.kept(folder, request);
      recorder = new TurnRecorder(this.directory, folder, name, info, stored, turn.answeredBy, (line, answer) => {
        this.appendText({ cid: line.cid, turn: line.turn, text: answer.text, ...(answer.cut ? { cut: true } : {}) });
        this.appendIndex(line);
      });
      this.appendIndex(startLine(info));
      this.appendText({ cid: turn.conversation, turn: name, text: inputText(turn.input) });
      // A copy of the list (not of the messages): the caller may go on to add to its own.
      this.lastRequest = { file: join(folder, name + CASSETTE_EXTENSION), messages: [...request.messages] };
      return recorder;
    } catch (error) {
      // A journal already open goes, so that a store that cannot be written is not filled with empty turns.
      recorder?.discard();
      if (isSystemError(error)) throw new StoreWriteError(this.directory, error.message);
      throw error;
    }
  }

  /**
   * A turn's request as its file keeps it: each request of a conversation repeats every message before it, so a turn
   * keeps only the messages after those it has in common with the request of the conversation's newest turn on disk,
   * and names that turn (see `CassetteContinuation`); a conversation's files then grow with its length, not with its
   * square. The whole request is kept when there is no such turn, or it cannot be read.
   */
  private kept(folder: string, request: CassetteRequest): StoredRequest {
    const newest = readdirSync(folder).filter((name) => name.endsWith(CASSETTE_EXTENSION)).sort().at(-1);
    if (newest === undefined) return { request };
    const file = join(folder, newest);
    let earlier: readonly unknown[];
    try {
      earlier = this.lastRequest?.file === file ? this.lastRequest.messages : this.requests.messagesOf(file);
    } catch (error) {
      if (error instanceof CassetteError || isSystemError(error)) return { request };
      throw error;
    }
    const { continues, messages } = continuing(request.messages, earlier, newest);
    return continues === undefined ? { request } : { request: { ...request, messages }, continues };
  }

  /**
   * Rebuilds a lost index or texts file from the turn files, whose caches they are: once per process, and only when
   * one is missing but there are conversations. A rebuilt file is linked into place only while there is still none,
   * so a concurrent process's lines are never overwritten: when one wrote the file first (rebuilt it, or began a
   * turn), the turns it does not name yet go before its lines. Every process that writes them (a turn begun, a
   * conversation removed) looks for a lost one first, so that its own line never stands for the whole store. A store
   * that cannot be written keeps no index, as before.
   */
  private rebuildLostCaches(): void {
    if (this.cachesChecked) return;
    this.cachesChecked = true;
    const lost = [this.index, this.texts].filter((file) => !existsSync(file));
    if (lost.length === 0 || !existsSync(this.root)) return;
    let turns: ReturnType<ConversationStore["cacheLinesOfTurns"]>;
    try {
      turns = this.cacheLinesOfTurns();
    } catch (error) {
      // A store that cannot be read whole lists what it can, as without an index.
      if (!isSystemError(error)) throw error;
      return;
    }
    for (const file of lost) {
      const lines = turns.flatMap(({ key, index, texts }) => {
        const text = file === this.index ? index : texts;
        return text === "" ? [] : [{ key, text }];
      });
      if (lines.length === 0) continue;
      try {
        // Another process changing the file while it is put in place is rare: a few attempts are enough.
        let attempt = 0;
        while (attempt < 10 && !placeRebuilt(file, lines)) attempt += 1;
      } catch (error) {
        if (!isSystemError(error)) throw error;
        this.unplaced.set(file, lines.map((line) => line.text).join(""));
      }
    }
  }

  /**
   * The index and texts lines of every turn on disk, in the order the turns began, as the turns wrote them: in the
   * index each turn's start, then its end; in the texts file its prompt, then its answer (the beginning of a long one).
   */
  private cacheLinesOfTurns(): Array<{ readonly key: string; readonly at: string; readonly index: string; readonly texts: string }> {
    const lines: Array<{ key: string; at: string; index: string; texts: string }> = [];
    for (const id of readdirSync(this.root)) {
      let turns: Array<Turn | DamagedTurnError>;
      try {
        turns = this.turnsOrDamage(id);
      } catch (error) {
        // A conversation removed meanwhile, or not a folder.
        if (error instanceof ConversationError) continue;
        throw error;
      }
      for (const turn of turns) {
        if (turn instanceof DamagedTurnError) continue;
        const ended = turn.endedAt !== undefined && turn.status !== "partial" && turn.status !== "streaming";
        const end: TurnEnd | undefined = ended ? { cid: turn.conversation, turn: turn.turn, ...(gotAnswer(turn) ? {} : { unanswered: true as const }), end: turn.status, at: turn.endedAt ?? "" } : undefined;
        const prompt = inputText(turn.input);
        const cut = turn.answer.length > KEPT_ANSWER_LENGTH;
        const texts: TextLine[] = [
          ...(prompt === "" ? [] : [{ cid: turn.conversation, turn: turn.turn, text: prompt }]),
          ...(ended && turn.answer !== "" ? [{ cid: turn.conversation, turn: turn.turn, text: cut ? turn.answer.slice(0, KEPT_ANSWER_LENGTH) : turn.answer, ...(cut ? { cut: true as const } : {}) }] : []),
        ];
        const jsonLines = (list: ReadonlyArray<IndexLine | TextLine>): string => list.map((line) => `${JSON.stringify(line)}\n`).join("");
        lines.push({ key: turnKey(turn.conversation, turn.turn), at: turn.startedAt, index: jsonLines([startLine(turn), ...(end === undefined ? [] : [end])]), texts: jsonLines(texts) });
      }
    }
    return lines.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  }

  private appendIndex(line: IndexLine): void {
    this.makeFolder();
    appendLine(this.index, line);
  }

  private appendText(line: TextLine): void {
    if (line.text === "") return;
    this.makeFolder();
    appendLine(this.texts, line);
  }

  /** The conversations' folder names; none when there is no folder, `undefined` when it cannot be read. */
  private folderNames(): Set<string> | undefined {
    try {
      return new Set(readdirSync(this.root));
    } catch (error) {
      if (isSystemError(error) && error.code === "ENOENT") return new Set();
      // Unreadable: the index alone is listed, as before.
      if (isSystemError(error)) return undefined;
      throw error;
    }
  }

  /** Makes the store's folder, once per process: a turn's index and text lines then cost a write each, not a mkdir too. */
  private makeFolder(): void {
    if (this.made) return;
    // Looked at first: it is there but on the first run, and a mkdir that fails (EEXIST) costs an exception every run.
    let stats = statSync(this.directory, { throwIfNoEntry: false });
    if (stats === undefined) {
      makeFolder(this.directory, PRIVATE_FOLDER);
      stats = statSync(this.directory);
    }
    // A store an older g4f-rx made (0755 under the usual umask) is closed to others at its top, which covers all below;
    // one another user owns is left alone, as chmod would be refused.
    const { mode, uid } = stats;
    if ((mode & 0o077) !== 0 && uid === process.getuid?.()) chmodSync(this.directory, PRIVATE_FOLDER);
    this.made = true;
  }

  /**
   * Reads the index into one summary per conversation, newest activity first;
   * with a (lower-case) `needle`, also whether its prompts or answers contain it.
   */
  private summaries(needle?: string): Array<{ summary: ConversationSummary; matched: boolean; cut: string[] }> {
    this.rebuildLostCaches();
    interface Building {
      id: string;
      createdAt: string;
      updatedAt: string;
      /**
       * Each turn, in the order they began, with the endpoint and model that answered it; a listing shows those of the
       * latest turn that got an answer (else of the latest), as `-c` goes on with them.
       */
      turns: Map<string, { endpoint: string; model: string; answered: boolean }>;
      firstWords: string;
      matched: boolean;
      /** The turns whose answers the texts file (or an older index) keeps only the beginning of. */
      cut: string[];
    }
    const contains = (value: unknown): boolean => needle !== undefined && typeof value === "string" && value.toLowerCase().includes(needle);
    const conversations = new Map<string, Building>();
    const readIndexLine = (raw: string): void => {
      // A turn's end line says nothing a listing shows (only stores from before the texts file hold an answer there).
      if (needle === undefined && END_LINE.test(raw)) return;
      const line = parseLine(raw);
      if (line === undefined || typeof line.cid !== "string") return;
      const id = line.cid;
      if (line.removed === true) {
        conversations.delete(id);
        return;
      }
      if (typeof line.turn !== "string" || typeof line.at !== "string") return;
      let entry = conversations.get(id);
      const words = typeof line.words === "string" ? line.words : typeof line.prompt === "string" ? oneLine(line.prompt) : undefined;
      if (words !== undefined) {
        if (entry === undefined) {
          entry = { id, createdAt: line.at, updatedAt: line.at, turns: new Map(), firstWords: words, matched: false, cut: [] };
          conversations.set(id, entry);
        }
        entry.turns.set(line.turn, { endpoint: typeof line.endpoint === "string" ? line.endpoint : "", model: typeof line.model === "string" ? line.model : "", answered: true });
        entry.updatedAt = line.at > entry.updatedAt ? line.at : entry.updatedAt;
        entry.matched ||= contains(line.prompt);
      } else if (entry !== undefined) {
        const turn = entry.turns.get(line.turn);
        // The end of a turn another endpoint answered (a fallback), or that got no answer.
        if (turn !== undefined && typeof line.endpoint === "string" && typeof line.model === "string") {
          turn.endpoint = line.endpoint;
          turn.model = line.model;
        }
        if (turn !== undefined && line.unanswered === true) turn.answered = false;
        entry.matched ||= contains(line.answer);
        if (line.answerCut === true) entry.cut.push(line.turn);
      }
    };
    // The index in pieces, not as one string; without a file, the lines this process could not place in it.
    const unplacedIndex = this.unplaced.get(this.index);
    if (!forEachPiece(this.index, (piece) => piece.split("\n").forEach(readIndexLine))) {
      if (unplacedIndex === undefined) return [];
      unplacedIndex.split("\n").forEach(readIndexLine);
    }
    if (needle !== undefined) {
      // Each line is parsed lower-cased, its ids with it: ids are matched lower-cased (they differ by more than case).
      const byId = new Map([...conversations.values()].map((entry) => [entry.id.toLowerCase(), entry]));
      const check = (lowered: string): void => {
        const line = parseLine(lowered);
        const entry = line !== undefined && typeof line.cid === "string" && contains(line.text) ? byId.get(line.cid) : undefined;
        if (entry !== undefined) entry.matched = true;
      };
      // A long answer, whose line holds only its beginning: the rest is searched in its turn's file.
      const noteCut = (lowered: string): void => {
        const line = parseLine(lowered);
        const turnName = line?.turn;
        const entry = typeof line?.cid === "string" ? byId.get(line.cid) : undefined;
        const turn = entry === undefined || typeof turnName !== "string" ? undefined : [...entry.turns.keys()].find((name) => name.toLowerCase() === turnName);
        if (entry !== undefined && turn !== undefined) entry.cut.push(turn);
      };
      // JSON escapes only quotes, backslashes and control characters: a needle without them is found in the file's
      // raw text, so only the lines where it occurs are parsed. An ASCII one is found by a pattern that ignores case
      // (Unicode case folding finds all that lower-casing does, but a dotted capital I, which lower-cases to two
      // characters), without lower-casing the text.
      const inRawText = JSON.stringify(needle).slice(1, -1) === needle;
      const pattern = inRawText && /^[\x20-\x7e]+$/.test(needle) ? new RegExp(needle.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&"), "giu") : undefined;
      const lineAt = (text: string, at: number): { readonly start: number; readonly end: number } => {
        const end = text.indexOf("\n", at);
        return { start: text.lastIndexOf("\n", at) + 1, end: end < 0 ? text.length : end };
      };
      const searchPiece = (piece: string): void => {
        if (piece.includes('"cut":true}')) for (const line of piece.split("\n")) if (line.endsWith('"cut":true}')) noteCut(line.toLowerCase());
        if (!inRawText) {
          for (const line of piece.toLowerCase().split("\n")) check(line);
        } else if (pattern !== undefined && !piece.includes("\u0130")) {
          pattern.lastIndex = 0;
          for (let match = pattern.exec(piece); match !== null; match = pattern.exec(piece)) {
            const { start, end } = lineAt(piece, match.index);
            check(piece.slice(start, end).toLowerCase());
            pattern.lastIndex = end;
          }
        } else {
          const lower = piece.toLowerCase();
          for (let hit = lower.indexOf(needle); hit >= 0; ) {
            const { start, end } = lineAt(lower, hit);
            check(lower.slice(start, end));
            hit = lower.indexOf(needle, end);
          }
        }
      };
      // The texts file in pieces, as the index; no file: a store from before it, or nothing asked yet.
      if (!forEachPiece(this.texts, searchPiece)) {
        const unplacedTexts = this.unplaced.get(this.texts);
        if (unplacedTexts !== undefined) searchPiece(unplacedTexts);
      }
    }
    const titles = this.titles();
    if (needle !== undefined) {
      for (const [id, title] of titles) {
        const entry = conversations.get(id);
        if (entry !== undefined && contains(title)) entry.matched = true;
      }
    }
    // A folder removed by hand (rm -r) leaves its lines in the index and texts files: the folders are the truth.
    const folders = this.folderNames();
    return [...conversations.values()]
      .filter((entry) => folders === undefined || folders.has(entry.id))
      .sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : a.updatedAt > b.updatedAt ? -1 : a.id < b.id ? 1 : -1))
      .map((entry) => {
        const turns = [...entry.turns.values()];
        const shown = turns.findLast((turn) => turn.answered) ?? turns.at(-1);
        return { entry, endpoint: shown?.endpoint ?? "", model: shown?.model ?? "" };
      })
      .map(({ entry, endpoint, model }) => ({
        summary: {
          id: entry.id,
          createdAt: entry.createdAt,
          updatedAt: entry.updatedAt,
          endpoint,
          model,
          turns: entry.turns.size,
          firstWords: entry.firstWords,
          ...(titles.has(entry.id) ? { title: titles.get(entry.id) } : {}),
        },
        matched: entry.matched,
        cut: entry.cut,
      }));
  }

}

/**
 * Writes one turn: the journal as it streams, then the whole cassette,
 * atomically, when `finish` is called. `finish` is safe to call once only;
 * later calls do nothing. The frames live on disk only, and memory holds the
 * answer assembled so far only up to `KEPT_ANSWER_LENGTH`: past it, the
 * answer is read back from the frames, so memory stays flat however long the
 * answer grows.
 */
export class TurnRecorder {
  private readonly chunks = new Subject<ChatCompletionChunk>();
  /** The answer so far; `undefined` once it outgrew `KEPT_ANSWER_LENGTH`. */
  private assembled: ChatCompletionSnapshot | undefined = EMPTY_SNAPSHOT;
  private answerLength = 0;
  /** When the answer outgrew the limit: its beginning, for the index. */
  private answerStart = "";
  /** The journal's descriptor; `undefined` once closed. */
  private journal: number | undefined;
  /** Where the journal's frames start: after its header line. */
  private readonly framesStart: number;
  private journalLength: number;
  private finished = false;
  /** Whether the conversation was removed while the turn streamed. */
  private removed = false;
  /** Why the turn could not be written, once a write failed (a full disk, say): nothing more is written then. */
  private lost: StoreWriteError | undefined;
  private readonly start = monotonicMs();

  constructor(
    /** The store's data directory, named when the turn cannot be written. */
    private readonly directory: string,
    private readonly folder: string,
    readonly name: string,
    private info: TurnInfo,
    private readonly request: StoredRequest,
    private readonly answeredBy: (() => { readonly endpoint: string; readonly model: string }) | undefined,
    /** Keeps the turn's end line, with its answer (`cut`: only the beginning of a long one) for search. */
    private readonly index: (line: TurnEnd, answer: { readonly text: string; readonly cut: boolean }) => void,
  ) {
    this.chunks.pipe(accumulateMessage()).subscribe((snapshot) => (this.assembled = snapshot));
    const journal = openSync(this.journalFile, "wx+", PRIVATE_FILE);
    this.journal = journal;
    try {
      this.framesStart = this.journalLength = writeSync(journal, header(info, request) + "\n");
    } catch (error) {
      // Without its header the journal is an empty turn: it goes (a full disk leaves no 0-byte files behind).
      this.discard();
      throw error;
    }
  }

  /** Why the turn was not kept, when writing it failed; `undefined` otherwise. */
  get notKept(): StoreWriteError | undefined {
    return this.lost;
  }

  /** Keeps one chunk as it arrives. */
  chunk(chunk: ChatCompletionChunk): void {
    this.frame({ at: Math.round(monotonicMs() - this.start), data: chunk });
    if (this.assembled === undefined) return;
    this.chunks.next(chunk);
    this.answerLength += contentText(chunk).length;
    if (this.answerLength > KEPT_ANSWER_LENGTH) {
      this.answerStart = textOf(assistantMessage(this.assembled).content).slice(0, KEPT_ANSWER_LENGTH);
      this.assembled = undefined;
      this.chunks.complete();
    }
  }

  /**
   * Ends the turn with its status, and for an error its message. Returns what was kept, or `undefined` when nothing
   * was: the conversation was removed (`logs rm`) while the turn streamed, so none of its words return, or the turn
   * could not be written (`notKept` says why).
   */
  finish(status: Exclude<TurnStatus, "partial" | "streaming">, error?: string): TurnInfo | undefined {
    if (this.finished) return this.removed || this.lost !== undefined ? undefined : this.info;
    this.finished = true;
    if (status === "complete") this.frame({ at: Math.round(monotonicMs() - this.start), data: "[DONE]" });
    const journal = this.journal;
    if (journal === undefined) {
      this.chunks.complete();
      return undefined;
    }
    const snapshot = this.assembled;
    const by = this.answeredBy?.();
    const moved = by !== undefined && (by.endpoint !== this.info.endpoint || by.model !== this.info.model) ? { endpoint: by.endpoint, model: by.model } : undefined;
    const ended = { status, endedAt: isoTime(new Date()), ...moved, ...(error === undefined ? {} : { error }) };
    if (snapshot === undefined) {
      this.info = { ...this.info, ...ended, answer: "", answerInFrames: true };
    } else {
      const reply = assistantMessage(snapshot);
      this.info = { ...this.info, ...ended, answer: textOf(reply.content), reply, ...(snapshot.usage === undefined ? {} : { usage: snapshot.usage }) };
    }
    const final = join(this.folder, this.name + CASSETTE_EXTENSION);
    const temporary = `${final}.${process.pid}.tmp`;
    try {
      const descriptor = openSync(temporary, "w", PRIVATE_FILE);
      try {
        // No fsync: the rename is atomic against a crashed process, which is the failure this guards against; an
        // fsync per turn costs more than the turn's own writes.
        writeSync(descriptor, header(this.info, this.request) + "\n");
        copyRange(journal, this.framesStart, this.journalLength, descriptor);
      } finally {
        closeSync(descriptor);
      }
      renameSync(temporary, final);
      unlinkSync(this.journalFile);
    } catch (failure) {
      if (isObject(failure) && failure.code === "ENOENT") {
        // The conversation's folder is gone: removed while the answer streamed.
        this.removed = true;
      } else if (isSystemError(failure)) {
        rmSync(temporary, { force: true });
        this.lose(failure);
      } else {
        throw failure;
      }
    } finally {
      this.closeJournal();
      this.chunks.complete();
    }
    if (this.removed || this.lost !== undefined) return undefined;
    const answer = snapshot === undefined ? { text: this.answerStart, cut: true } : { text: this.info.answer, cut: false };
    try {
      const unanswered = gotAnswer(this.info) || snapshot === undefined ? {} : { unanswered: true as const };
      this.index({ cid: this.info.conversation, turn: this.name, ...moved, ...unanswered, end: status, at: this.info.endedAt ?? "" }, answer);
    } catch (failure) {
      // The turn's file is kept, and it is the truth: the index and texts files are caches of it.
      if (!isSystemError(failure)) throw failure;
    }
    return this.info;
  }

  /** Closes and removes the journal, keeping nothing of the turn (it could not be begun). */
  discard(): void {
    this.closeJournal();
    rmSync(this.journalFile, { force: true });
    // A conversation left with no turn goes too (a new one whose first turn could not be written): listed, -c would go
    // on with it, empty, on the default endpoint. It stays when it holds other turns.
    try {
      rmdirSync(this.folder);
    } catch (error) {
      if (!isSystemError(error)) throw error;
    }
  }

  private get journalFile(): string {
    return join(this.folder, this.name + PARTIAL_EXTENSION);
  }

  private frame(frame: CassetteFrame): void {
    if (this.journal === undefined) return;
    try {
      this.journalLength += writeSync(this.journal, frameLine(frame) + "\n");
    } catch (failure) {
      if (!isSystemError(failure)) throw failure;
      this.lose(failure);
    }
  }

  /** Gives the turn up after a failed write: its journal goes, and the answer streams on without it. */
  private lose(failure: NodeJS.ErrnoException): void {
    this.lost = new StoreWriteError(this.directory, failure.message);
    try {
      this.discard();
    } catch {
      // A journal that cannot even be removed stays, and is read back as a partial turn.
    }
  }

  private closeJournal(): void {
    if (this.journal === undefined) return;
    closeSync(this.journal);
    this.journal = undefined;
  }
}

const EMPTY_SNAPSHOT: ChatCompletionSnapshot = { id: "", created: 0, model: "", choices: [] };

/** Copies bytes `from`–`to` of the file `source` to the end of `target`, a block at a time. */
function copyRange(source: number, from: number, to: number, target: number): void {
  const block = Buffer.allocUnsafe(Math.min(1 << 20, Math.max(to - from, 1)));
  for (let position = from; position < to; ) {
    const read = readSync(source, block, 0, Math.min(block.length, to - position), position);
    if (read === 0) throw new Error(`the journal ended at byte ${position}, before byte ${to}`);
    for (let written = 0; written < read; ) written += writeSync(target, block, written, read - written);
    position += read;
  }
}

/**
 * The messages a conversation's turns add up to: each turn's input, then
 * its answer. A system message in a later turn replaces the earlier one (an
 * empty one removes it).
 * A turn that got no answer at all (it failed before the first word) is
 * left out, so the question is not asked twice when the user tries again,
 * and so is a turn a later one replaces (asked again with `/retry`), and one
 * another process is still answering (`streaming`): its answer so far is not
 * the answer. A dead process's `partial` turn stays in.
 */
export function conversationMessages(turns: readonly Pick<TurnInfo, "turn" | "input" | "answer" | "reply" | "replaces" | "status">[]): ChatCompletionMessageParam[] {
  let system: ChatCompletionMessageParam | undefined;
  const rest: ChatCompletionMessageParam[] = [];
  const replaced = new Set(turns.flatMap((turn) => (turn.replaces === undefined ? [] : [turn.replaces])));
  for (const turn of turns) {
    const reply = replyOf(turn);
    if (replaced.has(turn.turn) || turn.status === "streaming" || !gotAnswer(turn)) continue;
    for (const message of turn.input) {
      // An empty one clears it (chat's /system with no text).
      if (message.role === "system") system = message.content === "" ? undefined : message;
      else rest.push(message);
    }
    rest.push(reply);
  }
  return system === undefined ? rest : [system, ...rest];
}

/**
 * A turn's answer as the next request carries it: its reply (tool calls and all) with the text its `answer` holds,
 * which `logs show` prints, so that an answer edited by hand in the turn's file is the one the conversation goes on
 * with.
 */
function replyOf(turn: Pick<TurnInfo, "answer" | "reply">): ChatCompletionMessageParam {
  const { reply, answer } = turn;
  if (reply === undefined) return { role: "assistant", content: answer };
  if (reply.role !== "assistant" || textOf(reply.content) === answer) return reply;
  return { ...reply, content: answer };
}

/** Whether a turn got any answer (text or tool calls), rather than failing before the first word. */
export function gotAnswer(turn: Pick<TurnInfo, "answer" | "reply">): boolean {
  return turn.answer !== "" || (turn.reply !== undefined && "tool_calls" in turn.reply);
}

const OK_RESPONSE: CassetteResponse = { status: 200, headers: { "content-type": "text/event-stream" } };

/** A turn's request as its file keeps it (see `ConversationStore.kept`). */
interface StoredRequest {
  readonly request: CassetteRequest;
  readonly continues?: CassetteContinuation;
}

function header(info: TurnInfo, { request, continues }: StoredRequest): string {
  return headerLine({ recordedAt: info.startedAt, request, continues, response: OK_RESPONSE }, { turn: info });
}

function stripStream(request: CassetteRequest): CassetteRequest {
  const copy = { ...request };
  delete copy.stream;
  delete copy.stream_options;
  return copy;
}

/** What `read` gives, or a `DamagedTurnError` when `file`'s text is not a turn. */
function readOrDamage<T>(file: string, read: () => T): T | DamagedTurnError {
  try {
    return read();
  } catch (error) {
    if (error instanceof DamagedTurnError) return error;
    // The cassette reader's message is `file:line: problem`; the problem alone is kept beside the file and line.
    if (error instanceof CassetteError) return new DamagedTurnError(error.file, error.line, error.message.slice(`${error.file}:${error.line}: `.length));
    if (error instanceof SyntaxError) return new DamagedTurnError(file, 1, `not valid JSON (${error.message})`);
    throw error;
  }
}

/** Reads a turn's file; `requests` remembers its request, for a turn added after it. */
function readTurn(file: string, requests?: CassetteReader): Turn {
  const text = readFileSync(file, "utf8");
  const { cassette, header } = requests === undefined ? parseCassetteLines(text, file) : requests.parseLines(file, text);
  const info = turnInfo(header, file);
  if (info.answerInFrames !== true) return { ...info, file };
  // A long answer: the header left it to the frames.
  return { ...info, ...answerOfFrames(cassette), file };
}

/** The answer a cassette's frames add up to, as a turn's header holds it. */
function answerOfFrames(cassette: Cassette): Pick<TurnInfo, "answer" | "reply" | "usage"> {
  const snapshot = assemble(cassette.frames.map((frame) => frame.data).filter(isChunk));
  const reply = assistantMessage(snapshot);
  return { answer: textOf(reply.content), reply, ...(snapshot.usage === undefined ? {} : { usage: snapshot.usage }) };
}

/** A journal without its cassette: a turn another process is answering, or one whose process died. */
/**
 * `undefined` for a turn that has nothing to read yet: its process has just created the journal and not yet
 * written the header line. A journal that its turn's end removed meanwhile is read as the finished cassette.
 */
function readJournal(folder: string, name: string): Turn | undefined {
  const file = join(folder, name);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const cassette = join(folder, name.slice(0, -PARTIAL_EXTENSION.length) + CASSETTE_EXTENSION);
    if (isObject(error) && error.code === "ENOENT" && existsSync(cassette)) return readTurn(cassette);
    throw error;
  }
  if (!text.includes("\n")) return undefined;
  // The last line may be cut short by the crash; every whole line before it counts.
  const lines = text.split("\n");
  const whole = text.endsWith("\n") ? lines : lines.slice(0, -1);
  const { cassette, header } = parseCassetteLines(whole.join("\n"), file);
  const info = turnInfo(header, file);
  return { ...info, status: processAlive(info.pid) ? "streaming" : "partial", ...answerOfFrames(cassette), file };
}

function turnInfo(header: Record<string, unknown>, file: string): TurnInfo {
  const { turn } = header;
  if (!isTurnInfo(turn)) throw new DamagedTurnError(file, 1, 'not a g4f-rx conversation turn (the header has no "turn")');
  return turn;
}

function isTurnInfo(value: unknown): value is TurnInfo {
  return (
    isObject(value) &&
    typeof value.conversation === "string" &&
    typeof value.turn === "string" &&
    typeof value.startedAt === "string" &&
    typeof value.status === "string" &&
    typeof value.endpoint === "string" &&
    typeof value.model === "string" &&
    Array.isArray(value.input) &&
    typeof value.answer === "string" &&
    typeof value.pid === "number"
  );
}

function isChunk(value: unknown): value is ChatCompletionChunk {
  return isObject(value) && Array.isArray(value.choices);
}

function assemble(chunks: readonly ChatCompletionChunk[]): ChatCompletionSnapshot {
  let snapshot: ChatCompletionSnapshot = { id: "", created: 0, model: "", choices: [] };
  // Synchronous: `from` an array emits and completes before `subscribe` returns.
  from(chunks)
    .pipe(accumulateMessage(), last(undefined, snapshot))
    .subscribe((value) => (snapshot = value));
  return snapshot;
}

/** An error from the system (`ENOSPC`, `EROFS`, `ENOTDIR`…), as `node:fs` throws them. */
function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && "code" in error && typeof error.code === "string";
}

/** `2026-11-30T04:16:12.345Z` → `20261130T041612345Z`: sortable, and safe in a file name. */
/**
 * Appends one line in one write with O_APPEND, so lines of concurrent
 * processes stay whole. It starts with a newline too: a line cut short
 * (a full disk, a crash) then never swallows the next one, which would be
 * lost; the blank lines this leaves are skipped.
 */
function appendLine(file: string, line: IndexLine | TextLine): void {
  appendFileSync(file, `\n${JSON.stringify(line)}\n`, { mode: PRIVATE_FILE });
}

/** The index line that begins a turn: its prompt's first words, and the endpoint and model it was kept under. */
function startLine(info: TurnInfo): IndexLine {
  const prompt = inputText(info.input);
  const words = firstCodePoints(oneLine(firstCodePoints(prompt, INDEX_WORDS * 2)), INDEX_WORDS).trimEnd();
  return { cid: info.conversation, turn: info.turn, at: info.startedAt, endpoint: info.endpoint, model: info.model, words, pid: info.pid };
}

/**
 * An entry of chat's history as a line of its file: as it is, unless it has several lines or starts with a quote, when
 * it is a JSON string (a line typed before entries could have several lines is read back as it is, unless it is a
 * JSON string itself).
 */
function historyLine(entry: string): string {
  return /[\n\r]/.test(entry) || entry.startsWith('"') ? JSON.stringify(entry) : entry;
}

/** A line of chat's history file as the entry it holds (see `historyLine`). */
function historyEntry(line: string): string {
  if (!line.startsWith('"')) return line;
  try {
    const entry: unknown = JSON.parse(line);
    return typeof entry === "string" ? entry : line;
  } catch {
    return line;
  }
}

/** Why `title` cannot name a conversation, or `undefined` when it can. */
export function titleProblem(title: string): string | undefined {
  if (title.trim() === "") return "a title needs some text";
  if (title.trim() !== title) return `the title "${title}" starts or ends with a space`;
  if (/\p{Cc}/u.test(title)) return `the title ${JSON.stringify(title)} holds a control character (a newline, a tab…)`;
  if ([...title].length > TITLE_LENGTH) return `the title "${firstCodePoints(title, 20)}…" is longer than ${TITLE_LENGTH} characters`;
  if (ID_SHAPE.test(title)) return `the title "${title}" would read as a conversation id`;
  return undefined;
}

function titleTaken(title: string, holder: string): string {
  return `the title "${title}" names conversation ${holder} already: continue it with --cid "${title}", or choose another title (g4f-rx logs rename ${holder} NEW renames it)`;
}

/**
 * A title's file name in the titles folder: the title with `%` and `/` written as `%25` and `%2F`, and a leading `.`
 * as `%2E` (so that names starting with a dot are never titles: temporary files are). `undefined` for a title that
 * cannot be one.
 */
function titleFileName(title: string): string | undefined {
  if (titleProblem(title) !== undefined) return undefined;
  return title.replace(/[%/]/g, (character) => (character === "%" ? "%25" : "%2F")).replace(/^\./, "%2E");
}

/** The title a file name of the titles folder stands for, or `undefined` for another file. */
function titleOfFileName(name: string): string | undefined {
  if (name.startsWith(".")) return undefined;
  const title = name.replace(/%(25|2F|2E)/g, (_escape, code: string) => (code === "25" ? "%" : code === "2F" ? "/" : "."));
  return titleFileName(title) === name ? title : undefined;
}

/** The conversation id a title's link points to; `undefined` when there is no such link. */
function linkedConversation(file: string): string | undefined {
  try {
    return basename(readlinkSync(file));
  } catch {
    return undefined;
  }
}

/**
 * Removes a title's link whose conversation is gone (`holder`, read from it before). It is moved aside first (atomic),
 * then checked: when another process made a new link of that name in between, that one is put back.
 */
function removeStaleLink(file: string, holder: string | undefined): void {
  const aside = join(file, "..", `.stale-${process.pid}-${randomHex(6)}`);
  try {
    renameSync(file, aside);
  } catch (error) {
    // Another process removed it first.
    if (isSystemError(error) && error.code === "ENOENT") return;
    throw error;
  }
  const moved = linkedConversation(aside);
  try {
    if (moved !== undefined && moved !== holder) symlinkSync(join("..", CONVERSATIONS, moved), file);
  } catch (error) {
    // Yet another process named its conversation so meanwhile: the title is that one's.
    if (!(isSystemError(error) && error.code === "EEXIST")) throw error;
  } finally {
    rmSync(aside, { force: true });
  }
}

function turnKey(conversation: string, turn: string): string {
  return `${conversation}/${turn}`;
}

/**
 * Puts a rebuilt index or texts file in place: linked in while there is none (atomic: a concurrent rebuild or turn makes the link
 * fail), else before the lines another process wrote meanwhile, leaving out the turns they name. Says whether it is
 * done; `false` when the index changed meanwhile, to try again.
 */
function placeRebuilt(file: string, lines: ReadonlyArray<{ readonly key: string; readonly text: string }>): boolean {
  let before: string | undefined;
  try {
    before = readFileSync(file, "utf8");
  } catch (error) {
    if (!(isSystemError(error) && error.code === "ENOENT")) throw error;
  }
  if (before === undefined) {
    const temporary = `${file}.${process.pid}.tmp`;
    try {
      writeFileSync(temporary, lines.map((line) => line.text).join(""), { mode: PRIVATE_FILE });
      linkSync(temporary, file);
      return true;
    } catch (error) {
      if (isSystemError(error) && error.code === "EEXIST") return false;
      throw error;
    } finally {
      // Also after a failed write (a full disk): no temporary file stays.
      rmSync(temporary, { force: true });
    }
  }
  const named = new Set(
    before.split("\n").flatMap((raw) => {
      const line = parseLine(raw);
      return typeof line?.cid === "string" && typeof line.turn === "string" ? [turnKey(line.cid, line.turn)] : [];
    }),
  );
  const missing = lines.filter((line) => !named.has(line.key));
  return missing.length === 0 || replaceIfUnchanged(file, before, missing.map((line) => line.text).join("") + before);
}

/**
 * Rewrites `file` without the lines `drop` picks (and blank ones), through a
 * temporary file renamed into place. Appends by other processes go on
 * meanwhile: when the file grew while it was being filtered, it is read
 * again, so their lines are not lost. No file: nothing to do.
 */
function withoutLines(file: string, drop: (line: string) => boolean): void {
  for (let attempt = 0; attempt < 10; attempt += 1) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      return;
    }
    const kept = text.split("\n").filter((line) => line !== "" && !drop(line));
    if (replaceIfUnchanged(file, text, kept.map((line) => `${line}\n`).join(""))) return;
  }
}

/**
 * Replaces `file`, read as `before`, with `after` (a temporary file renamed into place), unless it grew meanwhile
 * (another process appended a line, which the rename would lose). Says whether it replaced it.
 */
function replaceIfUnchanged(file: string, before: string, after: string): boolean {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, after, { mode: PRIVATE_FILE });
  if (statSync(file).size === Buffer.byteLength(before)) {
    renameSync(temporary, file);
    return true;
  }
  unlinkSync(temporary);
  return false;
}

/** One line of an index or texts file as an object; `undefined` for a blank line or one cut short by a crash. */
function parseLine(raw: string): Record<string, unknown> | undefined {
  if (raw === "") return undefined;
  try {
    const line: unknown = JSON.parse(raw);
    return isObject(line) ? line : undefined;
  } catch {
    // A line cut short by a crash: the turn files still hold the truth.
    return undefined;
  }
}

/** The lines of a file, the last first, read in blocks from its end; none when there is no file. */
function* linesFromEnd(file: string, blockSize = 64 * 1024): Generator<string> {
  let descriptor: number;
  try {
    descriptor = openSync(file, "r");
  } catch {
    return;
  }
  try {
    let position = fstatSync(descriptor).size;
    let rest = Buffer.alloc(0);
    while (position > 0) {
      const size = Math.min(blockSize, position);
      position -= size;
      const block = Buffer.alloc(size);
      readSync(descriptor, block, 0, size, position);
      // Split on the newline byte, so a UTF-8 character cut by the block edge is joined before it is decoded.
      let data = Buffer.concat([block, rest]);
      let end = data.length;
      for (let index = data.length - 1; index >= 0; index -= 1) {
        if (data[index] !== 0x0a) continue;
        yield data.subarray(index + 1, end).toString("utf8");
        end = index;
      }
      data = data.subarray(0, end);
      rest = Buffer.from(data);
    }
    if (rest.length > 0) yield rest.toString("utf8");
  } finally {
    closeSync(descriptor);
  }
}

let lastStart = 0;

/**
 * Now, but later than this process's last turn: turn names sort by their time, and two turns begun in the same
 * millisecond (a fast test, a failing endpoint) would otherwise be ordered by their random part.
 */
function nextStartTime(): Date {
  lastStart = Math.max(Date.now(), lastStart + 1);
  return new Date(lastStart);
}

function compactTime(date: Date): string {
  return isoTime(date).replace(/[-:.]/g, "");
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((part) => (isObject(part) && typeof part.text === "string" ? part.text : "")).join("");
}

/** The user's words of a turn, for the index. */
function inputText(input: readonly ChatCompletionMessageParam[]): string {
  return input
    .filter((message) => message.role === "user")
    .map((message) => textOf(message.content))
    .join("\n");
}

/**
 * The first `count` code points of `text`, so an emoji is never cut in half (a lone surrogate, shown as U+FFFD). Only
 * the beginning of a long text is walked.
 */
export function firstCodePoints(text: string, count: number): string {
  let end = 0;
  let taken = 0;
  for (const character of text) {
    if (taken === count) break;
    end += character.length;
    taken += 1;
  }
  return text.slice(0, end);
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/** A monotonic clock in milliseconds; the global `performance` would load `perf_hooks` into every command. */
function monotonicMs(): number {
  const [seconds, nanoseconds] = process.hrtime();
  return seconds * 1000 + nanoseconds / 1e6;
}

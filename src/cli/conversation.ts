import type { ChatCompletionChunk, ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { type MonoTypeOperatorFunction, defer } from "rxjs";
import { withoutUnansweredToolCalls } from "../../operators/index.js";
import { ConversationError, ConversationRemovedError, ConversationStore, DamagedTurnError, StoreWriteError, type Turn, type TurnInfo, type TurnRecorder, conversationMessages, dataDirectory, recordTurn } from "../conversations/index.js";
import type { Environment } from "../endpoints.js";
import type { CassetteRequest } from "../replay/cassette.js";
import type { CliOptions } from "./options.js";

/** The environment variable that turns the log off, like `--no-log`. */

/** The conversation an exchange belongs to: its earlier turns, and how to keep the next ones. */
export interface ConversationPlan {
  /** The conversation's id; `undefined` when nothing is kept and nothing continued. */
  readonly id: string | undefined;
  /** The messages of the earlier turns (none for a new conversation). */
  readonly history: ChatCompletionMessageParam[];
  /** The last question of a continued conversation, for chat's `/retry`: its turn, what it added, and the messages before it. */
  readonly last?: LastQuestion | undefined;
  /** Keeps the answer to `request` passing through as a turn that added `input` (does nothing with `--no-log`). */
  record(turn: {
    readonly endpoint: string;
    readonly model: string;
    readonly input: ChatCompletionMessageParam[];
    readonly request: CassetteRequest;
    /** The turn this one asks again. */
    readonly replaces?: string | undefined;
    /** Which endpoint and model answered, when the turn ends (another than `endpoint` after a fallback). */
    readonly answeredBy?: (() => { readonly endpoint: string; readonly model: string }) | undefined;
  }): MonoTypeOperatorFunction<ChatCompletionChunk>;
}

/** A question asked already: the turn that asked it, the messages it added, and those it was sent after. */
export interface LastQuestion {
  readonly turn: string;
  readonly input: ChatCompletionMessageParam[];
  readonly before: ChatCompletionMessageParam[];
}

/**
 * The last question of a conversation's turns, as chat's `/retry` asks it again: that of the last turn no later one
 * replaces (another process's turn still streaming is not the conversation's yet), sent after the turns before it.
 */
export function lastQuestion(turns: readonly Turn[]): LastQuestion | undefined {
  const replaced = new Set(turns.flatMap((turn) => (turn.replaces === undefined ? [] : [turn.replaces])));
  const index = turns.findLastIndex((turn) => turn.status !== "streaming" && !replaced.has(turn.turn));
  const turn = turns[index];
  if (turn === undefined) return undefined;
  // The turns it replaced are left out of its context, as they are left out of the conversation.
  return { turn: turn.turn, input: turn.input, before: conversationMessages(turns.slice(0, index).filter((earlier) => !replaced.has(earlier.turn))) };
}

/** Whether exchanges are kept: not with `--no-log` or `G4F_RX_NO_LOG=1` (see the option table), nor for a `--replay` (it is one already). */
export function logging(options: Pick<CliOptions, "log" | "replay">): boolean {
  return options.log && options.replay === undefined;
}

/** The store of this environment, or `undefined` when it has neither `XDG_DATA_HOME` nor `HOME`. */
export function storeFor(env: Environment): ConversationStore | undefined {
  const directory = dataDirectory(env);
  return directory === undefined ? undefined : new ConversationStore(directory);
}

/**
 * The system prompt a question adds: `-s` or the role's (`-r`), or for a new conversation the config file's default.
 * A continued conversation keeps its own unless `-s` or a role is given.
 */
export function systemPromptToSend(options: Pick<CliOptions, "system" | "continue" | "cid" | "sources">): string | undefined {
  const continuing = options.continue || options.cid !== undefined;
  if (options.system === undefined || options.system === "") return undefined;
  const given = options.sources["system"] === "flag" || options.sources["system"] === "role";
  return continuing && !given ? undefined : options.system;
}

/** What the command says when a turn was not kept, because its conversation was removed while it streamed. */
export const TURN_NOT_KEPT = "the conversation was removed (logs rm) while this answer streamed, so it is not kept";

/** What the command says when the conversation was removed before a turn began: it stays removed. */
export const CONVERSATION_REMOVED = "the conversation was removed (logs rm), so this answer is not kept, nor are later ones of it";

/** What became of a turn: kept, or not, with the sentence stderr says about it. */
export type TurnOutcome = { readonly kept: TurnInfo } | { readonly notKept: string };

/** What the command says when the data directory cannot be written: the answer goes on, and how to stop trying. */
export function turnNotWritten(error: StoreWriteError): string {
  return `${error.message}; the answer is not affected (--no-log, or G4F_RX_NO_LOG=1, stops keeping conversations)`;
}

/**
 * What the command says when the conversation to continue has a turn whose file cannot be read: going on without that
 * turn would silently change the conversation, so nothing is sent.
 */
export function cannotContinue(error: DamagedTurnError): string {
  return `cannot continue this conversation: a turn cannot be read: ${error.message}. Nothing was sent: move that file out of the conversation's folder to go on without the turn, or ask without -c/--cid`;
}

/**
 * The endpoint (base URL) and model of the last turn of the conversation
 * `-c` or `--cid` continues that got an answer (else of its last turn), so a
 * turn that failed before its first word (a dead endpoint, a mistyped `-m`)
 * does not move the conversation; `undefined` when none is continued, or
 * when it cannot be found (`planConversation` then says why).
 */
export function continuedTurn(options: Pick<CliOptions, "continue" | "cid">, env: Environment): { readonly endpoint: string; readonly model: string } | undefined {
  const store = storeFor(env);
  if (store === undefined || (!options.continue && options.cid === undefined)) return undefined;
  try {
    const id = options.cid === undefined ? store.latest() : store.resolveId(options.cid);
    const last = id === undefined ? undefined : store.lastAnsweredTurn(id);
    return last === undefined ? undefined : { endpoint: last.endpoint, model: last.model };
  } catch (error) {
    // A damaged turn is refused by `planConversation`, with its file and line.
    if (error instanceof ConversationError || error instanceof DamagedTurnError) return undefined;
    throw error;
  }
}

/**
 * The conversation of an exchange: a new one, the latest (`-c`) or a given
 * one (`--cid`), whose earlier turns the next request carries, on any
 * endpoint or model. Throws `ConversationError` for a conversation that
 * cannot be continued, and `DamagedTurnError` for one with a turn that cannot be read (see `cannotContinue`).
 */
export function planConversation(
  options: Pick<CliOptions, "continue" | "cid" | "log" | "replay" | "title">,
  env: Environment,
  /**
   * Gets each turn kept, or why one was not (see `TURN_NOT_KEPT`, `turnNotWritten`). A data directory that cannot be
   * written is said once per plan: a chat does not repeat it at every question.
   */
  onTurn: (outcome: TurnOutcome) => void = () => undefined,
): ConversationPlan {
  const store = storeFor(env);
  const keep = logging(options) && store !== undefined;
  const continuing = options.continue || options.cid !== undefined;
  if (continuing && store === undefined) {
    throw new ConversationError("cannot continue a conversation: neither XDG_DATA_HOME nor HOME is set, so none was kept");
  }
  let id: string | undefined;
  let history: ChatCompletionMessageParam[] = [];
  let last: LastQuestion | undefined;
  if (store !== undefined && continuing) {
    id = options.cid === undefined ? store.latest() : store.resolveId(options.cid);
    if (id === undefined) throw new ConversationError(`no conversation to continue yet in ${store.directory} (ask something first, without -c)`);
    const turns = store.turns(id);
    history = conversationMessages(turns);
    last = lastQuestion(turns);
  }
  // A title is checked before anything is sent (a taken one is a usage error), and given with the first turn kept, when
  // the conversation's folder is on disk.
  let title = options.title;
  if (title !== undefined) {
    if (store === undefined) throw new ConversationError("cannot name a conversation: neither XDG_DATA_HOME nor HOME is set, so none is kept");
    if (!keep) throw new ConversationError("--title names a kept conversation, and this one is not kept");
    store.checkTitle(title, id);
  }
  if (keep && id === undefined) id = store.newId();
  if (!keep || id === undefined) return { id, history, last, record: () => (chunks) => chunks };
  const conversation = id;
  /** Names the conversation once its first turn of this plan is begun; a title another process took meanwhile is said. */
  const giveTitle = (): void => {
    if (title === undefined) return;
    const wanted = title;
    title = undefined;
    try {
      store.setTitle(conversation, wanted);
    } catch (error) {
      // Another process took the title meanwhile, or the store cannot be written: the answer goes on all the same.
      if (!(error instanceof ConversationError || (error instanceof Error && "code" in error))) throw error;
      onTurn({ notKept: `the conversation is kept, but not as "${wanted}": ${error.message}` });
    }
  };
  let saidNotWritten = false;
  const notWritten = (error: StoreWriteError): void => {
    if (!saidNotWritten) onTurn({ notKept: turnNotWritten(error) });
    saidNotWritten = true;
  };
  // Once the conversation is on disk, a turn never brings it back after a `logs rm` (a chat left open on it).
  let onDisk = continuing;
  let saidRemoved = false;
  return {
    id,
    history,
    last,
    record: (turn) => (chunks) =>
      defer(() => {
        let recorder: TurnRecorder;
        try {
          recorder = store.startTurn({ conversation, ...turn, continues: onDisk });
        } catch (error) {
          if (error instanceof ConversationRemovedError) {
            if (!saidRemoved) onTurn({ notKept: CONVERSATION_REMOVED });
            saidRemoved = true;
            return chunks;
          }
          if (!(error instanceof StoreWriteError)) throw error;
          notWritten(error);
          return chunks;
        }
        onDisk = true;
        giveTitle();
        return chunks.pipe(
          recordTurn(recorder, (info, notKept) => {
            if (notKept !== undefined) notWritten(notKept);
            else onTurn(info === undefined ? { notKept: TURN_NOT_KEPT } : { kept: info });
          }),
        );
      }),
  };
}

/**
 * The history, then the input; a system message in the input replaces the history's, and an empty one removes it
 * (it stays in the turn's input, so the conversation keeps it removed). Tool calls no tool answered are left out of
 * the history sent (`withoutUnansweredToolCalls`, the operators' rule): the command runs no tools.
 */
export function withInput(history: readonly ChatCompletionMessageParam[], input: readonly ChatCompletionMessageParam[]): ChatCompletionMessageParam[] {
  const system = input.find((message) => message.role === "system");
  const rest = input.filter((message) => message.role !== "system");
  const earlier = withoutUnansweredToolCalls(history);
  if (system === undefined) return [...earlier, ...rest];
  const others = earlier.filter((message) => message.role !== "system");
  return system.content === "" ? [...others, ...rest] : [system, ...others, ...rest];
}


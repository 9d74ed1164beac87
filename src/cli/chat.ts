import { createInterface, emitKeypressEvents } from "node:readline";
import { Writable } from "node:stream";
import { ReadStream } from "node:tty";
import type { ChatCompletionMessageParam } from "openai/resources/chat/completions";
import {
  EMPTY,
  Observable,
  type OperatorFunction,
  Subject,
  catchError,
  concatMap,
  connect,
  defer,
  filter,
  finalize,
  from,
  ignoreElements,
  map,
  merge,
  of,
  scan,
  share,
  switchMap,
  takeUntil,
  takeWhile,
  tap,
} from "rxjs";
import { accumulateMessage, appendAnswer } from "../../operators/index.js";
import { ConversationError, DamagedTurnError } from "../conversations/index.js";
import { EndpointConfigError, type ResolvedEndpoint } from "../endpoints.js";
import { type ConversationPlan, cannotContinue, logging, planConversation, storeFor, systemPromptToSend, withInput } from "./conversation.js";
import { AnswerEnding } from "./answer-ending.js";
import { editText, editorOf } from "./editor.js";
import { EXIT } from "./exit-codes.js";
import type { CliIo } from "./io.js";
import { type ConfigFile, catalogueOf, parseWithConfig, readConfig } from "./config.js";
import { CHAT_COMMAND, type CliOptions, UsageError } from "./options.js";
import { colourOnStdout, rendersMarkdown } from "./ask.js";
import { answerPrinter, dimmedReasoning } from "./output.js";
import { type AnswerSource, type RequestParams, requestParams } from "./answer-source.js";
import { type AnswerTarget, resolveTarget } from "./targets.js";
import { type Styles, neutralise, neutraliser } from "./terminal.js";

/** The entries of chat history offered (arrow up), across sessions: questions and commands as entered. */
const HISTORY_SIZE = 1000;

const HELP = `Commands:
  /model NAME    ask another model from now on
  /system TEXT   a new system prompt from now on (/system alone: none)
  /role [NAME]   switch to a role of the config file, its system prompt and settings, from now on
                 (flags of the chat's command line still win); /role alone: the role, and those defined
  /retry         ask the last question again (the new answer replaces the old one)
  /edit [TEXT]   write the question in your editor ($VISUAL, $EDITOR, else vi), then ask it
  /exit          leave (Ctrl-D too)
  /help          this list
A line ending in \\ continues on the next line; a line of """ starts and ends a block of many lines
(::: as in aichat, or !multi … !end as in llm, too).
Pasted lines are one question, sent with Enter; arrow up recalls a question of several lines whole.
A question that starts with / is typed with //.
Ctrl-C cancels the answer being streamed (the partial answer is kept) and returns to the prompt; at the
prompt it drops what is being typed. Ctrl-D leaves (what is typed is asked first).
A question typed while an answer streams is queued: it is asked once that answer ends.`;

/** One thing the user entered: a question, or a command. */
export type ChatInput =
  | { readonly kind: "ask"; readonly text: string }
  | { readonly kind: "model"; readonly name: string }
  | { readonly kind: "system"; readonly text: string }
  | { readonly kind: "role"; readonly name: string }
  | { readonly kind: "retry" }
  | { readonly kind: "exit" }
  | { readonly kind: "help" }
  | { readonly kind: "unknown"; readonly command: string }
  | { readonly kind: "elsewhere"; readonly typed: string; readonly way: string }
  | { readonly kind: "edit"; readonly text: string }
  | { readonly kind: "incomplete"; readonly problem: string };

/** What readline gives the chat: a line typed or pasted, Ctrl-C at the prompt, or the end of input (Ctrl-D, a pipe's end). */
export type ChatLine = { readonly kind: "line"; readonly text: string; readonly pasted: boolean } | { readonly kind: "cancel" } | { readonly kind: "end" };

/** A question or command as entered: its text, and the lines it was typed, pasted or recalled as. */
export interface GatheredInput {
  readonly text: string;
  readonly lines: readonly string[];
}

/**
 * Gathers lines into inputs: a line ending in `\` continues on the next one, a line `"""` opens a block that the next
 * `"""` closes (or `:::` … `:::`, `!multi` … `!end`: `BLOCKS`), and pasted lines (bracketed paste) continue as they are, so a pasted block is one question, sent by the
 * Enter that follows it. A line that holds line breaks is a question of several lines recalled whole from the history
 * (arrow up), taken as it is. Ctrl-C drops what is gathered; the end of input asks it. `onContinue` is told whether
 * more lines are awaited (for the `…` prompt).
 */
export function gatherInputs(onContinue: (more: boolean) => void = () => undefined): OperatorFunction<ChatLine, GatheredInput> {
  interface State {
    /** The question's lines so far, without the `\` that continued them. */
    readonly pending: readonly string[];
    /** The lines as entered, `"""` and all. */
    readonly lines: readonly string[];
    /** In a block of many lines: the line that closes it. */
    readonly block: string | undefined;
    readonly done: GatheredInput | undefined;
  }
  const start: State = { pending: [], lines: [], block: undefined, done: undefined };
  const next = (state: State, item: ChatLine): State => {
    if (item.kind === "cancel") return start;
    if (item.kind === "end") return { ...start, done: state.pending.length === 0 ? undefined : { text: state.pending.join("\n"), lines: state.lines } };
    const { text: line } = item;
    const lines = [...state.lines, line];
    const more = (pending: readonly string[], block: string | undefined): State => ({ pending, lines, block, done: undefined });
    const done = (text: string): State => ({ ...start, done: { text, lines } });
    if (item.pasted) return more([...state.pending, line], state.block);
    if (state.block !== undefined) return line.trim() === state.block ? done(state.pending.join("\n")) : more([...state.pending, line], state.block);
    if (line.includes("\n")) return done([...state.pending, line].join("\n"));
    const closing = BLOCKS.get(line.trim());
    if (closing !== undefined && state.pending.length === 0) return more([], closing);
    if (line.endsWith("\\")) return more([...state.pending, line.slice(0, -1)], undefined);
    return done([...state.pending, line].join("\n"));
  };
  return (lines) =>
    lines.pipe(
      scan(next, start),
      tap((state) => onContinue(state.done === undefined && (state.block !== undefined || state.pending.length > 0))),
      map((state) => state.done),
      filter((gathered): gathered is GatheredInput => gathered !== undefined && gathered.text.trim() !== ""),
    );
}

/**
 * The lines that open a block of many lines, and the line that closes each: ours, aichat's and llm's, so a block typed
 * by habit is one question, not one question a line.
 */
const BLOCKS: ReadonlyMap<string, string> = new Map([
  ['"""', '"""'],
  [":::", ":::"],
  ["!multi", "!end"],
]);

/**
 * Commands of aichat's and llm's chats, by their first word, with ours: typed by habit, they are told, not asked
 * (a model asked ".exit" answers it, and the chat goes on).
 */
const CHAT_ELSEWHERE: ReadonlyMap<string, string> = new Map([
  [".exit", "/exit (or Ctrl-D)"],
  [".quit", "/exit (or Ctrl-D)"],
  ["exit", "/exit (or Ctrl-D)"],
  ["quit", "/exit (or Ctrl-D)"],
  [".help", "/help"],
  ["!help", "/help"],
  [".model", "/model NAME"],
  [".prompt", "/system TEXT"],
  [".role", "/role NAME (roles are in the config file; /role alone lists them)"],
  [".regenerate", "/retry"],
  [".session", "this chat is kept as a conversation already; g4f-rx chat -c goes on with the latest"],
  [".info", "g4f-rx config (outside the chat)"],
  [".file", "g4f-rx -a FILE \"question\" attaches a file (outside the chat); g4f-rx chat -c goes on here after it"],
  ["!edit", "/edit writes the question in $VISUAL or $EDITOR"],
]);

function parseInput(text: string): ChatInput {
  const trimmed = text.trim();
  const [first = ""] = trimmed.split(/\s+/);
  // Only a one-line entry: a question of several lines that starts with "exit" is a question.
  const way = trimmed.includes("\n") ? undefined : CHAT_ELSEWHERE.get(first);
  if (way !== undefined && (first.startsWith(".") || first.startsWith("!") || trimmed === first)) return { kind: "elsewhere", typed: first, way };
  if (!trimmed.startsWith("/")) return { kind: "ask", text };
  // "//" asks a question that starts with "/": "//usr/bin/env is what?"
  if (trimmed.startsWith("//")) return { kind: "ask", text: text.replace("//", "/") };
  const [command = "", ...rest] = trimmed.split(/\s+/);
  const argument = trimmed.slice(command.length).trim();
  switch (command) {
    case "/exit":
    case "/quit":
      return { kind: "exit" };
    case "/help":
      return { kind: "help" };
    case "/retry":
      return { kind: "retry" };
    case "/model":
      return argument === "" ? { kind: "incomplete", problem: "/model needs a NAME: /model llama3.2, say" } : { kind: "model", name: rest.join(" ") };
    case "/system":
      return { kind: "system", text: argument };
    case "/role":
      return { kind: "role", name: argument };
    case "/edit":
      return { kind: "edit", text: argument };
    default:
      return { kind: "unknown", command };
  }
}

/**
 * `g4f-rx chat`: an interactive session. Lines come from readline (editing,
 * history kept across sessions) as an Observable; `concatMap` asks one
 * question at a time, so a question typed while an answer streams is
 * queued, not lost and not cancelling. Ctrl-C (readline's SIGINT) cancels
 * the answer being streamed — the request is aborted by unsubscribing, the
 * partial answer kept — and returns to the prompt; Ctrl-D or `/exit` ends.
 * Every turn is kept in the conversation like a single `g4f-rx` call.
 */
export async function chat(io: CliIo, args: readonly string[], style: Styles): Promise<number> {
  const fail = (code: number, message: string): number => {
    io.stderr.write(`${style.error("g4f-rx chat:")} ${message}\n`);
    return code;
  };
  // A server's messages and a model's refusal or reasoning reach a terminal with their control characters made visible.
  const forStderr = io.stderr.isTTY === true ? neutralise : (text: string): string => text;
  let options: CliOptions;
  let target: AnswerTarget;
  let plan: ConversationPlan;
  // The name of the last turn kept, so that /retry can say which one it replaces.
  let lastTurn: string | undefined;
  try {
    const settings = chatSettings(io, args);
    if ("print" in settings) {
      io.stdout.write(settings.print.startsWith("Usage:") ? `${settings.print}\nIn the chat:\n${HELP}\n` : settings.print);
      return EXIT.success;
    }
    ({ options, target } = settings);
    plan = planConversation(options, io.env, (outcome) => {
      if ("notKept" in outcome) io.stderr.write(`${style.note(`g4f-rx chat: ${outcome.notKept}`)}\n`);
      else lastTurn = outcome.kept.turn;
    });
  } catch (error) {
    if (error instanceof UsageError || error instanceof EndpointConfigError || error instanceof ConversationError) {
      return fail(EXIT.usage, `${error.message}\nRun g4f-rx chat --help for usage.`);
    }
    if (error instanceof DamagedTurnError) return fail(EXIT.failure, cannotContinue(error));
    throw error;
  }

  // Questions go to a live endpoint, or with --replay to recordings (a conversation's directory replays turn by turn,
  // each question sent with the answers replayed before it, as the recorded turns were); each path's code loads only
  // for it.
  // (/role gives a live chat answers from its endpoint; a replay keeps its recordings, and where it is in them.)
  let answerTo =
    target.kind === "live"
      ? await liveAnswers(io, target.endpoints[0], (text) => note(text))
      : replayedAnswers(await import("./replay.js"), target.path, (text) => io.stderr.write(`${style.error("g4f-rx:")} ${forStderr(text)}\n`));
  let format = await markdownFormat(io, options);
  const colour = colourOnStdout(io.env);
  const terminal = io.stdin.isTTY === true;
  // Losing the history is not worth stopping the chat for: a failure to read or keep it is passed over.
  const history = logging(options) ? storeFor(io.env) : undefined;
  let typed: string[] = [];
  try {
    typed = history?.chatHistory(HISTORY_SIZE) ?? [];
  } catch {
    // (see above)
  }
  // Where readline draws the prompt and the echo of what is typed: the terminal, which is stderr when stdout goes to a
  // file or a pipe (chat > answers.md, chat | tee log.md), so that stdout holds the answers and nothing else.
  const screen = io.stdout.isTTY === true ? io.stdout : io.stderr;
  const promptOutput = new PromptOutput(screen);
  const input = io.stdin.stream;
  // Bracketed paste: the terminal marks pasted text, so that its lines make one question (see gatherInputs).
  let pasting = false;
  if (terminal) {
    emitKeypressEvents(input);
    input.on("keypress", (_text: string | undefined, key: { name?: string } | undefined) => {
      if (key?.name === "paste-start") pasting = true;
      else if (key?.name === "paste-end") pasting = false;
    });
    screen.write(BRACKETED_PASTE_ON);
  }
  const rl = createInterface({
    input,
    // Questions from a pipe get no prompt: stdout then holds the answers and nothing else.
    ...(terminal ? { output: promptOutput } : {}),
    terminal,
    history: typed,
    historySize: HISTORY_SIZE,
    removeHistoryDuplicates: true,
  });
  // readline's history, newest first, as its "history" event gives it (a listener may change it, Node's docs say).
  let entries: string[] | undefined;
  rl.on("history", (list: string[]) => {
    entries = list;
  });
  /**
   * Keeps a question or command in the history whole, as one entry, in memory and on disk (appended at once, so that
   * chats open at once all keep theirs): readline keeps each line as it is entered, so the lines of one that took
   * several give way to the whole, which arrow up then recalls.
   */
  const keepTyped = ({ text, lines }: GatheredInput): void => {
    if (entries === undefined) return;
    // Newer Node keeps an entry of several lines as its lines in reverse, joined by `\r`; an entry with `\n` between
    // them, as Node 20 keeps it, is recalled alike by both, so that is the one kept (and written).
    const [newest] = entries;
    if (newest?.includes("\r") === true) entries[0] = newest.split("\r").reverse().join("\n");
    const entry = lines.length === 1 ? lines[0] : text;
    if (lines.length > 1) {
      // Newest first: the last line entered is the first entry (a blank line was not kept).
      for (const line of [...lines].reverse()) if (entries[0] === line) entries.shift();
      const older = entries.indexOf(text);
      if (older >= 0) entries.splice(older, 1);
      entries.unshift(text);
    }
    if (entry === undefined || entries[0] !== entry) return;
    try {
      history?.addChatHistory(entry);
    } catch {
      // (see above)
    }
  };
  let closed = false;
  rl.once("close", () => {
    closed = true;
    if (terminal) screen.write(BRACKETED_PASTE_OFF);
  });

  let model = modelOf(target);
  // -s goes with the first question, as it does with a single one; /system replaces it from the next question on.
  let system: string | undefined = systemPromptToSend(options);
  // Whether a question of this chat replaced the conversation's system prompt (-s, a role, /system): a role without
  // one then leaves it out, rather than keep the one it no longer stands for.
  let replacedSystem = false;
  let messages: ChatCompletionMessageParam[] = plan.history;
  // The last question, for /retry: that of the conversation continued, until this chat asks one.
  let last: { input: ChatCompletionMessageParam[]; before: ChatCompletionMessageParam[] } | undefined = plan.last;
  lastTurn = plan.last?.turn;
  let streaming = false;
  // Inputs entered and not yet handled (typed while an answer streams).
  let queued = 0;

  const note = (text: string): void => {
    io.stderr.write(`${style.note(forStderr(text))}\n`);
  };
  note(
    (target.kind === "live" ? `g4f-rx chat: ${model ?? ""} at ${target.endpoints[0].baseURL}` : `g4f-rx chat: replaying the recordings in ${target.path}; nothing is sent`) +
      (plan.history.length > 0 ? `, continuing conversation ${plan.id ?? ""} (${plan.history.length} messages)` : plan.id === undefined ? "" : `, conversation ${plan.id}`) +
      ". /help for commands, Ctrl-D to leave.",
  );

  /**
   * Shows the prompt again, with what was typed meanwhile (unseen while an answer streamed) on it. readline's line is
   * emptied first, while its output is still muted, so that it starts from one row and draws nothing over the answer.
   */
  const promptAgain = (): void => {
    if (!terminal) {
      rl.prompt();
      return;
    }
    const typed = rl.line;
    const clearLine = (): void => {
      rl.write(null, { ctrl: true, name: "e" });
      rl.write(null, { ctrl: true, name: "u" });
    };
    clearLine();
    // Written back, a line break would send the line before it. A question of several lines (recalled meanwhile, and
    // perhaps edited) is recalled again instead, as arrow up does: from the front of the history, once readline's
    // place in it is back at the newest entry (arrow down as often as there are entries).
    const several = typed.includes("\n");
    // (A line of several lines comes from the history, so readline has given it already.)
    const list = several ? entries : undefined;
    if (list !== undefined) {
      for (let index = 0; index <= list.length; index += 1) rl.write(null, { name: "down" });
      clearLine();
      if (list[0] !== typed) list.unshift(typed);
    }
    promptOutput.muted = false;
    rl.prompt();
    if (list !== undefined) rl.write(null, { name: "up" });
    else if (typed !== "" && !several) rl.write(typed);
  };


  const interrupts = new Subject<void>();
  const cancels = new Subject<ChatLine>();
  rl.on("SIGINT", () => {
    if (streaming) {
      interrupts.next();
    } else {
      // Nothing to cancel: drop the line being typed and the lines gathered before it, as a shell does. ^C goes after
      // what was typed, which readline forgets unseen: redrawn, a line of several (recalled) would be drawn over.
      rl.write(null, { ctrl: true, name: "e" });
      promptOutput.muted = true;
      rl.write(null, { ctrl: true, name: "u" });
      promptOutput.muted = false;
      screen.write("^C\n");
      cancels.next({ kind: "cancel" });
      rl.setPrompt("> ");
      rl.prompt();
    }
  });
  const onStop = (): void => {
    interrupts.next();
    rl.close();
  };
  io.stop.signal.addEventListener("abort", onStop, { once: true });

  const typedLines = new Observable<ChatLine>((subscriber) => {
    // Node 24 gives a line of several lines (recalled from the history) with `\r` between them; Node 20 with
    // `\n`. A line typed holds neither.
    const onLine = (line: string): void => subscriber.next({ kind: "line", text: line.replaceAll("\r", "\n"), pasted: pasting });
    const onClose = (): void => {
      subscriber.next({ kind: "end" });
      subscriber.complete();
    };
    rl.on("line", onLine);
    rl.once("close", onClose);
    return () => {
      rl.off("line", onLine);
      rl.off("close", onClose);
    };
  }).pipe(share());
  rl.once("close", () => cancels.complete());
  const lines = merge(typedLines, cancels);

  /** One question: asked, printed, kept; Ctrl-C ends it early with what came. */
  const ask = (input: ChatCompletionMessageParam[], before: ChatCompletionMessageParam[], replaces: string | undefined): Observable<never> =>
    defer(() => {
      const sent = withInput(before, input);
      const params = requestParams(options, sent);
      let answered = before;
      // What the answer amounts to (a tool call, cut short…), said once it ended by itself: not interrupted, no error.
      const ending = new AnswerEnding();
      let interrupted = false;
      let whole = false;
      // Whether this answer printed anything: stdout holds the answers and nothing else, so one that failed before
      // its first word leaves no empty line there.
      let printed = false;
      // Text from the network reaches a terminal with its control characters made visible, as for a single question:
      // the markdown renderer makes the answer harmless itself; raw (--render never, TERM=dumb) it is neutralised here.
      const stdoutText = neutraliser(io.stdout.isTTY === true && format === undefined);
      // What the neutraliser held back (a carriage return that ended the answer), before the answer's last newline.
      const endAnswer = (): void => {
        const left = stdoutText.end();
        if (left !== "") io.stdout.write(left);
        if (printed) io.stdout.write("\n");
        printed = false;
      };
      const answerOut = {
        write: (text: string): boolean => {
          if (text !== "") printed = true;
          return io.stdout.write(stdoutText.piece(text));
        },
      };
      streaming = true;
      // readline's echo of keys typed ahead, and its redraw on a resize, would land inside the answer.
      promptOutput.muted = terminal;
      return answerTo(params, model, options).pipe(
        switchMap(({ source, endpoint, model: asked }) => {
          const chunks = source.chunks.pipe(
            plan.record({ endpoint, model: asked, input, request: { ...params, model: asked }, replaces }),
            tap(ending.see),
            takeUntil(interrupts.pipe(tap(() => (interrupted = true)))),
          );
          const printer = answerPrinter(options, { answer: answerOut, reasoning: io.stderr, ...dimmedReasoning(io.stderr.isTTY === true, (text) => style.note(text)), format: format?.({ colour, columns: () => io.stdout.columns }) });
          // connect: both branches are subscribed before the answer starts, so the context gets every chunk even of an
          // answer that arrives (and fails) at once, as a replay at --speed Infinity does.
          return chunks.pipe(
            connect((shared) =>
              merge(
                printer.print(shared),
                shared.pipe(
                  accumulateMessage(),
                  appendAnswer(sent),
                  tap((next) => (answered = next)),
                  ignoreElements(),
                ),
              ),
            ),
          ).pipe(
            tap({ complete: () => (whole = !interrupted) }),
            catchError((error: unknown) => {
              endAnswer();
              io.stderr.write(`${style.error("g4f-rx:")} ${forStderr(source.describe(error))}\n`);
              return EMPTY;
            }),
            finalize(() => printer.finish()),
          );
        }),
        finalize(() => {
          streaming = false;
          const reply = answered.at(-1);
          // An answer with no text at all is not kept in the context (as the store does), so asking again works.
          const kept = answered.length > sent.length && reply !== undefined && !(reply.content === "" && !("tool_calls" in reply));
          messages = kept ? answered : sent.slice(0, sent.length - input.filter((message) => message.role !== "system").length);
          last = { input, before };
          endAnswer();
          const problem = whole ? ending.problem({ showReasoning: options.showReasoning, json: false }) : undefined;
          if (problem !== undefined) io.stderr.write(`${style.error("g4f-rx:")} ${forStderr(problem)}\n`);
          // A question typed meanwhile starts now: its answer, not a prompt, comes next.
          if (!closed && queued === 0) promptAgain();
        }),
        ignoreElements(),
      );
    });

  /** A question, with the system prompt /system gave since the last one. */
  const askQuestion = (text: string): Observable<never> => {
    const input: ChatCompletionMessageParam[] = [];
    if (system !== undefined) {
      input.push(systemMessage(system));
      replacedSystem = true;
    }
    system = undefined;
    input.push({ role: "user", content: text });
    return ask(input, messages, undefined);
  };

  /**
   * /edit: the editor takes the terminal over, in its ordinary mode, without bracketed paste, and gives it back as the
   * chat had it. This process waits for it (no answer streams meanwhile: commands are handled in turn).
   */
  const editOnTerminal = (initial: string): { readonly text: string } | { readonly problem: string } => {
    if (!terminal) return { problem: "/edit needs a terminal for the editor; nothing asked" };
    const raw = rawMode(input);
    setRawMode(input, false);
    screen.write(BRACKETED_PASTE_OFF);
    try {
      return editText(editorOf(io.env), initial, { input: 0, output: screen === io.stdout ? 1 : 2 });
    } finally {
      setRawMode(input, raw);
      screen.write(BRACKETED_PASTE_ON);
    }
  };

  /**
   * /role NAME: the chat's command line read again in that role, as `-r NAME` would be read (its flags still win), and
   * the questions from the next on asked with what it gives: endpoint, model, fields, output, system prompt. A role
   * that cannot be used (unknown, a wrong value) is told, and the chat goes on as it was.
   */
  const switchRole = (name: string): Observable<never> =>
    defer(async () => {
      let next: ChatSettings;
      try {
        const read = chatSettings(io, args, name, plan.id);
        // (Help was printed at the start, and the chat did not start.)
        if ("print" in read) return;
        next = read;
      } catch (error) {
        if (error instanceof UsageError || error instanceof EndpointConfigError) {
          note(`${error.message}; the chat goes on as it was`);
          return;
        }
        throw error;
      }
      if (next.target.kind === "live") answerTo = await liveAnswers(io, next.target.endpoints[0], (text) => note(text));
      format = await markdownFormat(io, next.options);
      ({ options, target } = next);
      model = modelOf(target);
      system = systemPromptToSend(options) ?? (replacedSystem ? "" : undefined);
      const asking = target.kind === "live" ? `asking ${model ?? ""} at ${target.endpoints[0].baseURL}` : `preferring recordings made with ${model ?? "any model"}`;
      const prompt =
        system === undefined
          ? ""
          : system === ""
            ? "; the next question goes without a system prompt"
            : `; ${options.sources["system"] === "role" ? "its" : "the"} system prompt goes with the next question`;
      note(`role ${name}: ${asking}${prompt}`);
    }).pipe(
      ignoreElements(),
      finalize(() => {
        if (!closed && queued === 0) promptAgain();
      }),
    );

  const handle = (input: ChatInput): Observable<never> => {
    switch (input.kind) {
      case "exit":
        rl.close();
        return EMPTY;
      case "help":
        note(HELP);
        break;
      case "unknown":
        note(`unknown command ${input.command}; /help lists them`);
        break;
      case "elsewhere":
        note(`${input.typed} is another chat's command, not asked; here: ${input.way}`);
        break;
      case "incomplete":
        note(input.problem);
        break;
      case "model":
        model = input.name;
        // A replay has no model to ask: the name picks, among recordings that answer alike, those made with it.
        note(target.kind === "live" ? `now asking ${model}` : `now preferring recordings made with ${model}`);
        break;
      case "system":
        system = input.text;
        note(system === "" ? "the next question goes without a system prompt, and so do the ones after it" : "the system prompt changes with the next question");
        break;
      case "role":
        if (input.name !== "") return switchRole(input.name);
        note(rolesShown(io.env, options.role));
        break;
      case "retry": {
        if (last === undefined) {
          note("nothing to retry yet");
          break;
        }
        note("asking again");
        // A /system given since is for the next question, and this is it.
        const again = system === undefined ? last.input : [systemMessage(system), ...last.input.filter((message) => message.role !== "system")];
        if (system !== undefined) replacedSystem = true;
        system = undefined;
        return ask(again, last.before, lastTurn);
      }
      case "edit": {
        const edited = editOnTerminal(input.text);
        if ("problem" in edited) {
          note(edited.problem);
          break;
        }
        // Shown where a typed question would be, and kept in the history whole, as one.
        screen.write(`${forStderr(edited.text)}\n`);
        entries?.unshift(edited.text);
        try {
          history?.addChatHistory(edited.text);
        } catch {
          // (see keepTyped)
        }
        return askQuestion(edited.text);
      }
      case "ask":
        return askQuestion(input.text);
    }
    // Lines from a pipe can still be handled after their end closed readline, which then refuses to prompt.
    if (!closed && queued === 0) promptAgain();
    return EMPTY;
  };

  rl.setPrompt("> ");
  rl.prompt();
  try {
    // An error here is a defect, not an answer's failure (those are told and kept in `ask`): it reaches the caller.
    await new Promise<void>((resolve, reject) => {
      lines
        .pipe(
          gatherInputs((more) => {
            rl.setPrompt(more ? "… " : "> ");
            // A line that continues gets the "…" prompt at once; a whole question gets its answer first.
            if (more && !closed && !streaming) rl.prompt();
          }),
          tap(keepTyped),
          map(({ text }) => parseInput(text)),
          // What comes after /exit (queued behind an answer, or further down a pipe) is not asked.
          takeWhile((input) => input.kind !== "exit", true),
          tap((input) => {
            queued += 1;
            if (input.kind !== "exit" && streaming && terminal) note("(queued: asked once this answer ends)");
          }),
          concatMap((input) => {
            queued -= 1;
            return handle(input);
          }),
        )
        .subscribe({ complete: resolve, error: reject });
    });
  } finally {
    io.stop.signal.removeEventListener("abort", onStop);
    rl.close();
  }
  if (io.stop.signal.aborted) return io.stop.reason === "SIGTERM" ? EXIT.terminated : io.stop.reason === "SIGINT" ? EXIT.interrupted : EXIT.success;
  return EXIT.success;
}

/** An answer to one chat question: where it comes from, and the endpoint and model it is kept under. */
interface ChatAnswer {
  readonly source: AnswerSource;
  readonly endpoint: string;
  readonly model: string;
}

/** An answer to `params` from `model`, with the chat's settings now (`/role` changes them). */
type AnswerTo = (params: Omit<RequestParams, "model">, model: string | undefined, options: CliOptions) => Observable<ChatAnswer>;

/** The chat's settings: its command line read over the environment and the config file, and where answers come from. */
interface ChatSettings {
  readonly options: CliOptions;
  readonly target: AnswerTarget;
}

/**
 * The chat's command line read over the environment and the config file, in `role` (`/role NAME`) when given, or the
 * text to print (`--help`, `--version`). Throws `UsageError` or `EndpointConfigError` for settings that cannot work.
 * `conversation` is the one the chat goes on with: its `-c` or `--cid TITLE`, read again, could name another by now
 * (a question asked elsewhere is the latest; a title given to another), whose endpoint and model are not this chat's.
 */
function chatSettings(io: CliIo, args: readonly string[], role?: string, conversation?: string): ChatSettings | { readonly print: string } {
  const parsed = parseWithConfig(args, io.version, io.stdout.columns ?? 80, io.env, CHAT_COMMAND, role);
  if (parsed.kind === "print") return { print: parsed.text };
  const { options } = parsed;
  if (options.json || options.listModels || options.attach.length > 0 || options.record !== undefined || options.extract || options.extractLast) {
    throw new UsageError("chat prints answers as text: --json, --list-models, -a, --record and -x are for single questions");
  }
  if (options.editor) throw new UsageError("--editor is for single questions; in the chat, /edit writes the next question in the editor");
  const continued = conversation !== undefined && (options.continue || options.cid !== undefined) ? { ...options, continue: false, cid: conversation } : options;
  return { options, target: resolveTarget(continued, io.env, catalogueOf(parsed.config)) };
}

/** The model a chat asks first: the endpoint's, or for a replay the one whose recordings it prefers. */
function modelOf(target: AnswerTarget): string | undefined {
  return target.kind === "live" ? target.endpoints[0].model : target.model;
}

/** The markdown renderer when the answers are rendered (`--render`), loaded only then. */
async function markdownFormat(io: CliIo, options: CliOptions): Promise<typeof import("./markdown.js").renderMarkdown | undefined> {
  return rendersMarkdown(options, io.stdout, io.env) ? (await import("./markdown.js")).renderMarkdown : undefined;
}

/** /role alone: the chat's role and what it sets, and the roles the config file defines (read again: /role NAME reads it so). */
function rolesShown(env: CliIo["env"], role: string | undefined): string {
  let config: ConfigFile;
  try {
    config = readConfig(env);
  } catch (error) {
    if (error instanceof UsageError) return error.message;
    throw error;
  }
  const file = config.path ?? "the config file";
  const settings = role !== undefined && Object.hasOwn(config.roles, role) ? config.roles[role] : undefined;
  const current = role === undefined ? "no role" : `role: ${role}${settings === undefined ? "" : ` (${Object.keys(settings).join(", ")})`}`;
  const names = Object.keys(config.roles);
  if (names.length === 0) return `${current}; ${file} defines no roles (add "roles": {"NAME": {"system": "…", "model": "…"}} to it)`;
  return `${current}; the roles of ${file}: ${names.join(", ")}; /role NAME switches`;
}

/** Answers from the live endpoint, with the model asked now (`/model` changes it). */
async function liveAnswers(io: CliIo, primary: ResolvedEndpoint, note: (text: string) => void): Promise<AnswerTo> {
  const { liveAnswer } = await import("./live.js");
  return (params, model, options) => {
    const asked = model ?? primary.model;
    return from(liveAnswer(io, options, [{ ...primary, model: asked }], { ...params, model: asked }, note)).pipe(
      map((source) => ({ source, endpoint: primary.baseURL, model: asked })),
    );
  };
}

/**
 * Answers from the recordings in `path`, matched as `g4f-rx --replay` matches them: a question no recording answers is
 * told on stderr (with the nearest ones) and gets no answer, so the conversation goes on without it.
 */
function replayedAnswers(replay: typeof import("./replay.js"), path: string, fail: (text: string) => void): AnswerTo {
  // One replay session for the chat: a question asked again (/retry) gets the answer recorded the second time, as in
  // the conversation played back.
  const plays = new replay.CassettePlays();
  // The directory is read again for each question: a file skipped is said once.
  const warned = new Set<string>();
  const warn = (text: string): void => {
    if (!warned.has(text)) fail(text);
    warned.add(text);
  };
  return (params, model, options) =>
    defer(() => {
      const found = replay.replayAnswer(path, { ...params, model }, options, plays, warn);
      if (found.kind === "failed") {
        fail(found.message);
        return EMPTY;
      }
      // Asked more often than the conversation recorded it: an answer given already comes again, which is said.
      if (found.repeated) warn(`${found.file}: ${found.play ?? "again: the only recording of this request"}`);
      return of({ source: found.source, endpoint: path, model: model ?? "" });
    });
}

function systemMessage(content: string): ChatCompletionMessageParam {
  return { role: "system", content };
}

/** Whether a terminal's input is in raw mode (readline sets it); false for any other stream. */
function rawMode(stream: object): boolean {
  return stream instanceof ReadStream && stream.isRaw;
}

function setRawMode(stream: object, raw: boolean): void {
  if (stream instanceof ReadStream) stream.setRawMode(raw);
}

const BRACKETED_PASTE_ON = "\u001b[?2004h";
const BRACKETED_PASTE_OFF = "\u001b[?2004l";

/**
 * readline's output: the terminal, as wide as it is, except while `muted` (an answer streams), when what readline
 * writes (the echo of keys typed ahead, its redraw on a resize) is dropped. readline redraws its line from what it
 * holds, so nothing typed is lost: `promptAgain` shows it once the answer ends.
 */
class PromptOutput extends Writable {
  muted = false;
  readonly isTTY = true;

  constructor(private readonly terminal: NodeJS.WritableStream & { readonly columns?: number }) {
    super({
      decodeStrings: false,
      write: (chunk: string | Buffer, _encoding, done: (error?: Error | null) => void): void => {
        if (!this.muted) this.terminal.write(chunk);
        done();
      },
    });
    // readline redraws its line on a resize; not while muted (promptAgain draws it whole afterwards).
    terminal.on("resize", () => {
      if (!this.muted) this.emit("resize");
    });
  }

  get columns(): number | undefined {
    return this.terminal.columns;
  }
}

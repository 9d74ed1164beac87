import { EndpointConfigError } from "../endpoints.js";
import type { ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { ConversationError, DamagedTurnError } from "../conversations/index.js";
import { dataDirectory } from "../conversations/index.js";
import { ask } from "./ask.js";
import { type ConfigFile, catalogueOf, parseWithConfig, showConfig } from "./config.js";
import { type Attachment, AttachmentError, readAttachment, userMessage } from "./attachments.js";
import { type ConversationPlan, cannotContinue, planConversation, systemPromptToSend } from "./conversation.js";
import { EXIT, exitCodeFor } from "./exit-codes.js";
import type { CliIo } from "./io.js";
import { CONFIG_COMMAND, type CliOptions, MODELS_COMMAND, UsageError } from "./options.js";
import { Recording } from "./recording.js";
import { InvalidInputError, composePrompt, readInput } from "./prompt.js";
import { type AnswerTarget, resolveTarget } from "./targets.js";
import { styles, useColour } from "./terminal.js";

/** Runs the command and resolves with its exit code; it never exits the process itself. */
export async function main(io: CliIo): Promise<number> {
  const style = styles(useColour(io.stderr, io.env));
  const usage = (message: string, { help = true } = {}): number => {
    io.stderr.write(`${style.error("g4f-rx:")} ${message}\n${help ? "Run g4f-rx --help for usage.\n" : ""}`);
    return EXIT.usage;
  };

  // `serve` is a command only as the first argument; a prompt that is just "serve" can come from stdin or after `--`.
  if (io.args[0] === "serve") {
    const { serve } = await import("./serve.js");
    return serve(io, io.args.slice(1), style);
  }

  if (io.args[0] === "chat") {
    const { chat } = await import("./chat.js");
    return chat(io, io.args.slice(1), style);
  }
  if (io.args[0] === "logs") {
    const { logs } = await import("./logs.js");
    return logs(io, io.args.slice(1), style);
  }

  // `models` is `--list-models` with the same options: one table for both. `models list` too, as `logs list` is logs
  // (and llm's `models list` lists them).
  const args = io.args[0] === "models" ? ["--list-models", ...io.args.slice(io.args[1] === "list" ? 2 : 1)] : io.args;
  const showSettings = args[0] === "config";
  let options: CliOptions;
  let config: ConfigFile | undefined;
  try {
    const command = showSettings ? CONFIG_COMMAND : io.args[0] === "models" ? MODELS_COMMAND : undefined;
    const parsed = parseWithConfig(showSettings ? args.slice(1) : args, io.version, io.stdout.columns ?? 80, io.env, command);
    if (parsed.kind === "print") {
      io.stdout.write(parsed.text);
      return EXIT.success;
    }
    options = parsed.options;
    config = parsed.config;
  } catch (error) {
    if (error instanceof UsageError || error instanceof EndpointConfigError) return usage(error.message);
    throw error;
  }

  let target: AnswerTarget;
  try {
    target = resolveTarget(options, io.env, catalogueOf(config), showSettings ? "show" : "ask");
  } catch (error) {
    if (error instanceof EndpointConfigError) return usage(error.message);
    throw error;
  }

  if (showSettings) {
    if (target.kind !== "live" || config === undefined) return usage("config shows the settings for live endpoints; --replay has none");
    io.stdout.write(showConfig(options, config, target.endpoints[0], dataDirectory(io.env)));
    return EXIT.success;
  }
  if (options.listModels) {
    if (target.kind !== "live") return usage("--list-models asks a live endpoint; it cannot be combined with --replay");
    if (options.promptArguments.trim() !== "") return usage(`listing models takes no prompt, got "${options.promptArguments}"`);
    const { listModels } = await import("./models.js");
    return listModels(io, target.endpoints[0], options.json, style);
  }

  // --editor needs a terminal, checked before stdin is read: nothing waits for typing that cannot be edited. (Its code,
  // node:child_process and all, loads only for it: every question pays for what the command imports.)
  const editor = options.editor ? await import("./editor.js") : undefined;
  const editorOn = editor?.editorTerminal(io);
  if (editor !== undefined && editorOn === undefined) return usage("--editor needs a terminal for the editor, and there is none (no controlling terminal); nothing sent");

  // --record checks its path before anything is read or sent.
  let recording: Recording | undefined;
  if (options.record !== undefined) {
    const started = Recording.start(options.record);
    if (!(started instanceof Recording)) return usage(started.problem);
    recording = started;
  }

  /** The conversation the question goes to (new, -c, --cid, --title), or the exit code of why it cannot. */
  function planned(): ConversationPlan | number {
    try {
      return planConversation(options, io.env, (outcome) => "notKept" in outcome && io.stderr.write(`${style.note(`g4f-rx: ${outcome.notKept}`)}\n`));
    } catch (error) {
      // Nothing is sent (exit 2), but the command line was right: its conversation was not (a title taken, an id unknown).
      if (error instanceof ConversationError) return usage(error.message, { help: false });
      if (error instanceof DamagedTurnError) {
        io.stderr.write(`${style.error("g4f-rx:")} ${cannotContinue(error)}\n`);
        return EXIT.failure;
      }
      throw error;
    }
  }
  // A question written on the terminal (in the editor, or typed after -) is not thrown away after: a conversation that
  // cannot be gone on with (-c with none, an unknown --cid, a --title another has) is said before it is written. It is
  // planned again once written, so that it goes on from the turns there are then.
  if (editor !== undefined || (options.stdinRequested && io.stdin.isTTY === true)) {
    const early = planned();
    if (typeof early === "number") return early;
  }

  // A terminal on stdin means nobody piped anything: do not wait for typing, unless `-` asks for it.
  let stdinText: string | undefined;
  if (io.stdin.isTTY !== true || options.stdinRequested) {
    try {
      stdinText = await readInput(io.stdin, io.stop.signal);
    } catch (error) {
      if (error instanceof InvalidInputError) return usage(`${error.message}\nTo send a file (an image, say), attach it: g4f-rx -a FILE "Describe this".`);
      throw error;
    }
  }
  if (io.stop.signal.aborted) return exitCodeFor(io.stop.reason);
  if (stdinText?.includes("\u0000") === true) {
    return usage('stdin holds binary data (NUL bytes), not text. To send a file (an image, say), attach it: g4f-rx -a FILE "Describe this".');
  }
  let attachments: Attachment[];
  try {
    attachments = options.attach.map(readAttachment);
  } catch (error) {
    if (error instanceof AttachmentError) return usage(error.message);
    throw error;
  }
  let written = composePrompt(options.promptArguments, stdinText);
  if (editor !== undefined && editorOn !== undefined) {
    // The question is what the user saves, starting from what was given; saved empty, it is not sent (as git's empty
    // commit message aborts the commit).
    const edited = editor.editText(editor.editorOf(io.env), written ?? "", editorOn);
    if ("problem" in edited) {
      io.stderr.write(`${style.error("g4f-rx:")} ${edited.problem}\n`);
      // Ctrl-C in the editor ends the command by SIGINT, as it does anywhere else, so that a shell loop stops too.
      return "interrupted" in edited ? EXIT.interrupted : EXIT.usage;
    }
    written = edited.text;
  }
  const prompt = written ?? (attachments.length > 0 ? "" : undefined);
  if (prompt === undefined) {
    return usage('no prompt. Give it as arguments (g4f-rx "Say hello") or on stdin (echo "Say hello" | g4f-rx).');
  }

  const input: ChatCompletionMessageParam[] = [];
  const system = systemPromptToSend(options);
  if (system !== undefined) input.push({ role: "system", content: system });
  input.push(userMessage(prompt, attachments));
  const plan = planned();
  if (typeof plan === "number") return plan;

  return ask(io, options, target, { plan, input }, style, recording);
}

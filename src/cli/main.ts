import { EndpointConfigError } from "../endpoints.js";
import { ask } from "./ask.js";
import { EXIT, exitCodeFor } from "./exit-codes.js";
import type { CliIo } from "./io.js";
import { type CliOptions, UsageError, parseCommandLine } from "./options.js";
import { InvalidInputError, composePrompt, readText } from "./prompt.js";
import { type AnswerTarget, resolveTarget } from "./targets.js";
import { styles, useColour } from "./terminal.js";

/** Runs the command and resolves with its exit code; it never exits the process itself. */
export async function main(io: CliIo): Promise<number> {
  const style = styles(useColour(io.stderr, io.env));
  const usage = (message: string): number => {
    io.stderr.write(`${style.error("g4f-rx:")} ${message}\nRun g4f-rx --help for usage.\n`);
    return EXIT.usage;
  };

  // `serve` is a command only as the first argument; a prompt that is just "serve" can come from stdin or after `--`.
  if (io.args[0] === "serve") {
    const { serve } = await import("./serve.js");
    return serve(io, io.args.slice(1), style);
  }

  let options: CliOptions;
  try {
    const parsed = parseCommandLine(io.args, io.version, io.stdout.columns ?? 80);
    if (parsed.kind === "print") {
      io.stdout.write(parsed.text);
      return EXIT.success;
    }
    options = parsed.options;
  } catch (error) {
    if (error instanceof UsageError) return usage(error.message);
    throw error;
  }

  let target: AnswerTarget;
  try {
    target = resolveTarget(options, io.env);
  } catch (error) {
    if (error instanceof EndpointConfigError) return usage(error.message);
    throw error;
  }

  // A terminal on stdin means nobody piped anything: do not wait for typing, unless `-` asks for it.
  let stdinText: string | undefined;
  if (io.stdin.isTTY !== true || options.stdinRequested) {
    try {
      stdinText = await readText(io.stdin, io.stop.signal);
    } catch (error) {
      if (error instanceof InvalidInputError) return usage(error.message);
      throw error;
    }
  }
  if (io.stop.signal.aborted) return exitCodeFor(io.stop.reason);
  const prompt = composePrompt(options.promptArguments, stdinText);
  if (prompt === undefined) {
    return usage('no prompt. Give it as arguments (g4f-rx "Say hello") or on stdin (echo "Say hello" | g4f-rx).');
  }

  return ask(io, options, target, prompt, style);
}

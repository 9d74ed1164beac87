import type { Readable } from "node:stream";

/**
 * The prompt from the positional arguments and stdin: the arguments, a blank
 * line, then stdin (`cat notes.md | g4f-rx "Summarize:"`), or whichever of
 * the two is given. `undefined` when neither has any text.
 *
 * Trailing whitespace of stdin is dropped: files and `echo` end with a
 * newline that is not part of the question.
 */
export function composePrompt(promptArguments: string, stdinText: string | undefined): string | undefined {
  const fromArguments = promptArguments.trim() === "" ? undefined : promptArguments;
  const fromStdin = stdinText === undefined || stdinText.trim() === "" ? undefined : stdinText.trimEnd();
  if (fromArguments !== undefined && fromStdin !== undefined) return `${fromArguments}\n\n${fromStdin}`;
  return fromArguments ?? fromStdin;
}

/** Reads a stream to its end as UTF-8 text; stops early, with what arrived, when `signal` aborts. */
export function readText(stream: Readable, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    const onData = (part: Buffer | string): void => {
      parts.push(typeof part === "string" ? Buffer.from(part, "utf8") : part);
    };
    const cleanUp = (): void => {
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("error", onError);
      signal.removeEventListener("abort", onEnd);
    };
    const onEnd = (): void => {
      cleanUp();
      resolve(Buffer.concat(parts).toString("utf8"));
    };
    const onError = (error: Error): void => {
      cleanUp();
      reject(error);
    };
    if (signal.aborted) {
      resolve("");
      return;
    }
    stream.on("data", onData);
    stream.once("end", onEnd);
    stream.once("error", onError);
    signal.addEventListener("abort", onEnd, { once: true });
  });
}

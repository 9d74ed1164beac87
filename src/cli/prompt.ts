import { isUtf8 } from "node:buffer";
import { readSync } from "node:fs";
import type { Readable } from "node:stream";
import type { CliInput } from "./io.js";

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

/** Input the command cannot send: stdin that is not UTF-8 text. */
export class InvalidInputError extends Error {
  override readonly name = "InvalidInputError";
}

/**
 * `bytes` as UTF-8 text; throws `InvalidInputError` naming the offset of the first byte that is not UTF-8, rather than
 * sending U+FFFD in its place (an image piped by mistake, a Latin-1 file).
 */
export function decodeInput(bytes: Buffer): string {
  // The usual case, checked natively: a TextDecoder costs a question half a millisecond to make.
  if (isUtf8(bytes)) {
    const text = bytes.toString("utf8");
    // A byte order mark is not part of the text, as TextDecoder would say.
    return text.startsWith("\uFEFF") ? text.slice(1) : text;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    // The longest prefix that decodes: a binary search over TextDecoder, which knows UTF-8's rules.
    let low = 0;
    let high = bytes.length;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if (decodes(bytes.subarray(0, middle))) low = middle;
      else high = middle - 1;
    }
    if (low >= bytes.length) throw new InvalidInputError("stdin is not UTF-8 text: it ends in the middle of a character.");
    // `low` is where the decoder noticed; the faulty sequence may have begun up to 3 bytes earlier.
    let offset = low;
    while (offset > 0 && offset > low - 3 && !decodes(bytes.subarray(0, offset), false)) offset -= 1;
    const shown = [...bytes.subarray(offset, offset + 4)].map((byte) => byte.toString(16).padStart(2, "0")).join(" ");
    throw new InvalidInputError(
      `stdin is not UTF-8 text: byte ${offset} is ${shown}${bytes.length > offset + 4 ? " …" : ""}; g4f-rx sends text: convert it first (iconv -f latin1 -t utf-8), or describe a binary file instead of piping it.`,
    );
  }
}

function decodes(bytes: Buffer, stream = true): boolean {
  try {
    // `stream: true` accepts a sequence cut at the end, which the next byte may still complete.
    new TextDecoder("utf-8", { fatal: true }).decode(bytes, { stream });
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads stdin to its end as UTF-8 text; stops early, with what arrived, when `signal` aborts. Invalid UTF-8 rejects
 * with `InvalidInputError`, and so does a stdin that cannot be read (a directory). A pipe or a file is read from its
 * descriptor, blocking the thread (through `input.blocking`: a signal meanwhile ends the process); a terminal, or a
 * descriptor set non-blocking by whoever shares it (it fails with EAGAIN rather than wait), through the stream.
 */
export async function readInput(input: CliInput, signal: AbortSignal): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readBytesOf(input, signal);
  } catch (error) {
    throw new InvalidInputError(`could not read stdin: ${error instanceof Error ? error.message : String(error)}`);
  }
  return decodeInput(bytes);
}

async function readBytesOf(input: CliInput, signal: AbortSignal): Promise<Buffer> {
  const { fd, blocking = (read) => read() } = input;
  if (fd === undefined || input.isTTY) return readBytes(input.stream, signal);
  // A signal that came before is handled first: no handler runs while the read blocks.
  await new Promise((resolve) => setImmediate(resolve));
  if (signal.aborted) return Buffer.alloc(0);
  const { parts, ended } = blocking(() => readDescriptor(fd));
  return Buffer.concat(ended ? parts : [...parts, await readBytes(input.stream, signal)]);
}

interface DescriptorRead {
  readonly parts: readonly Buffer[];
  /** False when the descriptor would have blocked (EAGAIN): the rest is for the stream to read. */
  readonly ended: boolean;
}

const READ_SIZE = 65_536;

/** Reads `fd` up to its end, or until it would block, waiting for each read. */
function readDescriptor(fd: number): DescriptorRead {
  const parts: Buffer[] = [];
  const buffer = Buffer.allocUnsafe(READ_SIZE);
  for (;;) {
    let bytes: number;
    try {
      bytes = readSync(fd, buffer, 0, READ_SIZE, null);
    } catch (error) {
      const { code } = error as NodeJS.ErrnoException;
      if (code === "EAGAIN" || code === "EWOULDBLOCK") return { parts, ended: false };
      throw error;
    }
    if (bytes === 0) return { parts, ended: true };
    // A copy: a slow producer's many small reads must not each keep a whole buffer.
    parts.push(Buffer.from(buffer.subarray(0, bytes)));
  }
}

/** A stream's bytes up to its end, or what arrived when `signal` aborts. */
function readBytes(stream: Readable, signal: AbortSignal): Promise<Buffer> {
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
      resolve(Buffer.concat(parts));
    };
    const onError = (error: Error): void => {
      cleanUp();
      reject(error);
    };
    if (signal.aborted) {
      resolve(Buffer.alloc(0));
      return;
    }
    stream.on("data", onData);
    stream.once("end", onEnd);
    stream.once("error", onError);
    signal.addEventListener("abort", onEnd, { once: true });
  });
}

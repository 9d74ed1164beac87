import type { Readable, Writable } from "node:stream";
import type { Environment } from "../endpoints.js";
import type { TerminalWritable } from "./terminal.js";

/** Why the command was told to stop early. */
export type StopReason =
  /** Ctrl-C. */
  | "SIGINT"
  | "SIGTERM"
  /** The reader of stdout went away (`| head -c 5`). */
  | "EPIPE"
  /** Writing to stdout failed for another reason. */
  | "output-error";

/** The early stop: `signal` aborts once, and `reason` says why. */
export interface Stop {
  readonly signal: AbortSignal;
  readonly reason: StopReason | undefined;
}

/**
 * The command's stdin. A question reads it whole from its descriptor when there is one, with blocking reads: making
 * Node's `process.stdin` stream and reading a pipe through it cost a question about 2 ms more, and reading the
 * descriptor through Node's thread pool (which then starts its threads) 2–3 ms more. The stream is for what reads
 * line by line (`chat`), for a terminal, and for a descriptor that cannot be read directly.
 */
export interface CliInput {
  readonly isTTY: boolean;
  /** The file descriptor to read from (0), or undefined when there is none (a stream standing in for stdin). */
  readonly fd: number | undefined;
  /**
   * Runs `read`, which blocks the thread until stdin ends, such that SIGINT or SIGTERM meanwhile ends the process as
   * if it had no handler: no handler can run while the thread is blocked, and nothing is sent yet, so nothing is left
   * to clean up. The command's process gives it; without it, `read` just runs.
   */
  readonly blocking?: <T>(read: () => T) => T;
  /** The stream, made on first use. */
  readonly stream: Readable;
}

/** Everything the command touches, so that it can run against other streams than the process's. */
export interface CliIo {
  /** The arguments, without `node` and the script. */
  readonly args: readonly string[];
  readonly env: Environment;
  readonly stdin: CliInput;
  readonly stdout: Writable & { readonly columns?: number | undefined; readonly isTTY?: boolean | undefined };
  readonly stderr: Writable & TerminalWritable;
  readonly stop: Stop;
  readonly version: string;
}

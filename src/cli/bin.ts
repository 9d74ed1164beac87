import type { Readable, Writable } from "node:stream";
import { EXIT } from "./exit-codes.js";
import type { StopReason } from "./io.js";
import { maybeTerminal } from "./is-terminal.js";
import { main } from "./main.js";

// The `g4f-rx` executable: wires the process (arguments, streams, signals) to `main`, lets every queued byte reach
// stdout, then exits with main's code, or dies by the signal that stopped it, so that a shell loop stops too.

/** The package's version, written in by scripts/build-cli.mjs: this file runs only bundled. */
declare const G4F_RX_VERSION: string;

const controller = new AbortController();
let reason: StopReason | undefined;

const onSignal = (signal: "SIGINT" | "SIGTERM"): void => {
  if (reason === undefined) {
    reason = signal;
    controller.abort(signal);
  } else {
    // A second Ctrl-C means "now", even if something is still winding down.
    raise(signal);
  }
};
const onSigint = (): void => onSignal("SIGINT");
const onSigterm = (): void => onSignal("SIGTERM");
process.on("SIGINT", onSigint);
process.on("SIGTERM", onSigterm);
// Without a listener, a write to a closed pipe would crash with a stack trace.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (reason !== undefined) return;
  reason = error.code === "EPIPE" || error.code === "ERR_STREAM_DESTROYED" ? "EPIPE" : "output-error";
  controller.abort(reason);
});

/** Ends the process by `signal`, as if the command had no handler: the shell sees "killed by SIGINT" and stops its loop. */
function raise(signal: "SIGINT" | "SIGTERM"): void {
  process.off("SIGINT", onSigint);
  process.off("SIGTERM", onSigterm);
  process.kill(process.pid, signal);
}

/** Resolves once `stream` has handed every queued byte to the system (or cannot: closed, failed). */
function flushed(stream: Writable): Promise<void> {
  if (stream.writableLength === 0 || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off("drain", done);
      stream.off("close", done);
      stream.off("error", done);
      resolve();
    };
    stream.once("drain", done);
    stream.once("close", done);
    stream.once("error", done);
  });
}

/** Runs the command; a function, not top-level await, so that the bundle can be CommonJS (faster to load). */
async function run(): Promise<void> {
  const code = await main({
    args: process.argv.slice(2),
    env: process.env,
    stdin: {
      isTTY: maybeTerminal(0) && (await import("node:tty")).isatty(0),
      fd: 0,
      blocking: <T>(read: () => T): T => {
        // Without a listener, Node gives each signal back its default action: ending the process.
        process.off("SIGINT", onSigint);
        process.off("SIGTERM", onSigterm);
        try {
          return read();
        } finally {
          process.on("SIGINT", onSigint);
          process.on("SIGTERM", onSigterm);
        }
      },
      // process.stdin is made on first use: a question read from a pipe never needs it.
      get stream(): Readable {
        return process.stdin;
      },
    },
    stdout: process.stdout,
    stderr: process.stderr,
    stop: {
      signal: controller.signal,
      get reason() {
        return reason;
      },
    },
    version: G4F_RX_VERSION,
  }).catch((error: unknown) => {
    process.stderr.write(`g4f-rx: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  });

  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  // Stopped by a signal (main says so with 130 or 143; `serve` takes it as its normal end and says 0): die by it.
  if (code === EXIT.interrupted || code === EXIT.terminated) {
    raise(code === EXIT.interrupted ? "SIGINT" : "SIGTERM");
    return;
  }
  // Now, rather than when the event loop empties: the output is flushed and the log's writes are synchronous, so
  // nothing is left to wait for, and a natural end spends milliseconds tearing down what the run built (a stdin
  // nobody finished reading would even keep the process alive).
  process.exit(code);
}

void run();

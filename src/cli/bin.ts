import { exitCodeFor } from "./exit-codes.js";
import type { StopReason } from "./io.js";
import { main } from "./main.js";
import { packageVersion } from "./version.js";

// The `g4f-rx` executable: wires the process (arguments, streams, signals) to `main` and exits with its code.

const controller = new AbortController();
let reason: StopReason | undefined;

function stopWith(next: StopReason): void {
  if (reason === undefined) {
    reason = next;
    controller.abort(next);
  } else if (next === "SIGINT" || next === "SIGTERM") {
    // A second Ctrl-C means "now", even if something is still winding down.
    process.exit(exitCodeFor(next));
  }
}

process.on("SIGINT", () => stopWith("SIGINT"));
process.on("SIGTERM", () => stopWith("SIGTERM"));
// Without a listener, a write to a closed pipe would crash with a stack trace.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  stopWith(error.code === "EPIPE" || error.code === "ERR_STREAM_DESTROYED" ? "EPIPE" : "output-error");
});

const code = await main({
  args: process.argv.slice(2),
  env: process.env,
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  stop: {
    signal: controller.signal,
    get reason() {
      return reason;
    },
  },
  version: packageVersion(import.meta.url),
}).catch((error: unknown) => {
  process.stderr.write(`g4f-rx: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return 1;
});

process.exitCode = code;
// Normally nothing is left and the process ends now. A stdin nobody finished reading, or a retry back-off timer of
// the openai client after an abort, would keep it alive: this timer, which does not itself hold the process, ends it.
setTimeout(() => process.exit(code), 100).unref();

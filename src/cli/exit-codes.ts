import type { StopReason } from "./io.js";

/** The command's exit codes, by meaning. */
export const EXIT = {
  success: 0,
  failure: 1,
  usage: 2,
  /** The stream completed, but not with an answer: cut by max_tokens or the content filter, refused, a tool call, reasoning only, empty. */
  incomplete: 3,
  /** 128 + SIGINT (2), as shells report Ctrl-C. */
  interrupted: 130,
  /** 128 + SIGTERM (15). */
  terminated: 143,
} as const;

/** The exit codes with their meaning, for `--help` and the README. */
export const EXIT_CODES: readonly { readonly code: number; readonly meaning: string }[] = [
  { code: EXIT.success, meaning: "success, also when stdout was closed early (| head)" },
  { code: EXIT.failure, meaning: "endpoint, HTTP or stream error; printed text stays" },
  { code: EXIT.usage, meaning: "usage error (no prompt, bad flag, missing key): nothing sent" },
  { code: EXIT.incomplete, meaning: "no whole answer: cut off (length, content_filter), refused, a tool call, reasoning only or empty" },
  { code: EXIT.interrupted, meaning: "Ctrl-C (SIGINT): request aborted, printed text kept" },
  { code: EXIT.terminated, meaning: "SIGTERM: likewise" },
];

/** The exit code for an early stop. */
export function exitCodeFor(reason: StopReason | undefined): number {
  switch (reason) {
    case "SIGINT":
      return EXIT.interrupted;
    case "SIGTERM":
      return EXIT.terminated;
    case "EPIPE":
      return EXIT.success;
    default:
      return EXIT.failure;
  }
}

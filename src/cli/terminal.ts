import type { Environment } from "../endpoints.js";

/** A stream that may be a terminal, as `process.stderr` is. */
export interface TerminalWritable {
  write(text: string): unknown;
  readonly isTTY?: boolean | undefined;
}

/**
 * Whether to colour what goes to `stream`: only on a terminal, and never when
 * `NO_COLOR` is set to anything but "" (https://no-color.org) or `TERM=dumb`.
 */
export function useColour(stream: { readonly isTTY?: boolean | undefined }, env: Environment): boolean {
  const noColor = env.NO_COLOR;
  return stream.isTTY === true && (noColor === undefined || noColor === "") && env.TERM !== "dumb";
}

/** Text styles for stderr; plain text when colour is off. */
export interface Styles {
  error(text: string): string;
  note(text: string): string;
}

export function styles(colour: boolean): Styles {
  const wrap = (open: string, text: string): string => (colour ? `\u001b[${open}m${text}\u001b[0m` : text);
  return { error: (text) => wrap("31", text), note: (text) => wrap("2", text) };
}

/** A progress indicator on stderr; `stop()` erases it and may be called any number of times. */
export interface Spinner {
  stop(): void;
}

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
/** A frame every 80 ms; the first after one interval, so a fast answer shows no spinner at all. */
const FRAME_MS = 80;

/** Draws `text` with a turning spinner on `out`, which should be a terminal. */
export function startSpinner(out: TerminalWritable, text: string, style: Styles): Spinner {
  let frame = 0;
  let drawn = false;
  let stopped = false;
  const timer = setInterval(() => {
    out.write(`\r${FRAMES[frame % FRAMES.length] ?? ""} ${style.note(text)}`);
    frame += 1;
    drawn = true;
  }, FRAME_MS);
  // The spinner alone must not keep the process alive.
  timer.unref();
  return {
    stop: () => {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      // Carriage return and erase-line leave the cursor where the spinner began.
      if (drawn) out.write("\r\u001b[K");
    },
  };
}

/** A spinner that shows nothing, for pipes, files and `--quiet`. */
export const NO_SPINNER: Spinner = { stop: () => undefined };

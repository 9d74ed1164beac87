import type { Writable } from "node:stream";
import type { OutputFlow } from "./http-source.js";

/**
 * Writes the answer to stdout and remembers when stdout's buffer is full (`write` returned false) until it drains, so
 * the live source can stop reading the socket meanwhile: memory stays flat into a slow pipe whatever the answer's size.
 */
export class StdoutFlow implements OutputFlow {
  readonly #stream: Writable;
  #waiting: Promise<void> | undefined;

  constructor(stream: Writable) {
    this.#stream = stream;
  }

  get waiting(): Promise<void> | undefined {
    return this.#waiting;
  }

  write(text: string): boolean {
    const ok = this.#stream.write(text);
    if (!ok && this.#waiting === undefined) {
      this.#waiting = new Promise<void>((resolve) => {
        const done = (): void => {
          this.#stream.off("drain", done);
          this.#stream.off("close", done);
          this.#stream.off("error", done);
          this.#waiting = undefined;
          resolve();
        };
        this.#stream.once("drain", done);
        // A reader that went away never drains; the command then stops anyway.
        this.#stream.once("close", done);
        this.#stream.once("error", done);
      });
    }
    return ok;
  }
}

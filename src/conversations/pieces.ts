import { closeSync, openSync, readSync } from "node:fs";

/**
 * Gives `each` the text of a file in pieces of whole lines, each about `size` bytes (a longer line whole), decoded one
 * piece at a time: a file of many megabytes (the texts file of thousands of conversations) is never one string, nor
 * one buffer. Split on the newline byte, which no UTF-8 character contains. False when there is no file to read.
 */
export function forEachPiece(file: string, each: (text: string) => void, size = 1024 * 1024): boolean {
  let descriptor: number;
  try {
    descriptor = openSync(file, "r");
  } catch {
    return false;
  }
  try {
    let buffer = Buffer.allocUnsafe(size);
    // The bytes of a line begun in the last read, moved to the buffer's start.
    let held = 0;
    for (;;) {
      if (held === buffer.length) {
        const larger = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(larger, 0, 0, held);
        buffer = larger;
      }
      const read = readSync(descriptor, buffer, held, buffer.length - held, null);
      const end = held + read;
      if (read === 0) {
        if (end > 0) each(buffer.toString("utf8", 0, end));
        return true;
      }
      const newline = buffer.lastIndexOf(0x0a, end - 1);
      if (newline < held) {
        held = end;
        continue;
      }
      each(buffer.toString("utf8", 0, newline + 1));
      buffer.copy(buffer, 0, newline + 1, end);
      held = end - newline - 1;
    }
  } finally {
    closeSync(descriptor);
  }
}

import { fstatSync } from "node:fs";

/**
 * Whether `fd` may be a terminal: it is a character device, the only kind of file a terminal is. A pipe or a regular
 * file is told apart by its fstat alone, so a piped run never loads node:tty (which loads node:net with it); for a
 * character device (a terminal, /dev/null) the caller asks node:tty's `isatty`. A closed descriptor is no terminal.
 */
export function maybeTerminal(fd: number): boolean {
  try {
    return fstatSync(fd).isCharacterDevice();
  } catch {
    return false;
  }
}

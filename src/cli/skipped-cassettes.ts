import type { CassetteError } from "../replay/cassette.js";

/**
 * What `--replay DIR` and `serve --cassettes DIR` say of the files they skip: each one in its own line, except the
 * cassettes that fail because one they go back through cannot be read (a conversation's turn moved out of its folder
 * or damaged fails every turn after it): the first of those is said, and the others in one line at the end.
 */
export function cassetteSkips(warn: (text: string) => void): { readonly skip: (error: CassetteError) => void; readonly end: () => void; readonly count: () => number } {
  const more = new Map<string, number>();
  let count = 0;
  return {
    count: () => count,
    skip: (error) => {
      count += 1;
      const { unreadable } = error;
      const seen = unreadable === undefined ? undefined : more.get(unreadable);
      if (unreadable !== undefined && seen !== undefined) {
        more.set(unreadable, seen + 1);
        return;
      }
      if (unreadable !== undefined) more.set(unreadable, 0);
      warn(`skipping ${error.message}`);
    },
    end: () => {
      for (const [unreadable, count] of more) {
        if (count > 0) warn(`skipping ${String(count)} more ${count === 1 ? "cassette whose request goes" : "cassettes whose requests go"} back to ${unreadable} too`);
      }
    },
  };
}

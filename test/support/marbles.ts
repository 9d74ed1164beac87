import { configure } from "rxjs-marbles";
import { expect } from "vitest";

/**
 * `marbles` for vitest: run mode (virtual time through `TestScheduler.run`),
 * with failures reported by vitest's own `expect`, so diffs read as usual.
 */
export const { marbles } = configure({
  assert: (value: unknown, message: string) => expect(value, message).toBeTruthy(),
  assertDeepEqual: (actual: unknown, expected: unknown) => expect(actual).toStrictEqual(expected),
  frameworkMatcher: true,
  run: true,
});

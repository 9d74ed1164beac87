import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * True when the module at `url` (pass `import.meta.url`) was run directly, as in
 * `npx tsx examples/seed-demo.ts`, and false when a test imports it. Paths are
 * compared after resolving symbolic links.
 */
export function isEntryModule(url: string): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(url));
  } catch {
    return false;
  }
}

import { readFileSync } from "node:fs";

/**
 * The version in g4f-rx's package.json, found by walking up from `moduleURL`.
 * The bundled binary (dist/bin/), the compiled library and the sources sit at
 * different depths below it, so no fixed relative path fits all three.
 */
export function packageVersion(moduleURL: string): string {
  let directory = new URL(".", moduleURL);
  for (let depth = 0; depth < 6; depth += 1) {
    try {
      const manifest: unknown = JSON.parse(readFileSync(new URL("package.json", directory), "utf8"));
      if (isOurManifest(manifest)) return manifest.version;
    } catch {
      // No package.json here (or an unreadable one): keep walking up.
    }
    const parent = new URL("..", directory);
    if (parent.href === directory.href) break;
    directory = parent;
  }
  return "unknown";
}

function isOurManifest(value: unknown): value is { name: "g4f-rx"; version: string } {
  return (
    typeof value === "object" &&
    value !== null &&
    "name" in value &&
    value.name === "g4f-rx" &&
    "version" in value &&
    typeof value.version === "string"
  );
}

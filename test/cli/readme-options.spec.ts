import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { optionsMarkdown, readmeMarkers, withOptionTables } from "../../src/cli/help.js";
import { COMMANDS } from "../../src/cli/options.js";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

describe("the README's flag tables", () => {
  it.each(COMMANDS.map((command) => [command.name || "g4f-rx", command] as const))("match the option table of %s (npm run readme:options)", (_name, command) => {
    const { start, end } = readmeMarkers(command);
    expect(readme).toContain(`${start}\n${optionsMarkdown(command)}\n${end}`);
  });

  it("are all up to date", () => {
    expect(withOptionTables(readme, COMMANDS)).toBe(readme);
  });
});

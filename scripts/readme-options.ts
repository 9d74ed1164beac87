// Regenerates the README's flag tables from the command's option tables (src/cli/options.ts):
// `npm run readme:options`. test/cli/readme-options.spec.ts fails while the README differs.
import { readFileSync, writeFileSync } from "node:fs";
import { withOptionTables } from "../src/cli/help.js";
import { COMMANDS } from "../src/cli/options.js";

const file = new URL("../README.md", import.meta.url);
writeFileSync(file, withOptionTables(readFileSync(file, "utf8"), COMMANDS));

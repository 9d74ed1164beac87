import { type CommandSpec, type OptionSpec, describeLimits } from "./option-table.js";
import { wrapStyled } from "./wrap.js";

/** `-m, --model ID` */
export function flagText(spec: OptionSpec): string {
  const long = spec.type === "boolean" && spec.default === true ? `--no-${spec.name}` : `--${spec.name}`;
  const value = spec.type === "boolean" ? "" : ` ${spec.placeholder ?? (spec.choices === undefined ? "VALUE" : spec.choices.join("|"))}`;
  return `${spec.alias === undefined ? "" : `-${spec.alias}, `}${long}${value}`;
}

/** The default, in words, or `undefined` when there is none worth saying. */
function defaultText(spec: OptionSpec): string | undefined {
  if (spec.defaultText !== undefined) return spec.defaultText;
  if (spec.default === undefined || spec.type === "boolean") return undefined;
  return String(spec.default);
}

/** The flag's meaning with the rest of what the table knows: accepted numbers, environment variable, default. */
function meaning(spec: OptionSpec): string {
  const extras: string[] = [];
  if (spec.limits !== undefined) extras.push(describeLimits(spec.limits));
  if (spec.env !== undefined) extras.push(`env ${spec.env}`);
  if (spec.negatedEnv !== undefined) extras.push(`off with env ${spec.negatedEnv}=1`);
  const fallback = defaultText(spec);
  if (fallback !== undefined) extras.push(`default ${fallback}`);
  return extras.length === 0 ? spec.description : `${spec.description} [${extras.join("; ")}]`;
}

/** The `--help` text of a command, wrapped to `width` columns (at least 40, at most 100). */
export function helpText(command: CommandSpec, width: number): string {
  const columns = Math.max(40, Math.min(100, width));
  const lines: string[] = [];
  command.usage.forEach((line, i) => {
    const text = `${i === 0 ? "Usage: " : "       "}${line.replaceAll("$0", "g4f-rx")}`;
    lines.push(...hanging(text, columns, usageIndent(line)));
  });
  lines.push("", ...wrap(command.description, columns, ""), "");
  if (command.positionals !== undefined) lines.push(...wrap(command.positionals, columns, ""), "");
  lines.push("Options:");
  const shown = command.options.filter((spec) => command.omitFromHelp?.includes(spec.name) !== true);
  const flags = shown.map((spec) => flagText(spec));
  const flagWidth = Math.min(28, Math.max(...flags.map((flag) => flag.length)));
  // Meanings beside the flags while that leaves them room, else each under its flag.
  const beside = columns - (flagWidth + 4) >= 36;
  shown.forEach((spec, i) => {
    const flag = flags[i] ?? "";
    const indent = " ".repeat(beside ? flagWidth + 4 : 6);
    const body = wrap(meaning(spec), columns, indent);
    if (!beside || flag.length > flagWidth) lines.push(`  ${flag}`, ...body);
    else lines.push(`  ${flag.padEnd(flagWidth)}  ${(body[0] ?? "").trimStart()}`, ...body.slice(1));
  });
  if (command.examples.length > 0) {
    lines.push("", "Examples:");
    const commandWidth = Math.max(...command.examples.map(([example]) => example.replaceAll("$0", "g4f-rx").length));
    for (const [example, what] of command.examples) {
      const written = example.replaceAll("$0", "g4f-rx");
      const row = `  ${written.padEnd(commandWidth)}  ${what}`;
      // A command is never wrapped, so that it can be copied as it is: when the row does not fit, the command has its
      // own line (longer than the width if it must, for the terminal to fold) and its meaning goes below it.
      if (row.length <= columns || columns - commandWidth - 4 >= MIN_COLUMN) lines.push(...hanging(row, columns));
      else lines.push(`  ${written}`, ...wrapUnder(`      ${what}`, columns, 6));
    }
  }
  const epilogue = command.epilogue?.();
  if (epilogue !== undefined) lines.push("", ...epilogue.split("\n").flatMap((line) => hanging(line, columns)));
  return `${lines.join("\n")}\n`;
}

/** Words of `text` in lines of at most `width` columns, each starting with `indent` (the renderer's wrapping). */
function wrap(text: string, width: number, indent: string): string[] {
  return wrapStyled(text, width - indent.length)
    .split("\n")
    .map((line) => `${indent}${line}`);
}

/** The narrowest column worth wrapping text into. */
const MIN_COLUMN = 20;
/** Stands for a space that must not become a line break (inside quotes). */
const NO_BREAK = "\u00a0";

/**
 * One line of the help wrapped at `width` columns, its later lines under its text: a table row's (`  3    cut off…`)
 * under its last column, or below the row when that column would be too narrow; any other line's under `indent`
 * (a usage line's options), else under its first word.
 */
function hanging(line: string, width: number, indent?: number): string[] {
  if (line.length <= width) return [line];
  const lead = /^ */.exec(line)?.[0].length ?? 0;
  const gap = /^(.*\S) {2,}(?=\S)/.exec(line);
  if (gap === null) return wrapUnder(line, width, indent ?? lead);
  if (width - gap[0].length >= MIN_COLUMN) return wrapUnder(line, width, gap[0].length);
  return [...hanging(gap[1] ?? "", width, indent), ...wrapUnder(`${" ".repeat(lead + 4)}${line.slice(gap[0].length)}`, width, lead + 4)];
}

/**
 * `line` wrapped at `width` columns, each line after the first `hang` spaces in. A quoted phrase ("trip plan") that
 * fits on a line is not broken: its spaces are held as no-break spaces while wrapping.
 */
function wrapUnder(line: string, width: number, hang: number): string[] {
  if (line.length <= width) return [line];
  const held = line.replace(/"[^"\n]*"/g, (quoted) => (quoted.length <= width - hang ? quoted.replaceAll(" ", NO_BREAK) : quoted));
  // Under its own start when the hang leaves too little room, or less than a whole word (a URL) needs.
  const longestWord = Math.max(...held.slice(hang).split(" ").map((word) => word.length));
  const at = width - hang >= MIN_COLUMN && longestWord <= width - hang ? hang : (/^ */.exec(held)?.[0].length ?? 0);
  const [first = "", ...rest] = wrapStyled(held.slice(at), width - at).split("\n");
  return [`${held.slice(0, at)}${first}`, ...rest.map((text) => `${" ".repeat(at)}${text}`)].map((text) => text.replaceAll(NO_BREAK, " "));
}

/** Where a usage line's options start: after `Usage: g4f-rx` and its subcommand, if any. */
function usageIndent(line: string): number {
  const words = /^\$0(?: [a-z]+(?= |$))?/.exec(line)?.[0].length ?? 0;
  return "Usage: ".length + words + 1;
}

/** The README's flag table of a command: one row per option, generated from the same table as `--help`. */
export function optionsMarkdown(command: CommandSpec): string {
  const cell = (text: string): string => text.replaceAll("|", "\\|");
  const rows = command.options.map((spec) => {
    const flag = `\`${cell(flagText(spec))}\``;
    const more = spec.more === undefined ? "" : ` ([more](#${spec.more}))`;
    const limits = spec.limits === undefined ? "" : `; ${describeLimits(spec.limits)}`;
    const env = spec.env !== undefined ? `\`${spec.env}\`` : spec.negatedEnv !== undefined ? `\`${spec.negatedEnv}=1\` (off)` : "";
    return `| ${flag} | ${cell(spec.description)}${cell(limits)}${more} | ${env} | ${cell(defaultText(spec) ?? "")} |`;
  });
  const table = ["| flag | meaning | environment | default |", "| --- | --- | --- | --- |", ...rows];
  const elsewhere = Object.entries(command.elsewhere ?? {});
  if (elsewhere.length === 0) return table.join("\n");
  // The same words as the unknown option's error, so the README says what the command will.
  const habits = elsewhere.map(([flag, way]) => `| \`${cell(flag)}\` | ${cell(way)} |`);
  return [...table, "", "Flags of llm, mods or aichat that this command lacks are refused (exit 2) with the way to do it here:", "", "| typed | here |", "| --- | --- |", ...habits].join("\n");
}

/** The README's markers around a command's generated flag table. */
export function readmeMarkers(command: CommandSpec): { readonly start: string; readonly end: string } {
  const id = command.name === "" ? "g4f-rx" : `g4f-rx-${command.name}`;
  return { start: `<!-- options:${id} (generated by npm run readme:options) -->`, end: `<!-- /options:${id} -->` };
}

/** `readme` with every command's flag table regenerated between its markers. */
export function withOptionTables(readme: string, commands: readonly CommandSpec[]): string {
  let text = readme;
  for (const command of commands) {
    const { start, end } = readmeMarkers(command);
    const from = text.indexOf(start);
    const to = text.indexOf(end);
    if (from < 0 || to < from) throw new Error(`README.md has no "${start}" … "${end}" section for ${command.name || "g4f-rx"}`);
    text = `${text.slice(0, from + start.length)}\n${optionsMarkdown(command)}\n${text.slice(to)}`;
  }
  return text;
}

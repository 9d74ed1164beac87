import { parseArgs } from "node:util";
import { MAX_TIMER_MS } from "../../operators/stream-timeout.js";

/**
 * The machinery behind the command's option tables (`options.ts`): one declaration per flag, from which the command
 * line is parsed (Node's own `parseArgs`, the only parser), values are checked, the environment and a config file fill
 * in what the command line left out, and `--help` and the README's flag tables are written.
 */

/** How a flag's value is read. `list` is repeatable and comma-separated (`--fallback a,b --fallback c`), unless `onePerFlag`. */
export type OptionType = "string" | "number" | "boolean" | "list";

/** Limits for a `number` option; a value outside them is a usage error. */
export interface NumberLimits {
  readonly min?: number;
  /** The value must be above this (exclusive). */
  readonly above?: number;
  readonly max?: number;
  readonly integer?: boolean;
  /** `Infinity` is accepted (it is otherwise an error, as every other non-finite number). */
  readonly infinity?: boolean;
  /** Milliseconds handed to a timer: at most 2^31 − 1, which Node's timers cannot exceed. */
  readonly timer?: boolean;
}

/** One flag. */
export interface OptionSpec {
  /** The long name, kebab-case: `max-tokens` is `--max-tokens` and `maxTokens` in the parsed values. */
  readonly name: string;
  /** A one-letter alias: `m` is `-m`. */
  readonly alias?: string;
  readonly type: OptionType;
  /** The value's name in `--help` and the README: `--model ID`. */
  readonly placeholder?: string;
  readonly description: string;
  /** The environment variable that sets it when the flag is absent. */
  readonly env?: string;
  /** For a boolean: the environment variable that sets the opposite (`G4F_RX_NO_LOG=1` is `--no-log`). */
  readonly negatedEnv?: string;
  /** The value when neither the flag, the environment nor the config file gives one. */
  readonly default?: string | number | boolean;
  /** The default in words, when it is computed elsewhere (`0 for a local URL, 2 for a remote one`). */
  readonly defaultText?: string;
  /** For a list of file names: each flag is one item, commas and spaces included (`-a "a, b.txt"`), not split. */
  readonly onePerFlag?: true;
  /** The only values accepted (string options). */
  readonly choices?: readonly string[];
  readonly limits?: NumberLimits;
  /** A README heading (anchor) that explains the flag further. */
  readonly more?: string;
}

/** Where a value came from, in the order they win. */
export type ValueSource = "flag" | "role" | "environment" | "config" | "default";

type Camel<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Head}${Capitalize<Camel<Tail>>}` : S;

type ValueType<O extends OptionSpec> = O["type"] extends "number"
  ? number
  : O["type"] extends "boolean"
    ? boolean
    : O["type"] extends "list"
      ? readonly string[]
      : O extends { readonly choices: readonly (infer C)[] }
        ? C
        : string;

/** Booleans are false and lists empty when unset; other options without a default are `undefined`. */
type ValueOf<O extends OptionSpec> = O extends { readonly default: unknown }
  ? ValueType<O>
  : O["type"] extends "boolean" | "list"
    ? ValueType<O>
    : ValueType<O> | undefined;

/** The parsed values of a table, by camelCase name. */
export type OptionValues<T extends readonly OptionSpec[]> = { readonly [O in T[number] as Camel<O["name"]>]: ValueOf<O> };

/** A command: its options, what its positional arguments are, and the texts of its `--help`. */
export interface CommandSpec<T extends readonly OptionSpec[] = readonly OptionSpec[]> {
  /** `""` for the default command (asking a question), else the word that selects it: `g4f-rx serve`. */
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The usage lines of `--help`, with `$0` for `g4f-rx`. */
  readonly usage: readonly string[];
  /** A paragraph under the usage. */
  readonly description: string;
  readonly options: T;
  /** What the positional arguments are, for `--help`; `undefined` when the command takes none. */
  readonly positionals?: string;
  readonly examples: readonly (readonly [command: string, what: string])[];
  /** Options of the table that `--help` leaves out: the command refuses them itself, with a message of its own. */
  readonly omitFromHelp?: readonly string[];
  /** More text after the options (endpoints, exit codes). */
  readonly epilogue?: () => string;
  /** Checks that involve several options; returns a usage error's message or `undefined`. */
  check?(values: OptionValues<T>): string | undefined;
  /**
   * Flags of other commands (llm, mods, aichat) that this one lacks, as they are typed (`-f`, `--title`), each with the
   * way to do it here: the unknown option's error says it, so a habit brought from another tool finds its way. None
   * may be a flag of `options` (a test checks), which would never reach it.
   */
  readonly elsewhere?: Readonly<Record<string, string>>;
}

/** A command line that cannot be run: exit 2 with the message. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** What a command line asks for: a run with the values, or just `--help` / `--version` text. */
export type Parsed<T extends readonly OptionSpec[]> =
  | {
      readonly kind: "run";
      readonly values: OptionValues<T>;
      /** The positional arguments (after `--` too), in order. */
      readonly positionals: readonly string[];
      /** Where each value came from, by long name. */
      readonly sources: Readonly<Record<string, ValueSource>>;
    }
  | { readonly kind: "help" }
  | { readonly kind: "version" };

/** The layers below the command line. */
export interface Layers {
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** A config file's settings by long option name, and a label for messages (its path). */
  readonly config?: { readonly values: Readonly<Record<string, unknown>>; readonly label: string };
  /**
   * Named sets of settings (the config file's `roles`), by long option name, and a label for messages (the file's
   * path): a table with a `role` option takes the one it names as a layer just under the command line.
   */
  readonly roles?: { readonly byName: Readonly<Record<string, Readonly<Record<string, unknown>>>>; readonly label: string };
  /**
   * A role chosen after the command line was read (chat's `/role NAME`): it takes the place of the one the command
   * line, the environment or the config file names, as a `--role` given last would, and every flag still wins over it.
   */
  readonly role?: string;
}

/** The option that names a role (`-r NAME`), in the tables that have one. */
const ROLE = "role";

/** `--help` and `--version`, which every command has. */
export const COMMON_OPTIONS = [
  { name: "help", alias: "h", type: "boolean", description: "Show this help and exit" },
  { name: "version", type: "boolean", description: "Show the version and exit" },
] as const satisfies readonly OptionSpec[];

/**
 * Parses `args` (without `node`, the script and the command's name) by `command`'s table. A value comes from the
 * flag, else the role it names (when the table has `--role`), else the environment variable, else the config file,
 * else the default. Throws `UsageError`.
 */
export function parseCommand<T extends readonly OptionSpec[]>(command: CommandSpec<T>, args: readonly string[], layers: Layers = {}): Parsed<T> {
  const specs: readonly OptionSpec[] = command.options;
  const byName = new Map(specs.map((spec) => [spec.name, spec]));
  const { tokens } = parseArgs({
    args: [...args],
    options: Object.fromEntries(
      specs.map((spec) => [spec.name, { type: spec.type === "boolean" ? "boolean" : "string", multiple: true, ...(spec.alias === undefined ? {} : { short: spec.alias }) }]),
    ),
    // Not strict: unknown options and missing values are explained below, all at once and in the command's words.
    strict: false,
    allowPositionals: true,
    allowNegative: true,
    tokens: true,
  });

  const flags = new Map<string, unknown>();
  const positionals: string[] = [];
  const unknown: string[] = [];
  for (const token of tokens) {
    if (token.kind === "positional") {
      positionals.push(token.value);
      continue;
    }
    if (token.kind === "option-terminator") continue;
    const negated = token.rawName.startsWith("--no-") && byName.get(token.name)?.type === "boolean" && !byName.has(token.rawName.slice(2));
    const spec = byName.get(token.name);
    if (spec === undefined) {
      if (!unknown.includes(token.rawName)) unknown.push(token.rawName);
      continue;
    }
    const flag = displayName(spec);
    if (spec.type === "boolean") {
      if (token.value !== undefined) throw new UsageError(`${flag} takes no value, got "${token.rawName}=${token.value}"`);
      flags.set(spec.name, !negated);
      continue;
    }
    if (token.value === undefined) throw new UsageError(`${flag} needs a value${spec.placeholder === undefined ? "" : ` (${spec.placeholder})`}`);
    const value = coerce(spec, token.value, flag);
    if (spec.type === "list") {
      const before = flags.get(spec.name);
      flags.set(spec.name, [...(Array.isArray(before) ? (before as readonly string[]) : []), ...(value as readonly string[])]);
    } else {
      // Given twice, the last one wins, as in most commands (an alias in a shell function can be overridden).
      flags.set(spec.name, value);
    }
  }
  if (unknown.length > 0) {
    const written = unknown.map((name) => (name.startsWith("--") ? name : `-${name.replace(/^-/, "")}`));
    const ways = written.flatMap((flag) => {
      const way = command.elsewhere?.[flag];
      return way === undefined ? [] : [`\n${flag}: ${way}`];
    });
    // Only a question takes text that may start with a dash; an option another tool has is more likely a habit.
    const dash =
      command.name === "" && written.some((flag) => !flag.startsWith("--") && command.elsewhere?.[flag] === undefined)
        ? ' Text that starts with a dash goes after "--": g4f-rx -- "-5 degrees?"'
        : "";
    throw new UsageError(`unknown option${unknown.length === 1 ? "" : "s"} ${written.join(", ")}.${dash}${ways.join("")}`);
  }
  if (flags.get("help") === true) return { kind: "help" };
  if (flags.get("version") === true) return { kind: "version" };
  if (command.positionals === undefined && positionals.length > 0) {
    throw new UsageError(`${command.name === "" ? "this command" : command.name} takes no arguments, got "${positionals.join(" ")}"`);
  }

  const values: Record<string, unknown> = {};
  const sources: Record<string, ValueSource> = {};
  // The role first: its settings are a layer of every other value.
  const roleSpec = byName.get(ROLE);
  const role = roleSpec === undefined ? undefined : chosenRole(roleSpec, flags, layers);
  for (const spec of specs) {
    if (spec.name === "help" || spec.name === "version") continue;
    const key = camel(spec.name);
    const fromEnv = spec.env === undefined ? undefined : layers.env?.[spec.env];
    const fromNegatedEnv = spec.negatedEnv === undefined ? undefined : layers.env?.[spec.negatedEnv];
    const fromConfig = layers.config?.values[spec.name];
    const fromRole = role?.values[spec.name];
    if (spec.name === ROLE && layers.role !== undefined) {
      values[key] = layers.role;
      sources[spec.name] = "flag";
    } else if (flags.has(spec.name)) {
      values[key] = flags.get(spec.name);
      sources[spec.name] = "flag";
    } else if (fromRole !== undefined && role !== undefined) {
      values[key] = coerceConfig(spec, fromRole, `${spec.name} in ${role.label}`);
      sources[spec.name] = "role";
    } else if (spec.env !== undefined && fromEnv !== undefined && fromEnv.trim() !== "") {
      values[key] = coerce(spec, fromEnv, `$${spec.env}`);
      sources[spec.name] = "environment";
    } else if (spec.negatedEnv !== undefined && fromNegatedEnv !== undefined && fromNegatedEnv.trim() !== "") {
      values[key] = coerce(spec, fromNegatedEnv, `$${spec.negatedEnv}`) !== true;
      sources[spec.name] = "environment";
    } else if (fromConfig !== undefined && layers.config !== undefined) {
      values[key] = coerceConfig(spec, fromConfig, `${spec.name} in ${layers.config.label}`);
      sources[spec.name] = "config";
    } else {
      values[key] = spec.default ?? (spec.type === "boolean" ? false : spec.type === "list" ? [] : undefined);
      sources[spec.name] = "default";
    }
  }
  // The table's types are what `values` holds: every key and type above comes from it.
  const typed = values as OptionValues<T>;
  const problem = command.check?.(typed);
  if (problem !== undefined) throw new UsageError(problem);
  return { kind: "run", values: typed, positionals, sources };
}

/**
 * The role chat's `/role` chose, else the one the command line, the environment or the config file names (`-r shell`),
 * with its settings; `undefined` when none is named. A name the config file does not define is a usage error listing those it does.
 */
function chosenRole(
  spec: OptionSpec,
  flags: ReadonlyMap<string, unknown>,
  layers: Layers,
): { readonly values: Readonly<Record<string, unknown>>; readonly label: string } | undefined {
  const fromEnv = spec.env === undefined ? undefined : layers.env?.[spec.env];
  const fromConfig = layers.config?.values[spec.name];
  const name =
    layers.role !== undefined
      ? layers.role
      : flags.has(spec.name)
        ? flags.get(spec.name)
        : spec.env !== undefined && fromEnv !== undefined && fromEnv.trim() !== ""
          ? coerce(spec, fromEnv, `$${spec.env}`)
          : fromConfig !== undefined && layers.config !== undefined
            ? coerceConfig(spec, fromConfig, `${spec.name} in ${layers.config.label}`)
            : undefined;
  if (typeof name !== "string") return undefined;
  const label = layers.roles?.label ?? layers.config?.label ?? "the config file";
  const defined = layers.roles?.byName ?? {};
  const values = Object.hasOwn(defined, name) ? defined[name] : undefined;
  if (values === undefined) {
    const known = Object.keys(defined);
    throw new UsageError(
      known.length === 0
        ? `no role "${name}": ${label} defines no roles (add "roles": {"${name}": {"system": "…", "model": "…"}} to it)`
        : `no role "${name}" in ${label}; its roles: ${known.join(", ")}`,
    );
  }
  return { values, label: `role "${name}" of ${label}` };
}

/** `--max-tokens` as written on the command line. */
export function displayName(spec: Pick<OptionSpec, "name">): string {
  return `--${spec.name}`;
}

function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_match, letter: string) => letter.toUpperCase());
}

/** A plain decimal number as people write it: 1, -2.5, .5, 1e3. Not hex, not "", not " 1". */
const PLAIN_NUMBER = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?$/i;
const TRUE_WORDS = new Set(["1", "true", "yes", "on"]);
const FALSE_WORDS = new Set(["0", "false", "no", "off"]);

/** Reads `text` (from the command line or the environment) as `spec` says; `from` names it in messages. */
function coerce(spec: OptionSpec, text: string, from: string): unknown {
  switch (spec.type) {
    case "boolean": {
      const word = text.trim().toLowerCase();
      if (TRUE_WORDS.has(word)) return true;
      if (FALSE_WORDS.has(word)) return false;
      throw new UsageError(`${from} must be true or false (1/0, yes/no), got "${text}"`);
    }
    case "number":
      return checkNumber(spec, PLAIN_NUMBER.test(text) ? Number(text) : /^[-+]?infinity$/i.test(text) ? Number(text.replace(/infinity/i, "Infinity")) : Number.NaN, JSON.stringify(text), from);
    case "list": {
      if (spec.onePerFlag === true) {
        if (text === "") throw new UsageError(`${from} needs a value${spec.placeholder === undefined ? "" : ` (${spec.placeholder})`}, got ""`);
        return [text];
      }
      const items = text
        .split(",")
        .map((item) => item.trim())
        .filter((item) => item !== "");
      if (items.length === 0) throw new UsageError(`${from} needs at least one ${spec.placeholder ?? "value"}`);
      return items.map((item) => checkChoice(spec, item, from));
    }
    case "string":
      if (text === "") throw new UsageError(`${from} needs a value${spec.placeholder === undefined ? "" : ` (${spec.placeholder})`}, got ""`);
      return checkChoice(spec, text, from);
  }
}

/** A config file's value: its own JSON type, or text read as the command line would be. */
function coerceConfig(spec: OptionSpec, value: unknown, from: string): unknown {
  if (typeof value === "string") return coerce(spec, value, from);
  if (spec.type === "boolean" && typeof value === "boolean") return value;
  // A number from the config file is shown as the number it is, not quoted as text.
  if (spec.type === "number" && typeof value === "number") return checkNumber(spec, value, String(value), from);
  if (spec.type === "list" && Array.isArray(value) && value.every((item) => typeof item === "string")) {
    return spec.onePerFlag === true ? value.flatMap((item) => coerce(spec, item, from) as readonly string[]) : coerce(spec, value.join(","), from);
  }
  throw new UsageError(`${from} must be ${spec.type === "list" ? "a list of strings" : `a ${spec.type}`}, got ${JSON.stringify(value)}`);
}

function checkChoice(spec: OptionSpec, text: string, from: string): string {
  if (spec.choices !== undefined && !spec.choices.includes(text)) {
    throw new UsageError(`${from} must be one of ${spec.choices.join(", ")}, got "${text}"`);
  }
  return text;
}

/** The longest delay Node's timers take: a longer `timer` value is a usage error. Declared with the operator that hands such values to timers. */
export { MAX_TIMER_MS };

/** `shown`: the value as the message quotes it (text in quotes, a config file's number as is). */
function checkNumber(spec: OptionSpec, value: number, shown: string, from: string): number {
  const limits = spec.limits ?? {};
  const wanted = describeLimits(limits);
  const fail = (): never => {
    throw new UsageError(`${from} must be ${wanted}, got ${shown}`);
  };
  if (Number.isNaN(value)) return fail();
  if (!Number.isFinite(value) && !(limits.infinity === true && value === Infinity)) return fail();
  if (limits.integer === true && Number.isFinite(value) && !Number.isInteger(value)) return fail();
  if (limits.min !== undefined && value < limits.min) return fail();
  if (limits.above !== undefined && value <= limits.above) return fail();
  if (limits.max !== undefined && value > limits.max) return fail();
  if (limits.timer === true && value > MAX_TIMER_MS) return fail();
  return value;
}

/** "a whole number from 0 to 65535", "a number above 0 (or Infinity)"… */
export function describeLimits(limits: NumberLimits): string {
  const noun = limits.integer === true ? "a whole number" : limits.timer === true ? "a number of milliseconds" : "a number";
  const parts: string[] = [];
  const max = limits.timer === true ? Math.min(limits.max ?? MAX_TIMER_MS, MAX_TIMER_MS) : limits.max;
  if (limits.min !== undefined && max !== undefined) parts.push(`from ${limits.min} to ${max}`);
  else if (limits.min !== undefined) parts.push(`of at least ${limits.min}`);
  else if (limits.above !== undefined) parts.push(`above ${limits.above}`);
  if (limits.above !== undefined && max !== undefined) parts.push(`up to ${max}`);
  else if (limits.min === undefined && max !== undefined) parts.push(`up to ${max}`);
  const infinity = limits.infinity === true ? " (or Infinity)" : "";
  return `${noun}${parts.length === 0 ? "" : ` ${parts.join(" ")}`}${infinity}`;
}

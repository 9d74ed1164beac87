import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { helpText } from "../../src/cli/help.js";
import { type CommandSpec, MAX_TIMER_MS, type OptionSpec, UsageError, parseCommand } from "../../src/cli/option-table.js";
import { ASK_COMMAND, ASK_OPTIONS, CHAT_COMMAND, CONFIG_COMMAND, LOGS_COMMAND, MODELS_COMMAND, SERVE_COMMAND, parseCommandLine, parseServeCommandLine } from "../../src/cli/options.js";
import { relayUpstreamTimeout } from "../../src/cli/serve-relay.js";

// One parser (Node's parseArgs), driven by one table: what the table says is what the command line gets.

function usage(args: readonly string[], command: CommandSpec = ASK_COMMAND, env: Record<string, string> = {}): string {
  try {
    parseCommand(command, args, { env });
  } catch (error) {
    if (error instanceof UsageError) return error.message;
    throw error;
  }
  throw new Error(`${args.join(" ")} parsed without a usage error`);
}

function run(args: readonly string[], layers: Parameters<typeof parseCommandLine>[3] = {}) {
  const parsed = parseCommandLine(args, "1.2.3", 80, layers);
  if (parsed.kind !== "run") throw new Error("expected a run");
  return parsed.options;
}

describe("the option table", () => {
  it("declares each flag and alias once", () => {
    for (const command of [ASK_COMMAND, SERVE_COMMAND]) {
      const names = command.options.flatMap((spec: OptionSpec) => [spec.name, ...(spec.alias === undefined ? [] : [spec.alias])]);
      expect(new Set(names).size).toBe(names.length);
    }
  });

  it("reads every kind of value, with defaults for what is missing", () => {
    expect(run(["-m", "m-1", "-s", "Be brief.", "-t", "0.25", "--max-tokens=42", "--no-stream", "--fallback", "a,b", "--fallback=c", "Say", "hi"])).toMatchObject({
      model: "m-1",
      system: "Be brief.",
      temperature: 0.25,
      maxTokens: 42,
      stream: false,
      json: false,
      fallback: ["a", "b", "c"],
      promptArguments: "Say hi",
      speed: undefined,
      sources: { model: "flag", stream: "flag", json: "default" },
    });
  });

  it("takes a value from the flag, else the environment, else the config file, else the default", () => {
    const config = { values: { model: "from-config", "max-tokens": 7, quiet: true }, label: "/x/config.json" };
    const env = { G4F_RX_MODEL: "from-env" };
    expect(run(["-m", "from-flag"], { env, config })).toMatchObject({ model: "from-flag", maxTokens: 7, quiet: true, sources: { model: "flag", "max-tokens": "config" } });
    expect(run([], { env, config })).toMatchObject({ model: "from-env", sources: { model: "environment" } });
    expect(run([], { config })).toMatchObject({ model: "from-config", sources: { model: "config" } });
    expect(run(["--no-quiet"], { config }).quiet).toBe(false);
    expect(run([], { env: { G4F_RX_MODEL: " " } })).toMatchObject({ model: undefined, sources: { model: "default" } });
  });

  it("explains bad config values and environment variables by name", () => {
    expect(() => run([], { config: { values: { temperature: "hot" }, label: "/x/config.json" } })).toThrow('temperature in /x/config.json must be a number from 0 to 2, got "hot"');
    expect(() => run([], { config: { values: { quiet: 3 }, label: "c.json" } })).toThrow("quiet in c.json must be a boolean, got 3");
  });

  it("gives clear usage errors for values that cannot work", () => {
    expect(usage(["--temperature=", "Hi"])).toBe('--temperature must be a number from 0 to 2, got ""');
    expect(usage(["-t", "warm"])).toBe('--temperature must be a number from 0 to 2, got "warm"');
    expect(usage(["-t", "-1"])).toBe('--temperature must be a number from 0 to 2, got "-1"');
    expect(usage(["--idle-timeout", "1e99", "Hi"])).toBe(`--idle-timeout must be a number of milliseconds above 0 up to ${MAX_TIMER_MS}, got "1e99"`);
    expect(usage(["--timeout", "0", "Hi"])).toBe(`--timeout must be a number of milliseconds above 0 up to ${MAX_TIMER_MS}, got "0"`);
    expect(usage(["--max-tokens", "1.5"])).toBe('--max-tokens must be a whole number of at least 1, got "1.5"');
    expect(usage(["--retries", "0x10"])).toBe('--retries must be a whole number of at least 0, got "0x10"');
    expect(usage(["--smooth", "letter"])).toBe('--smooth must be one of word, line, sentence, got "letter"');
    expect(usage(["--model"])).toBe("--model needs a value (ID)");
    expect(usage(["--model="])).toBe('--model needs a value (ID), got ""');
    expect(usage(["--json=yes"])).toBe('--json takes no value, got "--json=yes"');
    expect(usage(["--fallback", ","])).toBe("--fallback needs at least one NAME[,NAME…]");
    expect(usage(["--speed", "2", "Hi"])).toBe("--speed works with --replay (or g4f-rx serve --speed)");
    expect(usage(["--smooth", "word", "--json", "Hi"])).toMatch(/use one of them/);
    expect(usage(["--port", "70000"], SERVE_COMMAND)).toBe('--port must be a whole number from 0 to 65535, got "70000"');
    expect(usage(["x"], SERVE_COMMAND)).toBe('serve takes no arguments, got "x"');
  });

  it("reads serve's --timeout and --idle-timeout as the relay's upstreamTimeout: the relay's defaults, 0 leaving a wait out, both 0 no limit", () => {
    const limits = (args: readonly string[]) => {
      const parsed = parseServeCommandLine(["--upstream", "http://127.0.0.1:9/v1", ...args], "1.2.3");
      if (parsed.kind !== "run") throw new Error("expected a run");
      return relayUpstreamTimeout(parsed.options.timeout, parsed.options.idleTimeout);
    };
    expect(limits([])).toEqual({ first: 600_000, idle: 300_000 });
    expect(limits(["--idle-timeout", "30000"])).toEqual({ first: 600_000, idle: 30_000 });
    expect(limits(["--timeout", "5000", "--idle-timeout", "0"])).toEqual({ first: 5000 });
    expect(limits(["--timeout", "0"])).toEqual({ idle: 300_000 });
    expect(limits(["--timeout", "0", "--idle-timeout", "0"])).toBe(false);
    expect(usage(["--idle-timeout", "2147483648"], SERVE_COMMAND)).toBe(`--idle-timeout must be a number of milliseconds from 0 to ${MAX_TIMER_MS}, got "2147483648"`);
    expect(helpText(SERVE_COMMAND, 100)).toMatch(/--idle-timeout MS[\s\S]*default\s+300000\s+\(5 minutes\)/);
  });

  it("says the way here for another tool's flag, which is never one of the table's own", () => {
    for (const command of [ASK_COMMAND, SERVE_COMMAND, LOGS_COMMAND]) {
      const flags = command.options.flatMap((spec: OptionSpec) => [`--${spec.name}`, ...(spec.type === "boolean" ? [`--no-${spec.name}`] : []), ...(spec.alias === undefined ? [] : [`-${spec.alias}`])]);
      for (const typed of Object.keys(command.elsewhere ?? {})) {
        expect(flags).not.toContain(typed);
        expect(typed).toMatch(/^(-[A-Za-z]|--[a-z][a-z-]+)$/);
      }
    }
    expect(usage(["--xl", "-y", "Hi"])).toBe('unknown options --xl, -y. Text that starts with a dash goes after "--": g4f-rx -- "-5 degrees?"\n--xl: --extract-last');
    expect(usage(["-y"], LOGS_COMMAND)).toBe("unknown option -y.");
  });

  it("names each unknown option once, as written", () => {
    expect(usage(["--list-all", "--colour", "--list-all", "Hi"])).toBe("unknown options --list-all, --colour.");
    expect(usage(["-y", "Hi"])).toBe('unknown option -y. Text that starts with a dash goes after "--": g4f-rx -- "-5 degrees?"');
  });

  it("lets the last of a repeated flag win", () => {
    expect(run(["--temperature", "0.5", "--temperature", "0.7"]).temperature).toBe(0.7);
  });

  it("reads - as stdin, and everything after -- as prompt words", () => {
    expect(run(["-", "--", "--json", "-q"])).toMatchObject({ promptArguments: "--json -q", stdinRequested: true, json: false, quiet: false });
    expect(run(["Hi"])).toMatchObject({ promptArguments: "Hi", stdinRequested: false });
  });

  it("reads Infinity where the table allows it", () => {
    expect(run(["--replay", "x", "--speed", "Infinity"]).speed).toBe(Infinity);
    expect(usage(["--temperature", "Infinity"])).toMatch(/must be a number from 0 to 2/);
  });

  it("writes --help from the table: every flag, its environment variable and default", () => {
    const help = helpText(ASK_COMMAND, 100);
    for (const spec of ASK_OPTIONS) expect(help).toContain(`--${"default" in spec && spec.default === true ? "no-" : ""}${spec.name}`);
    expect(help).toContain("env G4F_RX_MODEL");
    expect(help).toMatch(/-m, --model ID +Model id/);
    expect(helpText(SERVE_COMMAND, 100)).toContain("default 1337");
  });

  it("fits --help in the terminal's width (40 to 100 columns), usage, examples and notes too, keeping every word", () => {
    const words = (text: string): string[] => text.split(/\s+/).filter((word) => word !== "");
    for (const command of [ASK_COMMAND, CHAT_COMMAND, CONFIG_COMMAND, LOGS_COMMAND, MODELS_COMMAND, SERVE_COMMAND] as readonly CommandSpec[]) {
      const widest = words(helpText(command, 100_000));
      for (const width of [40, 57, 80, 100, 140]) {
        const help = helpText(command, width);
        const lines = help.split("\n");
        // An example's command is never wrapped (it must be copied whole): it has a line of its own, which the terminal
        // folds when it is wider.
        const examples = command.examples.map(([example]) => example.replaceAll("$0", "g4f-rx"));
        for (const example of examples) expect(lines.some((line) => line.startsWith(`  ${example}`)), `${example} at ${width} columns`).toBe(true);
        const over = lines.filter((line) => [...line].length > Math.min(width, 100) && !examples.includes(line.slice(2)));
        expect(over, `${command.usage[0] ?? ""} at ${width} columns`).toEqual([]);
        expect(words(help)).toEqual(widest);
      }
    }
    // A quoted phrase is not broken between lines when it fits on one.
    expect(helpText(LOGS_COMMAND, 80)).toContain('name one; g4f-rx --cid\n                                                "trip plan" goes on with it\n');
    expect(helpText(ASK_COMMAND, 40)).toContain('  g4f-rx -x "A find command for old logs" > clean.sh\n      only the answer\'s code block\n');
    // A row's text goes on under its column, or under the row when the column would be too narrow.
    expect(helpText(ASK_COMMAND, 80)).toContain("  3    no whole answer: cut off (length, content_filter), refused, a tool call,\n       reasoning only or empty\n");
    expect(helpText(ASK_COMMAND, 40)).toContain("       g4f-rx chat [options]\n           an interactive session\n");
  });
});

// The property: any set of values the table accepts, written in any of the ways a user may write it (long or short
// name, "=" or a separate word, any order, prompt words before, between and after), parses back to those values.
const word = fc.stringMatching(/^[a-z][a-z0-9 .]{0,8}$/);
type Assignment = readonly [spec: OptionSpec, value: string | number | boolean | readonly string[]];

function valueFor(spec: OptionSpec): fc.Arbitrary<string | number | boolean | readonly string[]> {
  switch (spec.type) {
    case "boolean":
      return fc.boolean();
    case "list":
      // -o's fields are KEY=VALUE, any value after the first "=".
      if (spec.name === "option") {
        const field = fc.stringMatching(/^[a-z][a-z_]{0,6}=[a-z0-9=:/., ]{0,8}$/).filter((item) => !/^(model|messages|input|instructions|stream|temperature|max_tokens)=/.test(item));
        return fc.array(field, { minLength: 1, maxLength: 3 });
      }
      // A list of file names keeps commas and spaces: each flag is one name.
      return fc.array(fc.stringMatching(spec.onePerFlag === true ? /^[a-z][a-z0-9=:/., ]{0,8}$/ : /^[a-z][a-z0-9=:/.]{0,8}$/), { minLength: 1, maxLength: 3 });
    case "number": {
      const limits = spec.limits ?? {};
      const min = limits.min ?? (limits.above === undefined ? -1000 : limits.above + 1);
      const max = Math.min(limits.max ?? 100_000, 100_000);
      return limits.integer === true ? fc.integer({ min, max }) : fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
    }
    case "string":
      return spec.choices === undefined ? word : fc.constantFrom(...spec.choices);
  }
}

function render([spec, value]: Assignment, style: { long: boolean; equals: boolean }): string[] {
  const name = style.long || spec.alias === undefined ? `--${spec.name}` : `-${spec.alias}`;
  if (typeof value === "boolean") return [value ? name : `--no-${spec.name}`];
  if (spec.onePerFlag === true && Array.isArray(value)) return value.flatMap((item: string) => render([{ ...spec, onePerFlag: undefined }, item], style));
  const text = Array.isArray(value) ? value.join(",") : String(value);
  return style.equals && name.startsWith("--") ? [`${name}=${text}`] : [name, text];
}

describe("the option table, by property", () => {
  const specs = ASK_OPTIONS.filter((spec: OptionSpec) => spec.name !== "help" && spec.name !== "version" && spec.name !== "speed");
  const assignments = fc.uniqueArray(fc.constantFrom(...specs), { selector: (spec) => spec.name, maxLength: specs.length }).chain((chosen) =>
    fc.tuple(
      fc.tuple(...chosen.map((spec) => fc.tuple(fc.constant<OptionSpec>(spec), valueFor(spec)))),
      fc.array(fc.record({ long: fc.boolean(), equals: fc.boolean() }), { minLength: chosen.length, maxLength: chosen.length }),
      fc.array(fc.stringMatching(/^[a-z0-9][a-z0-9 ?!]{0,6}$/), { maxLength: 3 }),
    ),
  );

  it("reads back every value however it is written", () => {
    fc.assert(
      fc.property(assignments, ([chosen, styles, words]) => {
        const args = chosen.flatMap((assignment, i) => [...render(assignment, styles[i] ?? { long: true, equals: false }), ...(words[i] === undefined ? [] : [words[i]])]);
        // A role must be one the config file defines: an empty one, so that it changes no other value.
        const role = chosen.find(([spec]) => spec.name === "role")?.[1];
        const layers = typeof role === "string" ? { roles: { byName: { [role]: {} }, label: "the config file" } } : {};
        let parsed: ReturnType<typeof parseCommand<typeof ASK_OPTIONS>>;
        try {
          parsed = parseCommand(ASK_COMMAND, args, layers);
        } catch (error) {
          // Only the cross-option checks may refuse a command line made of valid values.
          expect(error instanceof UsageError ? error.message : error).toMatch(/use one of them|cannot be combined/);
          return;
        }
        expect(parsed.kind).toBe("run");
        if (parsed.kind !== "run") return;
        const values: Record<string, unknown> = parsed.values;
        for (const [spec, value] of chosen) {
          const key = spec.name.replace(/-([a-z])/g, (_m, letter: string) => letter.toUpperCase());
          expect(values[key]).toEqual(value);
          expect(parsed.sources[spec.name]).toBe("flag");
        }
        expect(parsed.positionals).toEqual(words.slice(0, chosen.length));
      }),
      { numRuns: 300 },
    );
    // About 10 s of generating and parsing on a loaded 2-core machine, over 20 s when CI's suites share it: a wide bound.
  }, 90_000);
});

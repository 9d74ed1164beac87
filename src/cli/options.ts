import type { ArgumentsCamelCase, Argv } from "yargs";
import { parseArgs } from "node:util";
import { DEFAULT_MODEL, ENDPOINTS, ENVIRONMENT_VARIABLES, LOCAL_RETRIES, REMOTE_RETRIES } from "../endpoints.js";
import { EXIT_CODES } from "./exit-codes.js";

/** The `--smooth` values: how the answer is cut before it is paced out. */
export const SMOOTH_CHUNKINGS = ["word", "line", "sentence"] as const;
export type SmoothChunkingName = (typeof SMOOTH_CHUNKINGS)[number];

/**
 * Every option of the command, in the order `--help` shows them. To add one:
 * add it here, read it in `toCliOptions`, and use it in `ask.ts`
 * (or the module it composes).
 */
const OPTIONS = {
  model: { alias: "m", type: "string", requiresArg: true, description: `Model id. Default: $${ENVIRONMENT_VARIABLES.model}, else the endpoint's default (gpt-4 for g4f)` },
  system: { alias: "s", type: "string", requiresArg: true, description: "System prompt, sent before the user's" },
  temperature: { alias: "t", type: "number", requiresArg: true, description: "Sampling temperature, 0 to 2" },
  "max-tokens": { type: "number", requiresArg: true, description: "Most tokens to generate (sent as max_tokens)" },
  endpoint: { alias: "e", type: "string", requiresArg: true, description: `Named endpoint (list below). Default: $${ENVIRONMENT_VARIABLES.endpoint}, else g4f` },
  "base-url": { type: "string", requiresArg: true, description: `Any OpenAI-compatible base URL. Default: $${ENVIRONMENT_VARIABLES.baseURL} when no endpoint is named` },
  "api-key": { type: "string", requiresArg: true, description: "API key. Default: the endpoint's key variable (list below)" },
  json: { type: "boolean", description: "Print every chunk as one JSON line, as received" },
  stream: { type: "boolean", default: true, description: "Stream the answer; --no-stream sends one non-streaming request and prints the whole answer" },
  retries: {
    type: "number",
    requiresArg: true,
    description: `Request retries (connection errors, 408/409/429/5xx). Default: ${LOCAL_RETRIES} for a local URL, ${REMOTE_RETRIES} for a remote one`,
  },
  quiet: { alias: "q", type: "boolean", description: "No spinner or notes on stderr; errors only" },
  "show-reasoning": {
    type: "boolean",
    description: "Print the model's reasoning (reasoning_content / reasoning deltas, <think>…</think> text) to stderr, dimmed on a terminal; the answer stays alone on stdout",
  },
  timeout: { type: "number", requiresArg: true, description: "Give up when no chunk arrived this many milliseconds after the request (exit 1)" },
  "idle-timeout": { type: "number", requiresArg: true, description: "Give up when the stream is silent this many milliseconds between two chunks (exit 1; printed text stays)" },
  fallback: {
    type: "string",
    requiresArg: true,
    description: "Endpoints to try in order when the previous one fails: NAME, NAME=URL (that preset's key and model at another URL) or URL, comma-separated. After part of the answer, the next one is asked to continue it",
  },
  smooth: { type: "string", requiresArg: true, choices: SMOOTH_CHUNKINGS, description: "Print the answer a word, line or sentence at a time, evenly paced" },
  stats: { type: "boolean", description: "After the answer, one line of stream statistics on stderr (asks streamed requests for token usage)" },
  record: { type: "string", requiresArg: true, description: "Record the exchange into this cassette file (.cassette.jsonl) while streaming as usual" },
  replay: { type: "string", requiresArg: true, description: "Answer from recorded cassettes (a directory or one file) without any network" },
  speed: { type: "number", requiresArg: true, description: "With --replay: replay speed, 2 twice as fast, Infinity without pauses. Default: 1, as recorded" },
  continue: { alias: "c", type: "boolean", description: "Continue the most recent conversation: the request carries its earlier turns" },
  cid: { type: "string", requiresArg: true, description: "Continue the conversation with this id (or a unique start of it; g4f-rx logs lists them)" },
  attach: {
    alias: "a",
    type: "string",
    requiresArg: true,
    description: "Attach a file (repeatable): an image (png, jpeg, gif, webp) goes as an image for vision models, a text file is inlined under its name",
  },
  "list-models": { type: "boolean", description: "List the endpoint's models (GET /models), one id per line; with --json, the model objects. Same as g4f-rx models" },
  log: { type: "boolean", default: true, description: "Keep the exchange in the conversation log; --no-log (or G4F_RX_NO_LOG=1) keeps nothing" },
} as const;

/** What the user asked for, checked. Unset options are `undefined`, so the environment and defaults can fill them. */
export interface CliOptions {
  /** The positional arguments, joined by spaces; `""` when there are none. */
  readonly promptArguments: string;
  readonly model: string | undefined;
  readonly system: string | undefined;
  readonly temperature: number | undefined;
  readonly maxTokens: number | undefined;
  readonly endpoint: string | undefined;
  readonly baseURL: string | undefined;
  readonly apiKey: string | undefined;
  readonly json: boolean;
  readonly stream: boolean;
  readonly retries: number | undefined;
  readonly quiet: boolean;
  readonly showReasoning: boolean;
  /** Milliseconds to wait for the first chunk. */
  readonly timeout: number | undefined;
  /** Milliseconds allowed between two chunks. */
  readonly idleTimeout: number | undefined;
  /** The `--fallback` entries, in order, as given: `NAME`, `NAME=URL` or `URL`. */
  readonly fallback: readonly string[];
  readonly smooth: SmoothChunkingName | undefined;
  readonly stats: boolean;
  /** The cassette file to record into. */
  readonly record: string | undefined;
  /** The cassette directory or file to answer from. */
  readonly replay: string | undefined;
  /** Replay speed, above 0 (`Infinity` allowed). */
  readonly speed: number;
  /** `-c`: continue the most recent conversation. */
  readonly continue: boolean;
  /** `--cid`: continue this conversation. */
  readonly cid: string | undefined;
  /** False with `--no-log`. */
  readonly log: boolean;
  /** `-a` files, in order. */
  readonly attach: readonly string[];
  /** `--list-models`, or the `models` command. */
  readonly listModels: boolean;
}

/** What the command line asks for: an answer, or just `--help` / `--version` text. */
export type ParsedCommandLine = { readonly kind: "run"; readonly options: CliOptions } | { readonly kind: "print"; readonly text: string };

/** A command line that cannot be run: exit 2 with the message. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/**
 * Parses the arguments (without `node` and the script); `width` is the terminal's, for `--help`. Throws `UsageError`.
 *
 * An ordinary command line is read by `quickParse` (Node's own `parseArgs`); yargs, whose loading is a third of the
 * command's start-up time, is loaded only for `--help`, `--version` and anything unusual, and then has the last word.
 */
export async function parseCommandLine(args: readonly string[], version: string, width = 80): Promise<ParsedCommandLine> {
  const quick = quickParse(args);
  if (quick !== undefined) return { kind: "run", options: toCliOptions(quick) };
  return parseWithYargs(args, version, width);
}

/** The yargs parser: the reference for every command line, and the only one for help, version and errors. */
export async function parseWithYargs(args: readonly string[], version: string, width = 80): Promise<ParsedCommandLine> {
  const { argv, output } = await runYargs(args, version, width, (parser) =>
    parser
      .strictOptions()
      .usage(
        [
          "$0 [prompt..]",
          "$0 serve [--port 1337] [--cassettes DIR]   (see g4f-rx serve --help)",
          "",
          "Ask an OpenAI-compatible chat endpoint; the answer streams to stdout.",
          "The prompt is the arguments, then a blank line, then stdin (when stdin is not a terminal).",
        ].join("\n"),
      )
      .options(OPTIONS)
      .example([
        ['$0 "Say hello there!"', "ask GPT4Free's local API"],
        ['cat notes.md | $0 "Summarize:"', "arguments, blank line, stdin"],
        ['$0 -e ollama -m llama3.2 "Hi"', "ask a local Ollama"],
        ["$0 --base-url http://host:8000/v1 Hi", "any OpenAI-compatible server"],
        ['$0 --json "Hi" | jq .', "the chunks as JSON lines"],
        ["$0 --replay cassettes/ Hi", "answer from recordings, no network"],
        ["$0 --record hi.cassette.jsonl Hi", "record while it streams"],
        ["$0 --fallback ollama,openai Hi", "g4f, else Ollama, else OpenAI"],
        ['$0 --show-reasoning "Why?"', "reasoning to stderr, answer to stdout"],
        ["$0 --smooth word --stats Hi", "even typing, then statistics"],
      ])
      .epilogue(epilogue()),
  );
  if (argv.help === true || argv.version === true) return { kind: "print", text: `${output}\n` };
  return { kind: "run", options: toCliOptions(argv) };
}

/**
 * Runs yargs with the settings every g4f-rx parser shares: `configure` adds the options and texts. Usage errors
 * throw `UsageError`; `--help` and `--version` text comes back as `output` instead of being printed.
 */
async function runYargs<T>(
  args: readonly string[],
  version: string,
  width: number,
  configure: (parser: Argv) => Argv<T>,
): Promise<{ argv: ArgumentsCamelCase<T>; output: string }> {
  const { default: yargs } = await import("yargs");
  let output = "";
  const argv = await configure(yargs().scriptName("g4f-rx"))
    .parserConfiguration({ "parse-positional-numbers": false })
    .version(version)
    .help()
    .alias("help", "h")
    .wrap(Math.min(100, width))
    .exitProcess(false)
    .fail((message: string | null, error: Error | undefined) => {
      throw new UsageError(message ?? error?.message ?? "invalid arguments");
    })
    .parseAsync(args, {}, (_error, _argv, text) => {
      output = text;
    });
  return { argv, output };
}

/** The arguments as yargs gives them. */
export interface ParsedArguments {
  readonly _: readonly (string | number)[];
  readonly model?: string | undefined;
  readonly system?: string | undefined;
  readonly temperature?: number | undefined;
  readonly "max-tokens"?: number | undefined;
  readonly endpoint?: string | undefined;
  readonly "base-url"?: string | undefined;
  readonly "api-key"?: string | undefined;
  readonly json?: boolean | undefined;
  readonly stream?: boolean | undefined;
  readonly retries?: number | undefined;
  readonly quiet?: boolean | undefined;
  readonly "show-reasoning"?: boolean | undefined;
  readonly timeout?: number | undefined;
  readonly "idle-timeout"?: number | undefined;
  // A flag given twice arrives as an array.
  readonly fallback?: string | readonly string[] | undefined;
  readonly smooth?: string | undefined;
  readonly stats?: boolean | undefined;
  readonly record?: string | undefined;
  readonly replay?: string | undefined;
  readonly speed?: number | undefined;
  readonly continue?: boolean | undefined;
  readonly cid?: string | undefined;
  readonly log?: boolean | undefined;
  readonly "list-models"?: boolean | undefined;
  // Repeatable: given twice, an array.
  readonly attach?: string | readonly string[] | undefined;
}

/** `OPTIONS` as Node's `parseArgs` takes them: numbers are read as strings, and only one-letter aliases are short. */
const QUICK_OPTIONS: Readonly<Record<string, { type: "string" | "boolean"; short?: string }>> = Object.fromEntries(
  Object.entries(OPTIONS).map(([name, option]) => [
    name,
    { type: option.type === "boolean" ? "boolean" : "string", ...("alias" in option ? { short: option.alias } : {}) },
  ]),
);

/** What yargs reads as a number, and so can be read here the same way. */
const PLAIN_NUMBER = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?$|^Infinity$/i;

/**
 * Reads an ordinary command line the way yargs would, without loading yargs;
 * `undefined` for anything else, which yargs then reads: an unknown or
 * repeated option, `--help`, `--version`, grouped short options, a value that
 * is not a plain number or choice, a boolean followed by `true`/`false`.
 * `test/cli/options.spec.ts` checks that both give the same options.
 */
export function quickParse(args: readonly string[]): ParsedArguments | undefined {
  // -qm x, -mgpt-4, or a prompt that starts with a dash: yargs's rules, not parseArgs's.
  if (args.some((arg) => /^-[^-]/.test(arg) && !/^-[a-zA-Z]$/.test(arg))) return undefined;
  const parsed = strictParse(args);
  if (parsed === undefined) return undefined;
  const seen = new Set<string>();
  let afterBareBoolean = false;
  for (const token of parsed.tokens) {
    if (token.kind === "option") {
      if (seen.has(token.name)) return undefined;
      seen.add(token.name);
      afterBareBoolean = QUICK_OPTIONS[token.name]?.type === "boolean" && token.value === undefined;
    } else {
      // yargs takes `--json true` as the flag's value, parseArgs as a word of the prompt.
      if (token.kind === "positional" && afterBareBoolean && /^(?:true|false)$/i.test(token.value)) return undefined;
      afterBareBoolean = false;
    }
  }

  const { values } = parsed;
  const text = (name: keyof typeof OPTIONS): string | undefined => {
    const value = values[name];
    return typeof value === "string" ? value : undefined;
  };
  const flag = (name: keyof typeof OPTIONS): boolean | undefined => {
    const value = values[name];
    return typeof value === "boolean" ? value : undefined;
  };
  let unusual = false;
  const number = (name: keyof typeof OPTIONS): number | undefined => {
    const value = text(name);
    if (value === undefined) return undefined;
    if (!PLAIN_NUMBER.test(value)) unusual = true;
    return Number(value);
  };
  const smooth = text("smooth");
  if (smooth !== undefined && !SMOOTH_CHUNKINGS.some((name) => name === smooth)) return undefined;
  const argv: ParsedArguments = {
    _: parsed.positionals,
    model: text("model"),
    system: text("system"),
    temperature: number("temperature"),
    "max-tokens": number("max-tokens"),
    endpoint: text("endpoint"),
    "base-url": text("base-url"),
    "api-key": text("api-key"),
    json: flag("json"),
    stream: flag("stream"),
    retries: number("retries"),
    quiet: flag("quiet"),
    "show-reasoning": flag("show-reasoning"),
    timeout: number("timeout"),
    "idle-timeout": number("idle-timeout"),
    fallback: text("fallback"),
    smooth,
    stats: flag("stats"),
    record: text("record"),
    replay: text("replay"),
    speed: number("speed"),
    continue: flag("continue"),
    cid: text("cid"),
    log: flag("log"),
    "list-models": flag("list-models"),
    attach: text("attach"),
  };
  return unusual ? undefined : argv;
}

function strictParse(args: readonly string[]) {
  try {
    return parseArgs({ args: [...args], options: QUICK_OPTIONS, strict: true, allowPositionals: true, allowNegative: true, tokens: true });
  } catch {
    // An unknown option, a missing value…: yargs explains it.
    return undefined;
  }
}

function toCliOptions(argv: ParsedArguments): CliOptions {
  const temperature = numberOption(argv.temperature, "--temperature");
  if (temperature !== undefined && (temperature < 0 || temperature > 2)) {
    throw new UsageError(`--temperature must be between 0 and 2, got ${temperature}`);
  }
  const maxTokens = numberOption(argv["max-tokens"], "--max-tokens");
  if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || maxTokens < 1)) {
    throw new UsageError(`--max-tokens must be a whole number of at least 1, got ${maxTokens}`);
  }
  const retries = numberOption(argv.retries, "--retries");
  if (retries !== undefined && (!Number.isInteger(retries) || retries < 0)) {
    throw new UsageError(`--retries must be a whole number of at least 0, got ${retries}`);
  }
  const timeout = milliseconds(argv.timeout, "--timeout");
  const idleTimeout = milliseconds(argv["idle-timeout"], "--idle-timeout");
  const fallback = (typeof argv.fallback === "string" ? [argv.fallback] : (argv.fallback ?? []))
    .flatMap((list) => list.split(","))
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  if (argv.fallback !== undefined && fallback.length === 0) throw new UsageError("--fallback needs at least one endpoint NAME, NAME=URL or URL");
  const smooth = SMOOTH_CHUNKINGS.find((name) => name === argv.smooth);
  const json = argv.json ?? false;
  const stream = argv.stream ?? true;
  const { record, replay } = argv;
  // yargs reads "Infinity" as the number; only a missing value or a word becomes NaN or null.
  const speed = argv.speed;
  if (speed !== undefined && (typeof speed !== "number" || Number.isNaN(speed) || speed <= 0)) {
    throw new UsageError(`--speed must be a number above 0 (Infinity for no pauses), got ${String(speed)}`);
  }
  if (speed !== undefined && replay === undefined) throw new UsageError("--speed works with --replay (or g4f-rx serve --speed)");
  if (smooth !== undefined && json) throw new UsageError("--smooth re-cuts the text; --json prints the chunks as received: use one of them");
  if (replay !== undefined && record !== undefined) throw new UsageError("--record records a live exchange; it cannot be combined with --replay");
  if (replay !== undefined && fallback.length > 0) throw new UsageError("--fallback names live endpoints; it cannot be combined with --replay");
  if (argv.continue === true && argv.cid !== undefined) throw new UsageError("-c continues the latest conversation, --cid a given one: use one of them");
  if (record !== undefined && !stream) throw new UsageError("--record records a stream; it cannot be combined with --no-stream");
  return {
    promptArguments: argv._.map(String).join(" "),
    model: argv.model,
    system: argv.system,
    temperature,
    maxTokens,
    endpoint: argv.endpoint,
    baseURL: argv["base-url"],
    apiKey: argv["api-key"],
    json,
    stream,
    retries,
    quiet: argv.quiet ?? false,
    showReasoning: argv["show-reasoning"] ?? false,
    timeout,
    idleTimeout,
    fallback,
    smooth,
    stats: argv.stats ?? false,
    record,
    replay,
    speed: speed ?? 1,
    continue: argv.continue ?? false,
    cid: argv.cid,
    log: argv.log ?? true,
    listModels: argv["list-models"] ?? false,
    attach: typeof argv.attach === "string" ? [argv.attach] : (argv.attach ?? []),
  };
}

function milliseconds(value: number | undefined, flag: string): number | undefined {
  const ms = numberOption(value, flag);
  if (ms !== undefined && ms <= 0) throw new UsageError(`${flag} must be a number of milliseconds above 0, got ${ms}`);
  return ms;
}

function numberOption(value: number | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  // yargs gives null or NaN for a value that is not a number (`-t warm`).
  if (typeof value !== "number" || !Number.isFinite(value)) throw new UsageError(`${flag} must be a number`);
  return value;
}

function epilogue(): string {
  const endpoints = Object.values(ENDPOINTS);
  const table = columns(endpoints.map((endpoint) => [endpoint.name, endpoint.baseURL, endpoint.apiKeyVariable ?? "(no key)"]));
  const models = endpoints.map((endpoint) => `${endpoint.name} ${endpoint.defaultModel}`).join(", ");
  return [
    "Endpoints (--endpoint NAME or $G4F_RX_ENDPOINT; g4f is the default):",
    indent(table),
    `Default models: ${models}; with --base-url or $OPENAI_BASE_URL alone, ${DEFAULT_MODEL}.`,
    "",
    "Environment (a flag wins over the environment, which wins over the default):",
    indent(
      columns([
        [ENVIRONMENT_VARIABLES.endpoint, "endpoint name"],
        [ENVIRONMENT_VARIABLES.model, "model"],
        [ENVIRONMENT_VARIABLES.baseURL, "base URL, when no endpoint is named"],
        [ENVIRONMENT_VARIABLES.apiKey, "key for that base URL, and for openai"],
        ["NO_COLOR", "no colour on stderr"],
      ]),
    ),
    "",
    '`g4f-rx serve …` starts a replay server (g4f-rx serve --help). To ask the prompt "serve", write g4f-rx -- serve.',
    "--stats prints its line also with --quiet.",
    "",
    "Exit codes:",
    indent(columns(EXIT_CODES.map(({ code, meaning }) => [String(code), meaning]))),
  ].join("\n");
}

function columns(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join("  ")).join("\n");
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n");
}

/** The `serve` command's options. */
const SERVE_OPTIONS = {
  port: { alias: "p", type: "number", requiresArg: true, default: 1337, description: "Port to listen on (0 picks a free one). GPT4Free's API uses 1337 too" },
  host: { type: "string", requiresArg: true, default: "127.0.0.1", description: "Interface to listen on" },
  cassettes: { alias: "c", type: "string", requiresArg: true, default: ".", description: "Directory of *.cassette.jsonl files to answer from" },
  speed: { type: "number", requiresArg: true, default: 1, description: "Replay speed: 2 twice as fast, Infinity without pauses" },
} as const;

/** What `g4f-rx serve` was asked to do, checked. */
export interface ServeOptions {
  readonly port: number;
  readonly host: string;
  readonly cassettes: string;
  readonly speed: number;
}

export type ParsedServeCommandLine = { readonly kind: "run"; readonly options: ServeOptions } | { readonly kind: "print"; readonly text: string };

/** Parses the arguments after `serve`. Throws `UsageError`. */
export async function parseServeCommandLine(args: readonly string[], version: string, width = 80): Promise<ParsedServeCommandLine> {
  const { argv, output } = await runYargs(args, version, width, (parser) =>
    parser
      .strict()
      .usage(
        [
          "$0 serve [--port 1337] [--host 127.0.0.1] [--cassettes DIR] [--speed N]",
          "",
          [
            "An OpenAI-compatible server that answers from recorded cassettes, with their timing:",
            "POST /v1/chat/completions (streamed or not) and GET /v1/models. Any OpenAI client,",
            "g4f-rx and curl work against it. A request no cassette matches gets HTTP 404 with",
            "the nearest cassettes. Ctrl-C (or SIGTERM) stops it, exit 0.",
          ].join(" "),
        ].join("\n"),
      )
      .options(SERVE_OPTIONS)
      .example([
        ["$0 serve -c examples/cassettes", "serve on http://127.0.0.1:1337/v1"],
        ['g4f-rx "Say hello there!"', "ask it (g4f's default URL)"],
      ]),
  );
  if (argv.help === true || argv.version === true) return { kind: "print", text: `${output}\n` };
  if (argv._.length > 0) throw new UsageError(`serve takes no prompt, got "${argv._.map(String).join(" ")}"`);
  const port = numberOption(argv.port, "--port");
  if (port === undefined || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new UsageError(`--port must be a whole number from 0 to 65535, got ${String(argv.port)}`);
  }
  const { speed } = argv;
  if (typeof speed !== "number" || Number.isNaN(speed) || speed <= 0) {
    throw new UsageError(`--speed must be a number above 0 (Infinity for no pauses), got ${String(speed)}`);
  }
  return { kind: "run", options: { port, host: argv.host, cassettes: argv.cassettes, speed } };
}

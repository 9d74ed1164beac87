import yargs from "yargs";
import { DEFAULT_MODEL, ENDPOINTS, ENVIRONMENT_VARIABLES, LOCAL_RETRIES, REMOTE_RETRIES } from "../endpoints.js";
import { EXIT_CODES } from "./exit-codes.js";

/**
 * Every option of the command, in the order `--help` shows them. To add one:
 * add it here, read it in `toCliOptions`, and use it in `run.ts`.
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
}

/** What the command line asks for: an answer, or just `--help` / `--version` text. */
export type ParsedCommandLine = { readonly kind: "run"; readonly options: CliOptions } | { readonly kind: "print"; readonly text: string };

/** A command line that cannot be run: exit 2 with the message. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Parses the arguments (without `node` and the script); `width` is the terminal's, for `--help`. Throws `UsageError`. */
export async function parseCommandLine(args: readonly string[], version: string, width = 80): Promise<ParsedCommandLine> {
  let output = "";
  const argv = await yargs()
    .scriptName("g4f-rx")
    .usage("$0 [prompt..]\n\nAsk an OpenAI-compatible chat endpoint; the answer streams to stdout.\nThe prompt is the arguments, then a blank line, then stdin (when stdin is not a terminal).")
    .options(OPTIONS)
    .example([
      ['$0 "Say hello there!"', "ask GPT4Free's local API"],
      ['cat notes.md | $0 "Summarize:"', "arguments, blank line, stdin"],
      ['$0 -e ollama -m llama3.2 "Hi"', "ask a local Ollama"],
      ["$0 --base-url http://host:8000/v1 Hi", "any OpenAI-compatible server"],
      ['$0 --json "Hi" | jq .', "the chunks as JSON lines"],
    ])
    .epilogue(epilogue())
    .parserConfiguration({ "parse-positional-numbers": false })
    .strictOptions()
    .version(version)
    .help()
    .alias("help", "h")
    .wrap(Math.min(100, width))
    .exitProcess(false)
    .fail((message: string | null, error: Error | undefined) => {
      throw new UsageError(message ?? error?.message ?? "invalid arguments");
    })
    // With a callback yargs hands us the --help / --version text instead of printing it.
    .parseAsync(args, {}, (_error, _argv, text) => {
      output = text;
    });
  if (argv.help === true || argv.version === true) return { kind: "print", text: `${output}\n` };
  return { kind: "run", options: toCliOptions(argv) };
}

interface ParsedArguments {
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
  return {
    promptArguments: argv._.map(String).join(" "),
    model: argv.model,
    system: argv.system,
    temperature,
    maxTokens,
    endpoint: argv.endpoint,
    baseURL: argv["base-url"],
    apiKey: argv["api-key"],
    json: argv.json ?? false,
    stream: argv.stream ?? true,
    retries,
    quiet: argv.quiet ?? false,
  };
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

import { DEFAULT_MODEL, ENDPOINTS, ENVIRONMENT_VARIABLES, LOCAL_RETRIES, REMOTE_RETRIES } from "../endpoints.js";
import { DEFAULT_UPSTREAM_TIMEOUT } from "../edges/relay/upstream-timeout.js";
import { EXIT_CODES } from "./exit-codes.js";
import { helpText } from "./help.js";
import { COMMON_OPTIONS, type CommandSpec, type Layers, type OptionSpec, type OptionValues, UsageError, type ValueSource, parseCommand } from "./option-table.js";
import { requestFields } from "./request-fields.js";

export { UsageError } from "./option-table.js";

/** The `--smooth` values: how the answer is cut before it is paced out. */
export const SMOOTH_CHUNKINGS = ["word", "line", "sentence"] as const;
export type SmoothChunkingName = (typeof SMOOTH_CHUNKINGS)[number];

/**
 * `--timeout` and `--idle-timeout` are `streamTimeout`'s `first` and `idle` wherever they appear: the wait for the
 * first chunk and the silence allowed between two chunks (alone, it bounds the first chunk too). A question and
 * `serve --upstream` share these declarations; each table adds its own description, default and limits.
 */
const TIMEOUT = { name: "timeout", type: "number", placeholder: "MS" } as const;
const IDLE_TIMEOUT = { name: "idle-timeout", type: "number", placeholder: "MS" } as const;

/** A number of milliseconds, for `--help`: `600000 (10 minutes)`. */
function inMinutes(ms: number): string {
  return `${ms} (${ms / 60_000} minutes)`;
}

/**
 * THE option table of `g4f-rx` (asking a question): every flag once, in the order `--help` and the README show them.
 * Parsing, checking, the environment and config layers, `--help` and the README's flag table all come from it.
 *
 * To add a flag: add one entry here (name, alias, type, description, env, default, limits…), read it as
 * `options.<camelCaseName>` where it is used (its type follows from the entry), then run `npm run readme:options`
 * to regenerate the README's table (test/cli/readme-options.spec.ts fails until you do). Nothing else lists flags.
 * A subcommand has its own table below (`SERVE_OPTIONS`) and an entry in `COMMANDS`.
 */
export const ASK_OPTIONS = [
  { name: "model", alias: "m", type: "string", placeholder: "ID", env: ENVIRONMENT_VARIABLES.model, defaultText: "the endpoint's default model", description: "Model id" },
  { name: "system", alias: "s", type: "string", placeholder: "TEXT", description: "System prompt, sent before the user's message" },
  {
    name: "role",
    alias: "r",
    type: "string",
    placeholder: "NAME",
    env: "G4F_RX_ROLE",
    more: "roles--r-name",
    description: "A role of the config file: its system prompt and settings (model, endpoint, temperature…), each unless a flag gives it",
  },
  { name: "temperature", alias: "t", type: "number", placeholder: "N", limits: { min: 0, max: 2 }, description: "Sampling temperature" },
  { name: "max-tokens", type: "number", placeholder: "N", limits: { integer: true, min: 1 }, description: "Most tokens to generate (sent as max_tokens)" },
  {
    name: "option",
    alias: "o",
    type: "list",
    onePerFlag: true,
    placeholder: "KEY=VALUE",
    more: "request-fields--o-keyvalue",
    description: "Another field of the request, sent as given: JSON (seed=42, stop=[\"END\"]) or text (reasoning_effort=high); repeat -o for more",
  },
  { name: "endpoint", alias: "e", type: "string", placeholder: "NAME", env: ENVIRONMENT_VARIABLES.endpoint, defaultText: "g4f", description: "Named endpoint (see Endpoints)" },
  {
    name: "base-url",
    type: "string",
    placeholder: "URL",
    env: ENVIRONMENT_VARIABLES.baseURL,
    description: "Any OpenAI-compatible base URL. The environment variable counts only when no endpoint is named",
  },
  { name: "api-key", type: "string", placeholder: "KEY", defaultText: "the endpoint's key variable", description: "API key" },
  {
    name: "api",
    type: "string",
    choices: ["chat", "responses"],
    default: "chat",
    more: "sources",
    description: "Which API to ask: chat (POST /chat/completions) or responses (OpenAI's Responses API, POST /responses; --json prints its events)",
  },
  { name: "json", type: "boolean", description: "Print every chunk as one JSON line, as received (with --no-stream, the whole completion)" },
  { name: "stream", type: "boolean", default: true, description: "Send one non-streaming request and print the whole answer (the default streams it)" },
  {
    name: "retries",
    type: "number",
    placeholder: "N",
    limits: { integer: true, min: 0 },
    defaultText: `${LOCAL_RETRIES} for a local URL, ${REMOTE_RETRIES} for a remote one`,
    description: "Request retries (connection errors, 408/409/429/5xx), before the answer starts",
  },
  {
    name: "max-wait",
    type: "number",
    placeholder: "MS",
    default: 60_000,
    limits: { min: 0, timer: true },
    description: "The longest wait before a retry; when a server asks for longer (Retry-After), give up at once",
  },
  { name: "quiet", alias: "q", type: "boolean", description: "No spinner or notes on stderr; errors only" },
  {
    name: "show-reasoning",
    type: "boolean",
    more: "reasoning---show-reasoning",
    description: "The model's reasoning to stderr (dimmed on a terminal); the answer stays alone on stdout",
  },
  { ...TIMEOUT, limits: { above: 0, timer: true }, more: "timeouts---timeout-ms---idle-timeout-ms", description: "Give up when no chunk arrived this long after the request" },
  { ...IDLE_TIMEOUT, limits: { above: 0, timer: true }, description: "Give up when the stream is silent this long between two chunks; printed text stays" },
  {
    name: "fallback",
    type: "list",
    placeholder: "NAME[,NAME…]",
    more: "fallback---fallback-namename",
    description: "Endpoints to try in order when one fails: NAME, NAME=URL or URL. After part of the answer, the next one is asked to continue it",
  },
  { name: "smooth", type: "string", choices: SMOOTH_CHUNKINGS, more: "even-typing---smooth-wordlinesentence", description: "Print the answer a word, line or sentence at a time, evenly paced" },
  { name: "stats", type: "boolean", more: "statistics---stats", description: "One line of stream statistics on stderr after the answer" },
  { name: "record", type: "string", placeholder: "FILE", description: "Record the exchange into this cassette file while streaming as usual" },
  {
    name: "replay",
    type: "string",
    placeholder: "DIR|FILE",
    more: "record-and-replay---record-file---replay-dirfile---speed-n",
    description: "Answer from recorded cassettes (a directory or one file), no network",
  },
  { name: "speed", type: "number", placeholder: "N", limits: { above: 0, infinity: true }, defaultText: "1, as recorded", description: "With --replay: 2 twice as fast, Infinity without pauses" },
  { name: "continue", alias: "c", type: "boolean", more: "conversations", description: "Continue the most recent conversation: the request carries its earlier turns" },
  { name: "cid", type: "string", placeholder: "ID|TITLE", description: "Continue the conversation with this id, its title (--title), or a unique start of the id (g4f-rx logs lists them)" },
  {
    name: "title",
    type: "string",
    placeholder: "TITLE",
    more: "named-conversations---title-title",
    description: "Name this conversation (a new one, or the one -c or --cid continues, which it renames), so that --cid TITLE continues it; unique, at most 60 characters",
  },
  {
    name: "log",
    type: "boolean",
    default: true,
    negatedEnv: "G4F_RX_NO_LOG",
    description: "Keep nothing of this exchange in the conversation log (kept by default, under $XDG_DATA_HOME/g4f-rx)",
  },
  {
    name: "attach",
    alias: "a",
    type: "list",
    onePerFlag: true,
    placeholder: "FILE",
    description: "Attach a file (repeat -a for more): png, jpeg, gif, webp go as images for vision models, text files are inlined under their names",
  },
  {
    name: "editor",
    type: "boolean",
    more: "the-prompt",
    description:
      "Write the question in $VISUAL or $EDITOR (else vi), starting from the text of the arguments and stdin (-), then ask what is saved; it runs on the terminal (/dev/tty when stdin is piped). Saved empty, nothing is sent (exit 2)",
  },
  {
    name: "render",
    type: "string",
    choices: ["auto", "always", "never"],
    default: "auto",
    description: "Markdown on a terminal, append-only (a block printed once complete, never redrawn); auto: when stdout is a terminal",
  },
  {
    name: "extract",
    alias: "x",
    type: "boolean",
    more: "code-only--x---extract-last",
    description: "Print only the answer's first fenced code block, its code without the fences, as it streams; an answer with none is printed whole, with a note",
  },
  { name: "extract-last", type: "boolean", description: "The same with the answer's last fenced code block, printed when the answer ends" },
  { name: "list-models", type: "boolean", description: "List the endpoint's models (GET /models), one id per line; --json for the objects. Same as g4f-rx models" },
  ...COMMON_OPTIONS,
] as const satisfies readonly OptionSpec[];

/**
 * Flags of llm, mods and aichat that `g4f-rx` lacks, with the way to do it here: an unknown option's error says it,
 * and the README's flag table lists them. The tools' own letters that mean something else here (`-c`, `-s`, `-e`,
 * `-t`, `-a`, `-x`) are the table's flags and stay so.
 */
const ASK_ELSEWHERE: Readonly<Record<string, string>> = {
  "-f": "to send a file (aichat -f, llm -f), attach it: -a FILE; to ask for a format (mods -f), say it in the prompt or with -s TEXT",
  "--file": "attach it: -a FILE (repeat -a for more)",
  "--format": "say the format in the prompt, or in a system prompt: -s TEXT",
  "--raw": "--render never prints the answer as it came",
  "--prompt": "a system prompt is -s TEXT",
  "--template": "a role of the config file (its system prompt and settings) is -r NAME",
  "--session": "every conversation is kept: --title NAME names one, -c continues the latest, --cid ID|NAME another (g4f-rx logs lists them), g4f-rx chat -c interactively",
  "-l": "kept conversations: g4f-rx logs",
  "--list": "kept conversations: g4f-rx logs",
  "--list-sessions": "kept conversations: g4f-rx logs",
  "--show": "g4f-rx logs show ID",
  "-S": "for the last conversation (mods -S), g4f-rx logs show; for no streaming (aichat -S), --no-stream",
  "--show-last": "g4f-rx logs show; only the last answer's text: g4f-rx logs -r",
  "-d": "to delete a conversation: g4f-rx logs rm ID",
  "--delete": "g4f-rx logs rm ID",
  "-C": "-c continues the latest conversation",
  "--continue-last": "-c continues the latest conversation",
  "--conversation": "--cid ID, or --cid TITLE for one named with --title",
  "--xl": "--extract-last",
  "--code": "-x prints only the answer's code block",
  "--execute": "g4f-rx runs no commands; -x prints the one the answer holds: g4f-rx -x \"…\" > cmd.sh, read it, then run it",
  "-n": "to keep nothing: --no-log",
  "--no-cache": "to keep nothing: --no-log",
  "--temp": "-t N (--temperature)",
  "--key": "--api-key KEY",
  "-u": "token usage and timing: --stats",
  "--usage": "token usage and timing: --stats",
  "--max-retries": "--retries N",
  "--word-wrap": "on a terminal, answers are wrapped at its width; into a pipe, use fold -s -w N",
  "--status-text": "the spinner's text is fixed; -q hides it",
  "--dry-run": "g4f-rx config shows the endpoint, model and settings a question would use, sending nothing",
  "--info": "g4f-rx config shows the settings and where each came from",
  "--settings": "the config file is $XDG_CONFIG_HOME/g4f-rx/config.json; g4f-rx config shows it",
  "--dirs": "g4f-rx config shows the config file and the data directory",
  "-v": "--version",
  "-V": "--version",
};

/** Why `-o`'s fields cannot be sent, or `undefined` when they can (see `requestFields`). */
function fieldsProblem(values: Pick<OptionValues<typeof ASK_OPTIONS>, "option">): string | undefined {
  try {
    requestFields(values.option);
    return undefined;
  } catch (error) {
    if (error instanceof UsageError) return error.message;
    throw error;
  }
}

/** What the user asked for, checked: every option of `ASK_OPTIONS` by camelCase name, and the prompt arguments. */
export type CliOptions = Omit<OptionValues<typeof ASK_OPTIONS>, "help" | "version"> & {
  /** The positional arguments but `-`, joined by spaces; `""` when there are none. */
  readonly promptArguments: string;
  /** A `-` argument asked for stdin, which is then read even from a terminal. */
  readonly stdinRequested: boolean;
  /** Where each option's value came from, by long name (`flag`, `environment`, `config`, `default`). */
  readonly sources: Readonly<Record<string, ValueSource>>;
};

/** The default command: ask a question. */
export const ASK_COMMAND: CommandSpec<typeof ASK_OPTIONS> = {
  name: "",
  summary: "Ask an OpenAI-compatible chat endpoint; the answer streams to stdout",
  usage: [
    "$0 [options] [prompt..]",
    "$0 chat [options]                          an interactive session (g4f-rx chat --help)",
    "$0 logs [show ID | rm ID] [-q TEXT]        kept conversations (g4f-rx logs --help)",
    "$0 models [options]                        the endpoint's models",
    "$0 config [options]                        the effective settings and where each came from",
    "$0 serve [--port 1337] [--cassettes DIR]   (see g4f-rx serve --help)",
  ],
  description: "Ask an OpenAI-compatible chat endpoint; the answer streams to stdout.",
  positionals: 'The prompt is the arguments, then a blank line, then stdin (when stdin is not a terminal). "-" alone means stdin.',
  options: ASK_OPTIONS,
  examples: [
    ['$0 "Say hello there!"', "ask GPT4Free's local API"],
    ['cat notes.md | $0 "Summarize:"', "arguments, blank line, stdin"],
    ['$0 -e ollama -m llama3.2 "Hi"', "ask a local Ollama"],
    ["$0 --base-url http://host:8000/v1 Hi", "any OpenAI-compatible server"],
    ['$0 --json "Hi" | jq .', "the chunks as JSON lines"],
    ["$0 --replay cassettes/ Hi", "answer from recordings, no network"],
    ["$0 --record hi.cassette.jsonl Hi", "record while it streams"],
    ["$0 --fallback ollama,openai Hi", "g4f, else Ollama, else OpenAI"],
    ['$0 --show-reasoning "Why?"', "reasoning to stderr, answer to stdout"],
    ['$0 -x "A find command for old logs" > clean.sh', "only the answer's code block"],
    ["$0 --smooth word --stats Hi", "even typing, then statistics"],
    ['$0 -c "And in French?"', "continue the last conversation"],
    ['$0 -a photo.png "What is this?"', "attach an image"],
  ],
  epilogue,
  elsewhere: ASK_ELSEWHERE,
  check(values) {
    if (values.smooth !== undefined && values.json) return "--smooth re-cuts the text; --json prints the chunks as received: use one of them";
    const fields = fieldsProblem(values);
    if (fields !== undefined) return fields;
    if (values.replay !== undefined && values.record !== undefined) return "--record records a live exchange; it cannot be combined with --replay";
    if (values.replay !== undefined && values.fallback.length > 0) return "--fallback names live endpoints; it cannot be combined with --replay";
    if (values.record !== undefined && !values.stream) return "--record records a stream; it cannot be combined with --no-stream";
    if (values.speed !== undefined && values.replay === undefined) return "--speed works with --replay (or g4f-rx serve --speed)";
    if (values.render === "always" && values.json) return "--render always formats the text; --json prints the chunks as received: use one of them";
    if (values.extract && values.extractLast) return "-x prints the first code block, --extract-last the last: use one of them";
    if ((values.extract || values.extractLast) && values.json) return "-x takes code out of the answer's text; --json prints the chunks as received: use one of them";
    if ((values.extract || values.extractLast) && values.render === "always") return "--render always formats the answer as markdown; -x prints its code as written: use one of them";
    if (values.continue && values.cid !== undefined) return "-c continues the latest conversation, --cid a given one: use one of them";
    if (values.title !== undefined && values.replay !== undefined) return "--title names a kept conversation; it cannot be combined with --replay, which keeps none";
    if (values.title !== undefined && !values.log) return "--title names a kept conversation; it cannot be combined with --no-log (or G4F_RX_NO_LOG=1), which keeps none";
    return undefined;
  },
};

/** `g4f-rx serve`'s option table. To add a flag, add an entry; read it as `options.<camelCaseName>` in serve.ts. */
export const SERVE_OPTIONS = [
  {
    name: "port",
    alias: "p",
    type: "number",
    placeholder: "N",
    default: 1337,
    limits: { integer: true, min: 0, max: 65_535 },
    description: "Port to listen on (0 picks a free one). GPT4Free's API uses 1337 too",
  },
  { name: "host", type: "string", placeholder: "HOST", default: "127.0.0.1", description: "Interface to listen on; anything but loopback makes the server reachable from the network" },
  { name: "cassettes", alias: "c", type: "string", placeholder: "DIR", default: ".", description: "Directory of *.cassette.jsonl files to answer from" },
  { name: "speed", type: "number", placeholder: "N", default: 1, limits: { above: 0, infinity: true }, description: "Replay speed: 2 twice as fast, Infinity without pauses" },
  {
    name: "max-body",
    type: "number",
    placeholder: "BYTES",
    default: 8 * 1024 * 1024,
    limits: { integer: true, min: 1 },
    description: "The largest request body accepted; a larger one gets HTTP 413 and is discarded",
  },
  {
    name: "upstream",
    alias: "u",
    type: "string",
    placeholder: "URL",
    more: "relay",
    description: "Instead of cassettes, relay this OpenAI-compatible base URL as a resumable proxy, for chat completions and the Responses API (GET /v1/streams/ID resumes, POST /v1/streams/ID/stop stops)",
  },
  { name: "upstream-key", type: "string", placeholder: "KEY", env: "OPENAI_API_KEY", description: "API key sent to --upstream" },
  { name: "redis", type: "string", placeholder: "URL", description: "With --upstream: share streams through Redis (redis://host:6379), so any process serves any stream" },
  { name: "workers", alias: "w", type: "number", placeholder: "N", default: 1, limits: { integer: true, min: 1 }, description: "With --upstream: processes serving one port (node:cluster); above 1 needs --redis" },
  {
    ...TIMEOUT,
    // 0 is "not given", as for a question: --idle-timeout then bounds the first chunk too.
    limits: { min: 0, timer: true },
    defaultText: inMinutes(DEFAULT_UPSTREAM_TIMEOUT.first),
    more: "when-an-upstream-stalls---timeout-ms---idle-timeout-ms",
    description: "With --upstream: give up on an answer when no chunk arrived this long after the request; its readers get an error frame. 0: --idle-timeout bounds the first chunk too",
  },
  {
    ...IDLE_TIMEOUT,
    limits: { min: 0, timer: true },
    defaultText: inMinutes(DEFAULT_UPSTREAM_TIMEOUT.idle),
    description: "With --upstream: give up on an answer silent this long between two chunks; its readers get an error frame after the text so far. 0 for both: no limit",
  },
  {
    name: "cors",
    type: "list",
    placeholder: "ORIGIN[,ORIGIN…]",
    defaultText: "pages on localhost",
    description: "Web pages allowed to call the server from a browser (CORS), e.g. http://localhost:5173; * for any",
  },
  ...COMMON_OPTIONS,
] as const satisfies readonly OptionSpec[];

/** What `g4f-rx serve` was asked to do, checked. */
export type ServeOptions = Omit<OptionValues<typeof SERVE_OPTIONS>, "help" | "version">;

export const SERVE_COMMAND: CommandSpec<typeof SERVE_OPTIONS> = {
  name: "serve",
  summary: "An OpenAI-compatible server that answers from recorded cassettes",
  usage: [
    "$0 serve [--port 1337] [--host 127.0.0.1] [--cassettes DIR] [--speed N] [--cors ORIGIN…]",
    "$0 serve --upstream URL [--redis URL] [--workers N] [--timeout MS] [--idle-timeout MS] [--cors ORIGIN] [--port N]",
  ],
  description: [
    "An OpenAI-compatible server that answers from recorded cassettes, with their timing:",
    "POST /v1/chat/completions (streamed or not) and GET /v1/models. Any OpenAI client,",
    "g4f-rx and curl work against it. A request no cassette matches gets HTTP 404 with",
    "the nearest cassettes. With --upstream it is instead a resumable proxy in front of that endpoint:",
    "each streamed answer gets an x-stream-id, GET /v1/streams/ID (with or without Last-Event-ID) resumes it,",
    "POST /v1/streams/ID/stop stops it; an upstream silent past --timeout or --idle-timeout is given up, its readers told.",
    "Ctrl-C (or SIGTERM) stops the server, exit 0.",
  ].join(" "),
  options: SERVE_OPTIONS,
  examples: [
    ["$0 serve -c examples/cassettes", "serve on http://127.0.0.1:1337/v1"],
    ["$0 serve --upstream http://localhost:1337/v1 --port 8080", "a resumable relay in front of GPT4Free"],
    ["$0 serve -u URL --redis redis://127.0.0.1:6379 --workers 2", "two processes sharing streams"],
    ['$0 "Say hello there!"', "ask it (g4f's default URL)"],
  ],
};

/** `g4f-rx logs`'s option table. */
export const LOGS_OPTIONS = [
  { name: "count", alias: "n", type: "number", placeholder: "N", default: 20, limits: { integer: true, min: 0 }, description: "How many conversations to list; 0 lists all" },
  { name: "query", alias: "q", type: "string", placeholder: "TEXT", description: "Only conversations whose title, prompts or answers contain TEXT (any case)" },
  { name: "json", type: "boolean", description: "JSON: one conversation per line for the list, the whole conversation for show" },
  {
    name: "response",
    alias: "r",
    type: "boolean",
    more: "the-last-answer-g4f-rx-logs--r",
    description: "Print only the last answer's text, as kept (byte for byte into a pipe): of the latest conversation, or of the one ID, -c or --cid names",
  },
  { name: "continue", alias: "c", type: "boolean", description: "The latest conversation, the one g4f-rx -c goes on with: shown, or its last answer with -r" },
  { name: "cid", type: "string", placeholder: "ID|TITLE", description: "The conversation with this id, title or unique start of an id: shown, or its last answer with -r" },
  ...COMMON_OPTIONS,
] as const satisfies readonly OptionSpec[];

export type LogsOptions = Omit<OptionValues<typeof LOGS_OPTIONS>, "help" | "version">;

export const LOGS_COMMAND: CommandSpec<typeof LOGS_OPTIONS> = {
  name: "logs",
  summary: "Kept conversations: list, show, search, remove",
  usage: ["$0 logs [-n N] [-q TEXT] [--json]", "$0 logs show [ID] [--json]", "$0 logs -r [ID]", "$0 logs rename ID TITLE", "$0 logs rm ID"],
  description: [
    "Lists the kept conversations, the most recent first: id, when (UTC), model @ endpoint, turns, title, first words.",
    "show prints one (the latest without ID; plain text, also into a pipe; --json for everything kept), -r only its last answer, rename gives one a title (\"\" removes it), rm removes one.",
    "ID may be an id, a unique start of one, or a title.",
    "Continue one with g4f-rx -c (the latest) or g4f-rx --cid ID; replay one offline with g4f-rx chat --replay DIR, asking its questions again (logs show prints DIR).",
  ].join(" "),
  positionals: "The words after logs: list (the default), show [ID], rename ID TITLE, or rm ID; with -r, [ID] (or show [ID]).",
  options: LOGS_OPTIONS,
  elsewhere: {
    "--current": "the latest conversation: g4f-rx logs -c (or logs show)",
    "--conversation": "one conversation: g4f-rx logs show ID, or logs --cid ID",
  },
  examples: [
    ["$0 logs", "the 20 most recent conversations"],
    ["$0 logs -q docker", "those that mention docker"],
    ["$0 logs show 20261130T0416 | less", "read one"],
    ["$0 logs -r | pbcopy", "copy the last answer"],
    ['$0 logs rename 20261130T0416 "trip plan"', "name one; g4f-rx --cid \"trip plan\" goes on with it"],
  ],
};

/** Parses the arguments after `logs`. Throws `UsageError`. */
export function parseLogsCommandLine(
  args: readonly string[],
  version: string,
  width = 80,
): ParsedCommandLine<LogsOptions & { readonly words: readonly string[]; readonly sources: Readonly<Record<string, ValueSource>> }> {
  const parsed = parseCommand(LOGS_COMMAND, args);
  if (parsed.kind === "help") return { kind: "print", text: helpText(LOGS_COMMAND, width) };
  if (parsed.kind === "version") return { kind: "print", text: `${version}\n` };
  return { kind: "run", options: { ...parsed.values, words: parsed.positionals, sources: parsed.sources } };
}

/**
 * Every command, for the README's flag tables. A subcommand is selected by its name as the first argument
 * (`main.ts` dispatches); a prompt that is just that word can come from stdin or after `--`.
 */
export const COMMANDS: readonly CommandSpec[] = [ASK_COMMAND, SERVE_COMMAND, LOGS_COMMAND];

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
        ["G4F_RX_ROLE", "role of the config file (as -r)"],
        [ENVIRONMENT_VARIABLES.baseURL, "base URL, when no endpoint is named"],
        [ENVIRONMENT_VARIABLES.apiKey, "key for that base URL, and for openai"],
        [ENVIRONMENT_VARIABLES.customHeaders, "headers for every request, one Name: value a line"],
        ["NO_COLOR", "no colour on stderr"],
        ["FORCE_COLOR", "0: no colour; 1: colour on stderr, also into a pipe"],
        ["G4F_RX_NO_LOG=1", "keep no conversation (as --no-log)"],
        ["XDG_DATA_HOME", "where conversations are kept (default ~/.local/share)"],
        ["XDG_CONFIG_HOME", "where config.json is read (default ~/.config)"],
        ["XDG_CACHE_HOME", "where the code cache is kept (default ~/.cache)"],
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


/** What the command line asks for: an answer, or just `--help` / `--version` text. */
export type ParsedCommandLine<O> = { readonly kind: "run"; readonly options: O } | { readonly kind: "print"; readonly text: string };

/**
 * Parses the arguments (without `node` and the script) by the question's table; `command` names whose `--help` it is
 * (`models`, `config`). `width` is the terminal's, for `--help`. Throws `UsageError`.
 */
export function parseCommandLine(
  args: readonly string[],
  version: string,
  width = 80,
  layers: Layers = {},
  command: CommandSpec<typeof ASK_OPTIONS> = ASK_COMMAND,
): ParsedCommandLine<CliOptions> {
  const parsed = parseCommand(command, args, layers);
  if (parsed.kind === "help") return { kind: "print", text: helpText(command, width) };
  if (parsed.kind === "version") return { kind: "print", text: `${version}\n` };
  const words = parsed.positionals.filter((word) => word !== "-");
  return {
    kind: "run",
    options: { ...parsed.values, promptArguments: words.join(" "), stdinRequested: words.length < parsed.positionals.length, sources: parsed.sources },
  };
}

/**
 * `g4f-rx models` and `g4f-rx config`: the question's options (they choose the endpoint and the model the same way),
 * with their own usage and description in `--help`. Not in `COMMANDS`: the README's table for them is the question's.
 */
export const MODELS_COMMAND: CommandSpec<typeof ASK_OPTIONS> = {
  ...ASK_COMMAND,
  name: "models",
  summary: "The endpoint's models",
  usage: ["$0 models [list] [options]"],
  description: "Lists the models the endpoint offers (GET /models), one id per line; --json prints each model object as a JSON line. The same as g4f-rx --list-models. The options choose the endpoint as for a question.",
  positionals: undefined,
  examples: [
    ["$0 models", "GPT4Free's local API"],
    ["$0 models -e ollama", "a local Ollama's models"],
    ["$0 models --json | jq .id", "the model objects as JSON lines"],
  ],
};

/** `g4f-rx chat`: the question's options but those for single questions, which chat refuses (chat.ts says why). */
export const CHAT_COMMAND: CommandSpec<typeof ASK_OPTIONS> = {
  ...ASK_COMMAND,
  name: "chat",
  summary: "An interactive session",
  usage: ["$0 chat [options]"],
  description:
    "An interactive session: type a question, the answer streams, the conversation goes on (kept as with -c). The options choose the endpoint, model and output as for a question; -c or --cid continues a kept conversation, --replay DIR plays one back.",
  positionals: undefined,
  omitFromHelp: ["json", "list-models", "attach", "record", "extract", "extract-last", "editor"],
  examples: [
    ["$0 chat", "GPT4Free's local API"],
    ["$0 chat -e ollama -m llama3.2", "a local Ollama"],
    ["$0 chat -c", "go on with the last conversation"],
  ],
};

export const CONFIG_COMMAND: CommandSpec<typeof ASK_OPTIONS> = {
  ...ASK_COMMAND,
  name: "config",
  summary: "The effective settings and where each came from",
  usage: ["$0 config [options]"],
  description:
    "Shows the settings a question would use with these options (flags, environment, the config file, defaults): each value and where it came from, the config file's path and the data directory. Nothing is sent.",
  positionals: undefined,
  examples: [
    ["$0 config", "the settings as they stand"],
    ["$0 config -e ollama", "what -e ollama would change"],
  ],
};

/** Parses the arguments after `serve`. Throws `UsageError`. */
export function parseServeCommandLine(args: readonly string[], version: string, width = 80, layers: Layers = {}): ParsedCommandLine<ServeOptions> {
  const parsed = parseCommand(SERVE_COMMAND, args, layers);
  if (parsed.kind === "help") return { kind: "print", text: helpText(SERVE_COMMAND, width) };
  if (parsed.kind === "version") return { kind: "print", text: `${version}\n` };
  return { kind: "run", options: parsed.values };
}

import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { type Environment, ENVIRONMENT_VARIABLES, type ResolvedEndpoint, type SettingSource, type UserEndpoint, isEndpointName } from "../endpoints.js";
import type { CommandSpec, Layers } from "./option-table.js";
import { ASK_OPTIONS, type CliOptions, type ParsedCommandLine, UsageError, parseCommandLine } from "./options.js";
import type { EndpointCatalogue } from "./targets.js";

/** The config file as read: its settings by option name, and the user's named endpoints. */
export interface ConfigFile {
  /** Where it is (or would be). `undefined` when neither XDG_CONFIG_HOME nor HOME is set. */
  readonly path: string | undefined;
  readonly found: boolean;
  readonly values: Readonly<Record<string, unknown>>;
  readonly endpoints: Readonly<Record<string, UserEndpoint>>;
  /** The user's roles: named sets of settings (`-r NAME`), by long option name. */
  readonly roles: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

/** `$XDG_CONFIG_HOME/g4f-rx/config.json`, else `$HOME/.config/g4f-rx/config.json`. */
export function configPath(env: Environment): string | undefined {
  const xdg = env.XDG_CONFIG_HOME;
  if (xdg !== undefined && xdg.startsWith("/")) return join(xdg, "g4f-rx", "config.json");
  const home = env.HOME;
  return home === undefined || home === "" ? undefined : join(home, ".config", "g4f-rx", "config.json");
}

/** Options a config file cannot set: they ask for one thing once, not for a default. */
const NOT_CONFIGURABLE = new Set(["help", "version", "continue", "cid", "attach", "list-models", "record", "replay", "speed", "extract", "extract-last", "editor"]);

/** Settings a role cannot hold: a role does not name another role. */
const NOT_IN_A_ROLE = new Set(["role"]);

/**
 * Reads the config file: a JSON object whose keys are the command's long
 * option names (`"model"`, `"system"`, `"endpoint"`, `"base-url"`,
 * `"temperature"`…) plus `"endpoints"`, the user's own named endpoints
 * (`{"work": {"url": …, "keyVariable": …, "model": …}}`), and `"roles"`, named
 * sets of those settings (`{"shell": {"system": …, "model": …}}`, or just the
 * system prompt: `{"shell": "…"}`). No file is no settings. Throws `UsageError`
 * naming the file, and the line and column for malformed JSON.
 */
export function readConfig(env: Environment): ConfigFile {
  const path = configPath(env);
  const none: ConfigFile = { path, found: false, values: {}, endpoints: {}, roles: {} };
  if (path === undefined) return none;
  let text: string;
  try {
    // Most people have none: it is looked for first, since reading a missing file throws, and the exception cost
    // every question more than the look. A path under a file (ENOTDIR) holds none either: Node 24's look says so
    // without throwing, Node 20's throws, caught below.
    if (statSync(path, { throwIfNoEntry: false }) === undefined) return none;
    text = readFileSync(path, "utf8");
  } catch (error) {
    if (typeof error === "object" && error !== null && "code" in error && (error.code === "ENOENT" || error.code === "ENOTDIR")) return none;
    throw new UsageError(`${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(`${path}:${where(text, message)}: not valid JSON (${message.replace(/ in JSON at position \d+.*$| \(line \d+ column \d+\)$/, "")})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new UsageError(`${path}:1:1: the config must be a JSON object of settings`);
  const fail = (key: string, problem: string): never => {
    throw new UsageError(`${path}:${lineOfKey(text, key)}: "${key}" ${problem}`);
  };
  const known = new Set<string>(ASK_OPTIONS.map((option) => option.name));
  const settings = [...known].filter((name) => !NOT_CONFIGURABLE.has(name));
  const values: Record<string, unknown> = {};
  let endpoints: Record<string, UserEndpoint> = {};
  let roles: Record<string, Readonly<Record<string, unknown>>> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (key === "endpoints") {
      endpoints = namedEndpoints(value, (problem) => fail(key, problem));
    } else if (key === "roles") {
      roles = namedRoles(value, settings, (role, problem) => fail(role ?? key, problem));
    } else if (!known.has(key)) {
      fail(key, `is not a setting. Settings are the long option names (${settings.join(", ")}), "endpoints" and "roles"`);
    } else if (NOT_CONFIGURABLE.has(key)) {
      fail(key, "cannot be set in the config file; give it on the command line");
    } else {
      values[key] = value;
    }
  }
  return { path, found: true, values, endpoints, roles };
}

/**
 * The config file's `roles`: each a system prompt (a string) or an object of settings by long option name, as the
 * file's own settings are written (their values are checked when a role is used, as the file's own are).
 */
function namedRoles(value: unknown, settings: readonly string[], fail: (role: string | undefined, problem: string) => never): Record<string, Readonly<Record<string, unknown>>> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return fail(undefined, 'must map names to a system prompt or to settings: {"shell": {"system": "…", "model": "…"}}');
  // Gathered as entries and made an object at the end: `roles[name] = …` with the name "__proto__" would set the
  // object's prototype rather than define that role.
  const roles: [string, Readonly<Record<string, unknown>>][] = [];
  const entries: [string, unknown][] = Object.entries(value);
  for (const [name, entry] of entries) {
    if (name.trim() === "") fail(undefined, "has a role with an empty name");
    if (typeof entry === "string") {
      roles.push([name, { system: entry }]);
      continue;
    }
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) fail(name, 'must be a system prompt (a string) or settings ({"system": "…", "model": "…"})');
    const own: [string, unknown][] = Object.entries(entry);
    for (const [key] of own) {
      if (NOT_IN_A_ROLE.has(key)) fail(name, `cannot name another role ("${key}")`);
      if (!settings.includes(key)) fail(name, `: "${key}" is not a setting a role can hold. Settings are the long option names (${settings.filter((setting) => !NOT_IN_A_ROLE.has(setting)).join(", ")})`);
    }
    roles.push([name, Object.fromEntries(own)]);
  }
  return Object.fromEntries(roles);
}

function namedEndpoints(value: unknown, fail: (problem: string) => never): Record<string, UserEndpoint> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return fail('must map names to {"url": …, "keyVariable": …, "model": …}');
  // As entries, for the reason `namedRoles` gives.
  const endpoints: [string, UserEndpoint][] = [];
  const entries: [string, unknown][] = Object.entries(value);
  for (const [name, entry] of entries) {
    if (isEndpointName(name)) fail(`: "${name}" is a built-in endpoint; choose another name`);
    if (typeof entry !== "object" || entry === null) return fail(`: "${name}" must be {"url": …, "keyVariable": …, "model": …}`);
    const url: unknown = "url" in entry ? entry.url : undefined;
    const keyVariable: unknown = "keyVariable" in entry ? entry.keyVariable : undefined;
    const model: unknown = "model" in entry ? entry.model : undefined;
    if (typeof url !== "string" || !/^https?:\/\//i.test(url)) fail(`: "${name}" needs "url", an http(s) URL`);
    if (keyVariable !== undefined && typeof keyVariable !== "string") fail(`: "${name}".keyVariable must be the name of an environment variable`);
    if (model !== undefined && typeof model !== "string") fail(`: "${name}".model must be a model id`);
    endpoints.push([
      name,
      {
        url: String(url),
        ...(typeof keyVariable === "string" ? { keyVariable } : {}),
        ...(typeof model === "string" ? { model } : {}),
      },
    ]);
  }
  return Object.fromEntries(endpoints);
}

/** "3:5" for the position a JSON.parse message names (Node 20 says "position N", later Nodes "line L column C"). */
function where(text: string, message: string): string {
  const lineColumn = /line (\d+) column (\d+)/.exec(message);
  if (lineColumn !== null) return `${lineColumn[1]}:${lineColumn[2]}`;
  const position = /position (\d+)/.exec(message);
  const offset = position === null ? text.length : Number(position[1]);
  const before = text.slice(0, offset).split("\n");
  return `${before.length}:${(before.at(-1)?.length ?? 0) + 1}`;
}

function lineOfKey(text: string, key: string): string {
  const index = text.indexOf(JSON.stringify(key));
  if (index < 0) return "1";
  return String(text.slice(0, index).split("\n").length);
}

/**
 * The layers under the command line: the environment, then the config
 * file. `OPENAI_BASE_URL` is left to endpoint resolution, which reads it
 * only when no endpoint is named; a config `base-url` gives way to it.
 */
export function layersFor(env: Environment, config: ConfigFile): Layers {
  // Reads through to `env` (a copy of process.env took every variable, on every run), without the base URL's.
  const environment: Readonly<Record<string, string | undefined>> = Object.create(env, { [ENVIRONMENT_VARIABLES.baseURL]: { value: undefined } }) as Record<string, string | undefined>;
  const values: Record<string, unknown> = { ...config.values };
  const envBaseURL = env[ENVIRONMENT_VARIABLES.baseURL];
  if (envBaseURL !== undefined && envBaseURL.trim() !== "") delete values["base-url"];
  const label = config.path ?? "the config file";
  return { env: environment, config: { values, label }, roles: { byName: config.roles, label } };
}

/**
 * The command line read over the environment and the config file (whose endpoints `catalogueOf` hands on); in `role`,
 * when one was chosen since (chat's `/role NAME`), in place of the one they name.
 */
export function parseWithConfig(
  args: readonly string[],
  version: string,
  width: number,
  env: Environment,
  command?: CommandSpec<typeof ASK_OPTIONS>,
  role?: string,
): ParsedCommandLine<CliOptions> & { readonly config?: ConfigFile } {
  const config = readConfig(env);
  const parsed = parseCommandLine(args, version, width, { ...layersFor(env, config), ...(role === undefined ? {} : { role }) }, command);
  if (parsed.kind === "print") return parsed;
  return { kind: "run", options: parsed.options, config };
}

/** The config file's endpoints of the user's own, for endpoint resolution (`resolveTarget`). */
export function catalogueOf(config: ConfigFile | undefined): EndpointCatalogue {
  return config === undefined ? {} : { endpoints: config.endpoints, ...(config.path === undefined ? {} : { from: config.path }) };
}

/** How `g4f-rx config` names where a value came from. */
const SOURCE_LABELS: Readonly<Record<SettingSource | "role", string>> = {
  flag: "flag",
  role: "role",
  environment: "environment",
  config: "config file",
  endpoint: "endpoint default",
  default: "built-in default",
  conversation: "the conversation (-c)",
};

/** `g4f-rx config [options]`: the effective settings, and where each came from. */
export function showConfig(options: CliOptions, config: ConfigFile, resolved: ResolvedEndpoint, dataDirectory: string | undefined): string {
  const rows: string[][] = [["setting", "value", "from"]];
  const byKey = new Map<string, unknown>(Object.entries(options));
  // The endpoint's values are what resolution chose, with where each came from (the option table knows only its own layers).
  const key =
    resolved.apiKey !== undefined
      ? resolved.sources.apiKey === "environment" && resolved.apiKeyVariable !== undefined
        ? `set (${resolved.apiKeyVariable})`
        : "set"
      : resolved.endpoint?.apiKeyVariable !== undefined
        ? `missing: set ${resolved.endpoint.apiKeyVariable} or pass --api-key`
        : "-";
  // Resolution takes a role's endpoint settings as the command line's (`resolveTarget`): the option table says which were.
  const label = (source: SettingSource | "role", option: string): string =>
    source === "flag" && options.sources[option] === "role" ? `role ${options.role ?? ""}` : source === "role" ? `role ${options.role ?? ""}` : SOURCE_LABELS[source];
  const endpointRows = new Map<string, [string, SettingSource]>([
    ["endpoint", [display(resolved.endpoint?.name), resolved.sources.endpoint]],
    ["base-url", [display(resolved.baseURL), resolved.sources.baseURL]],
    ["api-key", [key, resolved.sources.apiKey]],
    ["model", [display(resolved.model), resolved.sources.model]],
    ["retries", [display(resolved.maxRetries), resolved.sources.retries]],
  ]);
  for (const option of ASK_OPTIONS) {
    if (NOT_CONFIGURABLE.has(option.name)) continue;
    const [value, source] = endpointRows.get(option.name) ?? [
      display(byKey.get(option.name.replace(/-([a-z])/g, (_match, letter: string) => letter.toUpperCase()))),
      options.sources[option.name] ?? "default",
    ];
    rows.push([option.name, value, label(source, option.name)]);
  }
  const lines = [
    `config file: ${config.path === undefined ? "none (neither XDG_CONFIG_HOME nor HOME is set)" : `${config.path}${config.found ? "" : " (not there: built-in defaults)"}`}`,
    `conversations: ${dataDirectory === undefined ? "not kept (neither XDG_DATA_HOME nor HOME is set)" : dataDirectory}`,
    `asks: ${resolved.model} at ${resolved.baseURL} (model from ${label(resolved.sources.model, "model")}, endpoint from ${label(resolved.sources.endpoint, options.sources["base-url"] === "role" ? "base-url" : "endpoint")})`,
    "",
    ...table(rows),
  ];
  const named = Object.entries(config.endpoints);
  if (named.length > 0) {
    lines.push("", "endpoints of your own (config):");
    for (const [name, endpoint] of named) {
      lines.push(`  ${name}  ${endpoint.url}  ${endpoint.keyVariable === undefined ? "(no key)" : `key from ${endpoint.keyVariable}`}${endpoint.model === undefined ? "" : `  model ${endpoint.model}`}`);
    }
  }
  const roles = Object.entries(config.roles);
  if (roles.length > 0) {
    lines.push("", "roles (config, -r NAME):");
    for (const [name, settings] of roles) lines.push(`  ${name}  ${Object.keys(settings).join(", ")}`);
  }
  lines.push("", "Precedence: flag > role (-r) > the conversation (-c) > environment > config file > endpoint default > built-in default.");
  return lines.join("\n") + "\n";
}

function display(value: unknown): string {
  if (value === undefined) return "-";
  if (Array.isArray(value)) return value.length === 0 ? "-" : value.join(",");
  return typeof value === "number" || typeof value === "boolean" ? String(value) : JSON.stringify(value);
}

function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, index) => (widths[index] = Math.max(widths[index] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index] ?? 0))).join("  "));
}

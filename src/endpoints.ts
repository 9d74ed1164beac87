/**
 * Named OpenAI-compatible endpoints and how the command line and the
 * environment choose one. Pure functions: the environment is passed in, so
 * the rules are testable without touching `process.env`.
 */

/** The names `--endpoint` and `G4F_RX_ENDPOINT` accept. */
export type EndpointName = "g4f" | "openai" | "ollama" | "lmstudio" | "openrouter" | "groq" | "deepseek";

/** A named OpenAI-compatible endpoint: a built-in one, or one of the user's own. */
export interface Endpoint {
  /** An `EndpointName`, or the name a user endpoint was declared under. */
  readonly name: string;
  /** What it is, for `--help` and error messages. */
  readonly title: string;
  readonly baseURL: string;
  /** The environment variable that holds its API key; `undefined` when it needs none (local servers). */
  readonly apiKeyVariable: string | undefined;
  /**
   * The model asked for when neither `--model` nor `G4F_RX_MODEL` says otherwise; `undefined` for a user endpoint
   * that names none (it is then asked for `DEFAULT_MODEL`, or as a fallback for the main request's model).
   */
  readonly defaultModel: string | undefined;
  /** How to start the server, said when it cannot be reached. Only local servers have one. */
  readonly startHint: string | undefined;
}

/** A built-in endpoint: it has one of the built-in names and always a default model. */
export interface BuiltInEndpoint extends Endpoint {
  readonly name: EndpointName;
  readonly defaultModel: string;
}

/**
 * An endpoint of the user's own, declared under a name (the command's config
 * file `endpoints`): that name then works wherever a built-in one does.
 */
export interface UserEndpoint {
  readonly url: string;
  /** The environment variable that holds its key; none: no key is sent. */
  readonly keyVariable?: string;
  /** The model asked when none is given. */
  readonly model?: string;
}

/** Every named endpoint, in the order `--help` lists them. */
export const ENDPOINTS: Readonly<Record<EndpointName, BuiltInEndpoint>> = {
  g4f: {
    name: "g4f",
    title: "GPT4Free's local API",
    baseURL: "http://localhost:1337/v1",
    apiKeyVariable: undefined,
    defaultModel: "gpt-4",
    startHint: 'start it with `g4f api` (pip install -U "g4f[api]") or `docker run -p 1337:1337 hlohaus789/g4f`',
  },
  openai: {
    name: "openai",
    title: "OpenAI",
    baseURL: "https://api.openai.com/v1",
    apiKeyVariable: "OPENAI_API_KEY",
    defaultModel: "gpt-4o-mini",
    startHint: undefined,
  },
  ollama: {
    name: "ollama",
    title: "Ollama",
    baseURL: "http://localhost:11434/v1",
    apiKeyVariable: undefined,
    defaultModel: "llama3.2",
    startHint: "start it with `ollama serve`",
  },
  lmstudio: {
    name: "lmstudio",
    title: "LM Studio's local server",
    baseURL: "http://localhost:1234/v1",
    apiKeyVariable: undefined,
    // LM Studio answers with the model that is loaded when it does not know the id.
    defaultModel: "local-model",
    startHint: "start it with `lms server start`, or from LM Studio's Developer tab",
  },
  openrouter: {
    name: "openrouter",
    title: "OpenRouter",
    baseURL: "https://openrouter.ai/api/v1",
    apiKeyVariable: "OPENROUTER_API_KEY",
    defaultModel: "openai/gpt-4o-mini",
    startHint: undefined,
  },
  groq: {
    name: "groq",
    title: "Groq",
    baseURL: "https://api.groq.com/openai/v1",
    apiKeyVariable: "GROQ_API_KEY",
    defaultModel: "llama-3.3-70b-versatile",
    startHint: undefined,
  },
  deepseek: {
    name: "deepseek",
    title: "DeepSeek",
    baseURL: "https://api.deepseek.com/v1",
    apiKeyVariable: "DEEPSEEK_API_KEY",
    defaultModel: "deepseek-chat",
    startHint: undefined,
  },
};

/** The endpoint used when nothing chooses another: GPT4Free's local API, which needs no key. */
export const DEFAULT_ENDPOINT: EndpointName = "g4f";

/** The model for a `--base-url` / `OPENAI_BASE_URL` endpoint, which has no default of its own. */
export const DEFAULT_MODEL = "gpt-4";

/** The environment variables read, besides each endpoint's key variable. */
export const ENVIRONMENT_VARIABLES = {
  endpoint: "G4F_RX_ENDPOINT",
  model: "G4F_RX_MODEL",
  baseURL: "OPENAI_BASE_URL",
  apiKey: "OPENAI_API_KEY",
  customHeaders: "OPENAI_CUSTOM_HEADERS",
} as const;

/** `process.env`, or any stand-in for it. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** What the command line says; every field is optional, and a missing one falls back to the environment. */
export interface EndpointFlags {
  endpoint?: string | undefined;
  baseURL?: string | undefined;
  apiKey?: string | undefined;
  model?: string | undefined;
  retries?: number | undefined;
}

/**
 * Where a setting came from, so messages can say how to change it: a flag, an
 * environment variable, a config file, the chosen endpoint's own declaration
 * (its URL, default model, key variable), the built-in default, or the
 * conversation being continued (the command's `-c`: `resolveEndpoint` never
 * says it, its caller does).
 */
export type SettingSource = "flag" | "environment" | "config" | "endpoint" | "default" | "conversation";

/** What `resolveEndpoint` reads besides the flags and the environment; everything is optional. */
export interface EndpointSettings {
  /** Endpoints of the user's own by name; each works wherever a built-in name does (`--endpoint`, `--fallback`, …). */
  readonly endpoints?: Readonly<Record<string, UserEndpoint>>;
  /** A config file's values: below the environment, above the built-in defaults. */
  readonly config?: EndpointFlags;
  /** Where `endpoints` and `config` were read (a file path), for messages. */
  readonly from?: string;
  /** For showing the settings (`g4f-rx config`): a key the endpoint needs and nobody gave is left out, not an error. */
  readonly keyOptional?: boolean;
}

/** A complete choice of endpoint, model, key and retries. */
export interface ResolvedEndpoint {
  /** The named endpoint, or `undefined` for a `--base-url` / `OPENAI_BASE_URL` one. */
  readonly endpoint: Endpoint | undefined;
  readonly baseURL: string;
  /** Where the choice of server (a name or a URL) came from: never `endpoint`. */
  readonly baseURLSource: SettingSource;
  /** The key to send, or `undefined` to send no `Authorization` header. */
  readonly apiKey: string | undefined;
  /** The variable the key was (or would be) read from. */
  readonly apiKeyVariable: string | undefined;
  readonly model: string;
  readonly modelSource: SettingSource;
  /** Request retries for the `openai` client (`maxRetries`). */
  readonly maxRetries: number;
  /** Headers sent with every request besides the client's own: `OPENAI_CUSTOM_HEADERS`'s. */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * Where each value came from. `endpoint` is where the endpoint was named (or its URL given); `baseURL` is
   * `endpoint` when the URL is the named endpoint's own; `apiKey` is `endpoint` when the named endpoint needs none.
   */
  readonly sources: Readonly<Record<"endpoint" | "baseURL" | "apiKey" | "model" | "retries", SettingSource>>;
}

/** A setting that cannot work: an unknown endpoint name, a URL that is not one, a missing key. */
export class EndpointConfigError extends Error {
  override readonly name = "EndpointConfigError";
}

/** Retries when the endpoint is on this machine: none, because a refused connection is not fixed by waiting 1.5 s. */
export const LOCAL_RETRIES = 0;
/** Retries for a remote endpoint: the `openai` client's default, for rate limits (429) and 5xx answers. */
export const REMOTE_RETRIES = 2;

export function isEndpointName(name: string): name is EndpointName {
  return Object.hasOwn(ENDPOINTS, name);
}

/**
 * Chooses the endpoint, model, key and retries. Flags win over the
 * environment, which wins over the config file (`settings.config`), which
 * wins over the defaults:
 *
 * - server: `--base-url`, else the `--endpoint` one, else the
 *   `G4F_RX_ENDPOINT` one, else the config's endpoint, else
 *   `OPENAI_BASE_URL`, else the config's base URL, else `g4f`. A named
 *   endpoint beats `OPENAI_BASE_URL` because that variable is generic and is
 *   often set for other tools. A name is a built-in one or one of
 *   `settings.endpoints`.
 * - key: `--api-key`, else the endpoint's key variable (a named endpoint never
 *   reads another provider's variable, so a key is not sent where it does
 *   not belong), else for a custom URL `OPENAI_API_KEY`, else the config's.
 *   Local endpoints need none.
 * - model: `--model`, else `G4F_RX_MODEL`, else the config's, else the
 *   endpoint's default, else `DEFAULT_MODEL`.
 * - retries: `--retries` (or the config's), else 0 for a local URL and 2 for a remote one.
 *
 * Empty values count as unset. Throws `EndpointConfigError` for an unknown
 * name, a URL that is not http(s), or an endpoint whose key is missing.
 */
export function resolveEndpoint(flags: EndpointFlags, env: Environment, settings: EndpointSettings = {}): ResolvedEndpoint {
  const read = (name: string): string | undefined => nonEmpty(env[name]);
  const config = settings.config ?? {};
  const configFrom = settings.from ?? "the config file";
  const named = (name: string, from: string): Endpoint => {
    const found = findEndpoint(name, settings);
    if (found !== undefined) return found;
    throw new EndpointConfigError(`Unknown endpoint "${name}" (from ${from}). Known endpoints: ${endpointNames(settings).join(", ")}; or give any URL with --base-url.`);
  };
  const flagEndpoint = nonEmpty(flags.endpoint);
  const flagBaseURL = nonEmpty(flags.baseURL);
  const envEndpoint = read(ENVIRONMENT_VARIABLES.endpoint);
  const envBaseURL = read(ENVIRONMENT_VARIABLES.baseURL);
  const configEndpoint = nonEmpty(config.endpoint);
  const configBaseURL = nonEmpty(config.baseURL);

  let endpoint: Endpoint | undefined;
  let baseURL: string;
  let baseURLSource: SettingSource;
  let ownURL = false;
  if (flagBaseURL !== undefined) {
    // --base-url with --endpoint keeps that endpoint's key variable and model; alone, it is a custom endpoint.
    endpoint = flagEndpoint === undefined ? undefined : named(flagEndpoint, "--endpoint");
    baseURL = checkURL(flagBaseURL, "--base-url");
    baseURLSource = "flag";
  } else if (flagEndpoint !== undefined) {
    endpoint = named(flagEndpoint, "--endpoint");
    baseURL = urlOf(endpoint);
    baseURLSource = "flag";
    ownURL = true;
  } else if (envEndpoint !== undefined) {
    endpoint = named(envEndpoint, ENVIRONMENT_VARIABLES.endpoint);
    baseURL = urlOf(endpoint);
    baseURLSource = "environment";
    ownURL = true;
  } else if (configEndpoint !== undefined) {
    endpoint = named(configEndpoint, `"endpoint" in ${configFrom}`);
    baseURL = urlOf(endpoint);
    baseURLSource = "config";
    ownURL = true;
  } else if (envBaseURL !== undefined) {
    baseURL = checkURL(envBaseURL, ENVIRONMENT_VARIABLES.baseURL);
    baseURLSource = "environment";
  } else if (configBaseURL !== undefined) {
    baseURL = checkURL(configBaseURL, `"base-url" in ${configFrom}`);
    baseURLSource = "config";
  } else {
    endpoint = ENDPOINTS[DEFAULT_ENDPOINT];
    baseURL = endpoint.baseURL;
    baseURLSource = "default";
    ownURL = true;
  }

  const apiKeyVariable = endpoint === undefined ? ENVIRONMENT_VARIABLES.apiKey : endpoint.apiKeyVariable;
  const flagKey = nonEmpty(flags.apiKey);
  const envKey = apiKeyVariable === undefined ? undefined : read(apiKeyVariable);
  const configKey = nonEmpty(config.apiKey);
  const apiKey = flagKey ?? envKey ?? configKey;
  if (apiKey === undefined && endpoint?.apiKeyVariable !== undefined && settings.keyOptional !== true) {
    throw new EndpointConfigError(`The ${endpoint.name} endpoint (${endpoint.title}) needs an API key: set ${endpoint.apiKeyVariable} or pass --api-key.`);
  }
  const apiKeySource: SettingSource =
    flagKey !== undefined ? "flag" : envKey !== undefined ? "environment" : configKey !== undefined ? "config" : endpoint === undefined ? "default" : "endpoint";

  const flagModel = nonEmpty(flags.model);
  const envModel = read(ENVIRONMENT_VARIABLES.model);
  const configModel = nonEmpty(config.model);
  const ownModel = endpoint?.defaultModel;
  const model = flagModel ?? envModel ?? configModel ?? ownModel ?? DEFAULT_MODEL;
  const modelSource: SettingSource =
    flagModel !== undefined ? "flag" : envModel !== undefined ? "environment" : configModel !== undefined ? "config" : ownModel !== undefined ? "endpoint" : "default";

  const retries = flags.retries ?? config.retries;
  if (retries !== undefined && (!Number.isInteger(retries) || retries < 0)) {
    throw new EndpointConfigError(`--retries must be a whole number of at least 0, got ${String(retries)}`);
  }
  const maxRetries = retries ?? defaultRetries(baseURL);
  const sources = {
    endpoint: baseURLSource,
    baseURL: ownURL ? "endpoint" : baseURLSource,
    apiKey: apiKeySource,
    model: modelSource,
    retries: flags.retries !== undefined ? "flag" : config.retries !== undefined ? "config" : "default",
  } as const;
  return { endpoint, baseURL, baseURLSource, apiKey, apiKeyVariable, model, modelSource, maxRetries, headers: customHeaders(env), sources };
}

/**
 * The endpoint a name means: a built-in one (any case), else one of
 * `settings.endpoints` (as declared); `undefined` for neither.
 */
export function findEndpoint(name: string, settings: EndpointSettings = {}): Endpoint | undefined {
  const key = name.trim().toLowerCase();
  if (isEndpointName(key)) return ENDPOINTS[key];
  const endpoints = settings.endpoints ?? {};
  const declared = Object.hasOwn(endpoints, name.trim()) ? endpoints[name.trim()] : undefined;
  if (declared === undefined) return undefined;
  return {
    name: name.trim(),
    title: `declared in ${settings.from ?? "the config file"}`,
    baseURL: declared.url,
    apiKeyVariable: nonEmpty(declared.keyVariable),
    defaultModel: nonEmpty(declared.model),
    startHint: undefined,
  };
}

/** The built-in names, then the user's own. */
export function endpointNames(settings: EndpointSettings = {}): string[] {
  return [...Object.keys(ENDPOINTS), ...Object.keys(settings.endpoints ?? {})];
}

/**
 * Request retries when `--retries` is not given: 0 for a server on this
 * machine, 2 (the `openai` client's default) for a remote one.
 *
 * The client retries a refused connection too, with 0.5 s then 1 s of
 * back-off; for the default endpoint, a GPT4Free server that is not running,
 * that is 1.5 s of waiting before the same error. Remote endpoints keep the
 * retries because rate limits and 5xx answers there often pass.
 */
export function defaultRetries(baseURL: string): number {
  return isLocalURL(baseURL) ? LOCAL_RETRIES : REMOTE_RETRIES;
}

/** Whether a server listening on `host` stays on this machine (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  return isLocalURL(`http://${host.includes(":") ? `[${host}]` : host}/`);
}

/** Whether the URL names this machine (localhost, 127.0.0.0/8, ::1). */
export function isLocalURL(url: string): boolean {
  let hostname: string;
  try {
    hostname = new URL(url).hostname;
  } catch {
    return false;
  }
  return (
    hostname === "localhost" ||
    hostname.endsWith(".localhost") ||
    hostname === "[::1]" ||
    /^127(?:\.\d{1,3}){3}$/.test(hostname)
  );
}

/** The URL a chat completion is posted to. */
export function chatCompletionsURL(baseURL: string): string {
  return endpointURL(baseURL, "chat/completions");
}

/** The Responses API's URL under an OpenAI-compatible base URL. */
export function responsesURL(baseURL: string): string {
  return endpointURL(baseURL, "responses");
}

/** The model list's URL under an OpenAI-compatible base URL. */
export function modelsURL(baseURL: string): string {
  return endpointURL(baseURL, "models");
}

/**
 * `path` under the base URL, before its query: an Azure-style base URL
 * (`…/deployments/x?api-version=2024-10-21`) posts to
 * `…/deployments/x/chat/completions?api-version=2024-10-21`, the query kept as written.
 */
function endpointURL(baseURL: string, path: string): string {
  const { base, search } = splitAtQuery(baseURL);
  return `${base.replace(/\/+$/, "")}/${path}${search}`;
}

/**
 * A base URL without its query, and the query's parameters. The `openai` client
 * appends its path to the whole base URL, so a query in it would swallow the path
 * (`?api-version=2024-10-21%2Fchat%2Fcompletions`); it is given the query as
 * `defaultQuery` instead.
 */
export function splitBaseURL(baseURL: string): { readonly base: string; readonly query: Readonly<Record<string, string>> } {
  const { base, search } = splitAtQuery(baseURL);
  return { base, query: Object.fromEntries(new URLSearchParams(search)) };
}

/** The part before `?` or `#`, and the query with its `?` (empty when there is none); the fragment is dropped. */
function splitAtQuery(url: string): { base: string; search: string } {
  const end = url.search(/[?#]/);
  if (end === -1) return { base: url, search: "" };
  const search = url.slice(end).replace(/#.*$/, "");
  return { base: url.slice(0, end), search: search === "?" ? "" : search };
}

/**
 * The headers of `OPENAI_CUSTOM_HEADERS` (one `Name: value` a line), read as
 * the `openai` client reads them, so every request of the command sends them.
 */
export function customHeaders(env: Environment): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {};
  for (const line of (nonEmpty(env[ENVIRONMENT_VARIABLES.customHeaders]) ?? "").split("\n")) {
    const colon = line.indexOf(":");
    if (colon >= 0) headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return headers;
}

function urlOf(endpoint: Endpoint): string {
  return checkURL(endpoint.baseURL, `the ${endpoint.name} endpoint's URL`);
}

function checkURL(url: string, from: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new EndpointConfigError(`${from} must be an http(s) URL such as http://localhost:1337/v1, got "${url}"`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new EndpointConfigError(`${from} must be an http(s) URL such as http://localhost:1337/v1, got "${url}"`);
  }
  // fetch refuses such a URL and node:http would send its user and password as Basic auth: neither may happen
  // silently, and the password is not repeated in the message.
  if (parsed.username !== "" || parsed.password !== "") {
    parsed.username = "";
    parsed.password = "";
    throw new EndpointConfigError(
      `${from} must not hold a user name or password (user:password@), which the openai client refuses: give ${parsed.href} and send credentials with --api-key, or a header with ${ENVIRONMENT_VARIABLES.customHeaders} (such as "Authorization: Basic …")`,
    );
  }
  return url;
}

/**
 * The URL to show in a message or a log: its password (`redis://:secret@host`, `http://user:secret@host`) replaced
 * with `***`, the rest as given. Text that is not a URL is shown as it is.
 */
export function withoutPassword(url: string): string {
  if (!URL.canParse(url)) return url;
  const parsed = new URL(url);
  if (parsed.password === "") return url;
  parsed.password = "***";
  return parsed.href;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

/**
 * Named OpenAI-compatible endpoints and how the command line and the
 * environment choose one. Pure functions: the environment is passed in, so
 * the rules are testable without touching `process.env`.
 */

/** The names `--endpoint` and `G4F_RX_ENDPOINT` accept. */
export type EndpointName = "g4f" | "openai" | "ollama" | "lmstudio" | "openrouter" | "groq" | "deepseek";

/** A named OpenAI-compatible endpoint. */
export interface Endpoint {
  readonly name: EndpointName;
  /** What it is, for `--help` and error messages. */
  readonly title: string;
  readonly baseURL: string;
  /** The environment variable that holds its API key; `undefined` when it needs none (local servers). */
  readonly apiKeyVariable: string | undefined;
  /** The model asked for when neither `--model` nor `G4F_RX_MODEL` says otherwise. */
  readonly defaultModel: string;
  /** How to start the server, said when it cannot be reached. Only local servers have one. */
  readonly startHint: string | undefined;
}

/** Every named endpoint, in the order `--help` lists them. */
export const ENDPOINTS: Readonly<Record<EndpointName, Endpoint>> = {
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

/** Where a setting came from, so messages can say how to change it. */
export type SettingSource = "flag" | "environment" | "default";

/** A complete choice of endpoint, model, key and retries. */
export interface ResolvedEndpoint {
  /** The named endpoint, or `undefined` for a `--base-url` / `OPENAI_BASE_URL` one. */
  readonly endpoint: Endpoint | undefined;
  readonly baseURL: string;
  readonly baseURLSource: SettingSource;
  /** The key to send, or `undefined` to send no `Authorization` header. */
  readonly apiKey: string | undefined;
  /** The variable the key was (or would be) read from. */
  readonly apiKeyVariable: string | undefined;
  readonly model: string;
  readonly modelSource: SettingSource;
  /** Request retries for the `openai` client (`maxRetries`). */
  readonly maxRetries: number;
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
 * environment, which wins over the defaults:
 *
 * - base URL: `--base-url`, else the `--endpoint` preset, else the
 *   `G4F_RX_ENDPOINT` preset, else `OPENAI_BASE_URL`, else `g4f`'s. A named
 *   endpoint beats `OPENAI_BASE_URL` because that variable is generic and is
 *   often set for other tools.
 * - key: `--api-key`, else the preset's key variable (a preset never reads
 *   another provider's variable, so a key is not sent where it does not
 *   belong), else for a custom URL `OPENAI_API_KEY`. Local presets need none.
 * - model: `--model`, else `G4F_RX_MODEL`, else the preset's default.
 * - retries: `--retries`, else 0 for a local URL and 2 for a remote one.
 *
 * Empty environment variables count as unset. Throws `EndpointConfigError`
 * for an unknown name, a URL that is not http(s), or a preset whose key is
 * missing.
 */
export function resolveEndpoint(flags: EndpointFlags, env: Environment): ResolvedEndpoint {
  const read = (name: string): string | undefined => nonEmpty(env[name]);
  const flagEndpoint = nonEmpty(flags.endpoint);
  const envEndpoint = read(ENVIRONMENT_VARIABLES.endpoint);
  const flagBaseURL = nonEmpty(flags.baseURL);
  const envBaseURL = read(ENVIRONMENT_VARIABLES.baseURL);

  let endpoint: Endpoint | undefined;
  let baseURL: string;
  let baseURLSource: SettingSource;
  if (flagBaseURL !== undefined) {
    // --base-url with --endpoint keeps that preset's key variable and model; alone, it is a custom endpoint.
    endpoint = flagEndpoint === undefined ? undefined : lookUp(flagEndpoint, "--endpoint");
    baseURL = checkURL(flagBaseURL, "--base-url");
    baseURLSource = "flag";
  } else if (flagEndpoint !== undefined) {
    endpoint = lookUp(flagEndpoint, "--endpoint");
    baseURL = endpoint.baseURL;
    baseURLSource = "flag";
  } else if (envEndpoint !== undefined) {
    endpoint = lookUp(envEndpoint, ENVIRONMENT_VARIABLES.endpoint);
    baseURL = endpoint.baseURL;
    baseURLSource = "environment";
  } else if (envBaseURL !== undefined) {
    endpoint = undefined;
    baseURL = checkURL(envBaseURL, ENVIRONMENT_VARIABLES.baseURL);
    baseURLSource = "environment";
  } else {
    endpoint = ENDPOINTS[DEFAULT_ENDPOINT];
    baseURL = endpoint.baseURL;
    baseURLSource = "default";
  }

  const apiKeyVariable = endpoint === undefined ? ENVIRONMENT_VARIABLES.apiKey : endpoint.apiKeyVariable;
  const apiKey = nonEmpty(flags.apiKey) ?? (apiKeyVariable === undefined ? undefined : read(apiKeyVariable));
  if (apiKey === undefined && endpoint?.apiKeyVariable !== undefined) {
    throw new EndpointConfigError(
      `The ${endpoint.name} endpoint (${endpoint.title}) needs an API key: set ${endpoint.apiKeyVariable} or pass --api-key.`,
    );
  }

  const flagModel = nonEmpty(flags.model);
  const envModel = read(ENVIRONMENT_VARIABLES.model);
  const model = flagModel ?? envModel ?? endpoint?.defaultModel ?? DEFAULT_MODEL;
  const modelSource: SettingSource = flagModel !== undefined ? "flag" : envModel !== undefined ? "environment" : "default";

  const { retries } = flags;
  if (retries !== undefined && (!Number.isInteger(retries) || retries < 0)) {
    throw new EndpointConfigError(`--retries must be a whole number of at least 0, got ${String(retries)}`);
  }
  const maxRetries = retries ?? defaultRetries(baseURL);

  return { endpoint, baseURL, baseURLSource, apiKey, apiKeyVariable, model, modelSource, maxRetries };
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

/** The URL a chat completion is posted to, for messages. */
export function chatCompletionsURL(baseURL: string): string {
  return `${baseURL.replace(/\/+$/, "")}/chat/completions`;
}

function lookUp(name: string, from: string): Endpoint {
  const key = name.toLowerCase();
  if (!isEndpointName(key)) {
    throw new EndpointConfigError(
      `Unknown endpoint "${name}" (from ${from}). Known endpoints: ${Object.keys(ENDPOINTS).join(", ")}; or give any URL with --base-url.`,
    );
  }
  return ENDPOINTS[key];
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
  return url;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

import { ENDPOINTS, ENVIRONMENT_VARIABLES, EndpointConfigError, type Environment, type ResolvedEndpoint, isEndpointName, resolveEndpoint } from "../endpoints.js";
import type { CliOptions } from "./options.js";

/** Where the answer comes from: live endpoints (the first, then the fallbacks in order), or recordings. */
export type AnswerTarget =
  | { readonly kind: "live"; readonly endpoints: readonly [ResolvedEndpoint, ...ResolvedEndpoint[]] }
  | { readonly kind: "replay"; readonly path: string; readonly model: string | undefined };

/**
 * Chooses the endpoints from the flags and the environment, or the
 * recordings for `--replay` (which needs no endpoint, key or network).
 * Throws `EndpointConfigError` for a setting that cannot work, the same for
 * a fallback as for the main endpoint: an unknown name, a bad URL, a missing key.
 */
export function resolveTarget(options: CliOptions, env: Environment): AnswerTarget {
  if (options.replay !== undefined) {
    // Only to prefer a recording of the same model when several answer the prompt.
    const model = nonEmpty(options.model) ?? nonEmpty(env[ENVIRONMENT_VARIABLES.model]);
    return { kind: "replay", path: options.replay, model };
  }
  // resolveEndpoint applies the environment itself (OPENAI_BASE_URL counts only when no endpoint is named), so it gets
  // the values the command line gave; a config file's values act as environment variables the environment did not set.
  const given = (name: string): boolean => options.sources[name] === "flag";
  const primary = resolveEndpoint(
    {
      endpoint: given("endpoint") ? options.endpoint : undefined,
      baseURL: given("base-url") ? options.baseUrl : undefined,
      apiKey: options.apiKey,
      model: given("model") ? options.model : undefined,
      retries: options.retries,
    },
    withConfig(options, env),
  );
  return { kind: "live", endpoints: [primary, ...options.fallback.map((entry) => resolveFallback(entry, primary, options, env))] };
}

/**
 * One `--fallback` entry:
 * - `NAME`: the named endpoint with its own key variable and default model;
 * - `NAME=URL`: the same at another URL (a remote Ollama, a proxy);
 * - `URL`: any OpenAI-compatible server, asked for the main request's model, with `OPENAI_API_KEY` if set.
 *
 * `--model`, `--api-key`, `--base-url` and `G4F_RX_MODEL` belong to the main
 * endpoint: a model id or key rarely means anything to another provider.
 * `--retries` applies to every endpoint.
 */
export function resolveFallback(entry: string, primary: ResolvedEndpoint, options: Pick<CliOptions, "retries">, env: Environment): ResolvedEndpoint {
  if (/^https?:\/\//i.test(entry)) {
    return resolveEndpoint({ baseURL: entry, model: primary.model, retries: options.retries }, withoutModel(env));
  }
  const separator = entry.indexOf("=");
  const name = (separator < 0 ? entry : entry.slice(0, separator)).trim().toLowerCase();
  const baseURL = separator < 0 ? undefined : entry.slice(separator + 1).trim();
  if (!isEndpointName(name)) {
    throw new EndpointConfigError(
      `Unknown endpoint "${name}" (from --fallback). Known endpoints: ${Object.keys(ENDPOINTS).join(", ")}; or give a URL, or NAME=URL.`,
    );
  }
  return resolveEndpoint({ endpoint: name, baseURL, retries: options.retries }, withoutModel(env));
}

/** A label for notes: "ollama at http://localhost:11434/v1", or the URL alone for a custom endpoint. */
export function endpointLabel(resolved: ResolvedEndpoint): string {
  return resolved.endpoint === undefined ? resolved.baseURL : `${resolved.endpoint.name} at ${resolved.baseURL}`;
}

/** `env`, with the config file's endpoint, base URL and model where the environment has none. */
function withConfig(options: CliOptions, env: Environment): Environment {
  const fromConfig: Record<string, string | undefined> = {};
  if (options.sources.endpoint === "config") fromConfig[ENVIRONMENT_VARIABLES.endpoint] = options.endpoint;
  if (options.sources["base-url"] === "config") fromConfig[ENVIRONMENT_VARIABLES.baseURL] = options.baseUrl;
  if (options.sources.model === "config") fromConfig[ENVIRONMENT_VARIABLES.model] = options.model;
  return { ...env, ...fromConfig };
}

function withoutModel(env: Environment): Environment {
  return { ...env, [ENVIRONMENT_VARIABLES.model]: undefined };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

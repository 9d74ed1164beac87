import {
  ENVIRONMENT_VARIABLES,
  EndpointConfigError,
  type EndpointFlags,
  type EndpointSettings,
  type Environment,
  type ResolvedEndpoint,
  endpointNames,
  findEndpoint,
  resolveEndpoint,
} from "../endpoints.js";
import { continuedTurn } from "./conversation.js";
import type { CliOptions } from "./options.js";

/** Where the answer comes from: live endpoints (the first, then the fallbacks in order), or recordings. */
export type AnswerTarget =
  | { readonly kind: "live"; readonly endpoints: readonly [ResolvedEndpoint, ...ResolvedEndpoint[]] }
  | { readonly kind: "replay"; readonly path: string; readonly model: string | undefined };

/** The config file's part in choosing endpoints: the user's own endpoints, and where they were declared. */
export type EndpointCatalogue = Pick<EndpointSettings, "endpoints" | "from">;

/**
 * Chooses the endpoints from the flags, the environment and the config file,
 * or the recordings for `--replay` (which needs no endpoint, key or network).
 * A name of the user's own (`endpoints` in the config file) works wherever a
 * built-in one does, `--fallback` included. Throws `EndpointConfigError` for
 * a setting that cannot work, the same for a fallback as for the main
 * endpoint: an unknown name, a bad URL, a missing key.
 */
export function resolveTarget(options: CliOptions, env: Environment, catalogue: EndpointCatalogue = {}, purpose: "ask" | "show" = "ask"): AnswerTarget {
  if (options.replay !== undefined) {
    // Only to prefer a recording of the same model when several answer the prompt.
    const model = nonEmpty(options.model) ?? nonEmpty(env[ENVIRONMENT_VARIABLES.model]);
    return { kind: "replay", path: options.replay, model };
  }
  // resolveEndpoint reads the environment itself (OPENAI_BASE_URL counts only when no endpoint is named), so it gets
  // the values the command line gave as flags (a role's, `-r`, count as given on it) and the config file's as its config.
  const given = layer(options, "flag");
  const flags = onConversation(given, continuedTurn(options, env), catalogue);
  // Shown settings (`g4f-rx config`) must come out also when a key is missing: that is what the user wants to see.
  const show = purpose === "show";
  const resolved = resolveEndpoint(flags, env, { ...catalogue, config: layer(options, "config"), keyOptional: show });
  const primary = flags === given ? resolved : fromConversation(resolved, given);
  if (show) return { kind: "live", endpoints: [primary] };
  return { kind: "live", endpoints: [primary, ...options.fallback.map((entry) => resolveFallback(entry, primary, options, env, catalogue))] };
}

/**
 * One `--fallback` entry:
 * - `NAME`: the named endpoint (built-in or of the user's own) with its own key variable and default model (a user
 *   endpoint without one is asked for the main request's model);
 * - `NAME=URL`: the same at another URL (a remote Ollama, a proxy);
 * - `URL`: any OpenAI-compatible server, asked for the main request's model, with `OPENAI_API_KEY` if set.
 *
 * `--model`, `--api-key`, `--base-url` and `G4F_RX_MODEL` belong to the main
 * endpoint: a model id or key rarely means anything to another provider.
 * `--retries` applies to every endpoint.
 */
export function resolveFallback(
  entry: string,
  primary: ResolvedEndpoint,
  options: Pick<CliOptions, "retries"> & Partial<Pick<CliOptions, "sources">>,
  env: Environment,
  catalogue: EndpointCatalogue = {},
): ResolvedEndpoint {
  // Where the entry came from, as the messages name it.
  const origin = options.sources?.["fallback"] === "config" ? "the config file's fallback" : "--fallback";
  if (/^https?:\/\//i.test(entry)) {
    return resolveEndpoint({ baseURL: entry, model: primary.model, retries: options.retries }, withoutModel(env));
  }
  const separator = entry.indexOf("=");
  const name = (separator < 0 ? entry : entry.slice(0, separator)).trim();
  const baseURL = separator < 0 ? undefined : entry.slice(separator + 1).trim();
  const endpoint = findEndpoint(name, catalogue);
  if (endpoint === undefined) {
    throw new EndpointConfigError(`Unknown endpoint "${name}" (from ${origin}). Known endpoints: ${endpointNames(catalogue).join(", ")}; or give a URL, or NAME=URL.`);
  }
  // --api-key is the main endpoint's: a fallback's key comes from its own variable only.
  if (endpoint.apiKeyVariable !== undefined && nonEmpty(env[endpoint.apiKeyVariable]) === undefined) {
    throw new EndpointConfigError(`The ${endpoint.name} endpoint (${endpoint.title}), given to ${origin}, needs an API key: set ${endpoint.apiKeyVariable} (--api-key is the main endpoint's).`);
  }
  const model = endpoint.defaultModel === undefined ? primary.model : undefined;
  return resolveEndpoint({ endpoint: name, baseURL, model, retries: options.retries }, withoutModel(env), catalogue);
}

/** A label for notes: "ollama at http://localhost:11434/v1", or the URL alone for a custom endpoint. */
export function endpointLabel(resolved: ResolvedEndpoint): string {
  return resolved.endpoint === undefined ? resolved.baseURL : `${resolved.endpoint.name} at ${resolved.baseURL}`;
}

/**
 * A continued conversation (`-c`, `--cid`) goes on where it was, as `llm -c`
 * does: on its endpoint (a named one's key variable applies) unless a flag
 * names another, and with its model unless a flag names one or moves it to
 * another endpoint, whose own default model then applies.
 */
function onConversation(flags: EndpointFlags, turn: { readonly endpoint: string; readonly model: string } | undefined, catalogue: EndpointCatalogue): EndpointFlags {
  if (turn === undefined || nonEmpty(flags.endpoint) !== undefined || nonEmpty(flags.baseURL) !== undefined) return flags;
  const sameURL = (url: string): boolean => url.replace(/\/+$/, "") === turn.endpoint.replace(/\/+$/, "");
  const named = endpointNames(catalogue)
    .map((name) => findEndpoint(name, catalogue))
    .find((endpoint) => endpoint !== undefined && sameURL(endpoint.baseURL));
  return { ...flags, endpoint: named?.name, baseURL: turn.endpoint, model: nonEmpty(flags.model) ?? turn.model };
}

/**
 * `resolved` with the conversation (`-c`) named as where its endpoint came from, and its model unless `given` (the
 * flags of the command line) named one: `onConversation` passed them to `resolveEndpoint` as flags.
 */
function fromConversation(resolved: ResolvedEndpoint, given: EndpointFlags): ResolvedEndpoint {
  const model = nonEmpty(given.model) === undefined ? "conversation" : resolved.sources.model;
  return {
    ...resolved,
    baseURLSource: "conversation",
    modelSource: model,
    sources: { ...resolved.sources, endpoint: "conversation", baseURL: "conversation", model },
  };
}

/** The endpoint settings that came from one place: the command line (and the role it names), or the config file. */
function layer(options: CliOptions, source: "flag" | "config"): EndpointFlags {
  const from = (name: string): boolean => options.sources[name] === source || (source === "flag" && options.sources[name] === "role");
  return {
    endpoint: from("endpoint") ? options.endpoint : undefined,
    baseURL: from("base-url") ? options.baseUrl : undefined,
    apiKey: from("api-key") ? options.apiKey : undefined,
    model: from("model") ? options.model : undefined,
    retries: from("retries") ? options.retries : undefined,
  };
}

function withoutModel(env: Environment): Environment {
  return { ...env, [ENVIRONMENT_VARIABLES.model]: undefined };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

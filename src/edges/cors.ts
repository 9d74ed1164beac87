/**
 * Which web pages may call a server from a browser (CORS), for every server
 * here: the replay server (`serve --cassettes`) and the relay (`serve
 * --upstream`, `createRelayRequestHandler`, `createRelayFetchHandler`).
 *
 * Exact origins such as `"http://localhost:5173"` or `"https://app.example"`
 * (a trailing slash is ignored), or `"*"` for any. Left out: pages served
 * from this machine (`localhost`, `*.localhost`, `127.0.0.1`, `[::1]`, any
 * port). `[]` allows none.
 */
export type CorsOrigins = readonly string[];

/** The answer to a preflight (`OPTIONS`): allowed, with its headers, or refused, with the reason. */
export type CorsPreflight = { readonly allowed: true; readonly headers: Record<string, string> } | { readonly allowed: false; readonly message: string };

export interface CorsPolicy {
  /** Whether a page at `origin` (a request's `Origin` header) may call. */
  allows(origin: string | undefined): boolean;
  /** The headers that let a page at `origin` read an answer: none when it may not call (or sent no `Origin`). */
  headers(origin: string | undefined): Record<string, string>;
  /** Answers a preflight from `origin` asking to send `requestHeaders` (its `Access-Control-Request-Headers`). */
  preflight(origin: string | undefined, requestHeaders: string | undefined): CorsPreflight;
}

export interface CorsPolicyOptions {
  /** Response headers the page's script may read (`Access-Control-Expose-Headers`), such as the relay's `x-stream-id`. */
  exposeHeaders?: readonly string[];
}

/** The one CORS rule of the servers here; see `CorsOrigins`. */
export function corsPolicy(origins: CorsOrigins | undefined, options: CorsPolicyOptions = {}): CorsPolicy {
  const allowsOrigin = originRule(origins);
  const allows = (origin: string | undefined): origin is string => origin !== undefined && allowsOrigin(origin);
  const expose: Record<string, string> = {};
  if (options.exposeHeaders !== undefined && options.exposeHeaders.length > 0) expose["access-control-expose-headers"] = options.exposeHeaders.join(", ");
  const headers = (origin: string | undefined): Record<string, string> =>
    // The answer depends on the Origin, so caches keep one per origin.
    allows(origin) ? { "access-control-allow-origin": origin, vary: "origin", ...expose } : {};
  return {
    allows,
    headers,
    preflight: (origin, requestHeaders) => {
      if (!allows(origin)) {
        return {
          allowed: false,
          message: `Cross-origin requests from ${origin ?? "a page with no Origin"} are not allowed: start the server with --cors ${origin ?? "ORIGIN"} (option cors) to allow them`,
        };
      }
      return {
        allowed: true,
        headers: {
          ...headers(origin),
          "access-control-allow-methods": "GET, POST, OPTIONS",
          "access-control-allow-headers": requestHeaders ?? "authorization, content-type",
          "access-control-max-age": "600",
        },
      };
    },
  };
}

function originRule(origins: CorsOrigins | undefined): (origin: string) => boolean {
  if (origins === undefined) return isLocalOrigin;
  if (origins.includes("*")) return () => true;
  const allowed = new Set(origins.map((origin) => origin.replace(/\/+$/, "")));
  return (origin) => allowed.has(origin);
}

function isLocalOrigin(origin: string): boolean {
  let hostname: string;
  try {
    ({ hostname } = new URL(origin));
  } catch {
    return false;
  }
  return hostname === "localhost" || hostname.endsWith(".localhost") || hostname === "127.0.0.1" || hostname === "[::1]";
}

import { ERROR_BODY_LIMIT, withBodyLimit } from "./bodies.js";

/**
 * Redirects followed without handing a credential to another origin: shared by the command (its own node:http client
 * and the `fetch` it gives the openai client) and the relay server's upstream client. fetch itself drops only
 * Authorization on a redirect to another origin, and would send Azure's `api-key`, a Basic auth or a gateway's token
 * (set with `OPENAI_CUSTOM_HEADERS`) to whatever server the redirect names.
 */

/** The redirects fetch follows before it fails, as `redirect: "follow"` does. */
export const MAX_REDIRECTS = 20;

/**
 * The headers that may carry a credential, in lower case: Authorization (the key), and every header of
 * `customHeaders` (`OPENAI_CUSTOM_HEADERS`'s), which is where a user puts any other and which cannot be told from a
 * harmless one.
 */
export function credentialHeaders(customHeaders: Readonly<Record<string, string>>): ReadonlySet<string> {
  return new Set(["authorization", ...Object.keys(customHeaders).map((name) => name.toLowerCase())]);
}

/** What is said of a redirect followed: where to, and the credential headers not sent there. */
export function redirectNote(from: string, status: number, to: string, dropped: readonly string[]): string {
  const said = dropped.length === 1 ? `the ${dropped[0] ?? ""} header is` : `the ${dropped.join(", ")} headers are`;
  return `${from} redirects (HTTP ${String(status)}) to ${to}${dropped.length > 0 ? `: another origin, so ${said} not sent there` : ""}`;
}

/**
 * A `fetch` for an openai client: fetch itself, following redirects as it does (a 301 or 302 of a POST, and a 303,
 * become a GET without the body; up to 20), but hop by hop, so that no credential header (`credentialHeaders` of
 * `customHeaders`) goes to another origin; `note` is told of each hop (`redirectNote`). An error response's body
 * (HTTP 400 and above) ends after `ERROR_BODY_LIMIT` bytes, the rest cancelled: the client reads it whole
 * (`response.text()`) into its `APIError`, which then holds its beginning.
 */
export function credentialSafeFetch(
  customHeaders: Readonly<Record<string, string>>,
  note: (text: string) => void,
): (input: string | URL | Request, init?: RequestInit) => Promise<Response> {
  const follow = redirectFollower(credentialHeaders(customHeaders), note);
  return async (input, init) => {
    const response = await follow(input, init);
    return response.status >= 400 ? withBodyLimit(response, ERROR_BODY_LIMIT) : response;
  };
}

function redirectFollower(
  credentials: ReadonlySet<string>,
  note: (text: string) => void,
): (input: string | URL | Request, init?: RequestInit) => Promise<Response> {
  return async (input, init = {}) => {
    let target = input instanceof Request ? input.url : String(input);
    let request: RequestInit = init;
    for (let redirects = 0; ; redirects += 1) {
      const response = await fetch(target, { ...request, redirect: "manual" });
      const location = response.headers.get("location");
      if (response.status < 300 || response.status > 399 || location === null || redirects >= MAX_REDIRECTS) return response;
      const next = new URL(location, target);
      if (next.protocol !== "http:" && next.protocol !== "https:") return response;
      await response.body?.cancel();
      const headers = new Headers(request.headers);
      const dropped = next.origin === new URL(target).origin ? [] : [...headers.keys()].filter((name) => credentials.has(name));
      for (const name of dropped) headers.delete(name);
      // As fetch: a 303, or a 301 or 302 of a POST, asks the new place with a GET and no body.
      const method = (request.method ?? "GET").toUpperCase();
      const toGet = response.status === 303 ? method !== "HEAD" : (response.status === 301 || response.status === 302) && method === "POST";
      if (toGet) {
        headers.delete("content-type");
        headers.delete("content-length");
      }
      note(redirectNote(target, response.status, next.href, dropped));
      request = toGet ? { ...request, method: "GET", body: null, headers } : { ...request, headers };
      target = next.href;
    }
  };
}

import { isLocalURL, isLoopbackHost } from "../endpoints.js";

/**
 * Whether a server listening on `listening` answers a request whose `Host` header is `host`, for every server here
 * (the replay server, the relay server): one listening on a loopback address answers only requests addressed to this
 * machine (`localhost`, `*.localhost`, `127.x.x.x`, `[::1]`, any port). Without that, a web page anywhere could call it
 * through DNS rebinding: its own domain made to resolve to 127.0.0.1, the page calls the server as its own origin, where
 * CORS does not apply, and spends the relay's API key or reads the cassettes. A server listening beyond this machine
 * (`--host 0.0.0.0`) was opened on purpose, and answers any name it is reached by.
 */
export function hostHeaderAllowed(listening: string, host: string | undefined): boolean {
  if (!isLoopbackHost(listening)) return true;
  // Only an HTTP/1.0 client sends none; a browser always does.
  if (host === undefined) return true;
  return isLocalURL(`http://${host}/`);
}

/** The OpenAI-format 403 error a request refused by `hostHeaderAllowed` gets. */
export function hostRefusal(host: string | undefined): { readonly error: { readonly message: string; readonly type: string; readonly param: null; readonly code: string } } {
  const message = `This server listens on this machine only and answers requests addressed to localhost or a loopback address, not to ${JSON.stringify(host)}: a web page can reach a local server under another name (DNS rebinding). Ask it at http://localhost:PORT or http://127.0.0.1:PORT.`;
  return { error: { message, type: "invalid_request_error", param: null, code: "host_not_allowed" } };
}

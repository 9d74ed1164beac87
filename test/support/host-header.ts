import { request } from "node:http";

/**
 * POSTs `body` to `url` with the `Host` header a browser would send for a page of `host` (fetch may not set Host):
 * after DNS rebinding, a page of attacker.example:PORT reaches a server on 127.0.0.1 with `Host: attacker.example:PORT`.
 */
export function postWithHost(url: string, host: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const sent = request(url, { method: "POST", headers: { host, "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (part: string) => (text += part));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: text }));
      response.on("error", reject);
    });
    sent.on("error", reject);
    sent.end(body);
  });
}

import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface EndlessBodyServer {
  /** `http://127.0.0.1:port`. */
  readonly origin: string;
  /**
   * What the server sent: `requests` answered, `written` MiB of "a" (over all of them), and `cut`: a client closed the
   * connection before its body ended.
   */
  readonly sent: { requests: number; written: number; cut: boolean };
  close(): Promise<void>;
}

/**
 * A node:http server on 127.0.0.1 whose answer to every request is `status` with a body of `prefix`, then up to
 * `megabytes` MiB of "a", then `suffix`: long enough to tell a client that reads a body whole from one that stops, and
 * finite, so that the first still ends. `headers` go with it (`x-should-retry: false` spares the client's retries).
 */
export async function startEndlessBody(
  status: number,
  prefix: string,
  suffix: string,
  megabytes: number,
  headers: Readonly<Record<string, string>> = {},
): Promise<EndlessBodyServer> {
  const megabyte = Buffer.alloc(1024 * 1024, "a");
  const sent = { requests: 0, written: 0, cut: false };
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      sent.requests += 1;
      let written = 0;
      let ended = false;
      response.on("close", () => {
        if (!ended) sent.cut = true;
      });
      response.writeHead(status, { "content-type": "application/json", ...headers });
      response.write(prefix);
      const pump = (): void => {
        while (written < megabytes && !response.destroyed) {
          written += 1;
          sent.written += 1;
          if (!response.write(megabyte)) return void response.once("drain", pump);
        }
        if (response.destroyed) return;
        ended = true;
        response.end(suffix);
      };
      pump();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${String(port)}`,
    sent,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

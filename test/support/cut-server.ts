import { createServer } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/**
 * How the body stops after its last byte: `"end"` ends it cleanly (the last chunk of the chunked encoding),
 * `"close"` closes the socket mid-body (a FIN before the chunked encoding ended), `"reset"` resets it (an RST).
 */
export type BodyCut = "end" | "close" | "reset";

export interface CutServer {
  /** `http://127.0.0.1:port/v1`, for an `openai` client. */
  readonly baseURL: string;
  close(): Promise<void>;
}

/**
 * A node:http server that answers every request with `body` as a `text/event-stream`, then stops as `cut`
 * says. The request body is read first, so only `"reset"` sends an RST.
 */
export async function startCutServer(body: string | Uint8Array, cut: BodyCut): Promise<CutServer> {
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8" });
      res.write(body, () => {
        if (cut === "end") res.end();
        else if (cut === "close") res.socket?.destroy();
        else res.socket?.resetAndDestroy();
      });
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

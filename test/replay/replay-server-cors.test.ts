import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { accumulate, extractDelta, fromEventStream } from "g4f-rx";
import { type ReplayServer, type ReplayServerOptions, startReplayServer } from "g4f-rx/node";
import { collect } from "../support/collect.js";
import { postWithHost } from "../support/host-header.js";

const examples = fileURLToPath(new URL("../../examples/cassettes", import.meta.url));
const hello = JSON.stringify({ model: "gpt-4", stream: true, messages: [{ role: "user", content: "Say hello there!" }] });

let server: ReplayServer | undefined;
afterEach(() => server?.close());
async function start(options: Omit<ReplayServerOptions, "cassettes"> = {}): Promise<ReplayServer> {
  server = await startReplayServer({ cassettes: examples, port: 0, speed: Infinity, ...options });
  return server;
}

/** What a browser sends before a cross-origin POST with a JSON body and an Authorization header. */
function preflight(url: string, origin: string): Promise<Response> {
  return fetch(`${url}/chat/completions`, {
    method: "OPTIONS",
    headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" },
  });
}

describe("the replay server answers CORS preflights", () => {
  it.each(["http://localhost:5173", "http://127.0.0.1:3000", "http://[::1]:8080", "http://app.localhost:4200"])(
    "allows a page on this machine (%s) by default",
    async (origin) => {
      const { baseURL } = await start();
      const response = await preflight(baseURL, origin);
      expect(response.status).toBe(204);
      expect(response.headers.get("access-control-allow-origin")).toBe(origin);
      expect(response.headers.get("access-control-allow-methods")).toBe("GET, POST, OPTIONS");
      expect(response.headers.get("access-control-allow-headers")).toBe("authorization, content-type");
      expect(response.headers.get("vary")).toBe("origin");
    },
  );

  it("refuses another origin by default with a 403 that says how to allow it", async () => {
    const { baseURL } = await start();
    const response = await preflight(baseURL, "https://evil.example");
    expect(response.status).toBe(403);
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
    const body = (await response.json()) as { error: { message: string } };
    expect(body.error.message).toContain("--cors https://evil.example");
  });

  it("allows exactly the origins given, and no others", async () => {
    const { baseURL } = await start({ cors: ["https://app.example/"] });
    expect((await preflight(baseURL, "https://app.example")).status).toBe(204);
    expect((await preflight(baseURL, "http://localhost:5173")).status).toBe(403);
  });

  it("allows any origin with *", async () => {
    const { baseURL } = await start({ cors: ["*"] });
    const response = await preflight(baseURL, "https://anywhere.example");
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe("https://anywhere.example");
  });

  it("allows none with []", async () => {
    const { baseURL } = await start({ cors: [] });
    expect((await preflight(baseURL, "http://localhost:5173")).status).toBe(403);
  });

  it("marks the streamed answer itself readable by an allowed page, and only by it", async () => {
    const { baseURL } = await start();
    const init = (origin: string): RequestInit => ({ method: "POST", headers: { origin, "content-type": "application/json" }, body: hello });
    const allowed = await fetch(`${baseURL}/chat/completions`, init("http://localhost:5173"));
    expect(allowed.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    expect(allowed.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const text = await collect(fromEventStream(allowed).pipe(extractDelta(), accumulate()));
    expect(text.values.at(-1)).toBe("Hello there! How can I help you today?");
    const other = await fetch(`${baseURL}/chat/completions`, init("https://evil.example"));
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    await other.body?.cancel();
  });
});

describe("the replay server and DNS rebinding", () => {
  it("on a loopback address, refuses a request addressed to another name with a 403, and answers localhost and 127.0.0.1", async () => {
    const { baseURL, url } = await start();
    const port = new URL(url).port;
    const refused = await postWithHost(`${baseURL}/chat/completions`, `attacker.example:${port}`, hello);
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: "host_not_allowed" } });
    expect(refused.body).not.toContain("Hello");
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `app.localhost:${port}`]) {
      const answered = await postWithHost(`${baseURL}/chat/completions`, host, hello);
      expect([host, answered.status]).toEqual([host, 200]);
    }
  });

  it("listening beyond this machine (0.0.0.0), answers any name it is reached by", async () => {
    const { baseURL } = await start({ host: "0.0.0.0" });
    expect((await postWithHost(`${baseURL}/chat/completions`, "replay.example", hello)).status).toBe(200);
  });
});

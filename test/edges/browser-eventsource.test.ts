import { execFileSync } from "node:child_process";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import OpenAI from "openai";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Relay } from "g4f-rx";
import { createRelayRequestHandler } from "g4f-rx/node";
import { DONE_EVENT, type TestServer, sseFrame, startTestServer, textChunks } from "g4f-rx/testing";
import { chatBody, eventually } from "./support.js";

const CHROMIUM = "/usr/bin/chromium";
const PIECES = ["Once", " upon", " a", " time", " a", " relay", " lost", " its", " reader", " and", " found", " it", " again."];

function chromiumAvailable(): boolean {
  try {
    execFileSync(CHROMIUM, ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    if (process.env.G4F_RX_REQUIRE_ALL === "1") return true; // run, and fail on the missing browser
    console.warn(`SKIPPED: ${CHROMIUM} is not installed, so the EventSource resume test does not run. Install it: apt-get install -y chromium`);
    return false;
  }
}

const PAGE = `<!doctype html><meta charset="utf-8"><title>relay</title><script>
  window.received = [];
  window.finished = false;
  const source = new EventSource("/v1/streams/browser");
  source.onmessage = (event) => {
    if (event.data === "[DONE]") { source.close(); window.finished = true; return; }
    const delta = JSON.parse(event.data).choices[0].delta.content || "";
    window.received.push({ id: event.lastEventId, delta });
  };
</script>`;

describe.runIf(chromiumAvailable())("Chromium's EventSource against the relay", () => {
  let browser: Browser;
  let upstream: TestServer;
  let server: Server;
  let url: string;
  const streamResponses: ServerResponse[] = [];
  const lastEventIds: Array<string | undefined> = [];

  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    upstream = await startTestServer();
    const relay = new Relay();
    const handle = createRelayRequestHandler({ relay, upstream: new OpenAI({ baseURL: upstream.baseURL, apiKey: "none", maxRetries: 0 }), retryMs: 200 });
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      if (req.url === "/") {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(PAGE);
        return;
      }
      if (req.method === "GET" && req.url === "/v1/streams/browser") {
        streamResponses.push(res);
        const header = req.headers["last-event-id"];
        lastEventIds.push(Array.isArray(header) ? header[0] : header);
      }
      handle(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    url = `http://127.0.0.1:${address.port}`;
  });

  afterAll(async () => {
    await browser.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await upstream.close();
  });

  it("reconnects by itself after the server cuts the connection, and the text arrives complete and exactly once", async () => {
    // Four frames, then a pause long enough for the cut to land mid-answer however loaded the machine is, then the rest.
    const chunks = textChunks(PIECES);
    upstream.reply({
      body: [...chunks.slice(0, 4).map((chunk) => sseFrame(chunk)), { wait: 2_500 }, ...chunks.slice(4).flatMap((chunk) => [sseFrame(chunk), { wait: 30 }]), DONE_EVENT],
    });
    // The generation starts with a POST (whose reader leaves at once); the page reads it with EventSource.
    const started = await fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", "x-stream-id": "browser" }, body: chatBody() });
    await started.body?.cancel();

    const page = await browser.newPage();
    await page.goto(url);
    const pageState = async (): Promise<{ received: Array<{ id: string; delta: string }>; finished: boolean }> => {
      const json: unknown = await page.evaluate("JSON.stringify({ received: window.received, finished: window.finished })");
      const state: unknown = JSON.parse(String(json));
      const received = field(state, "received");
      const events = Array.isArray(received)
        ? received.map((event: unknown) => ({ id: String(field(event, "id")), delta: String(field(event, "delta")) }))
        : [];
      return { received: events, finished: field(state, "finished") === true };
    };
    await eventually(async () => (await pageState()).received.length >= 3, "three events in the page");
    // The server cuts the connection mid-answer, as a proxy timeout or a deploy would.
    streamResponses[0]?.socket?.destroy();
    await eventually(async () => (await pageState()).finished, "the page to read [DONE]", 20_000);

    const { received } = await pageState();
    expect(received.map((event) => event.delta).join("")).toBe(PIECES.join(""));
    expect(received.map((event) => Number(event.id))).toEqual(received.map((_, index) => index + 1));
    // EventSource reconnected on its own and said where it was.
    expect(lastEventIds.length).toBeGreaterThanOrEqual(2);
    expect(lastEventIds[0]).toBeUndefined();
    expect(Number(lastEventIds[1])).toBeGreaterThanOrEqual(3);
    expect(upstream.requests).toHaveLength(1);
    await page.close();
  });
});

function field(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null ? Reflect.get(value, key) : undefined;
}

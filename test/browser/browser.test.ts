import { existsSync, mkdtempSync } from "node:fs";
import { rm } from "node:fs/promises";
import { type IncomingMessage, type ServerResponse, createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { type BrowserContext, type Page, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestServer, startTestServer, streamReply, textChunks } from "g4f-rx/testing";

/*
 * Debian's Chromium, driven by playwright-core (no browser download), loads a page served on 127.0.0.1 whose script is
 * the library bundled for the browser. The page's requests go to its own origin, which passes them on to the test
 * server, so the test sees what the upstream sees: the request, and the moment the browser let go of it.
 */

const CHROMIUM = "/usr/bin/chromium";
const available = existsSync(CHROMIUM);
if (!available) {
  if (process.env.G4F_RX_REQUIRE_ALL === "1") {
    describe("the browser test", () => {
      it("needs Debian's chromium at /usr/bin/chromium (G4F_RX_REQUIRE_ALL=1 makes its absence a failure)", () => {
        throw new Error(`${CHROMIUM} is missing: install it with apt-get install -y chromium`);
      });
    });
  } else {
    console.warn(`\n!!! test/browser SKIPPED: Debian's chromium is not installed at ${CHROMIUM} (apt-get install -y chromium) !!!\n`);
  }
}

describe.runIf(available)("in Chromium", () => {
  let upstream: TestServer;
  let site: { url: string; close(): Promise<void> };
  let browser: BrowserContext;
  let page: Page;
  let profile: string;

  beforeAll(async () => {
    upstream = await startTestServer();
    const bundle = await build({
      entryPoints: [fileURLToPath(new URL("./page.ts", import.meta.url))],
      bundle: true,
      platform: "browser",
      format: "esm",
      write: false,
      logLevel: "silent",
    });
    expect(bundle.warnings).toEqual([]);
    site = await serveSite(bundle.outputFiles[0]!.text, upstream.url);
    profile = mkdtempSync(join(tmpdir(), "g4f-rx-chromium-"));
    // A fresh, empty profile each run.
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(site.url);
    await page.waitForFunction(() => document.title === "ready");
    expect(errors).toEqual([]);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await site?.close();
    await upstream?.close();
    if (profile !== undefined) await rm(profile, { recursive: true, force: true });
  });

  it("streams an answer into the DOM piece by piece", async () => {
    upstream.reply(streamReply(textChunks(["Hello", " there!", " How can I help you today?"]), { delayMs: 20 }));
    const shown = await page.evaluate(() => window.g4f.streamAnswer("Say hello there!"));
    expect(shown).toEqual(["Hello", "Hello there!", "Hello there! How can I help you today?"]);
    expect(await page.textContent("#answer")).toBe("Hello there! How can I help you today?");
    const request = await upstream.waitForRequest(0);
    expect(request.body).toMatchObject({ stream: true, messages: [{ role: "user", content: "Say hello there!" }] });
  });

  it("aborts the upstream request when the subscriber unsubscribes (take(2)) while the server stalls", async () => {
    upstream.reply(streamReply(textChunks(["one", "two", "three"]).slice(0, 2), { done: false, then: [{ wait: 15_000 }] }));
    const before = upstream.tally.received;
    expect(await page.evaluate(() => window.g4f.takeTwo())).toBe(2);
    const request = await upstream.waitForRequest(before);
    const closedAt = await request.closed;
    expect(request.disconnected).toBe(true);
    // The stall lasts 15 s: closing well before it ends can only be the browser's abort.
    expect(closedAt - request.receivedAt).toBeLessThan(10_000);
  });

  it("reads an event stream with fromEventStream (plain fetch, no client) into the DOM", async () => {
    upstream.reply(streamReply(textChunks(["Relayed", " answer."])));
    expect(await page.evaluate(() => window.g4f.readRelay("/v1/chat/completions"))).toBe("Relayed answer.");
    expect(await page.textContent("#relay")).toBe("Relayed answer.");
  });
});

/** Serves the page and its script on 127.0.0.1, and passes /v1/* on to `upstream`, cutting it when the browser leaves. */
async function serveSite(script: string, upstream: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end('<!doctype html><title>loading</title><p id="answer"></p><p id="relay"></p><script type="module" src="/app.js"></script>');
    } else if (req.url === "/app.js") {
      res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" });
      res.end(script);
    } else if (req.url?.startsWith("/v1/") === true) {
      const forward = httpRequest(new URL(req.url, upstream), { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      forward.on("error", () => res.destroy());
      res.on("close", () => {
        if (!res.writableFinished) forward.destroy();
      });
      req.pipe(forward);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      return closed;
    },
  };
}

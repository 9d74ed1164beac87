import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { assertFreshBuild, startCli } from "./run-cli.js";

const CASSETTES = fileURLToPath(new URL("../../examples/cassettes", import.meta.url));

beforeAll(() => assertFreshBuild());

/** Starts `g4f-rx serve` with `flags`, and resolves with the preflight status for each origin, then stops it. */
async function preflightStatuses(flags: string[], origins: string[], mode: string[] = ["--cassettes", CASSETTES]): Promise<Record<string, number>> {
  const cli = startCli(["serve", "--port", "0", ...mode, ...flags]);
  try {
    const [, baseURL] = await cli.waitForStderr(/at (http:\/\/127\.0\.0\.1:\d+\/v1)/);
    const statuses: Record<string, number> = {};
    for (const origin of origins) {
      const response = await fetch(`${baseURL}/chat/completions`, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
      });
      statuses[origin] = response.status;
      if (response.status === 204) expect(response.headers.get("access-control-allow-origin")).toBe(origin);
    }
    return statuses;
  } finally {
    cli.child.kill("SIGTERM");
    await cli.exited;
  }
}

describe("g4f-rx serve --cors", () => {
  it("answers preflights from pages on localhost by default, and refuses other origins", async () => {
    expect(await preflightStatuses([], ["http://localhost:5173", "http://127.0.0.1:8080", "https://app.example"])).toEqual({
      "http://localhost:5173": 204,
      "http://127.0.0.1:8080": 204,
      "https://app.example": 403,
    });
  });

  it("allows exactly the origins given, comma-separated or repeated", async () => {
    expect(
      await preflightStatuses(["--cors", "https://app.example,https://admin.example", "--cors", "http://localhost:3000"], [
        "https://app.example",
        "https://admin.example",
        "http://localhost:3000",
        "http://localhost:5173",
      ]),
    ).toEqual({ "https://app.example": 204, "https://admin.example": 204, "http://localhost:3000": 204, "http://localhost:5173": 403 });
  });

  it("allows any origin with --cors '*'", async () => {
    expect(await preflightStatuses(["--cors", "*"], ["https://anywhere.example"])).toEqual({ "https://anywhere.example": 204 });
  });

  it("means the same with --upstream (the relay): the same default, and a list of origins", async () => {
    // Preflights never reach the upstream, so none needs to run there.
    const relay = ["--upstream", "http://127.0.0.1:9/v1"];
    expect(await preflightStatuses([], ["http://localhost:5173", "https://app.example"], relay)).toEqual({ "http://localhost:5173": 204, "https://app.example": 403 });
    expect(await preflightStatuses(["--cors", "https://app.example,https://admin.example"], ["https://admin.example", "http://localhost:5173"], relay)).toEqual({
      "https://admin.example": 204,
      "http://localhost:5173": 403,
    });
  });
});

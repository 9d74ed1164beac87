import { spawn } from "node:child_process";
import { type Server, type ServerResponse, createServer } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, assertFreshBuild } from "./run-cli.js";

// Every byte of a big answer reaches a slow reader before the command exits (it used to exit ~100 ms after the
// answer ended, whatever was still queued). Memory into a slow pipe is measured by npm run bench, not here.

function frame(content: string, finish: string | null = null): string {
  return `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: finish === null ? { content } : {}, finish_reason: finish }] })}\n\n`;
}

async function writeAnswer(response: ServerResponse, bytes: number): Promise<void> {
  response.writeHead(200, { "content-type": "text/event-stream" });
  const piece = "abcdefghij".repeat(100);
  for (let sent = 0; sent < bytes; sent += piece.length) {
    if (!response.write(frame(piece))) await new Promise((resolve) => response.once("drain", resolve));
  }
  response.end(`${frame("", "stop")}data: [DONE]\n\n`);
}

let server: Server;
let baseURL: string;
const ANSWER_BYTES = 20 * 1000 * 1000;

beforeAll(async () => {
  assertFreshBuild();
  server = createServer((request, response) => {
    request.resume();
    request.on("end", () => void writeAnswer(response, ANSWER_BYTES));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  baseURL = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}/v1`;
});

afterAll(() => {
  server.close();
});

describe("g4f-rx: a big answer into a slow pipe", () => {
  it("delivers all 20 MB to a reader that starts late, then exits 0", async () => {
    // The reader sleeps first, as `| (sleep 2; wc -c)` does: the whole answer waits in the pipe and the command.
    const shell = spawn("bash", ["-c", `set -o pipefail; "${process.execPath}" "${BIN}" --base-url "${baseURL}" Hi </dev/null | (sleep 2; wc -c)`], {
      env: { PATH: process.env.PATH ?? "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    shell.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
    shell.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
    const code = await new Promise<number | null>((resolve) => shell.once("close", resolve));
    expect(stderr).toBe("");
    // The answer and the newline the command adds after it.
    expect(Number(stdout.trim())).toBe(ANSWER_BYTES + 1);
    expect(code).toBe(0);
  }, 60_000);
});

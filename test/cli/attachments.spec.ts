import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type TestServer, startTestServer, streamReply, textChunks } from "g4f-rx/testing";
import { assertFreshBuild, runCli, startCli } from "./run-cli.js";

let server: TestServer;
let folder: string;
let env: Record<string, string>;

beforeAll(() => assertFreshBuild());
beforeEach(async () => {
  server = await startTestServer();
  folder = mkdtempSync(join(tmpdir(), "g4f-rx-attach-"));
  env = { OPENAI_BASE_URL: server.baseURL };
});
afterEach(async () => {
  await server.close();
  rmSync(folder, { recursive: true, force: true });
});

const file = (name: string, content: string | Uint8Array): string => {
  const path = join(folder, name);
  writeFileSync(path, content);
  return path;
};
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from("IHDR-and-the-rest")]);
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46]);
const GIF = Buffer.from("GIF89a\u0001\u0000\u0001\u0000", "latin1");
const WEBP = Buffer.concat([Buffer.from("RIFF"), Buffer.from([0x24, 0, 0, 0]), Buffer.from("WEBPVP8 ")]);
const body = (): unknown => server.requests[0]?.body;

describe("g4f-rx -a: attachments", () => {
  it("sends images as image_url parts with data URLs, after the prompt's text", async () => {
    server.reply(streamReply(textChunks(["A cat."])));
    const args = ["-a", file("cat.png", PNG), "-a", file("dog.jpg", JPEG), "-a", file("anim.gif", GIF), "-a", file("pic.webp", WEBP), "What is this?"];
    const result = await runCli(args, { env });
    expect(result).toMatchObject({ code: 0, stdout: "A cat.\n" });
    expect(body()).toMatchObject({
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "What is this?" },
            { type: "image_url", image_url: { url: `data:image/png;base64,${PNG.toString("base64")}` } },
            { type: "image_url", image_url: { url: `data:image/jpeg;base64,${JPEG.toString("base64")}` } },
            { type: "image_url", image_url: { url: `data:image/gif;base64,${GIF.toString("base64")}` } },
            { type: "image_url", image_url: { url: `data:image/webp;base64,${WEBP.toString("base64")}` } },
          ],
        },
      ],
    });
  });

  it("inlines text files with their names, the message staying plain text", async () => {
    server.reply(streamReply(textChunks(["Done."])));
    const result = await runCli(["-a", file("notes.md", "# Notes\nBuy milk.\n"), "-a", file("todo.txt", "Call Bob"), "Summarize"], { env });
    expect(result.code).toBe(0);
    expect(body()).toMatchObject({
      messages: [{ role: "user", content: "Summarize\n\n--- notes.md ---\n# Notes\nBuy milk.\n--- end of notes.md ---\n\n--- todo.txt ---\nCall Bob\n--- end of todo.txt ---" }],
    });
  });

  it("takes each -a as one file, a comma or a space in its name included; a comma list gets the way to write it", async () => {
    server.reply(streamReply(textChunks(["Done."])));
    const odd = file("notes, v2.txt", "Buy milk.");
    expect(await runCli(["-a", odd, "Summarize"], { env })).toMatchObject({ code: 0, stdout: "Done.\n" });
    expect(body()).toMatchObject({ messages: [{ role: "user", content: "Summarize\n\n--- notes, v2.txt ---\nBuy milk.\n--- end of notes, v2.txt ---" }] });
    const a = file("a.txt", "A");
    const b = file("b.txt", "B");
    const list = await runCli(["-a", `${a},${b}`, "Read"], { env });
    expect(list.code).toBe(2);
    expect(list.stderr).toContain(`-a ${a},${b}: no such file (-a takes one file; repeat it: -a ${a} -a ${b})`);
    // mods' -a names an API: an endpoint's name that is no file says how to choose that endpoint here.
    const api = await runCli(["-a", "openai", "Hi"], { env, cwd: folder });
    expect(api.code).toBe(2);
    expect(api.stderr).toContain("-a openai: no such file (-a attaches a file; to ask the openai endpoint: -e openai)");
    expect(server.requests).toHaveLength(1);
  });

  it("refuses anything else, and a missing file, with a usage error and no request", async () => {
    const pdf = await runCli(["-a", file("doc.pdf", Buffer.from([0x25, 0x50, 0x44, 0x46, 0x00, 0xff, 0xfe])), "Read"], { env });
    expect(pdf.code).toBe(2);
    expect(pdf.stderr).toContain("doc.pdf: not an image (png, jpeg, gif, webp) nor UTF-8 text");
    const missing = await runCli(["-a", join(folder, "nope.png"), "Read"], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("nope.png: no such file");
    expect(server.requests).toHaveLength(0);
  });

  it("refuses binary data on stdin with a hint to use -a", async () => {
    const running = startCli(["Describe"], { env, keepStdinOpen: true });
    running.child.stdin.end(PNG);
    const result = await running.exited;
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("stdin is not UTF-8 text");
    expect(result.stderr).toContain("g4f-rx -a FILE");
    expect(server.requests).toHaveLength(0);
  });
});

import OpenAI from "openai";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { viewReasoning } from "../../examples/reasoning-viewer.js";
import { type TestServer, streamReply, textChunks } from "g4f-rx/testing";
import { asChunk } from "../support/wire.js";
import { serverAndClient } from "../support/server.js";

const delta = (fields: object, finish: string | null = null): ReturnType<typeof asChunk> =>
  asChunk({ id: "r", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: fields, finish_reason: finish }] });

let server: TestServer;
let client: OpenAI;
beforeEach(async () => ({ server, client } = await serverAndClient()));
afterEach(() => server.close());

describe("examples/reasoning-viewer", () => {
  it("shows reasoning_content dimmed, then the answer after a blank line", async () => {
    server.reply(
      streamReply(
        [delta({ role: "assistant", content: null, reasoning_content: "" }), delta({ reasoning_content: "Count" }), delta({ reasoning_content: " the r's." }), delta({ content: "Three." }), delta({ content: "" }, "stop")],
        { delayMs: 1 },
      ),
    );
    let out = "";
    const texts = await viewReasoning(client, { model: "m", messages: [], out: { write: (text: string) => (out += text) }, dim: true });
    expect(out).toBe("\u001b[2mCount the r's.\u001b[22m\n\nThree.\n");
    expect(texts).toStrictEqual({ reasoning: "Count the r's.", content: "Three." });
  });

  it("splits <think> tags written in the text, and does not dim when out is not a terminal", async () => {
    server.reply(streamReply(textChunks(["<thi", "nk>Hmm,", " three.</thi", "nk>\n\nThere are 3."]), { delayMs: 1 }));
    let out = "";
    const texts = await viewReasoning(client, { model: "m", messages: [], out: { write: (text: string) => (out += text) } });
    expect(out).toBe("Hmm, three.\n\nThere are 3.\n");
    expect(texts).toStrictEqual({ reasoning: "Hmm, three.", content: "\n\nThere are 3." });
  });

  it("drops the model's newlines around <think>…</think>: one blank line between reasoning and answer", async () => {
    server.reply(streamReply(textChunks(["<think>\nLet me count", " the r's.\n</think>", "\n\nThere are ", "3 r's."]), { delayMs: 1 }));
    let out = "";
    await viewReasoning(client, { model: "m", messages: [], out: { write: (text: string) => (out += text) } });
    expect(out).toBe("Let me count the r's.\n\nThere are 3 r's.\n");
  });

  it("shows a plain answer unchanged", async () => {
    server.reply(streamReply(textChunks(["Hello", " there!"])));
    let out = "";
    await viewReasoning(client, { model: "m", messages: [], out: { write: (text: string) => (out += text) }, dim: true });
    expect(out).toBe("Hello there!\n");
  });
});

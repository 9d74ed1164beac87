import OpenAI from "openai";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { extractJson } from "../../examples/json-extraction.js";
import { FinishReasonError, InvalidJsonError } from "g4f-rx";
import { type TestServer, streamReply, textChunks } from "g4f-rx/testing";
import { serverAndClient } from "../support/server.js";

let server: TestServer;
let client: OpenAI;
beforeEach(async () => ({ server, client } = await serverAndClient()));
afterEach(() => server.close());

describe("examples/json-extraction", () => {
  it("reports growing partial values and resolves with the strict value, in JSON mode", async () => {
    server.reply(streamReply(textChunks(['{"people": [{"name": "Ad', 'a", "city": "Lon', 'don"}, {"na', 'me": "Grace"}]}']), { delayMs: 1 }));
    const seen: unknown[] = [];
    const value = await extractJson(client, { model: "m", text: "Ada lives in London; Grace too.", onValue: (partial) => seen.push(partial) });
    expect(value).toStrictEqual({ people: [{ name: "Ada", city: "London" }, { name: "Grace" }] });
    expect(seen).toStrictEqual([
      { people: [{ name: "Ad" }] },
      { people: [{ name: "Ada", city: "Lon" }] },
      { people: [{ name: "Ada", city: "London" }, {}] },
      { people: [{ name: "Ada", city: "London" }, { name: "Grace" }] },
    ]);
    expect(server.requests[0]?.body).toMatchObject({ response_format: { type: "json_object" }, stream: true });
  });

  it("fails with InvalidJsonError when the model answers in prose", async () => {
    server.reply(streamReply(textChunks(["Sure! Here", " you go."])));
    await expect(extractJson(client, { model: "m", text: "x" })).rejects.toBeInstanceOf(InvalidJsonError);
  });

  it("fails with FinishReasonError when the token limit cut the JSON", async () => {
    server.reply(streamReply(textChunks(['{"people": [{"name": "A'], { finishReason: "length" })));
    const error: unknown = await extractJson(client, { model: "m", text: "x" }).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(FinishReasonError);
    expect(error).toMatchObject({ reason: "length", text: '{"people": [{"name": "A' });
  });
});

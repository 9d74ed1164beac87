import { describe, expect, it } from "vitest";
import { EndpointConfigError, resolveEndpoint } from "g4f-rx";
import { endpointLabel, resolveFallback } from "../../src/cli/targets.js";

const primary = resolveEndpoint({ baseURL: "http://127.0.0.1:9/v1", model: "main-model" }, {});

describe("resolveFallback", () => {
  it("NAME: the preset's URL, key variable and default model; never the main endpoint's model", () => {
    const ollama = resolveFallback("ollama", primary, { retries: undefined }, { G4F_RX_MODEL: "env-model" });
    expect(ollama).toMatchObject({ baseURL: "http://localhost:11434/v1", model: "llama3.2", apiKey: undefined, maxRetries: 0 });
    const openai = resolveFallback("OpenAI", primary, { retries: 1 }, { OPENAI_API_KEY: "sk-x" });
    expect(openai).toMatchObject({ baseURL: "https://api.openai.com/v1", model: "gpt-4o-mini", apiKey: "sk-x", maxRetries: 1 });
  });

  it("NAME=URL: the preset's key and model at another URL", () => {
    const groq = resolveFallback("groq=http://proxy.local/v1", primary, { retries: undefined }, { GROQ_API_KEY: "g" });
    expect(groq).toMatchObject({ baseURL: "http://proxy.local/v1", model: "llama-3.3-70b-versatile", apiKey: "g", maxRetries: 2 });
    expect(endpointLabel(groq)).toBe("groq at http://proxy.local/v1");
  });

  it("URL: a custom endpoint asked for the main model, with OPENAI_API_KEY when set", () => {
    const custom = resolveFallback("http://127.0.0.1:8000/v1", primary, { retries: undefined }, { OPENAI_API_KEY: "k" });
    expect(custom).toMatchObject({ endpoint: undefined, baseURL: "http://127.0.0.1:8000/v1", model: "main-model", apiKey: "k" });
    expect(endpointLabel(custom)).toBe("http://127.0.0.1:8000/v1");
  });

  it("throws EndpointConfigError for an unknown name or a missing key", () => {
    expect(() => resolveFallback("nowhere", primary, { retries: undefined }, {})).toThrow(EndpointConfigError);
    expect(() => resolveFallback("nowhere", primary, { retries: undefined }, {})).toThrow('Unknown endpoint "nowhere" (from --fallback)');
    // One from the config file is said to come from there.
    expect(() => resolveFallback("nowhere", primary, { retries: undefined, sources: { fallback: "config" } }, {})).toThrow(`Unknown endpoint "nowhere" (from the config file's fallback)`);
    expect(() => resolveFallback("deepseek", primary, { retries: undefined }, {})).toThrow("DEEPSEEK_API_KEY");
  });

  it("NAME of the user's own: its URL, key variable and model, else the main request's model", () => {
    const catalogue = { endpoints: { work: { url: "http://127.0.0.1:7000/v1", keyVariable: "WORK_KEY", model: "qwen" }, bare: { url: "http://127.0.0.1:8000/v1" } } };
    expect(resolveFallback("work", primary, { retries: undefined }, { WORK_KEY: "w", G4F_RX_MODEL: "env" }, catalogue)).toMatchObject({
      baseURL: "http://127.0.0.1:7000/v1",
      model: "qwen",
      apiKey: "w",
    });
    expect(resolveFallback("bare=http://127.0.0.1:8001/v1", primary, { retries: 1 }, {}, catalogue)).toMatchObject({ baseURL: "http://127.0.0.1:8001/v1", model: "main-model", maxRetries: 1 });
    expect(() => resolveFallback("work", primary, { retries: undefined }, {}, catalogue)).toThrow("WORK_KEY");
    expect(() => resolveFallback("works", primary, { retries: undefined }, {}, catalogue)).toThrow("Known endpoints: g4f, openai, ollama, lmstudio, openrouter, groq, deepseek, work, bare;");
  });
});

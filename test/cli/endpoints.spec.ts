import { describe, expect, it } from "vitest";
import { ENDPOINTS, EndpointConfigError, resolveEndpoint } from "g4f-rx";
import { chatCompletionsURL, defaultRetries, isLocalURL } from "../../src/endpoints.js";

describe("resolveEndpoint", () => {
  it("defaults to GPT4Free's local API, with no key, gpt-4 and no retries", () => {
    expect(resolveEndpoint({}, {})).toEqual({
      endpoint: ENDPOINTS.g4f,
      baseURL: "http://localhost:1337/v1",
      baseURLSource: "default",
      apiKey: undefined,
      apiKeyVariable: undefined,
      model: "gpt-4",
      modelSource: "endpoint",
      maxRetries: 0,
      headers: {},
      sources: { endpoint: "default", baseURL: "endpoint", apiKey: "endpoint", model: "endpoint", retries: "default" },
    });
  });

  it("uses OPENAI_BASE_URL and OPENAI_API_KEY when no endpoint is named", () => {
    const resolved = resolveEndpoint({}, { OPENAI_BASE_URL: "https://llm.example.com/v1", OPENAI_API_KEY: "sk-env" });
    expect(resolved).toMatchObject({
      endpoint: undefined,
      baseURL: "https://llm.example.com/v1",
      baseURLSource: "environment",
      apiKey: "sk-env",
      apiKeyVariable: "OPENAI_API_KEY",
      model: "gpt-4",
      maxRetries: 2,
    });
  });

  it("chooses the base URL by --base-url, then --endpoint, then G4F_RX_ENDPOINT, then OPENAI_BASE_URL", () => {
    const env = { G4F_RX_ENDPOINT: "ollama", OPENAI_BASE_URL: "http://env.example/v1" };
    expect(resolveEndpoint({ baseURL: "http://flag.example/v1", endpoint: "lmstudio" }, env).baseURL).toBe("http://flag.example/v1");
    expect(resolveEndpoint({ endpoint: "lmstudio" }, env)).toMatchObject({ baseURL: ENDPOINTS.lmstudio.baseURL, baseURLSource: "flag" });
    expect(resolveEndpoint({}, env)).toMatchObject({ baseURL: ENDPOINTS.ollama.baseURL, baseURLSource: "environment" });
    expect(resolveEndpoint({}, { OPENAI_BASE_URL: "http://env.example/v1" }).baseURL).toBe("http://env.example/v1");
  });

  it("keeps the preset's key variable and model when --base-url is given with --endpoint", () => {
    const resolved = resolveEndpoint({ endpoint: "groq", baseURL: "http://127.0.0.1:9999/v1" }, { GROQ_API_KEY: "gsk" });
    expect(resolved).toMatchObject({
      endpoint: ENDPOINTS.groq,
      baseURL: "http://127.0.0.1:9999/v1",
      apiKey: "gsk",
      model: "llama-3.3-70b-versatile",
      maxRetries: 0,
    });
  });

  it("treats --base-url without --endpoint as a custom endpoint, so G4F_RX_ENDPOINT's key is not sent there", () => {
    const resolved = resolveEndpoint({ baseURL: "http://other.example/v1" }, { G4F_RX_ENDPOINT: "groq", GROQ_API_KEY: "gsk" });
    expect(resolved).toMatchObject({ endpoint: undefined, apiKey: undefined, apiKeyVariable: "OPENAI_API_KEY" });
  });

  it("takes the key from --api-key, then the preset's own variable, and never from another provider's", () => {
    expect(resolveEndpoint({ endpoint: "openrouter", apiKey: "flag" }, { OPENROUTER_API_KEY: "env" }).apiKey).toBe("flag");
    expect(resolveEndpoint({ endpoint: "openrouter" }, { OPENROUTER_API_KEY: "env" }).apiKey).toBe("env");
    expect(() => resolveEndpoint({ endpoint: "deepseek" }, { OPENAI_API_KEY: "sk-openai" })).toThrow(
      new EndpointConfigError("The deepseek endpoint (DeepSeek) needs an API key: set DEEPSEEK_API_KEY or pass --api-key."),
    );
  });

  it("sends no key to a local preset, even when OPENAI_API_KEY is set", () => {
    expect(resolveEndpoint({ endpoint: "ollama" }, { OPENAI_API_KEY: "sk-openai" }).apiKey).toBeUndefined();
    expect(resolveEndpoint({}, { OPENAI_API_KEY: "sk-openai" }).apiKey).toBeUndefined();
    expect(resolveEndpoint({ endpoint: "ollama", apiKey: "given" }, {}).apiKey).toBe("given");
  });

  it("chooses the model by --model, then G4F_RX_MODEL, then the endpoint's default", () => {
    expect(resolveEndpoint({ model: "flag", endpoint: "ollama" }, { G4F_RX_MODEL: "env" })).toMatchObject({ model: "flag", modelSource: "flag" });
    expect(resolveEndpoint({ endpoint: "ollama" }, { G4F_RX_MODEL: "env" })).toMatchObject({ model: "env", modelSource: "environment" });
    expect(resolveEndpoint({ endpoint: "ollama" }, {})).toMatchObject({ model: "llama3.2", modelSource: "endpoint" });
    expect(resolveEndpoint({ baseURL: "http://127.0.0.1:9/v1" }, {})).toMatchObject({ model: "gpt-4", modelSource: "default" });
  });

  it("takes a config layer under the environment: flag > environment > config > endpoint default > built-in default", () => {
    const config = { endpoint: "ollama", model: "from-config", apiKey: "sk-config", retries: 3 };
    expect(resolveEndpoint({}, {}, { config })).toMatchObject({
      baseURL: ENDPOINTS.ollama.baseURL,
      model: "from-config",
      apiKey: "sk-config",
      maxRetries: 3,
      sources: { endpoint: "config", baseURL: "endpoint", apiKey: "config", model: "config", retries: "config" },
    });
    expect(resolveEndpoint({ model: "flag", retries: 1 }, { G4F_RX_ENDPOINT: "lmstudio" }, { config })).toMatchObject({
      baseURL: ENDPOINTS.lmstudio.baseURL,
      model: "flag",
      maxRetries: 1,
      sources: { endpoint: "environment", model: "flag", retries: "flag" },
    });
    // A named endpoint, wherever it is named, beats the generic OPENAI_BASE_URL; a config base URL does not.
    expect(resolveEndpoint({}, { OPENAI_BASE_URL: "http://env.example/v1" }, { config }).baseURL).toBe(ENDPOINTS.ollama.baseURL);
    expect(resolveEndpoint({}, { OPENAI_BASE_URL: "http://env.example/v1" }, { config: { baseURL: "http://config.example/v1" } })).toMatchObject({
      baseURL: "http://env.example/v1",
      sources: { baseURL: "environment" },
    });
    expect(resolveEndpoint({}, {}, { config: { baseURL: "http://config.example/v1" } })).toMatchObject({ baseURL: "http://config.example/v1", sources: { baseURL: "config" } });
  });

  it("resolves endpoints of the user's own like built-in ones: URL, key variable, default model", () => {
    const endpoints = { work: { url: "https://llm.work.example/v1", keyVariable: "WORK_KEY", model: "qwen" }, bare: { url: "http://127.0.0.1:8000/v1" } };
    const from = "/home/me/.config/g4f-rx/config.json";
    expect(resolveEndpoint({ endpoint: "work" }, { WORK_KEY: "w", OPENAI_API_KEY: "sk" }, { endpoints, from })).toMatchObject({
      endpoint: { name: "work", baseURL: "https://llm.work.example/v1", apiKeyVariable: "WORK_KEY", defaultModel: "qwen" },
      baseURL: "https://llm.work.example/v1",
      apiKey: "w",
      model: "qwen",
      maxRetries: 2,
      sources: { endpoint: "flag", baseURL: "endpoint", apiKey: "environment", model: "endpoint" },
    });
    expect(resolveEndpoint({}, { G4F_RX_ENDPOINT: "bare", OPENAI_API_KEY: "sk" }, { endpoints })).toMatchObject({ apiKey: undefined, model: "gpt-4", modelSource: "default" });
    expect(() => resolveEndpoint({ endpoint: "work" }, {}, { endpoints, from })).toThrow(`The work endpoint (declared in ${from}) needs an API key: set WORK_KEY`);
    expect(() => resolveEndpoint({ endpoint: "elsewhere" }, {}, { endpoints })).toThrow("Known endpoints: g4f, openai, ollama, lmstudio, openrouter, groq, deepseek, work, bare");
  });

  it("counts empty and blank values as unset", () => {
    const resolved = resolveEndpoint({ model: "", endpoint: " " }, { G4F_RX_ENDPOINT: "", G4F_RX_MODEL: "", OPENAI_BASE_URL: "" });
    expect(resolved).toMatchObject({ endpoint: ENDPOINTS.g4f, model: "gpt-4", baseURLSource: "default" });
  });

  it("accepts endpoint names in any case", () => {
    expect(resolveEndpoint({ endpoint: "Ollama" }, {}).endpoint).toBe(ENDPOINTS.ollama);
  });

  it("rejects an unknown endpoint name, saying where it came from", () => {
    expect(() => resolveEndpoint({ endpoint: "gemini" }, {})).toThrow(/Unknown endpoint "gemini" \(from --endpoint\)/);
    expect(() => resolveEndpoint({}, { G4F_RX_ENDPOINT: "gemini" })).toThrow(/from G4F_RX_ENDPOINT/);
    expect(() => resolveEndpoint({ endpoint: "toString" }, {})).toThrow(EndpointConfigError);
  });

  it("rejects a base URL that is not http(s)", () => {
    expect(() => resolveEndpoint({ baseURL: "localhost:1337" }, {})).toThrow(/--base-url must be an http\(s\) URL/);
    expect(() => resolveEndpoint({}, { OPENAI_BASE_URL: "not a url" })).toThrow(/OPENAI_BASE_URL must be an http\(s\) URL/);
  });

  it("takes --retries over the default, and rejects a negative or fractional count", () => {
    expect(resolveEndpoint({ retries: 5 }, {}).maxRetries).toBe(5);
    expect(resolveEndpoint({ retries: 0, endpoint: "openai", apiKey: "k" }, {}).maxRetries).toBe(0);
    expect(() => resolveEndpoint({ retries: -1 }, {})).toThrow(EndpointConfigError);
    expect(() => resolveEndpoint({ retries: 1.5 }, {})).toThrow(EndpointConfigError);
  });

  it("has a base URL, a default model and a start hint or key variable for every preset", () => {
    for (const [name, endpoint] of Object.entries(ENDPOINTS)) {
      expect(endpoint.name).toBe(name);
      expect(new URL(endpoint.baseURL).pathname).toMatch(/\/v1$/);
      expect(endpoint.defaultModel).not.toBe("");
      // A local server needs no key and gets a hint when it is down; a remote one needs its own key variable.
      expect(isLocalURL(endpoint.baseURL) ? endpoint.startHint : endpoint.apiKeyVariable).toMatch(/\S/);
    }
  });
});

describe("defaultRetries", () => {
  it.each([
    ["http://localhost:1337/v1", 0],
    ["http://127.0.0.1:8080/v1", 0],
    ["http://127.1.2.3/v1", 0],
    ["http://[::1]:1234/v1", 0],
    ["http://api.localhost/v1", 0],
    ["https://api.openai.com/v1", 2],
    ["http://192.168.1.20:11434/v1", 2],
    ["http://localhost.example.com/v1", 2],
  ])("%s: %i", (url, retries) => {
    expect(defaultRetries(url)).toBe(retries);
  });
});

describe("chatCompletionsURL", () => {
  it("appends /chat/completions to the base URL, with or without a trailing slash", () => {
    expect(chatCompletionsURL("http://localhost:1337/v1")).toBe("http://localhost:1337/v1/chat/completions");
    expect(chatCompletionsURL("http://localhost:1337/v1/")).toBe("http://localhost:1337/v1/chat/completions");
  });
});

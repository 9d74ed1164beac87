import { describe, expect, it } from "vitest";
import { type ConfigFile, layersFor } from "../../src/cli/config.js";

const config = (values: Record<string, unknown>): ConfigFile => ({ path: "/x/config.json", found: true, values, endpoints: {}, roles: {} });

describe("layersFor", () => {
  it("reads the environment through, but OPENAI_BASE_URL, which endpoint resolution reads itself", () => {
    const env = { OPENAI_BASE_URL: "http://elsewhere/v1", G4F_RX_MODEL: "gpt-4o", HOME: "/home/u" };
    const layers = layersFor(env, config({}));
    expect(layers.env?.G4F_RX_MODEL).toBe("gpt-4o");
    expect(layers.env?.HOME).toBe("/home/u");
    expect(layers.env?.OPENAI_BASE_URL).toBeUndefined();
    expect(layers.env?.NOT_SET).toBeUndefined();
    // The caller's environment is left as it was.
    expect(env.OPENAI_BASE_URL).toBe("http://elsewhere/v1");
  });

  it("drops the config file's base-url when OPENAI_BASE_URL is set, and keeps it otherwise", () => {
    expect(layersFor({ OPENAI_BASE_URL: "http://elsewhere/v1" }, config({ "base-url": "http://mine/v1", model: "m" })).config?.values).toStrictEqual({ model: "m" });
    expect(layersFor({ OPENAI_BASE_URL: " " }, config({ "base-url": "http://mine/v1" })).config?.values).toStrictEqual({ "base-url": "http://mine/v1" });
    expect(layersFor({}, config({ "base-url": "http://mine/v1" })).config).toStrictEqual({ values: { "base-url": "http://mine/v1" }, label: "/x/config.json" });
  });
});

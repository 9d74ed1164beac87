import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ConfigFile, layersFor, readConfig } from "../../src/cli/config.js";
import { UsageError } from "../../src/cli/options.js";

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

describe("readConfig", () => {
  let home: string;
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), "g4f-rx-config-"));
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it("finds none where there is none, also under a file (on every Node), and reads one that is there", () => {
    expect(readConfig({ XDG_CONFIG_HOME: home })).toMatchObject({ path: join(home, "g4f-rx", "config.json"), found: false, values: {} });
    writeFileSync(join(home, "a-file"), "");
    expect(readConfig({ XDG_CONFIG_HOME: join(home, "a-file") })).toMatchObject({ found: false, values: {} });
    mkdirSync(join(home, "g4f-rx"));
    writeFileSync(join(home, "g4f-rx", "config.json"), JSON.stringify({ model: "gpt-4o" }));
    expect(readConfig({ XDG_CONFIG_HOME: home })).toMatchObject({ found: true, values: { model: "gpt-4o" } });
  });

  it("says which file cannot be read: a folder where the file should be is a usage error naming it", () => {
    mkdirSync(join(home, "g4f-rx", "config.json"), { recursive: true });
    expect(() => readConfig({ XDG_CONFIG_HOME: home })).toThrow(UsageError);
    expect(() => readConfig({ XDG_CONFIG_HOME: home })).toThrow(`${join(home, "g4f-rx", "config.json")}: EISDIR`);
  });
});

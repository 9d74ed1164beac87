import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { composePrompt, readText } from "../../src/cli/prompt.js";

describe("composePrompt", () => {
  it("puts the arguments, a blank line, then stdin without its trailing newline", () => {
    expect(composePrompt("Summarize:", "  indented\nsecond\n\n")).toBe("Summarize:\n\n  indented\nsecond");
  });

  it("uses whichever of the two has text", () => {
    expect(composePrompt("Say hello", undefined)).toBe("Say hello");
    expect(composePrompt("Say hello", " \n")).toBe("Say hello");
    expect(composePrompt("", "from stdin\n")).toBe("from stdin");
  });

  it("is undefined when neither has text", () => {
    expect(composePrompt("", undefined)).toBeUndefined();
    expect(composePrompt("  ", "\n\t\n")).toBeUndefined();
  });
});

describe("readText", () => {
  it("reads the stream to its end as UTF-8, also across split characters", async () => {
    const stream = new PassThrough();
    const text = readText(stream, new AbortController().signal);
    const bytes = Buffer.from("héllo ✓", "utf8");
    stream.write(bytes.subarray(0, 2));
    stream.end(bytes.subarray(2));
    await expect(text).resolves.toBe("héllo ✓");
  });

  it("stops at an abort with what arrived, without waiting for the end", async () => {
    const stream = new PassThrough();
    const controller = new AbortController();
    const text = readText(stream, controller.signal);
    stream.write("partial");
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    await expect(text).resolves.toBe("partial");
  });

  it("rejects when the stream fails", async () => {
    const stream = new PassThrough();
    const text = readText(stream, new AbortController().signal);
    stream.destroy(new Error("read failed"));
    await expect(text).rejects.toThrow("read failed");
  });
});

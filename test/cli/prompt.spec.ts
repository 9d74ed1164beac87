import { execFileSync } from "node:child_process";
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CliInput } from "../../src/cli/io.js";
import { InvalidInputError, composePrompt, readInput } from "../../src/cli/prompt.js";

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

/** Stdin as a stream only, as where there is no descriptor. */
function streamInput(stream: Readable): CliInput {
  return { isTTY: false, fd: undefined, stream };
}

describe("readInput from a stream", () => {
  it("reads the stream to its end as UTF-8, also across split characters", async () => {
    const stream = new PassThrough();
    const text = readInput(streamInput(stream), new AbortController().signal);
    const bytes = Buffer.from("héllo ✓", "utf8");
    stream.write(bytes.subarray(0, 2));
    stream.end(bytes.subarray(2));
    await expect(text).resolves.toBe("héllo ✓");
  });

  it("drops a byte order mark at the start, as a UTF-8 decoder does, and keeps one elsewhere", async () => {
    const stream = new PassThrough();
    const text = readInput(streamInput(stream), new AbortController().signal);
    stream.end(Buffer.from("\uFEFFfirst \uFEFF second", "utf8"));
    await expect(text).resolves.toBe("first \uFEFF second");
  });

  it("stops at an abort with what arrived, without waiting for the end", async () => {
    const stream = new PassThrough();
    const controller = new AbortController();
    const text = readInput(streamInput(stream), controller.signal);
    stream.write("partial");
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    await expect(text).resolves.toBe("partial");
  });

  it("rejects with InvalidInputError when the stream fails", async () => {
    const stream = new PassThrough();
    const text = readInput(streamInput(stream), new AbortController().signal);
    stream.destroy(new Error("read failed"));
    await expect(text).rejects.toThrow(new InvalidInputError("could not read stdin: read failed"));
  });
});

describe("readInput from a descriptor", () => {
  let folder: string;
  const opened: number[] = [];
  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), "g4f-rx-stdin-"));
  });
  afterEach(() => {
    for (const fd of opened.splice(0)) closeSync(fd);
    rmSync(folder, { recursive: true, force: true });
  });
  const open = (path: string, flags: number): number => {
    const fd = openSync(path, flags);
    opened.push(fd);
    return fd;
  };
  /** A stream that fails if read: the descriptor alone must be read. */
  const unused = (): Readable => new Readable({ read: () => expect.fail("the stream was read") });
  const fifo = (): string => {
    const path = join(folder, "fifo");
    execFileSync("mkfifo", [path]);
    return path;
  };

  it("reads a file to its end, larger than one read, without touching the stream", async () => {
    const path = join(folder, "input.txt");
    const text = "é✓ line\n".repeat(20_000);
    writeFileSync(path, text);
    const fd = open(path, constants.O_RDONLY);
    await expect(readInput({ isTTY: false, fd, stream: unused() }, new AbortController().signal)).resolves.toBe(text);
  });

  it("names the offset of bytes that are not UTF-8", async () => {
    const path = join(folder, "input.bin");
    writeFileSync(path, Buffer.from("caf\xe9 au lait", "latin1"));
    const fd = open(path, constants.O_RDONLY);
    await expect(readInput({ isTTY: false, fd, stream: unused() }, new AbortController().signal)).rejects.toThrow("stdin is not UTF-8 text: byte 3 is e9");
  });

  it("says a stdin that cannot be read (a directory) cannot be read", async () => {
    const fd = open(folder, constants.O_RDONLY);
    await expect(readInput({ isTTY: false, fd, stream: unused() }, new AbortController().signal)).rejects.toThrow(/^could not read stdin: EISDIR/);
  });

  it("reads the rest from the stream when the descriptor is non-blocking and would wait (EAGAIN)", async () => {
    const path = fifo();
    const reader = open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const writer = open(path, constants.O_WRONLY);
    writeSync(writer, "first part, ");
    // Made on first use, as the command's process.stdin is: made at once, it would read the pipe beside the descriptor
    // reads (and under load take the rest before them, which a read then found ended).
    let stream: Socket | undefined;
    const input = {
      isTTY: false,
      fd: reader,
      get stream(): Socket {
        stream ??= new Socket({ fd: reader, readable: true, writable: false });
        return stream;
      },
    };
    const text = readInput(input, new AbortController().signal);
    await new Promise((resolve) => setTimeout(resolve, 20));
    writeSync(writer, "then the rest");
    closeSync(opened.splice(opened.indexOf(writer), 1)[0] ?? writer);
    await expect(text).resolves.toBe("first part, then the rest");
    if (stream !== undefined) {
      // The socket owns the reader now.
      opened.splice(opened.indexOf(reader), 1);
      stream.destroy();
    }
  });

  it("reads the descriptor inside the blocking hook, once, and not at all after an abort", async () => {
    const path = join(folder, "input.txt");
    writeFileSync(path, "piped text");
    const fd = open(path, constants.O_RDONLY);
    let calls = 0;
    let readInside = false;
    const blocking = <T>(read: () => T): T => {
      calls += 1;
      const result = read();
      readInside = true;
      return result;
    };
    await expect(readInput({ isTTY: false, fd, blocking, stream: unused() }, new AbortController().signal)).resolves.toBe("piped text");
    expect({ calls, readInside }).toStrictEqual({ calls: 1, readInside: true });
    // Aborted before the read (a signal handled first): nothing is read, and the read never blocks.
    const aborted = new AbortController();
    aborted.abort();
    await expect(readInput({ isTTY: false, fd, blocking, stream: unused() }, aborted.signal)).resolves.toBe("");
    expect(calls).toBe(1);
  });
});

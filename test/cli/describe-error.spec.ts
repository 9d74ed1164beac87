import { APIConnectionError, APIConnectionTimeoutError, APIError } from "openai";
import { describe, expect, it } from "vitest";
import { IncompleteStreamError, PartialResponseError, StreamErrorFrameError, StreamTimeoutError, resolveEndpoint } from "g4f-rx";
import { describeError, describeReplayError, shortReason } from "../../src/cli/describe-error.js";

const g4f = resolveEndpoint({}, {});
const custom = resolveEndpoint({ baseURL: "http://127.0.0.1:9/v1" }, {});

/** A connection error as the openai client makes it from a refused fetch. */
function refused(): APIConnectionError {
  const socketError = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1337"), { code: "ECONNREFUSED" });
  return new APIConnectionError({ cause: new TypeError("fetch failed", { cause: socketError }) });
}

describe("describeError", () => {
  it("names the URL of an unreachable GPT4Free server and how to start it or choose another endpoint", () => {
    expect(describeError(refused(), g4f)).toBe(
      [
        "Could not connect to http://localhost:1337/v1/chat/completions (connect ECONNREFUSED 127.0.0.1:1337).",
        'Is GPT4Free\'s local API running? To use it, start it with `g4f api` (pip install -U "g4f[api]") or `docker run -p 1337:1337 hlohaus789/g4f`.',
        "Or choose another endpoint: --endpoint NAME (see --help) or --base-url URL.",
      ].join("\n"),
    );
  });

  it("gives a general hint for an unreachable custom URL", () => {
    expect(describeError(refused(), custom)).toContain("Check that the server is running and the URL is right.");
  });

  it("says a timeout is a timeout", () => {
    expect(describeError(new APIConnectionTimeoutError(), g4f)).toBe("The request to http://localhost:1337/v1/chat/completions timed out.");
  });

  it("names the status and the server's message of an HTTP error, with a hint for 401 and 404", () => {
    const unauthorized = APIError.generate(401, { error: { message: "Invalid API key" } }, undefined, new Headers());
    expect(describeError(unauthorized, custom)).toBe(
      "http://127.0.0.1:9/v1/chat/completions answered HTTP 401: Invalid API key\nCheck the API key (--api-key or OPENAI_API_KEY).",
    );
    const notFound = APIError.generate(404, undefined, "<html>Not   Found</html>", new Headers());
    expect(describeError(notFound, g4f)).toBe(
      "http://localhost:1337/v1/chat/completions answered HTTP 404: Not Found (an HTML page)\nCheck the model (--model gpt-4) and the base URL (http://localhost:1337/v1).",
    );
    // A proxy's page: its title, not its markup and styles.
    const page = "<!DOCTYPE html>\n<html><head><style>body { color: red; font-family: sans-serif }</style><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>";
    const gateway = APIError.generate(502, undefined, page, new Headers());
    expect(describeError(gateway, g4f)).toBe("http://localhost:1337/v1/chat/completions answered HTTP 502: 502 Bad Gateway (an HTML page)");
    const empty = APIError.generate(502, undefined, undefined, new Headers());
    expect(describeError(empty, g4f)).toBe("http://localhost:1337/v1/chat/completions answered HTTP 502: (no message)");
  });

  it("quotes an error sent inside the stream", () => {
    const frame = new StreamErrorFrameError({ message: "quota" }, "quota", '{"error":{"message":"quota"}}');
    expect(describeError(frame, g4f)).toBe("http://localhost:1337/v1/chat/completions sent an error in the stream: quota");
  });

  it("says a truncated answer was cut off", () => {
    expect(describeError(new IncompleteStreamError("no [DONE]", 2), g4f)).toBe("The answer from http://localhost:1337/v1/chat/completions was cut off: no [DONE]");
  });

  it("says which wait of a StreamTimeoutError ran out and how much text had arrived", () => {
    const first = new StreamTimeoutError("first", 150, "", { meta: undefined, lastValue: null, seen: 0 });
    expect(describeError(first, g4f)).toBe("http://localhost:1337/v1/chat/completions: no chunk arrived within 150 ms of the request");
    const idle = new StreamTimeoutError("idle", 200, "Hello", { meta: undefined, lastValue: null, seen: 3 });
    expect(describeError(idle, g4f)).toContain("no chunk for 200 ms (the idle timeout) after 3 chunks and 5 characters of text");
    const one = new StreamTimeoutError("idle", 200, "H", { meta: undefined, lastValue: null, seen: 1 });
    expect(describeError(one, g4f)).toContain("after 1 chunk and 1 character of text");
  });

  it("explains a PartialResponseError by its cause", () => {
    const frame = new StreamErrorFrameError({ message: "quota" }, "quota", '{"error":{"message":"quota"}}');
    expect(describeError(new PartialResponseError("Hel", frame), g4f)).toBe(describeError(frame, g4f));
  });
});

describe("shortReason", () => {
  it("says why in a few words, for the fallback notes", () => {
    expect(shortReason(APIError.generate(500, { error: { message: "All providers failed" } }, undefined, new Headers()))).toBe("HTTP 500: All providers failed");
    expect(shortReason(refused())).toBe("could not connect (connect ECONNREFUSED 127.0.0.1:1337)");
    expect(shortReason(new StreamErrorFrameError({ message: "gone" }, "gone", "{}"))).toBe("error in the stream: gone");
    expect(shortReason(new StreamTimeoutError("first", 10, "", { meta: undefined, lastValue: null, seen: 0 }))).toBe("no chunk arrived within 10 ms of the request");
    expect(shortReason(new Error("a\n  b"))).toBe("a b");
  });
});

describe("describeReplayError", () => {
  it("names the recording and what it holds", () => {
    expect(describeReplayError(APIError.generate(429, { error: { message: "slow down" } }, undefined, new Headers()), "x.cassette.jsonl")).toBe(
      "The recording x.cassette.jsonl holds an error: HTTP 429: slow down",
    );
    expect(describeReplayError(new IncompleteStreamError("ends early", 2), "x.cassette.jsonl")).toBe("The recording x.cassette.jsonl was cut off: ends early");
  });
});

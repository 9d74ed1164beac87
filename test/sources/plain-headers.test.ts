import { describe, expect, it } from "vitest";
import { PlainHeaders } from "../../src/sources/plain-headers.js";

describe("PlainHeaders", () => {
  it("reads a plain record as Headers does: names in any case, lists joined, entries sorted by lower-case name", () => {
    const headers = new PlainHeaders({ "Content-Type": "text/event-stream", "x-request-id": "req_1", "set-cookie": ["a=1", "b=2"], skipped: undefined });
    expect(headers.get("content-type")).toBe("text/event-stream");
    expect(headers.get("X-REQUEST-ID")).toBe("req_1");
    expect(headers.get("set-cookie")).toBe("a=1, b=2");
    expect(headers.has("skipped")).toBe(false);
    expect(headers.get("missing")).toBeNull();
    headers.append("X-Request-Id", "req_2");
    headers.set("Retry-After", "3");
    headers.delete("set-cookie");
    // The same answers as the web-standard class given the same headers.
    const web = new Headers({ "content-type": "text/event-stream", "x-request-id": "req_1" });
    web.append("X-Request-Id", "req_2");
    web.set("Retry-After", "3");
    expect([...headers]).toStrictEqual([...web]);
    expect([...headers.keys()]).toStrictEqual(["content-type", "retry-after", "x-request-id"]);
  });
});

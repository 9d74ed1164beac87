// The floor for the command's live start-up (bench/live.ts, which compiles this file to CommonJS and runs it with
// node): the least a streaming client can do in Node. It reads stdin, POSTs one chat completion with node:http,
// splits the SSE body into frames and writes each delta to stdout. No options, no error handling, no UTF-8 care, no
// logging: not a tool, a measure of what Node itself costs.
import { request } from "node:http";

interface Chunk {
  choices: Array<{ delta: { content?: string } }>;
}

const [baseURL = "", prompt = ""] = process.argv.slice(2);
let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (text: string) => (input += text));
process.stdin.on("end", () => {
  const body = JSON.stringify({ model: "gpt-4", stream: true, messages: [{ role: "user", content: `${prompt}${input}` }] });
  const headers = { "content-type": "application/json", "content-length": Buffer.byteLength(body) };
  const outgoing = request(`${baseURL}/chat/completions`, { method: "POST", agent: false, headers }, (response) => {
    response.setEncoding("utf8");
    let pending = "";
    response.on("data", (text: string) => {
      pending += text;
      for (let end = pending.indexOf("\n\n"); end >= 0; end = pending.indexOf("\n\n")) {
        const data = pending.slice(0, end).replace(/^data: /, "");
        pending = pending.slice(end + 2);
        if (data === "[DONE]") return;
        const content = (JSON.parse(data) as Chunk).choices[0]?.delta.content;
        if (content !== undefined) process.stdout.write(content);
      }
    });
  });
  outgoing.end(body);
});

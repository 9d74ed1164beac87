/**
 * The page the browser test loads, bundled from the library's sources by esbuild for the browser. It streams
 * answers into the DOM and exposes each scenario on `window.g4f` for the test to start.
 */
import OpenAI from "openai";
import { take, toArray } from "rxjs";
import { type ChatCompletionStreamParams, accumulate, extractDelta, fromChatCompletion, fromEventStream } from "g4f-rx";

export interface PageScenarios {
  /** Streams an answer into #answer; resolves with every text the element showed, in order. */
  streamAnswer(prompt: string): Promise<string[]>;
  /** Takes the first two chunks, which unsubscribes; resolves with how many arrived. */
  takeTwo(): Promise<number>;
  /** Reads an OpenAI-format event stream with plain fetch (a relay) into #relay. */
  readRelay(path: string): Promise<string>;
}

declare global {
  interface Window {
    g4f: PageScenarios;
  }
}

const client = new OpenAI({ baseURL: new URL("/v1", location.href).href, apiKey: "none", maxRetries: 0, dangerouslyAllowBrowser: true });
const params = (prompt: string): ChatCompletionStreamParams => ({ model: "gpt-4", messages: [{ role: "user", content: prompt }] });
const element = (id: string): HTMLElement => document.getElementById(id) ?? document.body.appendChild(Object.assign(document.createElement("p"), { id }));

window.g4f = {
  streamAnswer: (prompt) =>
    new Promise((resolve, reject) => {
      const answer = element("answer");
      const shown: string[] = [];
      fromChatCompletion(client, params(prompt))
        .pipe(extractDelta(), accumulate())
        .subscribe({
          next: (text) => {
            answer.textContent = text;
            shown.push(answer.textContent);
          },
          error: (error: unknown) => reject(error instanceof Error ? error : new Error(String(error))),
          complete: () => resolve(shown),
        });
    }),
  takeTwo: () =>
    new Promise((resolve, reject) => {
      fromChatCompletion(client, params("Count slowly"))
        .pipe(take(2), toArray())
        .subscribe({ next: (chunks) => resolve(chunks.length), error: reject });
    }),
  readRelay: (path) =>
    new Promise((resolve, reject) => {
      const relay = element("relay");
      fromEventStream(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...params("Relay this"), stream: true }) })
        .pipe(extractDelta(), accumulate())
        .subscribe({
          next: (text) => (relay.textContent = text),
          error: (error: unknown) => reject(error instanceof Error ? error : new Error(String(error))),
          complete: () => resolve(relay.textContent ?? ""),
        });
    }),
};
document.title = "ready";

import OpenAI from "openai";
import { type TestServer, type TestServerOptions, startTestServer } from "g4f-rx/testing";

/** A fresh test server and a real `openai` client for it, with no request retries (tests script every reply). */
export async function serverAndClient(options?: TestServerOptions): Promise<{ server: TestServer; client: OpenAI }> {
  const server = await startTestServer(options);
  return { server, client: new OpenAI({ baseURL: server.baseURL, apiKey: "test", maxRetries: 0 }) };
}

import { APIConnectionError, APIError } from "openai/core/error";
import type { Model } from "openai/resources/models";
import { type ResolvedEndpoint, modelsURL } from "../endpoints.js";
import { describeConnectionFailure } from "./describe-error.js";
import { EXIT, exitCodeFor } from "./exit-codes.js";
import type { CliIo } from "./io.js";
import { clientMaker } from "./live.js";
import { type Styles, neutralise } from "./terminal.js";

/**
 * `g4f-rx models` (and `--list-models`): the endpoint's `GET /models`, one
 * id per line, or with `json` one model object per line. An endpoint
 * without that route, or with an empty list, is an error that says so.
 */
export async function listModels(io: CliIo, resolved: ResolvedEndpoint, json: boolean, style: Styles): Promise<number> {
  const url = modelsURL(resolved.baseURL);
  const fail = (message: string): number => {
    io.stderr.write(`${style.error("g4f-rx:")} ${message}\n`);
    return EXIT.failure;
  };
  const note = (text: string): void => void io.stderr.write(`${style.note(`g4f-rx: ${text}`)}\n`);
  const client = (await clientMaker(io, note))(resolved);
  const models: Model[] = [];
  try {
    for await (const model of client.models.list({ signal: io.stop.signal })) models.push(model);
  } catch (error) {
    if (io.stop.signal.aborted) return exitCodeFor(io.stop.reason);
    if (error instanceof APIConnectionError) return fail(describeConnectionFailure(error, url, resolved));
    const status: unknown = error instanceof APIError ? error.status : undefined;
    if (status === 404 || status === 405 || status === 501) {
      return fail(`${url} answered HTTP ${String(status)}: this endpoint has no model list. Give the model by name with --model.`);
    }
    if (error instanceof APIError && typeof status === "number") return fail(`${url} answered HTTP ${status}: ${error.message}`);
    return fail(`${url}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (models.length === 0) return fail(`${url} lists no models. Give the model by name with --model.`);
  // Model ids come from the server: on a terminal, their control characters are made visible.
  const forTerminal = io.stdout.isTTY === true ? neutralise : (text: string): string => text;
  io.stdout.write(models.map((model) => (json ? JSON.stringify(model) : forTerminal(model.id))).join("\n") + "\n");
  return EXIT.success;
}

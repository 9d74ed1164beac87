import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeToResponse } from "../pipe-to-response.js";
import { type RelayAnswer, RelayHttpError, type RelayRequest, type RelayRoutesOptions, answerRelayRequest } from "./routes.js";

export type RelayRequestHandler = (req: IncomingMessage, res: ServerResponse, next?: () => void) => void;

/**
 * The relay's routes (see `answerRelayRequest`) as a Node `http` request
 * handler; it also fits Express and Connect, whose `next` gets any other
 * path (without `next`, those get a 404). Streams are written with
 * `pipeToResponse`, so a reader that stops reading is cut off rather than
 * held in memory; a reader leaving never stops the generation.
 *
 * ## Example
 * ```ts
 * import { createServer } from "node:http";
 * import OpenAI from "openai";
 * import { Relay } from "g4f-rx";
 * import { createRelayRequestHandler } from "g4f-rx/node";
 *
 * const upstream = new OpenAI({ baseURL: "http://localhost:1337/v1", apiKey: "none" });
 * createServer(createRelayRequestHandler({ relay: new Relay(), upstream })).listen(8080);
 * ```
 */
export function createRelayRequestHandler(options: RelayRoutesOptions): RelayRequestHandler {
  return (req, res, next) => {
    answerRelayRequest(options, nodeRequest(req)).then(
      (answer) => {
        if (answer !== undefined) send(res, answer);
        else if (next !== undefined) next();
        else send(res, { status: 404, headers: { "content-type": "application/json" }, json: { error: { message: `Nothing at ${req.method ?? "?"} ${req.url ?? "?"}`, type: "not_found_error" } } });
      },
      // answerRelayRequest answers every error it knows; anything else is a fault of the handler itself.
      (error: unknown) => {
        console.error(error);
        res.destroy();
      },
    );
  };
}

function nodeRequest(req: IncomingMessage): RelayRequest {
  return {
    method: req.method ?? "GET",
    url: req.url ?? "/",
    header: (name) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value.join(", ") : value;
    },
    body: (limit) => readBody(req, limit),
  };
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const pieces: Buffer[] = [];
    let length = 0;
    const onData = (piece: Buffer): void => {
      length += piece.length;
      if (length <= limit) {
        pieces.push(piece);
        return;
      }
      req.off("data", onData);
      reject(new RelayHttpError(413, `The request body is larger than ${limit} bytes`));
    };
    req.on("data", onData);
    req.once("end", () => resolve(Buffer.concat(pieces).toString("utf8")));
    req.once("error", reject);
  });
}

function send(res: ServerResponse, answer: RelayAnswer): void {
  if (res.destroyed || res.headersSent) return;
  if ("events" in answer) {
    answer.events.pipe(pipeToResponse(res, { status: answer.status, headers: answer.headers })).subscribe({
      // A reader cut off for not reading (SlowClientError) loses only its connection; the generation goes on.
      error: () => undefined,
    });
    return;
  }
  if ("json" in answer) {
    res.writeHead(answer.status, answer.headers).end(JSON.stringify(answer.json));
    return;
  }
  res.writeHead(answer.status, answer.headers).end();
}

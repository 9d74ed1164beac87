/**
 * A NestJS relay: an `@Sse()` handler returns the Observable of an upstream
 * answer (GPT4Free's API by default), and Nest streams it to the browser as
 * Server-Sent Events in OpenAI's format, ending with `data: [DONE]`.
 *
 *   npx tsx examples/relay-nestjs.ts [--base-url URL] [--model NAME] [--port 3000] [--host 127.0.0.1]
 *   curl -N 'localhost:3000/chat?q=Say%20hello%20there!'
 *
 * In a browser: `new EventSource("/chat?q=" + encodeURIComponent(prompt))`.
 * The route is `GET /chat?q=…` because `@Sse()` routes are GET unless told
 * otherwise, and `EventSource` can only send a GET. When the browser
 * disconnects, Nest unsubscribes, which aborts the upstream request. An
 * upstream failure reaches the browser as an `event: error` frame whose data
 * is `{"error":{"message":…}}`.
 *
 * Nest's decorators are TypeScript's legacy ones (`experimentalDecorators` in
 * tsconfig.json). Without `emitDecoratorMetadata`, which esbuild (tsx) does
 * not support, Nest cannot inject by parameter type, so the controller asks
 * for its options with an explicit `@Inject(RELAY_OPTIONS)`.
 */
import "reflect-metadata";
import {
  BadRequestException,
  Controller,
  Headers,
  HttpCode,
  Param,
  Post,
  type DynamicModule,
  Inject,
  type INestApplication,
  type LogLevel,
  Logger,
  type MessageEvent,
  Module,
  NotFoundException,
  Query,
  Sse,
} from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { parseArgs } from "node:util";
import OpenAI from "openai";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { type Observable, type OperatorFunction, catchError, defer, endWith, from, map, of, pipe, switchMap } from "rxjs";
import { Relay, type RelayFrame, UnknownStreamError, fromChatCompletion } from "g4f-rx";
import { isEntryModule } from "./support/is-entry-module.js";

export const DEFAULT_BASE_URL = "http://localhost:1337/v1";
export const DEFAULT_MODEL = "gpt-4o-mini";

/** The injection token of the relay's options. */
export const RELAY_OPTIONS = Symbol("RELAY_OPTIONS");

export interface RelayOptions {
  /** The upstream endpoint's client. */
  client: OpenAI;
  /** The model asked upstream. Default `gpt-4o-mini`. */
  model?: string;
  /** Where resumable answers run (`GET /chat/resumable`). Default a new `Relay`, in memory. */
  relay?: Relay;
}

/**
 * Chunks as Nest `MessageEvent`s in OpenAI's format: each chunk as a data
 * event, then `[DONE]`; an error becomes one `event: error` with the
 * upstream's message, and the stream ends.
 */
export function toMessageEvents(onError?: (error: unknown) => void): OperatorFunction<ChatCompletionChunk, MessageEvent> {
  return pipe(
    map((chunk): MessageEvent => ({ data: chunk })),
    endWith<MessageEvent>({ data: "[DONE]" }),
    // Left to Nest, an error would reach the browser only as "Internal server error".
    catchError((error: unknown) => {
      onError?.(error);
      const message = error instanceof Error ? error.message : String(error);
      return of<MessageEvent>({ type: "error", data: { error: { message, type: "server_error" } } });
    }),
  );
}

@Controller()
export class ChatController {
  private readonly logger = new Logger(ChatController.name);

  constructor(@Inject(RELAY_OPTIONS) private readonly options: RelayOptions) {}

  /** `GET /chat?q=…`: the answer to the prompt `q`, as it streams. */
  @Sse("chat")
  chat(@Query("q") prompt: unknown): Observable<MessageEvent> {
    // Thrown before the stream starts, this is answered as a plain 400 by Nest's exception filter.
    if (typeof prompt !== "string" || prompt.trim() === "") throw new BadRequestException("Give a prompt: GET /chat?q=…");
    const { client, model = DEFAULT_MODEL } = this.options;
    return fromChatCompletion(client, { model, messages: [{ role: "user", content: prompt }] }).pipe(
      toMessageEvents((error) => this.logger.error(`Upstream failed: ${error instanceof Error ? error.message : String(error)}`)),
    );
  }
}


/**
 * A relay frame as a Nest `MessageEvent`: its `data:` lines as the data, and
 * an id that names the stream and the frame (`<stream>:<n>`), so the
 * `Last-Event-ID` that `EventSource` sends back says where to resume.
 */
function toMessageEvent(streamId: string): OperatorFunction<RelayFrame, MessageEvent> {
  return map(({ id, frame }): MessageEvent => ({
    id: `${streamId}:${id}`,
    data: frame
      .split("\n")
      .filter((line) => line.startsWith("data: "))
      .map((line) => line.slice("data: ".length))
      .join("\n"),
  }));
}

@Controller()
export class ResumableChatController {
  private readonly relay: Relay;

  constructor(@Inject(RELAY_OPTIONS) private readonly options: RelayOptions) {
    this.relay = options.relay ?? new Relay();
  }

  /**
   * `GET /chat/resumable?q=…`: starts the answer in the relay and streams it.
   * The answer runs on when the browser disconnects; when `EventSource`
   * reconnects to the same URL with `Last-Event-ID: <stream>:<n>`, it gets
   * the events after n, with no second upstream request.
   */
  @Sse("chat/resumable")
  resumable(@Query("q") prompt: unknown, @Headers("last-event-id") lastEventId: unknown): Observable<MessageEvent> {
    const resume = typeof lastEventId === "string" ? /^([A-Za-z0-9._~-]{1,128}):(\d+)$/.exec(lastEventId) : null;
    if (resume?.[1] !== undefined) {
      const streamId = resume[1];
      return this.relay.read(streamId, { after: Number(resume[2]) }).pipe(
        toMessageEvent(streamId),
        catchError((error: unknown) => of<MessageEvent>({ type: "error", data: { error: { message: error instanceof Error ? error.message : String(error) } } })),
      );
    }
    if (typeof prompt !== "string" || prompt.trim() === "") throw new BadRequestException("Give a prompt: GET /chat/resumable?q=…");
    const { client, model = DEFAULT_MODEL } = this.options;
    return defer(() => from(this.relay.start(fromChatCompletion(client, { model, messages: [{ role: "user", content: prompt }] })))).pipe(
      switchMap((streamId) => this.relay.read(streamId).pipe(toMessageEvent(streamId))),
    );
  }

  /** `POST /chat/{id}/stop`: aborts the upstream request; readers see `[DONE]` after the text so far. */
  @Post("chat/:id/stop")
  @HttpCode(200)
  async stop(@Param("id") id: string): Promise<{ id: string; stopped: boolean }> {
    try {
      return { id, stopped: await this.relay.stop(id) };
    } catch (error) {
      if (error instanceof UnknownStreamError) throw new NotFoundException(error.message);
      throw error;
    }
  }
}

@Module({})
export class RelayModule {
  /** The relay's module, with the upstream client and model to use. */
  static forRoot(options: RelayOptions): DynamicModule {
    return { module: RelayModule, controllers: [ChatController, ResumableChatController], providers: [{ provide: RELAY_OPTIONS, useValue: options }] };
  }
}

export interface BootstrapOptions {
  /** Default 3000; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Nest's log levels, or false for none. Default Nest's own. */
  logger?: false | LogLevel[];
}

/** Creates the Nest app and starts listening; `app.getUrl()` says where. */
export async function bootstrap(options: RelayOptions, { port = 3000, host = "127.0.0.1", logger }: BootstrapOptions = {}): Promise<INestApplication> {
  const app = await NestFactory.create(RelayModule.forRoot(options), {
    ...(logger === undefined ? {} : { logger }),
    // Open streams would keep close() waiting; ending them also aborts their upstream requests.
    forceCloseConnections: true,
  });
  app.enableShutdownHooks();
  await app.listen(port, host);
  return app;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "base-url": { type: "string" },
      model: { type: "string", default: DEFAULT_MODEL },
      port: { type: "string", default: "3000" },
      host: { type: "string", default: "127.0.0.1" },
    },
  });
  const baseURL = values["base-url"] || process.env.OPENAI_BASE_URL || DEFAULT_BASE_URL;
  const client = new OpenAI({ baseURL, apiKey: process.env.OPENAI_API_KEY || "none" });
  const app = await bootstrap({ client, model: values.model }, { port: Number(values.port), host: values.host });
  process.stderr.write(`Relaying ${baseURL} (${values.model}) on ${await app.getUrl()}/chat?q=…\n`);
}

if (isEntryModule(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}

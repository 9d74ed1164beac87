import { APIConnectionError, APIError, APIUserAbortError, OpenAIError } from "openai/core/error";
import type { ChatCompletionCreateParamsStreaming } from "openai/resources/chat/completions";
import type { ResponseCreateParamsStreaming } from "openai/resources/responses/responses";
import { StreamErrorFrameError } from "../errors.js";

/** `StreamErrorFrameError`'s `instanceof` recognises errors carrying this mark (see src/errors.ts). */
const CLIENT_STREAM_ERROR = Symbol.for("g4f-rx.client-stream-error");
/** The `instanceof` of src/errors.ts's `OpenAIError` classes recognises errors carrying this mark, their class's name. */
const CLIENT_ERROR = Symbol.for("g4f-rx.client-error");

/**
 * What the sources need of an `openai` client, by shape rather than by class: the app's own `OpenAI` (or
 * `AzureOpenAI`) whatever its major version (6 or 7) and module format. An app's CommonJS view of the class is
 * another class to TypeScript than the ES module view this package's typings see, so naming the class would
 * refuse it.
 */
export interface ChatCompletionsClient {
  readonly chat: {
    readonly completions: {
      create(body: ChatCompletionCreateParamsStreaming, options?: ClientRequestOptions): { asResponse(): Promise<Response> };
    };
  };
}

/** What `fromResponses` needs of an `openai` client, by shape, for the same reason as `ChatCompletionsClient`. */
export interface ResponsesClient {
  readonly responses: {
    create(body: ResponseCreateParamsStreaming, options?: ClientRequestOptions): { asResponse(): Promise<Response> };
  };
}

/** The per-request options this package passes to the client: the caller's own, plus an `AbortSignal`. */
export interface ClientRequestOptions {
  signal?: AbortSignal | null | undefined;
}

/**
 * The error classes an app's `openai` client carries on its constructor (`OpenAI.APIError`,
 * `OpenAI.APIUserAbortError`), from whichever copy of the package the app loaded: its CommonJS build, or
 * another version than the one this package's own imports resolve to.
 */
export interface ClientErrorClasses {
  readonly OpenAIError: typeof OpenAIError;
  readonly APIError: typeof APIError;
  readonly APIUserAbortError: typeof APIUserAbortError;
  readonly APIConnectionError: typeof APIConnectionError;
}

/** The classes of the `openai` copy this package imports, for a client that carries none (a stand-in). */
export const OWN_ERROR_CLASSES: ClientErrorClasses = { OpenAIError, APIError, APIUserAbortError, APIConnectionError };

/**
 * The error classes of `openai`'s `OpenAI` class given, or of a client's (read from its constructor): the statics
 * `OpenAI.OpenAIError`, `OpenAI.APIError`, `OpenAI.APIUserAbortError`, `OpenAI.APIConnectionError`. This
 * package's own when it has none.
 */
export function clientErrorClasses(clientOrClass: object): ClientErrorClasses {
  const holder: unknown = typeof clientOrClass === "function" ? clientOrClass : clientOrClass.constructor;
  if (typeof holder !== "function") return OWN_ERROR_CLASSES;
  const apiError: unknown = Reflect.get(holder, "APIError");
  const abortError: unknown = Reflect.get(holder, "APIUserAbortError");
  const connectionError: unknown = Reflect.get(holder, "APIConnectionError");
  const baseError: unknown = Reflect.get(holder, "OpenAIError");
  if (!isErrorClass(apiError, APIError) || !isErrorClass(abortError, APIUserAbortError) || !isErrorClass(connectionError, APIConnectionError)) return OWN_ERROR_CLASSES;
  // The base class is read apart: a client without it still gets its APIError classes.
  const base = isErrorClass(baseError, OpenAIError) ? baseError : OpenAIError;
  return { OpenAIError: base, APIError: apiError, APIUserAbortError: abortError, APIConnectionError: connectionError };
}

/** Whether `value` is the class `own` stands for, from any copy of `openai`: an Error class of the same name. */
function isErrorClass<T extends abstract new (...args: never) => Error>(value: unknown, own: T): value is T {
  return value === own || (typeof value === "function" && value.name === own.name && value.prototype instanceof Error);
}

/** One subclass of each app's `APIError` class, made on first use. */
const clientFrameErrors = new WeakMap<typeof APIError, new (original: StreamErrorFrameError) => StreamErrorFrameError>();

/**
 * `error` as an instance of the app's own classes: `classes.APIError` when the app's `openai` is another copy
 * than this package's, so that one `instanceof APIError` holds in the app whichever copy it imported, and
 * `instanceof StreamErrorFrameError` still holds too.
 */
export function inClientClasses(error: StreamErrorFrameError, classes: ClientErrorClasses): StreamErrorFrameError {
  const Base = classes.APIError;
  if (Base === APIError) return error;
  let ClientStreamErrorFrameError = clientFrameErrors.get(Base);
  if (ClientStreamErrorFrameError === undefined) {
    ClientStreamErrorFrameError = class extends Base<undefined, Headers | undefined, object | undefined> {
      override readonly name = "StreamErrorFrameError";
      override readonly error: object | undefined;
      override readonly code: string | null | undefined;
      override readonly param: string | null | undefined;
      override readonly type: string | undefined;
      readonly data: string;
      readonly event: string | undefined;
      readonly [CLIENT_STREAM_ERROR] = true;
      constructor(original: StreamErrorFrameError) {
        super(undefined, undefined, original.message, original.headers);
        this.error = original.error;
        this.code = original.code;
        this.param = original.param;
        this.type = original.type;
        this.data = original.data;
        this.event = original.event;
        this.stack = original.stack;
      }
    };
    clientFrameErrors.set(Base, ClientStreamErrorFrameError);
  }
  return new ClientStreamErrorFrameError(error);
}

/** One subclass of an app's `OpenAIError` class per error class name, made on first use. */
const clientOpenAIErrors = new WeakMap<typeof OpenAIError, Map<string, new (original: OpenAIError) => OpenAIError>>();

/**
 * One of src/errors.ts's `OpenAIError` errors (`IncompleteStreamError`, `MalformedChunkError`…) as an instance of
 * the app's own `OpenAIError` class, with the same name, message, fields and `cause`; `instanceof` the library's
 * class still holds (src/errors.ts recognises the mark).
 */
function inClientBaseClass(error: OpenAIError, Base: typeof OpenAIError): OpenAIError {
  let made = clientOpenAIErrors.get(Base);
  if (made === undefined) {
    made = new Map();
    clientOpenAIErrors.set(Base, made);
  }
  let ClientError = made.get(error.name);
  if (ClientError === undefined) {
    ClientError = class extends Base {
      constructor(original: OpenAIError) {
        super(original.message, original.cause === undefined ? undefined : { cause: original.cause });
        // Own fields: the name and what the error says (chunks, data, contentType, offset…).
        for (const key of Object.keys(original)) Reflect.set(this, key, Reflect.get(original, key));
        Reflect.set(this, CLIENT_ERROR, original.name);
        this.stack = original.stack;
      }
    };
    made.set(error.name, ClientError);
  }
  return new ClientError(error);
}

/**
 * What a source errors with, in the app's own classes: an error frame as the app's `APIError`, the library's
 * other errors (`IncompleteStreamError`, `MalformedChunkError`…) as its `OpenAIError`, and the caller's abort as its `APIUserAbortError` (the decoder may see it as a broken connection). HTTP errors
 * come from the client itself and are the app's already.
 */
export function errorForClient(error: unknown, classes: ClientErrorClasses, callerAborted: boolean): unknown {
  if (callerAborted) return error instanceof classes.APIUserAbortError ? error : new classes.APIUserAbortError();
  if (error instanceof StreamErrorFrameError) return inClientClasses(error, classes);
  // The library's own errors about the body (IncompleteStreamError…), when the app's openai is another copy.
  if (error instanceof OpenAIError && !(error instanceof APIError) && classes.OpenAIError !== OpenAIError) return inClientBaseClass(error, classes.OpenAIError);
  return error;
}

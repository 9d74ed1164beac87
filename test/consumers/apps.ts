/**
 * The scratch apps the consumer suite installs the packed tarball into: each a package.json, a tsconfig.json
 * and a source file, as a user of that setup would write them. Kept as text here so the project's own
 * type-check and lint never read them with the project's settings.
 */

/** One scratch project: its files, relative to its folder. */
export interface ConsumerApp {
  readonly name: string;
  readonly files: Readonly<Record<string, string>>;
}

/**
 * The basic call in an app's own words: its own `openai` client and its own `rxjs`, no cast. Prints one
 * JSON line: the answer, and whether the library's errors are instances of the app's own classes.
 */
const nodeApp = `import OpenAI, { APIError, APIUserAbortError, OpenAIError } from "openai";
import { TimeoutError, lastValueFrom, take, toArray } from "rxjs";
import { IncompleteStreamError, accumulate, extractDelta, fromChatCompletion, fromCompletionStream, fromEventStream, streamTimeout } from "g4f-rx";
import { errorFrame, errorReply, startTestServer, streamReply, textChunks } from "g4f-rx/testing";
import { RedisRelayStore, type RedisConnection, startRelayServer } from "g4f-rx/node";

async function main(): Promise<void> {
  const server = await startTestServer();
  const client = new OpenAI({ baseURL: server.baseURL, apiKey: "none", maxRetries: 0 });
  const params = { model: "gpt-4", messages: [{ role: "user" as const, content: "Say hello there!" }] };

  server.reply(streamReply(textChunks(["Hello", " there!"])));
  const text = await lastValueFrom(fromChatCompletion(client, params).pipe(extractDelta(), accumulate()));

  // The app's own Stream (another class to TypeScript in a CommonJS app), given as it is.
  server.reply(streamReply(textChunks(["Hello", " there!"])));
  const stream = await client.chat.completions.create({ ...params, stream: true });
  const streamed = await lastValueFrom(fromCompletionStream(stream).pipe(extractDelta(), accumulate()));

  server.reply(streamReply(textChunks(["Hel"]).slice(0, 2), { then: [errorFrame("quota exceeded")] }));
  const frameError: unknown = await lastValueFrom(fromChatCompletion(client, params)).catch((error: unknown) => error);

  server.reply(streamReply(textChunks(["Hel"], { finishReason: null }), { done: false }));
  const incompleteError: unknown = await lastValueFrom(fromChatCompletion(client, params)).catch((error: unknown) => error);

  server.reply(streamReply(textChunks(["Hel"]).slice(0, 2), { done: false, then: [{ wait: 10_000 }] }));
  const controller = new AbortController();
  const abortError: unknown = await new Promise((resolve) => {
    fromChatCompletion(client, params, { signal: controller.signal }).subscribe({ next: () => controller.abort(), error: resolve });
  });

  server.reply({ headersAfterMs: 10_000, body: [] });
  const timeoutError: unknown = await lastValueFrom(fromChatCompletion(client, params).pipe(streamTimeout({ first: 100 }), take(1), toArray())).catch((error: unknown) => error);

  // fromEventStream has no client to take the classes from: the app gives its OpenAI class.
  const url = \`\${server.baseURL}/chat/completions\`;
  server.reply(errorReply(404, "no such route"));
  const statusError: unknown = await lastValueFrom(fromEventStream(url, { method: "POST", body: "{}" }, { openai: OpenAI })).catch((error: unknown) => error);
  server.reply(streamReply(textChunks(["Hel"]).slice(0, 2), { then: [errorFrame("quota exceeded")] }));
  const eventFrameError: unknown = await lastValueFrom(fromEventStream(url, { method: "POST", body: "{}" }, { openai: OpenAI })).catch((error: unknown) => error);

  // The relay's Redis store, typed without ioredis installed (an optional peer): its client type is the library's own.
  const redisStore = (client: RedisConnection): RedisRelayStore => new RedisRelayStore(client, { ttlMs: 60_000 });
  const relay = await startRelayServer({ upstream: client });
  server.reply(streamReply(textChunks(["Relayed"])));
  const relayed = await lastValueFrom(fromChatCompletion(new OpenAI({ baseURL: relay.baseURL, apiKey: "none", maxRetries: 0 }), params).pipe(extractDelta(), accumulate()));
  await relay.close();

  await server.close();
  console.log(JSON.stringify({
    relayed,
    redisStoreIsAFunction: typeof redisStore === "function",
    text,
    streamed,
    frameErrorIsAPIError: frameError instanceof APIError,
    frameErrorIsClientAPIError: frameError instanceof OpenAI.APIError,
    incompleteIsOpenAIError: incompleteError instanceof OpenAIError,
    incompleteIsIncompleteStreamError: incompleteError instanceof IncompleteStreamError,
    abortIsAPIUserAbortError: abortError instanceof APIUserAbortError,
    timeoutIsTimeoutError: timeoutError instanceof TimeoutError,
    eventStreamStatusIsNotFoundError: statusError instanceof OpenAI.NotFoundError,
    eventStreamFrameIsAPIError: eventFrameError instanceof APIError,
  }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
`;

const strictESM = {
  compilerOptions: {
    target: "es2022",
    lib: ["es2022"],
    module: "nodenext",
    moduleResolution: "nodenext",
    types: ["node"],
    strict: true,
    skipLibCheck: false,
    rootDir: "src",
    outDir: "dist",
  },
  include: ["src"],
};

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

/** An ESM TypeScript app: nodenext, strict, and the library's typings checked too (skipLibCheck: false). */
export function esmApp(deps: Record<string, string>): ConsumerApp {
  return {
    name: "esm-nodenext",
    files: {
      "package.json": json({ name: "esm-app", private: true, type: "module", dependencies: deps }),
      "tsconfig.json": json(strictESM),
      "src/main.ts": nodeApp,
    },
  };
}

/** A CommonJS TypeScript app with the tsconfig `nest new` writes (NestJS 11). */
export function nestCommonJsApp(deps: Record<string, string>): ConsumerApp {
  return {
    name: "commonjs-nest",
    files: {
      "package.json": json({ name: "nest-app", private: true, dependencies: deps }),
      "tsconfig.json": json({
        compilerOptions: {
          module: "nodenext",
          moduleResolution: "nodenext",
          resolvePackageJsonExports: true,
          esModuleInterop: true,
          isolatedModules: true,
          declaration: true,
          removeComments: true,
          emitDecoratorMetadata: true,
          experimentalDecorators: true,
          allowSyntheticDefaultImports: true,
          target: "ES2023",
          sourceMap: true,
          outDir: "./dist",
          baseUrl: "./",
          // What TypeScript 6 asks of the template (it was written for TypeScript 5).
          rootDir: "./src",
          ignoreDeprecations: "6.0",
          incremental: true,
          skipLibCheck: true,
          strictNullChecks: true,
          forceConsistentCasingInFileNames: true,
          noImplicitAny: false,
          strictBindCallApply: false,
          noFallthroughCasesInSwitch: false,
          types: ["node"],
        },
        include: ["src"],
      }),
      "src/main.ts": nodeApp,
    },
  };
}

/**
 * A CommonJS app with the tsconfig `nest new` wrote up to NestJS 10, which most Nest apps still have: `module`
 * `commonjs`, under which TypeScript 5 resolves packages the old way (`node10`), reading `types` and
 * `typesVersions` but not `exports`. Inside the NestJS 11 app's folder, to share its install.
 */
export function legacyNestCommonJsApp(): ConsumerApp {
  return {
    name: "commonjs-nest/legacy",
    files: {
      "package.json": json({ name: "legacy-nest-app", private: true }),
      "tsconfig.json": json({
        compilerOptions: {
          module: "commonjs",
          // TypeScript 5's default for commonjs, spelled out: TypeScript 6 (the project's) defaults to bundler.
          moduleResolution: "node10",
          ignoreDeprecations: "6.0",
          declaration: true,
          removeComments: true,
          emitDecoratorMetadata: true,
          experimentalDecorators: true,
          allowSyntheticDefaultImports: true,
          target: "ES2021",
          sourceMap: true,
          outDir: "./dist",
          rootDir: "./src",
          incremental: true,
          skipLibCheck: true,
          strictNullChecks: false,
          noImplicitAny: false,
          strictBindCallApply: false,
          forceConsistentCasingInFileNames: false,
          noFallthroughCasesInSwitch: false,
          types: ["node"],
        },
        include: ["src"],
      }),
      "src/main.ts": nodeApp,
    },
  };
}

/** An ESM app on the current openai major (7). */
export function openai7App(deps: Record<string, string>): ConsumerApp {
  return { ...esmApp(deps), name: "openai-7" };
}

/** An app that pins rxjs to 7.8.1 exactly: the library must use that copy, not a nested one of its own. */
export function pinnedRxjsApp(deps: Record<string, string>): ConsumerApp {
  return { ...esmApp(deps), name: "rxjs-7.8.1" };
}

const browserMain = `import OpenAI from "openai";
import { accumulate, extractDelta, fromChatCompletion, fromEventStream, toResponse, toServerSentEvents } from "g4f-rx";
import { smooth } from "g4f-rx/operators";

const client = new OpenAI({ baseURL: new URL("/v1", location.href).href, apiKey: "none", dangerouslyAllowBrowser: true });
const answer = document.querySelector<HTMLElement>("#answer");

fromChatCompletion(client, { model: "gpt-4", messages: [{ role: "user", content: "Say hello there!" }] })
  .pipe(extractDelta(), smooth({ chunking: "word" }), accumulate())
  .subscribe((text) => {
    if (answer) answer.textContent = text;
  });

// Reading a relay back, and answering with one (as a service worker could).
export const relay = (prompt: string): Response =>
  toResponse(fromEventStream(new URL("/relay", location.href), { method: "POST", body: JSON.stringify({ prompt }) }).pipe(toServerSentEvents()));
`;

/**
 * A browser app: bundled by esbuild for the browser and by Vite, and type-checked with the DOM's types only
 * (`types: []`, no @types/node) and skipLibCheck off.
 */
export function browserApp(): ConsumerApp {
  return {
    // Inside the ESM app, to share its installed openai and rxjs: one npm install fewer.
    name: "esm-nodenext/browser",
    files: {
      "package.json": json({ name: "browser-app", private: true, type: "module" }),
      "tsconfig.json": json({
        compilerOptions: {
          target: "es2022",
          lib: ["es2022", "dom"],
          types: [],
          module: "esnext",
          moduleResolution: "bundler",
          strict: true,
          skipLibCheck: false,
          noEmit: true,
        },
        include: ["src"],
      }),
      "src/main.ts": browserMain,
      "index.html": `<!doctype html>\n<p id="answer"></p>\n<script type="module" src="/src/main.ts"></script>\n`,
    },
  };
}

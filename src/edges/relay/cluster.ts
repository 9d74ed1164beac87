import cluster, { type Worker } from "node:cluster";
import { type RelayServerOptions, startRelayServer } from "./relay-server.js";

export interface RelayClusterOptions extends RelayServerOptions {
  /** Processes to run, sharing one port (node:cluster). Above 1, `redis` is required, so any process can serve any stream. */
  workers: number;
  /** Told when a worker exits unexpectedly; it is replaced. Default: one line on stderr. */
  onWorkerExit?: (pid: number | undefined, code: number | null, signal: string | null) => void;
}

export interface RelayCluster {
  /** `"primary"` in the process that forked the workers, `"worker"` in each of them. */
  readonly role: "primary" | "worker";
  readonly url: string;
  readonly baseURL: string;
  /** Worker processes' ids (in the primary). */
  readonly pids: readonly number[];
  /** In the primary: stops every worker and waits for them. In a worker: closes its server. */
  close(): Promise<void>;
}

interface ListeningMessage {
  readonly relayListening: string;
}

/** A worker that could not start says why, so that the primary reports it once, as its own failure. */
interface FailedMessage {
  readonly relayFailed: { readonly message: string; readonly code?: string };
}

function isListeningMessage(message: unknown): message is ListeningMessage {
  return typeof message === "object" && message !== null && typeof Reflect.get(message, "relayListening") === "string";
}

function failureOf(message: unknown): Error | undefined {
  const failed: unknown = typeof message === "object" && message !== null ? Reflect.get(message, "relayFailed") : undefined;
  if (typeof failed !== "object" || failed === null) return undefined;
  const text: unknown = Reflect.get(failed, "message");
  const code: unknown = Reflect.get(failed, "code");
  const error = new Error(typeof text === "string" ? text : "A relay worker could not start");
  return typeof code === "string" ? Object.assign(error, { code }) : error;
}

/**
 * Runs `startRelayServer` in `workers` processes on one port with
 * node:cluster, sharing streams through Redis. As with node:cluster itself,
 * the same script runs in the primary and in every worker and calls this in
 * each: the primary forks and waits until all listen, each worker serves.
 * With `workers: 1` it simply serves in this process. This is
 * `g4f-rx serve --upstream URL --redis URL --workers N`.
 *
 * ## Example
 * ```ts
 * import { startRelayCluster } from "g4f-rx/node";
 *
 * const relay = await startRelayCluster({ upstream: "http://localhost:1337/v1", redis: "redis://127.0.0.1:6379", workers: 2, port: 8080 });
 * if (relay.role === "primary") console.log(`relaying on ${relay.url}`);
 * ```
 */
export async function startRelayCluster(options: RelayClusterOptions): Promise<RelayCluster> {
  const { workers, onWorkerExit = logWorkerExit, ...serverOptions } = options;
  if (!Number.isInteger(workers) || workers < 1) throw new TypeError(`workers must be a whole number of 1 or more, got ${String(workers)}`);
  if (workers > 1 && serverOptions.redis === undefined) {
    throw new TypeError("Several workers need Redis to share streams (a reconnect may reach any of them): give redis (--redis URL) too");
  }
  if (workers === 1 || cluster.isWorker) {
    let server: Awaited<ReturnType<typeof startRelayServer>>;
    try {
      server = await startRelayServer(serverOptions);
    } catch (error) {
      if (cluster.isWorker) {
        const code: unknown = error instanceof Error ? Reflect.get(error, "code") : undefined;
        const failed: FailedMessage = { relayFailed: { message: error instanceof Error ? error.message : String(error), ...(typeof code === "string" ? { code } : {}) } };
        process.send?.(failed);
      }
      throw error;
    }
    if (cluster.isWorker) {
      process.send?.({ relayListening: server.url } satisfies ListeningMessage);
      process.once("SIGTERM", () => {
        server.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      });
    }
    return { role: cluster.isWorker ? "worker" : "primary", url: server.url, baseURL: server.baseURL, pids: [process.pid], close: () => server.close() };
  }

  let closing = false;
  let started = false;
  const live = new Set<Worker>();
  const fork = (): Promise<string> => {
    const worker = cluster.fork();
    live.add(worker);
    worker.on("exit", (code, signal) => {
      live.delete(worker);
      if (closing || !started) return;
      onWorkerExit(worker.process.pid, code, signal);
      fork().catch((error: unknown) => console.error(error));
    });
    return new Promise<string>((resolve, reject) => {
      worker.on("message", (message: unknown) => {
        if (isListeningMessage(message)) resolve(message.relayListening);
        const failure = failureOf(message);
        if (failure !== undefined) reject(failure);
      });
      worker.once("exit", (code) => reject(new Error(`A relay worker exited with code ${String(code)} before it listened`)));
    });
  };
  const urls = await Promise.all(Array.from({ length: workers }, fork));
  started = true;
  const url = urls[0] ?? "";
  return {
    role: "primary",
    url,
    baseURL: `${url}/v1`,
    get pids() {
      return [...live].flatMap((worker) => (worker.process.pid === undefined ? [] : [worker.process.pid]));
    },
    close: async () => {
      closing = true;
      await Promise.all(
        [...live].map(
          (worker) =>
            new Promise<void>((resolve) => {
              worker.once("exit", () => resolve());
              worker.process.kill("SIGTERM");
            }),
        ),
      );
    },
  };
}

function logWorkerExit(pid: number | undefined, code: number | null, signal: string | null): void {
  process.stderr.write(`g4f-rx relay: worker ${String(pid)} exited (${signal ?? `code ${String(code)}`}); starting another\n`);
}

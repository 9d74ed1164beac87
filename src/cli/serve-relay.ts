import cluster from "node:cluster";
import { type RelayCluster, startRelayCluster } from "../edges/relay/cluster.js";
import type { RelayOptions } from "../edges/relay/relay.js";
import { DEFAULT_UPSTREAM_TIMEOUT } from "../edges/relay/upstream-timeout.js";
import { isLoopbackHost, withoutPassword } from "../endpoints.js";
import { EXIT } from "./exit-codes.js";
import type { CliIo } from "./io.js";
import type { ServeOptions } from "./options.js";
import type { Styles } from "./terminal.js";

/**
 * `g4f-rx serve --upstream URL`: a resumable, OpenAI-compatible proxy in front
 * of URL (see `startRelayServer`), in `--workers` processes sharing `--redis`,
 * until SIGINT or SIGTERM, which end its streams (their readers are told),
 * close it and exit 0. node:cluster runs this same command in each worker;
 * only the primary speaks on stderr.
 */
export async function serveRelay(io: CliIo, options: ServeOptions & { upstream: string }, style: Styles): Promise<number> {
  const { upstream, upstreamKey, redis, workers, cors, port, host, maxBody, timeout, idleTimeout } = options;
  const fail = (code: number, message: string): number => {
    io.stderr.write(`${style.error("g4f-rx serve:")} ${message}\n`);
    return code;
  };
  if (!/^https?:\/\//i.test(upstream)) return fail(EXIT.usage, `--upstream must be an http(s) URL such as http://localhost:1337/v1, got ${JSON.stringify(upstream)}`);
  const upstreamURL = URL.canParse(upstream) ? new URL(upstream) : undefined;
  if (upstreamURL !== undefined && (upstreamURL.username !== "" || upstreamURL.password !== "")) {
    // The openai client refuses such a URL on every request ("Connection error."), and the password is not repeated.
    upstreamURL.username = "";
    upstreamURL.password = "";
    return fail(EXIT.usage, `--upstream must not hold a user name or password (user:password@), which the openai client refuses: give ${upstreamURL.href} and the key with --upstream-key`);
  }
  if (redis !== undefined && !/^rediss?:\/\//i.test(redis)) return fail(EXIT.usage, `--redis must be a redis:// URL such as redis://127.0.0.1:6379, got ${JSON.stringify(redis)}`);
  if (workers > 1 && redis === undefined) return fail(EXIT.usage, "--workers above 1 needs --redis URL: a reconnect may reach any worker, so they share streams through Redis");

  let relay: RelayCluster;
  try {
    relay = await startRelayCluster({
      upstream,
      workers,
      port,
      host,
      maxBodyBytes: maxBody,
      upstreamTimeout: relayUpstreamTimeout(timeout, idleTimeout),
      ...(upstreamKey === undefined ? {} : { apiKey: upstreamKey }),
      ...(redis === undefined ? {} : { redis }),
      // No --cors: the default, pages served from this machine, as for --cassettes.
      ...(cors.length > 0 ? { cors } : {}),
    });
  } catch (error) {
    // A worker's failure reaches the primary, which says it once for all.
    if (cluster.isWorker) return EXIT.failure;
    const code = error instanceof Error && "code" in error ? error.code : undefined;
    if (code === "EADDRINUSE") return fail(EXIT.failure, `port ${port} on ${host} is in use. Choose another with --port, or --port 0 for any free one.`);
    return fail(EXIT.failure, `could not start the relay: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (cluster.isPrimary) {
    const processes = workers === 1 ? "" : ` in ${workers} processes`;
    io.stderr.write(`g4f-rx serve: relaying ${upstream} at ${relay.baseURL}${processes}${redis === undefined ? "" : ` (streams shared through ${withoutPassword(redis)})`}. Ctrl-C stops.\n`);
    if (!isLoopbackHost(host)) {
      // An open relay spends the upstream's key for anyone who finds it, and reads out any stream whose id they know.
      io.stderr.write(
        `${style.error("g4f-rx serve:")} listening on ${host}, beyond this machine: anyone who can reach it on port ${new URL(relay.url).port} can send requests to ${upstream} through it${upstreamKey === undefined ? "" : " with your API key"} and read any stream whose id they know. Use --host 127.0.0.1 to keep it local.\n`,
      );
    }
  }

  await new Promise<void>((resolve) => {
    if (io.stop.signal.aborted) resolve();
    else io.stop.signal.addEventListener("abort", () => resolve(), { once: true });
  });
  await relay.close();
  if (cluster.isPrimary) io.stderr.write("g4f-rx serve: stopped.\n");
  return EXIT.success;
}

/**
 * `--timeout` and `--idle-timeout` as the relay's `upstreamTimeout`: each given or the relay's default, 0 leaving that
 * wait out as for a question (alone, the idle limit bounds the first chunk too), both 0 setting no limit.
 */
export function relayUpstreamTimeout(timeout: number | undefined, idleTimeout: number | undefined): RelayOptions["upstreamTimeout"] {
  const first = timeout ?? DEFAULT_UPSTREAM_TIMEOUT.first;
  const idle = idleTimeout ?? DEFAULT_UPSTREAM_TIMEOUT.idle;
  if (first === 0 && idle === 0) return false;
  return { ...(first === 0 ? {} : { first }), ...(idle === 0 ? {} : { idle }) };
}

import { statSync } from "node:fs";
import { basename } from "node:path";
import { isLoopbackHost } from "../endpoints.js";
import { type Cassette, readCassettes } from "../replay/cassette.js";
import { type ReplayServer, startReplayServer } from "../replay/replay-server.js";
import { describePlay, repeatedRecordings } from "../replay/match.js";
import { EXIT } from "./exit-codes.js";
import { cassetteSkips } from "./skipped-cassettes.js";
import type { CliIo } from "./io.js";
import { speedOverflow } from "./replay.js";
import { type ParsedCommandLine, type ServeOptions, UsageError, parseServeCommandLine } from "./options.js";
import type { Styles } from "./terminal.js";

/**
 * `g4f-rx serve`: an OpenAI-compatible server that answers from cassettes
 * (with `--upstream URL`, a resumable relay instead: see serve-relay.ts),
 * until SIGINT or SIGTERM, which close it and exit 0. Says on stderr where it
 * listens and logs every request with the cassette that answered it.
 */
export async function serve(io: CliIo, args: readonly string[], style: Styles): Promise<number> {
  const fail = (code: number, message: string): number => {
    io.stderr.write(`${style.error("g4f-rx serve:")} ${message}\n`);
    return code;
  };

  let parsed: ParsedCommandLine<ServeOptions>;
  try {
    parsed = parseServeCommandLine(args, io.version, io.stdout.columns ?? 80);
  } catch (error) {
    if (error instanceof UsageError) return fail(EXIT.usage, `${error.message}\nRun g4f-rx serve --help for usage.`);
    throw error;
  }
  if (parsed.kind === "print") {
    io.stdout.write(parsed.text);
    return EXIT.success;
  }
  if (parsed.options.upstream !== undefined) {
    const { serveRelay } = await import("./serve-relay.js");
    return serveRelay(io, { ...parsed.options, upstream: parsed.options.upstream }, style);
  }
  if (parsed.options.redis !== undefined) return fail(EXIT.usage, "--redis works only with --upstream URL (a relay); cassettes need no Redis.\nRun g4f-rx serve --help for usage.");
  if (parsed.options.workers !== 1) return fail(EXIT.usage, "--workers works only with --upstream URL (a relay).\nRun g4f-rx serve --help for usage.");
  if (parsed.options.timeout !== undefined || parsed.options.idleTimeout !== undefined) {
    // A cassette replays its recorded timing: nothing upstream can stall.
    const flag = parsed.options.timeout === undefined ? "--idle-timeout" : "--timeout";
    return fail(EXIT.usage, `${flag} works only with --upstream URL (a relay); cassettes have no upstream to wait for.\nRun g4f-rx serve --help for usage.`);
  }
  const { port, host, cassettes: directory, speed, cors, maxBody } = parsed.options;

  let cassettes: Cassette[];
  // One bad file must not make the others unusable: it is skipped, and said.
  const skips = cassetteSkips((text) => io.stderr.write(`${style.error("g4f-rx serve:")} ${text}\n`));
  try {
    if (!statSync(directory).isDirectory()) return fail(EXIT.usage, `--cassettes ${directory} is not a directory`);
    cassettes = readCassettes(directory, skips.skip);
    skips.end();
  } catch (error) {
    return fail(EXIT.usage, `--cassettes ${directory}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (cassettes.length === 0 && skips.count() > 0) return fail(EXIT.failure, `no usable cassettes in ${directory}: all ${skips.count()} are corrupt (see above)`);
  if (cassettes.length === 0) {
    return fail(EXIT.usage, `no cassettes (*.cassette.jsonl) in ${directory}. Record one with g4f-rx --record FILE "prompt", or use examples/cassettes.`);
  }
  for (const cassette of cassettes) {
    const overflow = speedOverflow(cassette, speed, cassette.file ?? directory);
    if (overflow !== undefined) return fail(EXIT.usage, overflow);
  }

  let server: ReplayServer;
  try {
    server = await startReplayServer({
      cassettes,
      port,
      host,
      speed,
      maxBodyBytes: maxBody,
      // No --cors: the server's default, pages served from this machine.
      ...(cors.length > 0 ? { cors } : {}),
      onRequest: ({ path, cassette, status, answer }) => {
        const recorded = status === 200 ? "" : ` (recorded HTTP ${status})`;
        const play = answer === undefined ? undefined : describePlay(answer);
        const which = play === undefined ? "" : ` (${play})`;
        const said = cassette === undefined ? "404, no cassette matches" : `${cassette.file ?? "(cassette)"}${recorded}${which}`;
        io.stderr.write(`${style.note("g4f-rx serve:")} POST ${path} → ${said}\n`);
      },
      // The client was told the cassette's name only; here, on the server's own stderr, is the whole error.
      onError: ({ path, cassette, error }) =>
        io.stderr.write(`${style.error("g4f-rx serve:")} POST ${path} → ${cassette?.file ?? "no cassette"} failed: ${error instanceof Error ? error.message : String(error)}\n`),
      onReset: (played) => io.stderr.write(`${style.note("g4f-rx serve:")} reset: ${played === 1 ? "1 recording" : `${played} recordings`} had played; each request starts again from its first\n`),
    });
  } catch (error) {
    const code = error instanceof Error && "code" in error ? error.code : undefined;
    if (code === "EADDRINUSE") return fail(EXIT.failure, `port ${port} on ${host} is in use (a GPT4Free server, or another serve?). Choose another with --port, or --port 0 for any free one.`);
    return fail(EXIT.failure, `could not listen on ${host}:${port}: ${error instanceof Error ? error.message : String(error)}`);
  }

  const count = cassettes.length === 1 ? "1 cassette" : `${cassettes.length} cassettes`;
  io.stderr.write(`g4f-rx serve: answering from ${count} in ${directory} at ${server.baseURL} (speed ${speed}). Ctrl-C stops.\n`);
  // Several recordings of one request answer in turn: which comes first (by recording time) is said, not guessed.
  for (const group of repeatedRecordings(cassettes)) {
    const names = group.map((cassette) => basename(cassette.file ?? "(cassette)")).join(", ");
    io.stderr.write(`${style.note("g4f-rx serve:")} ${names} record the same request: they answer it in this order, as recorded, then the last again\n`);
  }
  if (!isLoopbackHost(host)) {
    io.stderr.write(
      `${style.error("g4f-rx serve:")} listening on ${host}, beyond this machine: anyone who can reach it on port ${new URL(server.url).port} can read these cassettes. Use --host 127.0.0.1 to keep it local.\n`,
    );
  }

  await new Promise<void>((resolve) => {
    if (io.stop.signal.aborted) resolve();
    else io.stop.signal.addEventListener("abort", () => resolve(), { once: true });
  });
  await server.close();
  io.stderr.write("g4f-rx serve: stopped.\n");
  return EXIT.success;
}

/**
 * `tokentrace scripted-server`: the scripted OpenAI-compatible streaming server as a process of
 * its own, a peer with known send times for checking a harness (this one or another tool).
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { createScriptedApp } from "../../adapters/scripted/mod.ts";
import { serveRawHttp } from "../../adapters/scripted/raw_http.ts";
import { lowerThreadPriority } from "../../adapters/thread_priority.ts";
import { FlagError, integerAtLeast, oneOf, positiveNumber } from "./flags.ts";

/** Raw `scripted-server` flags. */
export interface ScriptedServerFlags {
  host: string;
  port: string;
  ttftMs: string;
  ttftPerTokenMs: string;
  itlMs: string;
  failEvery?: string;
  failStatus?: string;
  /** Multiplies the time to first token (an injected regression). */
  ttftScale?: string;
  /** Token chunks per socket write (a batching server). */
  chunksPerWrite?: string;
  sendLog?: boolean;
  /** `raw` (default): adapters/scripted/raw_http.ts; `deno`: `Deno.serve`. */
  http?: string;
  /** Nice value for the serving thread (0 = normal). */
  nice?: string;
}

/** Serves until SIGINT/SIGTERM; prints the base URL as the first line of stdout. */
export async function scriptedServerCommand(
  f: ScriptedServerFlags,
): Promise<void> {
  const nonNegative = (flag: string, v: string) =>
    v.trim() === "0" ? 0 : positiveNumber(flag, v);
  const port = integerAtLeast("--port", f.port, 0);
  const http = oneOf("--http", f.http ?? "raw", ["raw", "deno"] as const);
  const scripted = createScriptedApp({
    timing: {
      ttftBaseMs: nonNegative("--ttft-ms", f.ttftMs),
      ttftPerInputTokenMs: nonNegative("--ttft-per-token-ms", f.ttftPerTokenMs),
      itlMs: nonNegative("--itl-ms", f.itlMs),
    },
    failEvery: f.failEvery
      ? integerAtLeast("--fail-every", f.failEvery, 1)
      : undefined,
    failStatus: f.failStatus
      ? integerAtLeast("--fail-status", f.failStatus, 400)
      : undefined,
    ttftScale: f.ttftScale ? positiveNumber("--ttft-scale", f.ttftScale) : 1,
    chunksPerWrite: f.chunksPerWrite
      ? integerAtLeast("--chunks-per-write", f.chunksPerWrite, 1)
      : 1,
    recordSends: f.sendLog ?? false,
    // Raw: each send time is taken right before its socket write (raw_http.ts reports it).
    sendTimes: http === "raw" ? "write" : "enqueue",
    exposeSendLog: f.sendLog ?? false,
  });
  if (f.nice !== undefined) {
    const nice = integerAtLeast("--nice", f.nice, 0);
    if (nice > 19) throw new FlagError("--nice", f.nice, "0 to 19");
    lowerThreadPriority(nice);
  }
  if (http === "raw") {
    // The send log is the time the bytes left (raw_http.ts reports each write), not when the
    // handler enqueued them nor when an HTTP stack got round to pulling them.
    const server = serveRawHttp({ hostname: f.host, port }, scripted.app.fetch);
    console.log(`http://${server.addr.hostname}:${server.addr.port}`);
    const stop = () => void server.shutdown();
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
    await server.finished;
    Deno.removeSignalListener("SIGINT", stop);
    Deno.removeSignalListener("SIGTERM", stop);
    return;
  }
  const ac = new AbortController();
  const server = Deno.serve({
    hostname: f.host,
    port,
    signal: ac.signal,
    onListen: ({ hostname, port }) => console.log(`http://${hostname}:${port}`),
  }, scripted.app.fetch);
  const stop = () => ac.abort();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await server.finished;
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
}

/** Registers `tokentrace scripted-server` on `program`. */
export function addScriptedServerCommand(
  program: Command,
  exit: (code: number) => void,
): void {
  program.command("scripted-server")
    .description(
      "serve the scripted streaming server (known send times) until Ctrl-C",
    )
    .option("--host <addr>", "address to bind", "127.0.0.1")
    .option(
      "--port <n>",
      "port (0 picks a free one); the URL is printed on stdout",
      "0",
    )
    .option("--ttft-ms <ms>", "fixed part of the time to first token", "20")
    .option(
      "--ttft-per-token-ms <ms>",
      "time to first token added per prompt token",
      "0.02",
    )
    .option("--itl-ms <ms>", "gap between tokens", "10")
    .option("--fail-every <k>", "answer HTTP 500 to every k-th request")
    .option("--fail-status <code>", "... with this HTTP status instead of 500")
    .option(
      "--ttft-scale <x>",
      "multiply the time to first token (1.2 injects a +20% TTFT regression)",
    )
    .option(
      "--chunks-per-write <k>",
      "write k token chunks per socket write (a batching server: 0 ms gaps)",
    )
    .option(
      "--send-log",
      "record send times and serve them at GET /_tokentrace/send_log",
    )
    .option(
      "--http <impl>",
      "raw: own HTTP/1.1 over TCP, a chunk's send time taken just before its socket write; deno: Deno.serve",
      "raw",
    )
    .option(
      "--nice <n>",
      "run the serving thread at this nice value (0-19), to yield cores to a client on the same machine",
    )
    .action(async (opts) => {
      await scriptedServerCommand(opts);
      exit(0);
    });
}

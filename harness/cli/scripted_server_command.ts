/**
 * `tokentrace scripted-server`: the scripted OpenAI-compatible streaming server as a process of
 * its own, a peer with known send times for checking a harness (this one or another tool).
 *
 * @module
 */
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
  const scripted = createScriptedApp({
    timing: {
      ttftBaseMs: nonNegative("--ttft-ms", f.ttftMs),
      ttftPerInputTokenMs: nonNegative("--ttft-per-token-ms", f.ttftPerTokenMs),
      itlMs: nonNegative("--itl-ms", f.itlMs),
    },
    failEvery: f.failEvery
      ? integerAtLeast("--fail-every", f.failEvery, 1)
      : undefined,
    recordSends: f.sendLog ?? false,
    exposeSendLog: f.sendLog ?? false,
  });
  const port = integerAtLeast("--port", f.port, 0);
  const http = oneOf("--http", f.http ?? "raw", ["raw", "deno"] as const);
  if (f.nice !== undefined) {
    const nice = integerAtLeast("--nice", f.nice, 0);
    if (nice > 19) throw new FlagError("--nice", f.nice, "0 to 19");
    lowerThreadPriority(nice);
  }
  if (http === "raw") {
    // Chunks go to the socket in the turn they are enqueued (see raw_http.ts), so the send log
    // is the time the bytes left, not when an HTTP stack got round to pulling them.
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

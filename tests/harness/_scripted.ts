/**
 * Test helpers: a scripted server listening on 127.0.0.1 (port chosen by the OS) and temp paths.
 *
 * @module
 */
import {
  createScriptedApp,
  type ScriptedServerOptions,
} from "../../adapters/scripted/mod.ts";
import { synthesizePrompts, type TraceRequest } from "../../workloads/mod.ts";
import { OpenAIBackend } from "../../adapters/openai/mod.ts";

/**
 * The real HTTP backend, declared as timing its tokens off the sending thread (as the built-in
 * engine does), so that runs treat it as they treat the engine: the metronome's beats come
 * early and the sender spins; `auto` raises the pacing thread.
 */
export class ElsewhereBackend extends OpenAIBackend {
  readonly timesTokensElsewhere = true;
}

/** A listening scripted server; `close()` shuts it down. */
export function serveScripted(opts: ScriptedServerOptions = {}) {
  const scripted = createScriptedApp(opts);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    scripted.app.fetch,
  );
  return {
    ...scripted,
    url: `http://127.0.0.1:${server.addr.port}`,
    close: () => server.shutdown(),
  };
}

/** A fresh database path in a new temp folder. */
export async function tempDb(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "tokentrace-test-" });
  return `${dir}/results.duckdb`;
}

/** `n` token-id requests `r0, r1, ...`, `gapMs` apart, 8 prompt tokens and `outputTokens` each. */
export function reqs(
  n: number,
  gapMs: number,
  outputTokens = 3,
): TraceRequest[] {
  return synthesizePrompts(
    Array.from({ length: n }, (_, i) => ({
      id: `r${i}`,
      arrivalMs: i * gapMs,
      inputTokens: 8,
      outputTokens,
    })),
    { kind: "token_ids" },
  );
}

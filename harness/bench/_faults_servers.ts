/**
 * Fault campaign families against servers: hostile server modes (the client must end each
 * request with the precise error kind and keep every token before it) and idle-connection
 * floods against `tokentrace dashboard` and `serve` (they must still answer). 127.0.0.1 only.
 *
 * @module
 */
import { OpenAIBackend } from "../../adapters/openai/backend.ts";
import type { OpenAIBackendOptions } from "../../adapters/openai/options.ts";
import {
  HOSTILE_MODES,
  type HostileMode,
  startHostileServer,
} from "../../adapters/scripted/mod.ts";
import { Store } from "../store.ts";
import type { Family } from "./_faults_report.ts";

const TOKENS = 10;
const MOD = new URL("../../mod.ts", import.meta.url).pathname;

/** What each mode must end with: [terminal kind or error kind, tokens kept]. */
const EXPECTED: Record<HostileMode, [string, number]> = {
  "ok": ["done", TOKENS],
  "usage-high": ["done", TOKENS],
  "usage-low": ["done", TOKENS],
  "usage-negative": ["protocol", TOKENS],
  "huge-line": ["protocol", TOKENS],
  "bad-chunk-size": ["protocol", TOKENS],
  "endless": ["protocol", -1], // tokens up to the body bound
  "no-head": ["timeout_connect", 0],
  "stall": ["timeout_idle", TOKENS],
  "close-mid-body": ["network", TOKENS],
  "garbage-head": ["protocol", 0],
  "malformed-json": ["protocol", TOKENS],
  "error-object": ["stream", TOKENS],
  "http-500": ["http", 0],
  "no-done": ["done", TOKENS],
  "short-body": ["network", TOKENS],
  "huge-head": ["protocol", 0],
};

/** One request against `mode`; what it ended with (`done` or the error kind) and its tokens. */
async function oneRequest(
  mode: HostileMode,
  transport: "h1" | "fetch",
): Promise<{ end: string; tokens: number; message: string }> {
  const server = startHostileServer(mode, { tokens: TOKENS });
  const opts: OpenAIBackendOptions = {
    baseUrl: server.url,
    model: "hostile",
    transport,
    connectTimeoutMs: 500,
    idleTimeoutMs: 500,
    timeoutMs: 30_000,
    maxBodyBytes: 256 * 1024,
  };
  const backend = new OpenAIBackend(opts);
  let tokens = 0;
  let end = "none";
  let message = "";
  try {
    const req = {
      id: `q-${mode}`,
      maxTokens: TOKENS,
      minTokens: TOKENS,
      prompt: { kind: "token_ids" as const, ids: [1, 2, 3, 4] },
    };
    for await (
      const ev of backend.generate(req, new AbortController().signal)
    ) {
      if (ev.kind === "tokens") tokens++;
      if (ev.kind === "done") end = "done";
      if (ev.kind === "error") {
        end = ev.timeoutKind ? `timeout_${ev.timeoutKind}` : ev.errorKind;
        message = ev.message;
      }
    }
  } finally {
    await backend.close();
    await server.close();
  }
  return { end, tokens, message };
}

/**
 * Every hostile mode `rounds` times over the client's own HTTP/1.1 transport (the default for
 * `http://`), and the modes whose outcome does not depend on the transport over `fetch` too.
 */
export async function hostileFamily(rounds: number): Promise<Family> {
  const fam: Family = { name: "hostile server modes", tries: 0, failures: [] };
  const fetchModes: HostileMode[] = [
    "ok",
    "usage-high",
    "usage-negative",
    "huge-line",
    "endless",
    "malformed-json",
    "error-object",
    "http-500",
    "no-done",
    "stall",
  ];
  for (let r = 0; r < rounds; r++) {
    for (const mode of HOSTILE_MODES) {
      for (const transport of ["h1", "fetch"] as const) {
        if (transport === "fetch" && !fetchModes.includes(mode)) continue;
        fam.tries++;
        const [kind, tokens] = EXPECTED[mode];
        const got = await oneRequest(mode, transport);
        const tokensOk = tokens < 0 ? got.tokens > 0 : got.tokens === tokens;
        if (got.end !== kind || !tokensOk) {
          fam.failures.push(
            `${mode} (${transport}): expected ${kind} with ${
              tokens < 0 ? "some" : tokens
            } tokens, got ${got.end} with ${got.tokens} (${got.message})`,
          );
        }
      }
    }
  }
  return fam;
}

/** A server command as a process: its URL (first stdout line) and a stop function. */
async function startServer(args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MOD, ...args],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const first = await lines.read();
  if (first.done) throw new Error(`${args[0]} exited before listening`);
  return {
    url: first.value.trim(),
    async stop() {
      child.kill("SIGTERM");
      await lines.cancel();
      return await child.status;
    },
  };
}

/**
 * Floods a server with `conns` idle connections (no request byte), plus slow-header ones, then
 * checks that it answers a real request and is still alive; `rounds` times per server.
 */
export async function floodFamily(
  rounds: number,
  conns: number,
  withServe: boolean,
): Promise<Family> {
  const fam: Family = {
    name: `idle-connection flood (${conns} conns)`,
    tries: 0,
    failures: [],
  };
  const dir = await Deno.makeTempDir({ prefix: "tokentrace-flood-" });
  (await Store.open(`${dir}/r.duckdb`)).close();
  const targets: { name: string; args: string[]; path: string }[] = [
    {
      name: "dashboard",
      args: ["dashboard", "--db", `${dir}/r.duckdb`, "--port", "0"],
      path: "/",
    },
  ];
  if (withServe) {
    targets.push({
      name: "serve",
      args: [
        "serve",
        "--model",
        "tiny",
        "--port",
        "0",
        "--max-seqs",
        "4",
        "--max-context",
        "128",
        "--dtype",
        "f32",
      ],
      path: "/v1/models",
    });
  }
  for (const t of targets) {
    const server = await startServer(t.args);
    const { hostname, port } = new URL(server.url);
    try {
      for (let r = 0; r < rounds; r++) {
        fam.tries++;
        const open: Deno.TcpConn[] = [];
        try {
          for (let i = 0; i < conns; i++) {
            const c = await Deno.connect({ hostname, port: Number(port) });
            // Every tenth sends half a request head and stops (a slow-header client).
            if (i % 10 === 0) {
              await c.write(new TextEncoder().encode("GET / HTTP/1.1\r\nho"));
            }
            open.push(c);
          }
          const res = await fetch(`${server.url}${t.path}`);
          await res.body?.cancel();
          if (res.status !== 200) {
            fam.failures.push(`${t.name}: HTTP ${res.status} under the flood`);
          }
        } catch (e) {
          fam.failures.push(
            `${t.name}: ${(e as Error).message} under the flood`,
          );
        } finally {
          for (const c of open) {
            try {
              c.close();
            } catch { /* closed by the server */ }
          }
        }
      }
    } finally {
      const status = await server.stop();
      if (status.signal === null && status.code !== 0) {
        fam.failures.push(`${t.name}: exited with ${status.code}`);
      }
    }
  }
  return fam;
}

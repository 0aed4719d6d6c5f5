/**
 * `tokentrace serve`: the built-in engine as an OpenAI-compatible server. The only place the
 * engine's app is served (harness/http_server.ts: a connection limit and timeouts a hostile
 * client cannot get around); it binds 127.0.0.1 unless `--host` says otherwise.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import {
  createServeApp,
  openServingEngine,
  type ServingEngineOptions,
} from "../../adapters/webgpu/mod.ts";
import { openCodec, type TextCodec } from "../../adapters/webgpu/text/codec.ts";
import {
  ENGINE_FLAG_HELP,
  type EngineFlags,
  parseEngineFlags,
} from "./engine_flags.ts";
import { FlagError, integerAtLeast } from "./flags.ts";
import { addOptions, ENGINE_OPTIONS } from "./option_sets.ts";
import { type HttpLimits, serveHttp } from "../http_server.ts";
import {
  parseServerFlags,
  SERVER_FLAG_HELP,
  type ServerFlags,
} from "./server_flags.ts";

/** Raw `serve` flags. */
export interface ServeFlags extends EngineFlags, ServerFlags {
  host: string;
  port: string;
  apiKeyEnv?: string;
  servedModelName?: string;
  maxWaiting?: string;
  tokenizer?: string;
}

/** The validated `serve` configuration. */
export interface ServeConfig {
  engine: ServingEngineOptions;
  host: string;
  port: number;
  /** The bearer key, read from the environment variable `--api-key-env` names. */
  apiKey?: string;
  servedModelName?: string;
  /** Where the tokenizer is: `--tokenizer`, else the checkpoint folder (byte-level without one). */
  tokenizer?: string;
  /** Connection limit and timeouts of the HTTP server. */
  limits: HttpLimits;
}

/**
 * Validates `serve` flags; errors name the flag.
 *
 * @example
 * ```ts
 * import { parseServeConfig } from "./serve_command.ts";
 * console.log(parseServeConfig({ host: "127.0.0.1", port: "0", model: "tiny" }).host); // 127.0.0.1
 * ```
 */
export function parseServeConfig(
  f: ServeFlags,
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): ServeConfig {
  let apiKey: string | undefined;
  if (f.apiKeyEnv !== undefined) {
    apiKey = env(f.apiKeyEnv);
    if (!apiKey) {
      throw new FlagError(
        "--api-key-env",
        f.apiKeyEnv,
        "the name of a set, non-empty environment variable holding the API key",
      );
    }
  }
  const engine = parseEngineFlags(f);
  if (f.maxWaiting !== undefined) {
    engine.maxWaiting = integerAtLeast("--max-waiting", f.maxWaiting, 0);
  }
  return {
    engine,
    host: f.host,
    port: integerAtLeast("--port", f.port, 0),
    apiKey,
    servedModelName: f.servedModelName,
    tokenizer: f.tokenizer ?? engine.model,
    limits: parseServerFlags(f),
  };
}

/**
 * The codec `serve` uses: the tokenizer of `cfg.tokenizer` (a folder with `tokenizer.json`, or
 * the file), byte-level when there is none; a tokenizer whose ids do not fit the model's
 * vocabulary is refused.
 */
export async function serveCodec(
  cfg: ServeConfig,
  vocab: number,
): Promise<TextCodec> {
  let dir = cfg.tokenizer;
  if (dir !== undefined) {
    try {
      await Deno.stat(dir);
    } catch {
      if (dir === cfg.engine.model) dir = undefined; // a preset name
      else {
        throw new FlagError(
          "--tokenizer",
          dir,
          "a folder holding tokenizer.json (and tokenizer_config.json), or the tokenizer.json file",
        );
      }
    }
  }
  const codec = await openCodec(dir);
  if (codec.vocabSize > vocab) {
    throw new FlagError(
      "--tokenizer",
      codec.source,
      `a tokenizer whose ids fit the model's vocabulary of ${vocab} (it has ${codec.vocabSize})`,
    );
  }
  return codec;
}

/** Opens the engine and serves until the process is stopped (SIGINT/SIGTERM close it). */
export async function serveCommand(cfg: ServeConfig): Promise<void> {
  const engine = await openServingEngine(cfg.engine);
  let codec: TextCodec;
  try {
    codec = await serveCodec(cfg, engine.info.vocab);
  } catch (e) {
    await engine.close();
    throw e;
  }
  const app = createServeApp({
    loop: engine.loop,
    info: engine.info,
    codec,
    apiKey: cfg.apiKey,
    modelName: cfg.servedModelName,
  });
  let server;
  try {
    server = serveHttp(
      { hostname: cfg.host, port: cfg.port, ...cfg.limits },
      app.fetch,
    );
  } catch (e) {
    await engine.close();
    throw e;
  }
  const i = engine.info;
  console.error(
    `Engine: ${i.model} on ${i.adapter} (${i.dtype}), policy ${i.policy}, attention ${i.attention}, ` +
      `token budget ${i.tokenBudget}, ${i.maxSeqs} sequences, ${i.kvBlocks} KV blocks, ${i.stepsInFlight} steps in flight; ` +
      `text ${
        codec.kind === "bytes" ? "byte-level" : `by ${codec.source}`
      }; loaded in ${i.loadSeconds} s`,
  );
  const { hostname, port } = server.addr;
  console.log(
    `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`,
  );
  const s = server;
  const stop = () => void s.shutdown();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  try {
    await server.finished;
  } finally {
    Deno.removeSignalListener("SIGINT", stop);
    Deno.removeSignalListener("SIGTERM", stop);
    await engine.close();
  }
}

/** Adds the `serve` command to `program`; `exit` receives the exit code. */
export function addServeCommand(
  program: Command,
  exit: (code: number) => void,
): void {
  addOptions(
    program.command("serve")
      .description(
        "serve the built-in WebGPU engine as an OpenAI-compatible API (/v1/completions, /v1/chat/completions, /metrics)",
      )
      .option("--model <dir|preset>", ENGINE_FLAG_HELP.model, "tiny")
      .option(
        "--host <addr>",
        "address to bind (0.0.0.0 exposes the server to the network)",
        "127.0.0.1",
      )
      .option(
        "--port <n>",
        "port (0 picks a free one; the URL is printed)",
        "8000",
      )
      .option(
        "--api-key-env <var>",
        "require Authorization: Bearer <key>, the key read from this environment variable",
      )
      .option("--served-model-name <name>", "model id of /v1/models")
      .option("--max-connections <n>", SERVER_FLAG_HELP.maxConnections)
      .option("--header-timeout <s>", SERVER_FLAG_HELP.headerTimeout)
      .option("--keep-alive-timeout <s>", SERVER_FLAG_HELP.keepAliveTimeout)
      .option(
        "--tokenizer <dir>",
        "tokenizer.json (+ tokenizer_config.json with the chat template) for text in and out; default: the checkpoint folder's own, else byte-level text",
      )
      .option(
        "--max-waiting <n>",
        "waiting requests before answering 429",
        "1024",
      ),
    ENGINE_OPTIONS,
  ).action(async (o) => {
    await serveCommand(parseServeConfig(o as unknown as ServeFlags));
    exit(0);
  });
}

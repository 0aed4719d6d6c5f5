/**
 * The options of the OpenAI backend, their defaults and their validation.
 *
 * @module
 */
import { apiRoot } from "./endpoint.ts";
import { ENDPOINT_KINDS, type EndpointKind } from "./endpoint_kinds.ts";
import type { OpenAIApi } from "./request_body.ts";
import { DEFAULT_MAX_LINE_CHARS } from "./sse.ts";
import { DEFAULT_MAX_BODY_BYTES } from "./stream_events.ts";

/** Options of `OpenAIBackend`. */
export interface OpenAIBackendOptions {
  /** Server URL, with or without the trailing `/v1`, e.g. `http://127.0.0.1:8000`. */
  baseUrl: string;
  /** Endpoint to call. Default: `"completions"`. */
  api?: OpenAIApi;
  /** Model name; when absent, `OpenAIBackend.init()` takes the first id of `GET /v1/models`. */
  model?: string;
  /** Server family: which extra fields are sent (endpoint_kinds.ts). Default: `"openai"`. */
  endpointKind?: EndpointKind;
  /** Sent as `Authorization: Bearer <apiKey>` (see `apiKeyFromEnv`). Default: none. */
  apiKey?: string;
  /** Total time allowed per request, from `sent` to the end of the stream. Default: 600000 (10 min). */
  timeoutMs?: number;
  /** Time allowed from `sent` to the response headers. Default: none (only `timeoutMs`). */
  connectTimeoutMs?: number;
  /** Time allowed from `sent` to the first token-bearing chunk. Default: none. */
  firstTokenTimeoutMs?: number;
  /** Time allowed between consecutive chunks (after the headers). Default: none. */
  idleTimeoutMs?: number;
  /** The run clock in nanoseconds. Default: `performance.now()` relative to when the options were resolved. */
  nowNs?: () => bigint;
  /** Merged last into every request body. Default: none. */
  extraBody?: Record<string, unknown>;
  /**
   * What `GET /v1/models` said about the model (context, vocabulary, steps in flight), stored
   * with the run by `describe()`. Default: none.
   */
  servedModel?: Record<string, unknown>;
  /**
   * The served model's `tokenizer.json` (path): chunks that do not say how many tokens they
   * carry are counted with it (`chunkTokenCounter`). Default: none (1 token per chunk).
   */
  tokenizer?: string;
  /** Extra headers on every call (may override `authorization`). Default: none. */
  headers?: Record<string, string>;
  /**
   * How completions are sent: `h1`, tokentrace's own HTTP/1.1 client (keep-alive, ~1.7x less
   * client CPU per request than `fetch`, docs/perf.md; `http://` only), or `fetch`. Default
   * `auto`: `h1` for `http://` URLs unless an HTTP proxy is set in the environment, else `fetch`.
   */
  transport?: "auto" | "h1" | "fetch";
  /**
   * The sockets of the `h1` transport: `native` reads through libc and takes each token's time
   * from the kernel's receive time of its bytes (adapters/native_tcp.ts: Linux, `--allow-ffi`,
   * a numeric host or `localhost`; an error elsewhere), `deno` through `Deno.connect`, timing a
   * token when its read returns. Default `auto`: `native` where it can be, else `deno`.
   */
  sockets?: "auto" | "native" | "deno";
  /**
   * Longest SSE line and most bytes of a response body; past either the request ends with
   * `protocol` and memory stays bounded. Defaults: 1 Mi characters (`DEFAULT_MAX_LINE_CHARS`),
   * 256 MiB (`DEFAULT_MAX_BODY_BYTES`).
   */
  maxLineChars?: number;
  /**
   * Most bytes of one response body (see `maxLineChars`). Default 256 MiB
   * (`DEFAULT_MAX_BODY_BYTES`).
   */
  maxBodyBytes?: number;
}

/** {@linkcode OpenAIBackendOptions} with defaults applied and the base URL normalized. */
export interface ResolvedOpenAIOptions {
  /** The server's `/v1` root URL, without a trailing slash. */
  apiRoot: string;
  /** The streaming endpoint: `<apiRoot>/completions` or `<apiRoot>/chat/completions`. */
  url: string;
  /** Endpoint called: `completions` or `chat`. */
  api: OpenAIApi;
  /** Server family (which extra fields are sent). */
  endpointKind: EndpointKind;
  /** Model name; `undefined` until `OpenAIBackend.init()` takes it from `GET /v1/models`. */
  model: string | undefined;
  /** Bearer token, if any. */
  apiKey: string | undefined;
  /** Total time allowed per request, ms. */
  timeoutMs: number;
  /** Time allowed from `sent` to the response headers, ms; `undefined` = no limit of its own. */
  connectTimeoutMs: number | undefined;
  /** Time allowed from `sent` to the first token-bearing chunk, ms; `undefined` = no limit. */
  firstTokenTimeoutMs: number | undefined;
  /** Time allowed between consecutive chunks, ms; `undefined` = no limit. */
  idleTimeoutMs: number | undefined;
  /** The run clock, ns. */
  nowNs: () => bigint;
  /** Merged last into every request body. */
  extraBody: Record<string, unknown> | undefined;
  /** Extra headers on every call. */
  headers: Record<string, string> | undefined;
  /** `auto` resolved. */
  transport: "h1" | "fetch";
  /** As given (`auto` is resolved by the connection pool). */
  sockets: "auto" | "native" | "deno";
  /** Longest SSE line, characters. */
  maxLineChars: number;
  /** Most bytes of a response body. */
  maxBodyBytes: number;
}

/** Default of {@linkcode OpenAIBackendOptions.timeoutMs}: 10 minutes. */
export const DEFAULT_TIMEOUT_MS = 600_000;

/**
 * Validates the options once and applies their defaults.
 *
 * @throws {Error} When an option is invalid; the message names the option, the value seen and the
 * values expected.
 *
 * @example
 * ```ts
 * import { resolveOptions } from "./options.ts";
 * const o = resolveOptions({ baseUrl: "http://127.0.0.1:8000/v1/", api: "chat" });
 * console.log(o.url, o.endpointKind, o.timeoutMs); // http://127.0.0.1:8000/v1/chat/completions openai 600000
 * ```
 */
export function resolveOptions(
  opts: OpenAIBackendOptions,
): ResolvedOpenAIOptions {
  const root = apiRoot(opts.baseUrl);
  const api = opts.api ?? "completions";
  if (api !== "completions" && api !== "chat") {
    throw new Error(
      `OpenAIBackend option "api": expected "completions" or "chat", got ${
        JSON.stringify(api)
      }`,
    );
  }
  const endpointKind = opts.endpointKind ?? "openai";
  if (!ENDPOINT_KINDS.includes(endpointKind)) {
    throw new Error(
      `OpenAIBackend option "endpointKind": expected one of ${
        ENDPOINT_KINDS.join(", ")
      }, got ${JSON.stringify(endpointKind)}`,
    );
  }
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (
    typeof timeoutMs !== "number" || !(timeoutMs > 0) ||
    !Number.isFinite(timeoutMs)
  ) {
    throw new Error(
      `OpenAIBackend option "timeoutMs": expected a finite number of milliseconds > 0, got ${timeoutMs}`,
    );
  }
  const limit = (name: string, v: number | undefined) => {
    if (
      v !== undefined &&
      (typeof v !== "number" || !(v > 0) || !Number.isFinite(v))
    ) {
      throw new Error(
        `OpenAIBackend option "${name}": expected a finite number of milliseconds > 0, got ${v}`,
      );
    }
    return v;
  };
  const connectTimeoutMs = limit("connectTimeoutMs", opts.connectTimeoutMs);
  const firstTokenTimeoutMs = limit(
    "firstTokenTimeoutMs",
    opts.firstTokenTimeoutMs,
  );
  const idleTimeoutMs = limit("idleTimeoutMs", opts.idleTimeoutMs);
  if (
    opts.model !== undefined &&
    (typeof opts.model !== "string" || opts.model === "")
  ) {
    throw new Error(
      `OpenAIBackend option "model": expected a non-empty string, got ${
        JSON.stringify(opts.model)
      }`,
    );
  }
  const transportAsked = opts.transport ?? "auto";
  if (!["auto", "h1", "fetch"].includes(transportAsked)) {
    throw new Error(
      `OpenAIBackend option "transport": expected "auto", "h1" or "fetch", got ${
        JSON.stringify(opts.transport)
      }`,
    );
  }
  const url = `${root}/${api === "chat" ? "chat/completions" : "completions"}`;
  const plainHttp = new URL(url).protocol === "http:";
  if (transportAsked === "h1" && !plainHttp) {
    throw new Error(
      `OpenAIBackend option "transport": "h1" speaks http:// only, the URL is ${url}: use "fetch" or "auto"`,
    );
  }
  const transport = transportAsked === "auto"
    ? (plainHttp && !proxyInEnv() ? "h1" : "fetch")
    : transportAsked;
  const sockets = opts.sockets ?? "auto";
  if (!["auto", "native", "deno"].includes(sockets)) {
    throw new Error(
      `OpenAIBackend option "sockets": expected "auto", "native" or "deno", got ${
        JSON.stringify(opts.sockets)
      }`,
    );
  }
  const bound = (name: string, v: number | undefined, def: number) => {
    if (v === undefined) return def;
    if (!Number.isSafeInteger(v) || v < 1) {
      throw new Error(
        `OpenAIBackend option "${name}": expected an integer >= 1, got ${v}`,
      );
    }
    return v;
  };
  const maxLineChars = bound(
    "maxLineChars",
    opts.maxLineChars,
    DEFAULT_MAX_LINE_CHARS,
  );
  const maxBodyBytes = bound(
    "maxBodyBytes",
    opts.maxBodyBytes,
    DEFAULT_MAX_BODY_BYTES,
  );
  let nowNs = opts.nowNs;
  if (nowNs === undefined) {
    const originMs = performance.now();
    nowNs = () => BigInt(Math.round((performance.now() - originMs) * 1e6));
  }
  return {
    apiRoot: root,
    url,
    api,
    endpointKind,
    model: opts.model,
    apiKey: opts.apiKey,
    timeoutMs,
    connectTimeoutMs,
    firstTokenTimeoutMs,
    idleTimeoutMs,
    nowNs,
    extraBody: opts.extraBody,
    headers: opts.headers,
    transport,
    sockets,
    maxLineChars,
    maxBodyBytes,
  };
}

/** Whether an HTTP proxy is configured (then `fetch`, which honours it, sends). */
function proxyInEnv(): boolean {
  try {
    return ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"].some((k) =>
      (Deno.env.get(k) ?? "") !== ""
    );
  } catch {
    return false; // no env permission: no proxy can have been read either
  }
}

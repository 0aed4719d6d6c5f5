/**
 * The pre-flight check the CLI runs before a replay: is the server up, and which models does it
 * serve?
 *
 * @module
 */
import { describeFetchError, readTextCapped } from "./_http.ts";
import { apiRoot, baseHeaders } from "./endpoint.ts";

/** Options of {@linkcode checkReachable}. */
export interface CheckReachableOptions {
  /** Give up after this many milliseconds. Default: 5000. */
  timeoutMs?: number;
  /** Sent as `Authorization: Bearer <apiKey>`. Default: none. */
  apiKey?: string;
  /** Extra request headers. Default: none. */
  headers?: Record<string, string>;
}

const DEFAULT_TIMEOUT_MS = 5000;

/**
 * Checks that an OpenAI-compatible server answers `GET /v1/models` and returns its model ids.
 *
 * A 404 means the server is up but lists no models: the result is `[]`. A 2xx body that is not a
 * model list (`{"data": [{"id": ...}]}`, or a single `{"id": ...}` as some servers send) also
 * gives `[]`.
 *
 * @param baseUrl Server URL, with or without the trailing `/v1`.
 * @throws {Error} When the server cannot be reached, does not answer in time, refuses the API key
 * (401/403) or answers another non-2xx status; the message names the URL, what failed and what to
 * do.
 *
 * @example
 * ```ts
 * import { checkReachable } from "./reachable.ts";
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () =>
 *   Response.json({ object: "list", data: [{ id: "tiny-model", object: "model" }] }));
 * console.log(await checkReachable(`http://127.0.0.1:${server.addr.port}`)); // [ "tiny-model" ]
 * await server.shutdown();
 * ```
 */
export async function checkReachable(
  baseUrl: string,
  opts: CheckReachableOptions = {},
): Promise<string[]> {
  return (await servedModels(baseUrl, opts)).map((m) => m.id);
}

/**
 * A model a server lists at `GET /v1/models`, with the limits it states where it states them:
 * `maxModelLen` (prompt + output tokens: vLLM's and tokentrace's `max_model_len`; llama.cpp's
 * `meta.n_ctx_train` is the training context, not the server's, and is not used) and
 * `vocabSize` (tokentrace's `vocab_size`, llama.cpp's `meta.n_vocab`).
 */
export interface ServedModel {
  /** Model id (`id`), the name requests send as `model`. */
  id: string;
  /** `owned_by` as listed (vLLM says `vllm`, SGLang `sglang`, tokentrace serve `tokentrace`). */
  ownedBy?: string;
  /** Most tokens (prompt + output) the server accepts per request, where it says. */
  maxModelLen?: number;
  /** Vocabulary size, where the server says. */
  vocabSize?: number;
  /**
   * Steps the engine keeps in flight ahead of their readback (tokentrace serve's
   * `steps_in_flight`): with more than one, tokens reach clients in bursts.
   */
  stepsInFlight?: number;
}

/**
 * {@linkcode checkReachable} with what each listed model says about its limits.
 *
 * @example
 * ```ts
 * import { servedModels } from "./reachable.ts";
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () =>
 *   Response.json({ data: [{ id: "tiny", max_model_len: 512, vocab_size: 256 }] }));
 * console.log(await servedModels(`http://127.0.0.1:${server.addr.port}`)); // [ { id: "tiny", maxModelLen: 512, vocabSize: 256 } ]
 * await server.shutdown();
 * ```
 */
export async function servedModels(
  baseUrl: string,
  opts: CheckReachableOptions = {},
): Promise<ServedModel[]> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
    throw new Error(
      `checkReachable() option "timeoutMs": expected a number > 0, got ${timeoutMs}`,
    );
  }
  const url = `${apiRoot(baseUrl)}/models`;
  const headers = baseHeaders(opts.apiKey, opts.headers);
  headers.delete("content-type");
  let res: Response;
  let body: string;
  try {
    res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
    body = await readTextCapped(res, 1 << 20);
  } catch (e) {
    if (
      e instanceof DOMException &&
      (e.name === "TimeoutError" || e.name === "AbortError")
    ) {
      throw new Error(
        `Cannot reach ${url}: no response within ${timeoutMs} ms. Check that the server is up and not overloaded, or pass --url`,
      );
    }
    throw new Error(
      `Cannot reach ${url}: ${
        describeFetchError(e)
      }. Start the server or pass --url`,
    );
  }
  if (res.status === 404) return [];
  if (res.status === 401 || res.status === 403) {
    throw new Error(
      `Server at ${url} refused the request: HTTP ${res.status} ${
        short(body)
      }. Check the API key (the CLI reads OPENAI_API_KEY unless told another variable)`,
    );
  }
  if (!res.ok) {
    throw new Error(
      `Server at ${url} answered HTTP ${res.status} ${
        short(body)
      }. Check the server log, or pass --url if this is not an OpenAI-compatible server`,
    );
  }
  return modelList(body);
}

function modelList(body: string): ServedModel[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return [];
  }
  if (typeof parsed !== "object" || parsed === null) return [];
  const obj = parsed as Record<string, unknown>;
  const entries = Array.isArray(obj.data) ? obj.data : [obj];
  const out: ServedModel[] = [];
  for (const m of entries) {
    if (typeof m !== "object" || m === null) continue;
    const e = m as Record<string, unknown>;
    if (typeof e.id !== "string") continue;
    const meta = typeof e.meta === "object" && e.meta !== null
      ? e.meta as Record<string, unknown>
      : {};
    const model: ServedModel = { id: e.id };
    if (typeof e.owned_by === "string") model.ownedBy = e.owned_by;
    const len = positiveInt(e.max_model_len);
    const vocab = positiveInt(e.vocab_size) ?? positiveInt(meta.n_vocab);
    const steps = positiveInt(e.steps_in_flight);
    if (len !== undefined) model.maxModelLen = len;
    if (vocab !== undefined) model.vocabSize = vocab;
    if (steps !== undefined) model.stepsInFlight = steps;
    out.push(model);
  }
  return out;
}

function positiveInt(v: unknown): number | undefined {
  return typeof v === "number" && Number.isInteger(v) && v > 0 ? v : undefined;
}

function short(body: string): string {
  const oneLine = body.replace(/\s+/g, " ").trim();
  return JSON.stringify(
    oneLine.length > 200 ? `${oneLine.slice(0, 200)}...` : oneLine,
  );
}

/**
 * Asks a vLLM or SGLang server for its version (`GET /version`, outside `/v1`); `undefined` when
 * it does not answer within 2 s with `{"version": "..."}`. Never throws: the version is nice to
 * have, never required.
 *
 * @example
 * ```ts
 * import { serverVersion } from "./reachable.ts";
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () =>
 *   Response.json({ version: "0.11.0" }));
 * console.log(await serverVersion(`http://127.0.0.1:${server.addr.port}/v1`)); // 0.11.0
 * await server.shutdown();
 * ```
 */
export async function serverVersion(
  baseUrl: string,
  apiKey?: string,
  headers?: Record<string, string>,
): Promise<string | undefined> {
  try {
    const url = `${apiRoot(baseUrl).slice(0, -"/v1".length)}/version`;
    const h = baseHeaders(apiKey, headers);
    h.delete("content-type");
    const res = await fetch(url, {
      headers: h,
      signal: AbortSignal.timeout(2000),
    });
    const text = await readTextCapped(res, 4096);
    if (!res.ok) return undefined;
    const v = (JSON.parse(text) as Record<string, unknown>).version;
    return typeof v === "string" ? v : undefined;
  } catch {
    return undefined;
  }
}

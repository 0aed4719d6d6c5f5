/**
 * The OpenAI-compatible streaming backend: sends each trace request to `/v1/completions` or
 * `/v1/chat/completions` with `stream: true` and reports the time of every streamed chunk.
 *
 * Over ~400 lines as one class: `OpenAIBackend` keeps both transports, the push and pull forms
 * of one read loop, timeouts and the drain of a cancelled stream together, because each failure
 * path must end a request with exactly one terminal event; the request body (request_body.ts),
 * framing (sse_bytes.ts), chunk reading (chunk_scan.ts, chunk.ts) and HTTP/1.1 (_h1.ts) are
 * apart.
 *
 * @module
 */
import type {
  Backend,
  BackendInfo,
  ErrorKind,
  GenerateRequest,
  PortableBackend,
  SendHandoff,
  StreamEvent,
  StreamSink,
  TimeoutKind,
} from "../backend.ts";
import { eventSink, pull } from "../stream_sink.ts";
import {
  type ChunkReader,
  describeFetchError,
  drainBody,
  readReaderCapped,
  reusingReader,
} from "./_http.ts";
import { H1Error, H1Pool } from "./_h1.ts";
import { baseHeaders } from "./endpoint.ts";
import {
  type OpenAIBackendOptions,
  type ResolvedOpenAIOptions,
  resolveOptions,
} from "./options.ts";
import { checkReachable, serverVersion } from "./reachable.ts";
import { buildRequestBody } from "./request_body.ts";
import { pumpEvents, type TerminalEvent } from "./stream_events.ts";
import {
  loadTokenizer,
  type TextTokenizer,
} from "../../workloads/tokenizer.ts";
import { chunkTokenCounter } from "./chunk_tokens.ts";

type Terminal = TerminalEvent;
type Stop = TimeoutKind | "cancelled";
interface InFlight {
  ctl: AbortController;
  stop: Stop | undefined;
}

const MODEL_LIST_TIMEOUT_MS = 10_000;
const encoder = new TextEncoder();

/** A response head from either transport; the body is read through `reader()`. */
interface Sent {
  ok: boolean;
  status: number;
  statusText: string;
  headers: Headers;
  /** The body's reader (one per response), or null when there is no body. */
  reader(): ChunkReader | null;
  /** Releases a body that was read only in part. */
  cancel(): void;
}
/** How long to wait for the end of the body after `[DONE]`, so the connection can be reused. */
const DRAIN_MS = 1000;
/** The reason a request's own controller is aborted with once the request has ended. */
const REQUEST_ENDED = "request ended";

/**
 * A {@linkcode Backend} for any OpenAI-compatible HTTP server (vLLM, SGLang, OpenAI, ...).
 *
 * {@linkcode OpenAIBackend.stream} pushes the same events into a sink from the read loop (what
 * the harness uses: no event object or iterator step per chunk); `generate()` is its pull form.
 *
 * Per request it yields `sent` (timestamp taken just before `fetch`), `first_byte` (first body
 * bytes), then `tokens` / `usage` events and exactly one `done` or `error`. All SSE events parsed
 * from one network read share the timestamp taken right after that read resolved, before parsing.
 * Each token-bearing chunk counts as one token per channel (see `interpretChunk`): the output
 * length is what was streamed, the server's `usage.completion_tokens` is kept beside it. When the
 * server reports usage more than once (vLLM `continuous_usage_stats`), each report is yielded;
 * the last one is kept. An impossible usage (a negative count, say) ends the request with
 * `protocol`.
 *
 * Failures never throw: non-2xx gives `http` (message: the body, cut at 2 KiB); an error object
 * in the stream gives `stream`; a refused or broken connection gives `network`; bytes that are
 * not valid HTTP/1.1 (a bad chunk size, a head over 64 KiB) or SSE past its bounds (`maxLineChars`,
 * `maxBodyBytes`) give `protocol`, after every token that came before; `timeoutMs`
 * elapsing gives `timeout`; aborting the signal or {@linkcode OpenAIBackend.close} gives
 * `cancelled`; a bad prompt or a stream that ends with neither `[DONE]` nor tokens gives
 * `protocol`. A stream that closes without `[DONE]` after tokens is `done` with the last
 * `finish_reason`, or `"eos_no_done"` when there was none; `[DONE]` without a `finish_reason`
 * gives `"unknown"`.
 *
 * @example
 * ```ts
 * import { OpenAIBackend } from "./backend.ts";
 * const sse = 'data: {"choices":[{"text":"Hi","finish_reason":"length"}]}\n\ndata: [DONE]\n\n';
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () =>
 *   new Response(sse, { headers: { "content-type": "text/event-stream" } }));
 * const backend = new OpenAIBackend({
 *   baseUrl: `http://127.0.0.1:${server.addr.port}`,
 *   model: "tiny",
 *   endpointKind: "vllm",
 * });
 * const req = {
 *   id: "0",
 *   maxTokens: 1,
 *   minTokens: 1,
 *   prompt: { kind: "token_ids" as const, ids: [1, 2] },
 * };
 * const kinds: string[] = [];
 * for await (const ev of backend.generate(req, new AbortController().signal)) kinds.push(ev.kind);
 * console.log(kinds); // [ "sent", "first_byte", "tokens", "done" ]
 * await backend.close();
 * await server.shutdown();
 * ```
 */
export class OpenAIBackend implements Backend {
  /** Backend kind, as stored with the run. */
  readonly name = "openai";
  /** The server's `/v1` root URL. */
  readonly apiRoot: string;
  /**
   * Where token times come from: `kernel`, the kernel's receive time of each read's bytes
   * (native sockets), or `read`, the time the read returned to JavaScript (Deno's sockets,
   * `fetch`). Stored with the run (`describe()`).
   */
  get receiveTimes(): "kernel" | "read" {
    return this.#h1?.receiveTimes ?? "read";
  }
  /**
   * Open-loop sends are handed over (`StreamSink.handoff`) where requests go on native sockets:
   * the metronome's thread writes them at their send times (harness/armed_sends.ts).
   */
  get takesSendHandoffs(): boolean {
    return this.#h1?.receiveTimes === "kernel";
  }
  readonly #o: ResolvedOpenAIOptions;
  readonly #given: OpenAIBackendOptions;
  #model: string | undefined;
  #models: string[] | undefined;
  #init: Promise<string> | undefined;
  #closed = false;
  readonly #inFlight = new Set<InFlight>();
  /** Keep-alive connections of the `h1` transport. */
  readonly #h1: H1Pool | undefined;
  readonly #path: string;
  /** The tokenizer that counts chunks, loaded on first use. */
  #tokenizer: Promise<TextTokenizer> | undefined;

  /**
   * Resolves and validates the options (`resolveOptions`); `init()` asks the server for the model.
   *
   * @throws {Error} When an option is invalid; the message names the option and the value.
   */
  constructor(opts: OpenAIBackendOptions) {
    this.#o = resolveOptions(opts);
    this.#given = opts;
    const url = new URL(this.#o.url);
    this.#path = url.pathname + url.search;
    this.#h1 = this.#o.transport === "h1"
      ? new H1Pool(url, undefined, undefined, this.#o.sockets)
      : undefined;
    this.apiRoot = this.#o.apiRoot;
    this.#model = this.#o.model;
    if (opts.tokenizer !== undefined) {
      this.#tokenizer = loadTokenizer(opts.tokenizer);
      this.#tokenizer.catch(() => {}); // reported by the first request
    }
  }

  /**
   * Resolves the model name: the `model` option, else the first id listed by `GET /v1/models`.
   * Call it (or {@linkcode OpenAIBackend.describe}) before a run so the first request does not
   * pay for the lookup.
   *
   * @throws {Error} When the server cannot be reached or lists no model.
   */
  init(): Promise<string> {
    if (this.#model !== undefined) return Promise.resolve(this.#model);
    this.#init ??= (async () => {
      const ids = await checkReachable(this.apiRoot, {
        apiKey: this.#o.apiKey,
        headers: this.#o.headers,
        timeoutMs: Math.min(this.#o.timeoutMs, MODEL_LIST_TIMEOUT_MS),
      });
      this.#models = ids;
      if (ids.length === 0) {
        throw new Error(
          `No model given and GET ${this.apiRoot}/models listed none: pass the model name (option "model")`,
        );
      }
      this.#model = ids[0];
      return ids[0];
    })();
    const p = this.#init;
    p.catch(() => {
      if (this.#init === p) this.#init = undefined; // allow a retry
    });
    return p;
  }

  /**
   * The options to rebuild this backend in a sender worker (model resolved, clock left out:
   * each thread brings its own view of the run clock).
   */
  async portable(): Promise<PortableBackend> {
    const { nowNs: _, ...options } = this.#given;
    return {
      moduleUrl: import.meta.url,
      options: { ...options, model: await this.init() },
    };
  }

  /**
   * Model, URL, API and server family (plus the server's `/version` when it answers), stored with
   * the run.
   */
  async describe(): Promise<BackendInfo> {
    const model = await this.init();
    const info: BackendInfo = {
      backend: this.name,
      model,
      baseUrl: this.apiRoot,
      api: this.#o.api,
      endpointKind: this.#o.endpointKind,
      timeoutMs: this.#o.timeoutMs,
      transport: this.#o.transport,
      receiveTimes: this.receiveTimes,
    };
    if (this.#h1?.nativeRefused !== undefined) {
      info.nativeSocketsRefused = this.#h1.nativeRefused;
    }
    if (this.#models !== undefined) info.models = this.#models;
    if (this.#o.extraBody !== undefined) info.extraBody = this.#o.extraBody;
    if (this.#given.servedModel !== undefined) {
      info.servedModel = this.#given.servedModel;
    }
    const version = this.#o.endpointKind === "openai"
      ? undefined
      : await serverVersion(this.apiRoot, this.#o.apiKey, this.#o.headers);
    if (version !== undefined) info.serverVersion = version;
    return info;
  }

  /** Sends one request and yields its events; see the class documentation. */
  generate(
    req: GenerateRequest,
    signal: AbortSignal,
  ): AsyncGenerator<StreamEvent, void, undefined> {
    // A consumer that stops iterating cancels the request, as leaving a generator did.
    const stop = new AbortController();
    return pull<StreamEvent, void>(
      (push) =>
        this.stream(
          req,
          AbortSignal.any([signal, stop.signal]),
          eventSink(push),
        ),
      () => stop.abort(),
    );
  }

  /**
   * Sends one request and pushes its events into `sink` from the read loop (the events
   * `generate()` yields, in the same order); resolves after the `done` or `error` event.
   */
  async stream(
    req: GenerateRequest,
    signal: AbortSignal,
    sink: StreamSink,
  ): Promise<void> {
    const now = this.#o.nowNs;
    if (signal.aborted || this.#closed) {
      sink.event(fail(
        now(),
        "cancelled",
        `Request ${req.id}: cancelled before it was sent`,
      ));
      return;
    }
    let model = this.#model;
    if (model === undefined) {
      try {
        model = await this.init();
      } catch (e) {
        // Listed but empty is the server's answer; anything else is a failure to ask.
        sink.event(fail(
          now(),
          this.#models?.length === 0 ? "protocol" : "network",
          `Request ${req.id}: cannot resolve the model: ${
            (e as Error).message
          }`,
        ));
        return;
      }
    }
    const built = buildRequestBody(req, {
      api: this.#o.api,
      endpointKind: this.#o.endpointKind,
      model,
      extraBody: this.#o.extraBody,
    });
    if (!built.ok) {
      sink.event(fail(now(), "protocol", built.message));
      return;
    }
    let counter: TextTokenizer | undefined;
    if (this.#tokenizer !== undefined) {
      try {
        counter = await this.#tokenizer; // loaded once, before anything is timed
      } catch (e) {
        sink.event(fail(
          now(),
          "protocol",
          `Request ${req.id}: cannot count chunk tokens: ${
            (e as Error).message
          }`,
        ));
        return;
      }
    }
    const payload = JSON.stringify(built.body);
    const headers = baseHeaders(this.#o.apiKey, this.#o.headers);
    headers.set("accept", "text/event-stream");
    headers.set("x-request-id", req.id);

    const flight: InFlight = { ctl: new AbortController(), stop: undefined };
    const stopWith = (why: Stop) => {
      flight.stop ??= why;
      flight.ctl.abort();
    };
    const onAbort = () => stopWith("cancelled");
    signal.addEventListener("abort", onAbort, { once: true });
    this.#inFlight.add(flight);
    // Aborted or closed while the model was being looked up: fetch sees an aborted signal.
    if (signal.aborted || this.#closed) stopWith("cancelled");
    const o = this.#o;
    const timer = setTimeout(() => stopWith("total"), o.timeoutMs);
    const connectTimer = o.connectTimeoutMs === undefined
      ? undefined
      : setTimeout(() => stopWith("connect"), o.connectTimeoutMs);
    let firstTokenTimer = o.firstTokenTimeoutMs === undefined
      ? undefined
      : setTimeout(() => stopWith("first_token"), o.firstTokenTimeoutMs);
    let idleTimer: ReturnType<typeof setTimeout> | undefined;
    const armIdle = o.idleTimeoutMs === undefined ? undefined : () => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => stopWith("idle"), o.idleTimeoutMs);
    };
    let reader: ChunkReader | undefined;
    let drain = false;
    try {
      // A handed-over send is timed at its `send()` (harness/armed_sends.ts), by its age then.
      const handoff = this.takesSendHandoffs ? sink.handoff : undefined;
      let sentSeen = handoff === undefined;
      const onSent = handoff === undefined ? undefined : (wallMs: number) => {
        sentSeen = true;
        const ageMs = performance.timeOrigin + performance.now() - wallMs;
        sink.event({
          kind: "sent",
          tNs: now() - BigInt(Math.round(Math.max(0, ageMs) * 1e6)),
        });
      };
      const tSent = now();
      // Settle into a value so a rejection while the sink handles `sent` is never unhandled.
      const pending = this.#send(
        headers,
        payload,
        flight.ctl.signal,
        handoff,
        onSent,
      ).then(
        (res) => ({ res }),
        (error: unknown) => ({ error }),
      );
      if (handoff === undefined) sink.event({ kind: "sent", tNs: tSent });
      const got = await pending;
      // Failed before its send (no connection): its attempt is what was sent, as without one.
      if (!sentSeen) sink.event({ kind: "sent", tNs: now() });
      clearTimeout(connectTimer);
      if ("error" in got) {
        sink.event(this.#failure(
          req,
          flight,
          now(),
          "before the response headers",
          got.error,
        ));
        return;
      }
      const res = got.res;
      if (!res.ok) {
        let text: string;
        try {
          const r = res.reader();
          text = r === null ? "" : await readReaderCapped(r, res.cancel);
        } catch (e) {
          sink.event(this.#failure(
            req,
            flight,
            now(),
            `while reading the HTTP ${res.status} error body`,
            e,
          ));
          return;
        }
        const message = text !== ""
          ? text
          : `HTTP ${res.status} ${res.statusText} with an empty body`;
        sink.event({
          kind: "error",
          tNs: now(),
          status: res.status,
          errorKind: "http",
          message,
        });
        return;
      }
      reader = res.reader() ?? undefined;
      if (reader === undefined) {
        sink.event(fail(
          now(),
          "protocol",
          `Request ${req.id}: POST ${this.#o.url} answered ${res.status} with no body`,
        ));
        return;
      }
      // The first-token and idle limits see each event on its way to the sink.
      const watched: StreamSink = firstTokenTimer === undefined &&
          armIdle === undefined
        ? sink
        : {
          wantsText: sink.wantsText,
          tokens(tNs, count, channel, text) {
            if (firstTokenTimer !== undefined) {
              clearTimeout(firstTokenTimer);
              firstTokenTimer = undefined;
            }
            armIdle?.();
            sink.tokens(tNs, count, channel, text);
          },
          usage(tNs, promptTokens, completionTokens, cachedTokens) {
            armIdle?.();
            sink.usage(tNs, promptTokens, completionTokens, cachedTokens);
          },
          event(ev) {
            armIdle?.();
            sink.event(ev);
          },
        };
      armIdle?.();
      const terminal = await pumpEvents(reader, {
        nowNs: now,
        countTokens: counter && chunkTokenCounter(counter),
        label: `Request ${req.id}`,
        source: `POST ${this.#o.url}`,
        contentType: res.headers.get("content-type"),
        sse: { maxLineChars: o.maxLineChars },
        maxBodyBytes: o.maxBodyBytes,
        onReadError: (e, tNs, chunks) =>
          this.#failure(
            req,
            flight,
            tNs,
            `while streaming, after ${chunks} token chunks`,
            e,
          ),
      }, watched);
      drain = terminal.kind === "done";
      sink.event(terminal);
    } catch (e) {
      // Only a bug gets here; keep the "never throws" contract and say what happened.
      sink.event(fail(
        now(),
        "protocol",
        `Request ${req.id}: internal error in OpenAIBackend: ${
          (e as Error)?.stack ?? e
        }`,
      ));
    } finally {
      clearTimeout(timer);
      clearTimeout(connectTimer);
      clearTimeout(firstTokenTimer);
      clearTimeout(idleTimer);
      signal.removeEventListener("abort", onAbort);
      if (reader !== undefined && drain) {
        await drainBody(reader, flight.ctl, DRAIN_MS);
      }
      // With a reason: `abort()` without one builds a DOMException with a stack at every
      // request's end (7 us against 17 ns in isolation; docs/perf.md, "Continued (tail13f)").
      // Nothing reads this reason: the request's outcome is already decided.
      flight.ctl.abort(REQUEST_ENDED);
      this.#inFlight.delete(flight);
    }
  }

  /** POSTs a completion request by the configured transport. */
  async #send(
    headers: Headers,
    payload: string,
    signal: AbortSignal,
    handoff?: SendHandoff,
    sent?: (wallMs: number) => void,
  ): Promise<Sent> {
    if (this.#h1) {
      const res = await this.#h1.request(
        "POST",
        this.#path,
        [...headers],
        encoder.encode(payload),
        signal,
        handoff,
        sent,
      );
      return {
        ok: res.status >= 200 && res.status < 300,
        status: res.status,
        statusText: res.statusText,
        headers: res.headers,
        reader: () => res.body,
        cancel: () => res.body.cancel(),
      };
    }
    const res = await fetch(this.#o.url, {
      method: "POST",
      headers,
      body: payload,
      signal,
    });
    // One reader per body; cancelling goes through it (the body itself is locked by then).
    let reader: ReturnType<typeof reusingReader> | undefined;
    return {
      ok: res.ok,
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
      reader: () =>
        res.body === null ? null : (reader ??= reusingReader(res.body)),
      cancel: () =>
        void (reader ? reader.cancel() : res.body?.cancel())?.catch(() => {}),
    };
  }

  /**
   * Aborts requests in flight (they end with `cancelled`); later requests are cancelled at once.
   */
  close(): Promise<void> {
    this.#closed = true;
    this.#h1?.close();
    for (const f of this.#inFlight) {
      f.stop ??= "cancelled";
      f.ctl.abort();
    }
    return Promise.resolve();
  }

  /**
   * The error event for a failed fetch or read: timeout or cancel when we aborted, else network.
   */
  #failure(
    req: GenerateRequest,
    flight: InFlight,
    tNs: bigint,
    phase: string,
    e: unknown,
  ): Terminal {
    const stop = flight.stop;
    if (stop !== undefined && stop !== "cancelled") {
      const o = this.#o;
      const what = {
        total: `no complete response within ${o.timeoutMs} ms`,
        connect: `no response headers within ${o.connectTimeoutMs} ms`,
        first_token: `no token within ${o.firstTokenTimeoutMs} ms`,
        idle: `no chunk for ${o.idleTimeoutMs} ms`,
      }[stop];
      return {
        kind: "error",
        tNs,
        errorKind: "timeout",
        timeoutKind: stop,
        message:
          `Request ${req.id}: ${stop} timeout: ${what} (timed out ${phase})`,
      };
    }
    if (flight.stop === "cancelled") {
      return fail(
        tNs,
        "cancelled",
        `Request ${req.id}: cancelled ${phase}`,
      );
    }
    if (e instanceof H1Error && e.framing) {
      return fail(
        tNs,
        "protocol",
        `Request ${req.id}: POST ${this.#o.url} sent bytes that are not valid HTTP/1.1 ${phase}: ${e.message}`,
      );
    }
    return fail(
      tNs,
      "network",
      `Request ${req.id}: POST ${this.#o.url} failed ${phase}: ${
        describeFetchError(e)
      }`,
    );
  }
}

function fail(tNs: bigint, errorKind: ErrorKind, message: string): Terminal {
  return { kind: "error", tNs, errorKind, message };
}

/**
 * Builds an {@linkcode OpenAIBackend} in a sender worker from {@linkcode OpenAIBackend.portable}'s
 * options.
 */
export function createPortableBackend(
  options: unknown,
  nowNs: () => bigint,
): OpenAIBackend {
  return new OpenAIBackend({ ...(options as OpenAIBackendOptions), nowNs });
}

/**
 * The engine's side of the engine protocol (`_engine_protocol.ts`), whatever hosts it: opens the
 * serving engine (device, model, loop) and serves the requests {@link WebGPUBackend} forwards.
 * `_engine_process.ts` (the default) and `_engine_worker.ts` bind it to their transport.
 *
 * Events and records of one step leave in one message: they are collected while the loop
 * completes a step (synchronously) and posted on the next macrotask.
 *
 * @module
 */
import { lowerThreadPriority } from "../thread_priority.ts";
import type { EngineStepRow, EngineTokenRow } from "../backend.ts";
import { QueueFullError } from "./serving/engine_request.ts";
import { prepareGpuEnv } from "./step/gpu_env.ts";
import type { EngineEvent, FromEngine, ToEngine } from "./_engine_protocol.ts";
import {
  openServingEngine,
  type ServingEngine,
} from "./serving/serving_engine.ts";

/** How the host applies a nice value: to its own thread (a worker) or to every thread it has. */
export type LowerPriority = (nice: number) => void;

/**
 * Serves the engine protocol: returns the handler of one incoming message; `post` sends one
 * outgoing message. `lower` sets the nice value before the device exists (so that the driver
 * threads started with it inherit it), and once more after it is open (for a process: the
 * threads the driver started elsewhere).
 */
export function engineService(
  post: (m: FromEngine) => void,
  lower: LowerPriority = (n) => lowerThreadPriority(n),
): (m: ToEngine) => Promise<void> {
  let engine: ServingEngine | undefined;
  let events: EngineEvent[] = [];
  let steps: EngineStepRow[] = [];
  let tokens: EngineTokenRow[] = [];
  let flushQueued = false;
  const cancels = new Map<string, AbortController>();

  const flush = () => {
    flushQueued = false;
    if (events.length + steps.length + tokens.length === 0) return;
    post({ op: "events", events, steps, tokens });
    events = [];
    steps = [];
    tokens = [];
  };
  const queue = () => {
    if (flushQueued) return;
    flushQueued = true;
    setTimeout(flush, 0);
  };

  const serve = async (m: Extract<ToEngine, { op: "submit" }>) => {
    const e = engine!;
    const ac = new AbortController();
    let stream;
    try {
      stream = e.loop.submit({
        id: m.id,
        prompt: m.prompt,
        maxTokens: m.maxTokens,
        minTokens: m.minTokens,
        ignoreEos: m.ignoreEos,
      }, ac.signal);
    } catch (err) {
      events.push({
        id: m.id,
        kind: "rejected",
        status: err instanceof QueueFullError ? 429 : 400,
        message: (err as Error).message,
      });
      queue();
      return;
    }
    cancels.set(m.id, ac);
    try {
      for await (const ev of stream) {
        if (ev.kind === "token") {
          events.push({
            id: m.id,
            kind: "token",
            tNs: ev.gpuNs ?? ev.deliveredNs,
          });
        } else if (ev.kind === "done") {
          events.push({
            id: m.id,
            kind: "done",
            finishReason: ev.finishReason,
            promptTokens: ev.promptTokens,
            completionTokens: ev.completionTokens,
            cachedTokens: ev.cachedTokens,
          });
        } else {
          events.push({ id: m.id, kind: "error", message: ev.message });
        }
        queue();
      }
    } finally {
      cancels.delete(m.id);
    }
  };

  return async (m: ToEngine) => {
    try {
      if (m.op === "ping") {
        post({
          op: "pong",
          seq: m.seq,
          wallMs: performance.timeOrigin + performance.now(),
        });
      } else if (m.op === "open") {
        const nice = m.nice === "auto"
          ? (await softwareAdapter() ? 10 : 0)
          : m.nice;
        if (nice > 0) lower(nice);
        const originMs = m.clockWallOriginMs - performance.timeOrigin;
        engine = await openServingEngine({
          ...m.opts,
          nowNs: () => BigInt(Math.round((performance.now() - originMs) * 1e6)),
        });
        if (nice > 0) lower(nice);
        post({
          op: "opened",
          info: engine.info,
          gpuClockOffsetNs: engine.loop.gpuClock.offsetNs?.toString() ?? null,
          nice,
        });
      } else if (m.op === "submit") {
        void serve(m).catch((err) => {
          events.push({
            id: m.id,
            kind: "error",
            message: (err as Error).message,
          });
          queue();
        });
      } else if (m.op === "cancel") {
        cancels.get(m.id)?.abort();
      } else if (m.op === "records") {
        const loop = engine!.loop;
        if (m.on) {
          loop.onStep = (r) => {
            steps.push(r);
            queue();
          };
          loop.onToken = (r) => {
            tokens.push(r);
            queue();
          };
        } else loop.onStep = loop.onToken = undefined;
      } else if (m.op === "close") {
        await engine?.close();
        flush();
        post({ op: "closed" });
      }
    } catch (err) {
      post({ op: "error", message: (err as Error).message });
    }
  };
}

/** Whether the default adapter is a software one (its kernels run on the CPU's cores). */
async function softwareAdapter(): Promise<boolean> {
  prepareGpuEnv();
  const a = await navigator.gpu?.requestAdapter({
    powerPreference: "high-performance",
  });
  if (!a) return false;
  const info = a.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  return info.isFallbackAdapter === true ||
    /llvmpipe|lavapipe|swiftshader/i.test(info.description ?? "");
}

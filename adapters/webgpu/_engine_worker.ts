/**
 * The engine's thread: opens the serving engine (device, model, loop) and serves the requests
 * {@link WebGPUBackend} forwards. Everything the engine computes, and on a CPU adapter the
 * driver's rasterizer threads it starts, stays off the thread that paces the run and reads
 * the clock for it.
 *
 * Events and records of one step leave in one message: they are collected while the loop
 * completes a step (synchronously) and posted on the next macrotask.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { lowerThreadPriority } from "../thread_priority.ts";
import type { EngineStepRow, EngineTokenRow } from "../backend.ts";
import { QueueFullError } from "./serving/engine_request.ts";
import { ensureRuntimeDir } from "./step/gpu_env.ts";
import type { EngineEvent, FromEngine, ToEngine } from "./_engine_protocol.ts";
import {
  openServingEngine,
  type ServingEngine,
} from "./serving/serving_engine.ts";

let engine: ServingEngine | undefined;
let events: EngineEvent[] = [];
let steps: EngineStepRow[] = [];
let tokens: EngineTokenRow[] = [];
let flushQueued = false;
const cancels = new Map<string, AbortController>();
const post = (m: FromEngine) => self.postMessage(m);

function queue(): void {
  if (flushQueued) return;
  flushQueued = true;
  setTimeout(flush, 0);
}

function flush(): void {
  flushQueued = false;
  if (events.length + steps.length + tokens.length === 0) return;
  post({ op: "events", events, steps, tokens });
  events = [];
  steps = [];
  tokens = [];
}

async function serve(m: Extract<ToEngine, { op: "submit" }>): Promise<void> {
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
}

/** Whether the default adapter is a software one (its kernels run on the CPU's cores). */
async function softwareAdapter(): Promise<boolean> {
  ensureRuntimeDir();
  const a = await navigator.gpu?.requestAdapter({
    powerPreference: "high-performance",
  });
  if (!a) return false;
  const info = a.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  return info.isFallbackAdapter === true ||
    /llvmpipe|lavapipe|swiftshader/i.test(info.description ?? "");
}

self.onmessage = async (e: MessageEvent<ToEngine>) => {
  const m = e.data;
  try {
    if (m.op === "open") {
      // Before the device exists, so that driver threads started with it inherit the value.
      const nice = m.nice === "auto"
        ? (await softwareAdapter() ? 10 : 0)
        : m.nice;
      if (nice > 0) lowerThreadPriority(nice);
      const originMs = m.clockWallOriginMs - performance.timeOrigin;
      engine = await openServingEngine({
        ...m.opts,
        nowNs: () => BigInt(Math.round((performance.now() - originMs) * 1e6)),
      });
      post({
        op: "opened",
        info: engine.info,
        gpuClockOffsetNs: engine.loop.gpuClock.offsetNs?.toString() ?? null,
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

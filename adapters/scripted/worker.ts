/**
 * The scripted server on a thread of its own (a Deno Worker), so that its sends do not share an
 * event loop with the harness that measures them.
 *
 * Send times cross threads as Unix-epoch milliseconds (`performance.timeOrigin +
 * performance.now()` on the worker); `toLocalPerfMs` maps them onto this thread's
 * `performance.now()` scale.
 *
 * @module
 */
import type { ScriptedServer, ScriptedServerOptions } from "./server.ts";

/** Options that can cross to the worker (no functions). */
export type ScriptedWorkerOptions = Omit<ScriptedServerOptions, "failWhen">;

/** A scripted server running in a worker. */
export interface ScriptedWorker {
  /** Base URL, `http://127.0.0.1:<port>`. */
  url: string;
  /** Per request id: epoch milliseconds at which each token chunk was enqueued. */
  sendLog(): Promise<Map<string, number[]>>;
  /** Request counters of the server (see `ScriptedServer.stats`). */
  stats(): Promise<ScriptedServer["stats"]>;
  /** Stops the server and the worker. */
  close(): Promise<void>;
}

/** Maps an epoch-milliseconds time from another thread to this thread's `performance.now()`. */
export function toLocalPerfMs(epochMs: number): number {
  return epochMs - performance.timeOrigin;
}

type Reply = { id: number; result: unknown };

/**
 * Starts a scripted server in a worker and resolves when it listens on 127.0.0.1.
 *
 * @example
 * ```ts
 * import { startScriptedWorker } from "./worker.ts";
 * const s = await startScriptedWorker({ timing: { ttftBaseMs: 1, itlMs: 1 } });
 * const res = await fetch(`${s.url}/v1/models`);
 * console.log(res.status); // 200
 * await res.body?.cancel();
 * await s.close();
 * ```
 */
export function startScriptedWorker(
  opts: ScriptedWorkerOptions = {},
): Promise<ScriptedWorker> {
  const worker = new Worker(new URL("./_worker_main.ts", import.meta.url), {
    type: "module",
  });
  let next = 0;
  const waiting = new Map<number, (v: unknown) => void>();
  const call = (op: string): Promise<unknown> => {
    const id = ++next;
    return new Promise((resolve) => {
      waiting.set(id, resolve);
      worker.postMessage({ id, op });
    });
  };
  return new Promise((resolve, reject) => {
    worker.onerror = (e) => {
      e.preventDefault();
      reject(new Error(`Scripted server worker failed: ${e.message}`));
    };
    worker.onmessage = (e: MessageEvent<Reply | { listening: number }>) => {
      const m = e.data;
      if ("listening" in m) {
        resolve({
          url: `http://127.0.0.1:${m.listening}`,
          sendLog: async () =>
            new Map(await call("sendLog") as [string, number[]][]),
          stats: () => call("stats") as ReturnType<ScriptedWorker["stats"]>,
          close: async () => {
            await call("close");
            worker.terminate();
          },
        });
        return;
      }
      waiting.get(m.id)?.(m.result);
      waiting.delete(m.id);
    };
    worker.postMessage({ id: 0, op: "start", opts });
  });
}

/**
 * The engine in a process of its own (`WebGPUBackend.open()`'s default host): the engine
 * protocol in frames (`_engine_frames.ts`) over stdin and stdout. Nothing else may write to
 * stdout; diagnostics go to stderr, which the harness keeps for its error messages.
 *
 * A process, not only a thread, because on a 2-core machine the thread that paces the sends
 * still waited for the CPU while the engine's kernels ran as lavapipe threads of the same
 * process (the main thread's message latency p99 2.2-3.0 ms, against 1.41 ms with the engine
 * in another process; docs/perf.md). A nice value applies to every thread of this process.
 *
 * The process ends when its stdin closes: when the harness closes the backend, or dies.
 *
 * @module
 */
import { lowerProcessPriority } from "../thread_priority.ts";
import type { ToEngine } from "./_engine_protocol.ts";
import { encodeFrame, FrameDecoder } from "./_engine_frames.ts";
import { engineService } from "./_engine_service.ts";

function write(bytes: Uint8Array): void {
  let at = 0;
  while (at < bytes.length) at += Deno.stdout.writeSync(bytes.subarray(at));
}

const handle = engineService(
  (m) => write(encodeFrame(m)),
  (nice) => void lowerProcessPriority(nice),
);
const decoder = new FrameDecoder();
for await (const chunk of Deno.stdin.readable) {
  for (const m of decoder.push(chunk)) void handle(m as ToEngine);
}
Deno.exit(0);

/**
 * The engine on a worker thread of the harness's process (`WebGPUBackend.open({ host:
 * "worker" })`): the engine protocol over `postMessage`. A nice value applies to this thread
 * and the driver threads it starts.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import type { ToEngine } from "./_engine_protocol.ts";
import { engineService } from "./_engine_service.ts";

const handle = engineService((m) => self.postMessage(m));
self.onmessage = (e: MessageEvent<ToEngine>) => void handle(e.data);

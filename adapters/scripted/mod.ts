/**
 * The scripted OpenAI-compatible streaming server: known send times, for calibration and tests.
 *
 * @module
 */
export {
  createScriptedApp,
  type ScriptedApp,
  type ScriptedServer,
  type ScriptedServerOptions,
  type ScriptedTiming,
} from "./server.ts";
export {
  type ScriptedWorker,
  type ScriptedWorkerOptions,
  startScriptedWorker,
  toLocalPerfMs,
} from "./worker.ts";
export {
  HOSTILE_MODES,
  type HostileMode,
  type HostileOptions,
  type HostileServer,
  startHostileServer,
} from "./hostile.ts";

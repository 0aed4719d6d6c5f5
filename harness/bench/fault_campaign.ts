/**
 * The fault campaign (issue 15): hostile server modes, bad traces, signals at random moments
 * and idle-connection floods, each family printed as `tries / passed / failed`, with the
 * kill -9 loss window measured over the SIGKILL tries. Everything runs on 127.0.0.1.
 *
 * Usage: `deno run -A harness/bench/fault_campaign.ts [--seed 1] [--rounds 3] [--traces 60]
 * [--signals 20] [--flood 2000] [--no-serve]` (`deno task perf:faults`). `--no-serve` leaves
 * `tokentrace serve` out of the flood (it needs a WebGPU adapter). Exit status 1 when any try
 * failed.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { campaignTable, type Family } from "./_faults_report.ts";
import { floodFamily, hostileFamily } from "./_faults_servers.ts";
import { signalFamily } from "./_faults_signals.ts";
import { traceFamily } from "./_faults_traces.ts";
import { prepareGpuEnv } from "../../adapters/webgpu/step/gpu_env.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seed: { type: "string", default: "1" },
    rounds: { type: "string", default: "3" },
    traces: { type: "string", default: "60" },
    signals: { type: "string", default: "20" },
    flood: { type: "string", default: "2000" },
    "no-serve": { type: "boolean", default: false },
  },
});
const seed = Number(values.seed);
const t0 = performance.now();
const families: Family[] = [];
const step = async (name: string, run: () => Promise<Family>) => {
  const t = performance.now();
  console.error(`${name}...`);
  const f = await run();
  console.error(
    `${name}: ${f.tries - f.failures.length}/${f.tries} passed in ${
      ((performance.now() - t) / 1000).toFixed(1)
    } s`,
  );
  families.push(f);
};

await step("hostile server modes", () => hostileFamily(Number(values.rounds)));
await step("bad traces", () => traceFamily(Number(values.traces), seed));
let lossWindows: number[] = [];
await step("signals", async () => {
  const { family, figures } = await signalFamily(Number(values.signals), seed);
  lossWindows = figures.lossWindowsMs;
  return family;
});
prepareGpuEnv();
const gpu = values["no-serve"]
  ? null
  : await navigator.gpu?.requestAdapter().catch(() => null);
await step(
  "idle-connection flood",
  () => floodFamily(Number(values.rounds), Number(values.flood), gpu != null),
);

console.log(campaignTable(families));
if (lossWindows.length > 0) {
  const sorted = [...lossWindows].sort((a, b) => a - b);
  const p = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  console.log(
    `kill -9 loss window (kill time - newest committed event), ${sorted.length} tries: ` +
      `min ${sorted[0].toFixed(0)} ms, median ${p(0.5).toFixed(0)} ms, max ${
        sorted[sorted.length - 1].toFixed(0)
      } ms (target <= 250 ms); each: ${
        lossWindows.map((w) => w.toFixed(0)).join(", ")
      }`,
  );
}
console.log(
  `seed ${seed}; ${((performance.now() - t0) / 1000).toFixed(0)} s${
    gpu == null
      ? "; serve left out of the flood (no WebGPU adapter or --no-serve)"
      : ""
  }`,
);
Deno.exit(families.some((f) => f.failures.length > 0) ? 1 : 0);

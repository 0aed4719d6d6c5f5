/**
 * What one dispatch can read at the sizes of a batch-1 decode step, in a chain of dispatches as
 * the step runs them (a barrier between each two): the ceiling the GEMV and decode attention of
 * that size can reach, against the large copy's bandwidth that docs/perf.md states their
 * percentages of. Rows, each l2_touch.wgsl (read only) over S bytes:
 *
 * - `dram`: N distinct buffers of S in one pass (N S >= 3 x 50 MB, more than the H200's L2),
 *   each dispatch writing the same sink, so every two have a barrier between them;
 * - `l2`: one buffer of S read N times the same way (after the first, from the L2 where S fits);
 * - `no barrier`: the N distinct buffers with a sink each: no barrier, so dispatches may overlap;
 * - `empty (16 bytes)`: 64 one-workgroup dispatches over 16 bytes: what a dispatch costs with
 *   nothing to read.
 * (_gpu.ts readFloor; kernels.ts measures the same floor at each GEMV's weight bytes.)
 *
 * GB/s = S / (pass time / N). The copy ceiling (1 GiB, read + write) is measured in the same
 * process, after 3 s of copies; ~6 ms of copies run before and after every timed pass. Prints
 * one JSON object (and a table on stderr).
 *
 * `deno run -A adapters/webgpu/bench/read_sizes.ts [--runs 10]`
 *
 * @module
 */
import { requestEngineDevice } from "../step/device.ts";
import { storageBuffer } from "../step/gpu_buffers.ts";
import { grids } from "../kernels/geometry.ts";
import { bindKernel, compileKernels, dispatch } from "../kernels/pipelines.ts";
import { heatUp, measure, randomBuffer, readFloor } from "./_gpu.ts";

const i = Deno.args.indexOf("--runs");
const runs = i >= 0 ? Number(Deno.args[i + 1]) : 10;
if (!(Number.isInteger(runs) && runs >= 1)) {
  throw new Error(`--runs: expected an integer >= 1, got ${Deno.args[i + 1]}`);
}
const gpu = await requestEngineDevice();
const device = gpu.device;
const cpu = gpu.isFallback;
const k = await compileKernels(device, "f32", 64, undefined, [
  "copy",
  "l2_touch",
]);
await heatUp(gpu);
const maxB = gpu.limits.maxStorageBufferBindingSize;

// Copy ceiling (read + write bytes), as kernels.ts measures it.
const copyBytes = cpu ? 32 << 20 : 1 << 30;
const cs = randomBuffer(gpu, "copy src", copyBytes);
const cd = storageBuffer(device, "copy dst", copyBytes, maxB);
const cg = bindKernel(device, k.copy, "copy", [cs, cd]);
const copy = await measure(
  gpu,
  { kernel: "copy", shape: "", dtype: "f32", bytes: 0, flops: 0 },
  (pass) => dispatch(pass, k.copy, cg, grids.copy(copyBytes / 16)),
  cpu ? 1 : 10,
  runs,
);
cs.destroy();
cd.destroy();
const copyGBs = (2 * copyBytes) / copy.seconds / 1e9;

// llama-3.2-1b at f16: qkv, o, down, gate_up, the LM head; KV of one layer at ctx 1024 for
// batch 1, 16, 64 (2 x 8 kv heads x 64 x 2 bytes per key).
const MB = 1e6;
const layerSizes: [string, number][] = [
  ["kv b1 ctx1024", 1024 * 2048],
  ["o", 2048 * 2048 * 2],
  ["qkv", 3072 * 2048 * 2],
  ["kv b16 ctx1024", 16 * 1024 * 2048],
  ["down", 2048 * 8192 * 2],
  ["gate_up", 16384 * 2048 * 2],
  ["kv b64 ctx1024", 64 * 1024 * 2048],
  ["lm_head", 128256 * 2048 * 2],
];
const sizes = layerSizes.map(([name, s]) =>
  [name, cpu ? Math.ceil(s / 256 / 16) * 16 : s] as [string, number]
);

interface Row {
  name: string;
  bytes: number;
  dispatches: number;
  mode: "dram" | "l2" | "no barrier";
  us: number;
  spread: number;
  gbs: number;
  pctCopy: number;
}
const rows: Row[] = [];
const budget = cpu ? 8 << 20 : 150 * MB;
for (const [name, bytes] of [...sizes, ["empty (16 bytes)", 16] as const]) {
  const r = await readFloor(gpu, k.l2_touch, bytes, runs, budget);
  for (
    const [mode, us] of [["dram", r.dramUs], ["l2", r.l2Us], [
      "no barrier",
      r.noBarrierUs,
    ]] as const
  ) {
    const gbs = bytes > 16 ? bytes / (us * 1e3) : 0;
    rows.push({
      name,
      bytes,
      dispatches: r.dispatches,
      mode,
      us,
      spread: r.spread,
      gbs,
      pctCopy: (100 * gbs) / copyGBs,
    });
  }
}

const table = [
  `copy ceiling ${
    copyGBs.toFixed(0)
  } GB/s (1 GiB, read + write), ${gpu.description}`,
  "| size | MB | dispatches | mode | us per dispatch | repeat | GB/s | % of copy |",
  "|---|---:|---:|---|---:|---:|---:|---:|",
  ...rows.map((r) =>
    `| ${r.name} | ${
      (r.bytes / MB).toFixed(1)
    } | ${r.dispatches} | ${r.mode} | ${r.us.toFixed(2)} | ${
      (100 * r.spread).toFixed(1)
    }% | ${r.gbs.toFixed(0)} | ${r.pctCopy.toFixed(0)}% |`
  ),
];
console.error(table.join("\n"));
console.log(
  JSON.stringify({ adapter: gpu.description, copyGBs, rows }, null, 1),
);
device.destroy();

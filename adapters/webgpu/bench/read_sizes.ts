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
 * - `empty`: 64 one-workgroup dispatches over 16 bytes, with and without barriers: what a
 *   dispatch costs with nothing to read.
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
import { type Grid, grids } from "../kernels/geometry.ts";
import { bindKernel, compileKernels, dispatch } from "../kernels/pipelines.ts";
import { heatUp, measure, randomBuffer } from "./_gpu.ts";

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
const sinkOf = () => storageBuffer(device, "sink", 16, maxB);

interface Row {
  name: string;
  bytes: number;
  dispatches: number;
  mode: "dram" | "l2" | "no barrier" | "empty" | "empty no barrier";
  us: number;
  spread: number;
  gbs: number;
  pctCopy: number;
}
const rows: Row[] = [];
async function chain(
  name: string,
  mode: Row["mode"],
  bufs: GPUBuffer[],
  sinks: GPUBuffer[],
  grid: Grid,
) {
  const groups = bufs.map((b, j) =>
    bindKernel(device, k.l2_touch, name, [b, sinks[j % sinks.length]])
  );
  const r = await measure(
    gpu,
    { kernel: name, shape: mode, dtype: "u32", bytes: 0, flops: 0 },
    (pass) => {
      for (const g of groups) dispatch(pass, k.l2_touch, g, grid);
    },
    1,
    runs,
  );
  const us = (r.seconds / bufs.length) * 1e6;
  const bytes = bufs[0].size;
  const gbs = bytes / (us * 1e3);
  rows.push({
    name,
    bytes,
    dispatches: bufs.length,
    mode,
    us,
    spread: r.spread,
    gbs,
    pctCopy: (100 * gbs) / copyGBs,
  });
}

const budget = cpu ? 8 << 20 : 150 * MB;
for (const [name, bytes] of sizes) {
  const n = Math.min(64, Math.max(2, Math.ceil(budget / bytes)));
  const bufs = Array.from(
    { length: n },
    (_, j) => randomBuffer(gpu, `${name} ${j}`, bytes),
  );
  const grid = grids.touch(bytes);
  const shared = [sinkOf()];
  const own = bufs.map(sinkOf);
  await chain(name, "dram", bufs, shared, grid);
  await chain(name, "l2", bufs.map(() => bufs[0]), shared, grid);
  await chain(name, "no barrier", bufs, own, grid);
  for (const b of [...bufs, ...shared, ...own]) b.destroy();
}
{
  const tiny = Array.from(
    { length: 64 },
    () => storageBuffer(device, "16 B", 16, maxB),
  );
  await chain("empty", "empty", tiny, [sinkOf()], [1, 1, 1]);
  await chain("empty", "empty no barrier", tiny, tiny.map(sinkOf), [1, 1, 1]);
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

/**
 * Test helper: next-token selection of a packed step's sample rows (sample_blocks.wgsl, then
 * sample.wgsl) on the test adapter, with sentinel-filled outputs.
 *
 * @module
 */
import { uniformBuffer } from "../../../../adapters/webgpu/step/gpu_buffers.ts";
import {
  GEOMETRY,
  grids,
} from "../../../../adapters/webgpu/kernels/geometry.ts";
import { sampleParams } from "../../../../adapters/webgpu/kernels/params.ts";
import type { Kernels } from "../../../../adapters/webgpu/kernels/pipelines.ts";
import type { PackedStep } from "../../../../adapters/webgpu/batch/step_batch.ts";
import { bufferOf, readU32, runKernels } from "../_gpu.ts";

/**
 * What the two kernels wrote: last_tok [slots] and token_log [logSize], 0xffffffff elsewhere,
 * and logprob_log [logSize] (NaN elsewhere).
 */
export interface SampleRun {
  lastTok: number[];
  log: number[];
  logprobs: number[];
}

/** Samples the rows of `packed` from `logits` ([R, V] f32). */
export async function runSample(
  device: GPUDevice,
  k: Kernels,
  packed: PackedStep,
  logits: Float32Array,
  V: number,
  slots: number,
  logSize: number,
): Promise<SampleRun> {
  const R = packed.numRows;
  const p = uniformBuffer(device, "p", sampleParams(V));
  const meta = bufferOf(device, "meta", packed.meta);
  const lg = bufferOf(device, "logits", logits);
  const nb = Math.ceil(V / GEOMETRY.SAMPLE_BLOCK);
  const part = bufferOf(
    device,
    "part",
    new Float32Array(R * nb * 4).fill(NaN),
  );
  const last = bufferOf(
    device,
    "last",
    new Uint32Array(slots).fill(0xffffffff),
  );
  const log = bufferOf(
    device,
    "log",
    new Uint32Array(logSize).fill(0xffffffff),
  );
  const lp = bufferOf(
    device,
    "logprobs",
    new Float32Array(logSize).fill(NaN),
  );
  await runKernels(device, [
    {
      kernel: k.sample_blocks,
      buffers: [p, meta, lg, part],
      grid: grids.sampleBlocks(V, R),
    },
    {
      kernel: k.sample,
      buffers: [p, meta, lg, part, last, log, lp],
      grid: grids.sample(R),
    },
  ]);
  return {
    lastTok: Array.from(await readU32(device, last, slots)),
    log: Array.from(await readU32(device, log, logSize)),
    logprobs: Array.from(
      new Float32Array((await readU32(device, lp, logSize)).buffer),
    ),
  };
}

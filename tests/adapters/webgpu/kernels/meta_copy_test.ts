// meta_copy.wgsl against metaCopyRef: a step's slot of the metadata ring copied into place, the
// other words of the metadata buffer (sentinel-filled) untouched.
import assert from "node:assert/strict";
import { uniformBuffer } from "../../../../adapters/webgpu/step/gpu_buffers.ts";
import { grids } from "../../../../adapters/webgpu/kernels/geometry.ts";
import { compileKernels } from "../../../../adapters/webgpu/kernels/pipelines.ts";
import { metaCopyRef } from "../../../../adapters/webgpu/reference/reference_kernels.ts";
import { bufferOf, readU32, runKernels, testDevice } from "../_gpu.ts";
import { webgpuTest } from "../../../_system.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const SENTINEL = 0xdeadbeef;

webgpuTest({
  name:
    "meta_copy.wgsl copies a ring slot's two ranges into place and leaves every other word",
  ...opts,
  fn: async (t) => {
    const gpu = await testDevice();
    const k = await compileKernels(gpu.device, "f32", 16, undefined, [
      "meta_copy",
    ]);
    const total = 3000; // words of the metadata buffer
    const stride = 4 + total;
    // [slot, n0, a1, n1]: one range, two ranges across workgroups, an empty step, the last slot.
    const cases = [
      [1, 37, 0, 0],
      [0, 700, 2100, 333],
      [2, 0, 0, 0],
      [3, 1, 2999, 1],
    ];
    for (const [slot, n0, a1, n1] of cases) {
      await t.step(`slot ${slot}: ${n0} words, ${n1} at ${a1}`, async () => {
        const ring = new Uint32Array(4 * stride);
        for (let i = 0; i < ring.length; i++) ring[i] = (i * 2654435761) >>> 0;
        ring.set([n0, a1, n1, 0], slot * stride);
        const meta = new Uint32Array(total).fill(SENTINEL);
        const out = bufferOf(gpu.device, "meta", meta);
        await runKernels(gpu.device, [{
          kernel: k.meta_copy,
          buffers: [
            uniformBuffer(gpu.device, "p", [slot, stride, 0, 0]),
            bufferOf(gpu.device, "ring", ring),
            out,
          ],
          grid: grids.metaCopy(n0 + n1),
        }]);
        const want = meta.slice();
        metaCopyRef(ring, slot, stride, want);
        assert.deepEqual(await readU32(gpu.device, out, total), want);
      });
    }
  },
});

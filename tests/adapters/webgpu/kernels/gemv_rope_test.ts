// linear_gemv_rope (linear_gemv.wgsl + gemv_rope.wgsl): one row of qkv with the RMSNorm fused,
// then rope_kv's rotation and paged KV-cache write, against linearRef + ropeRef on random inputs.
import assert from "node:assert/strict";
import {
  dtypeBytes,
  readBuffer,
  roundToStorage,
  toStorageBytes,
  uniformBuffer,
} from "../../../../adapters/webgpu/step/gpu_buffers.ts";
import {
  GEMV_S_VARIANTS,
  GEOMETRY,
  grids,
  ropeGemvFits,
} from "../../../../adapters/webgpu/kernels/geometry.ts";
import {
  LINEAR_FLAGS,
  linearRopeParams,
} from "../../../../adapters/webgpu/kernels/params.ts";
import { compileGemvRope } from "../../../../adapters/webgpu/kernels/pipelines.ts";
import {
  cacheIndex,
  linearRef,
  rmsnormRef,
  ropeRef,
} from "../../../../adapters/webgpu/reference/reference_kernels.ts";
import { ropeInvFreq } from "../../../../adapters/webgpu/model/config.ts";
import { HDR } from "../../../../adapters/webgpu/batch/step_batch.ts";
import { PAGE_SIZE } from "../../../../adapters/webgpu/batch/kv_blocks.ts";
import {
  bufferOf,
  randomF32,
  readF32,
  relErr,
  runKernels,
  testDevice,
  testDtypes,
} from "../_gpu.ts";
import { webgpuTest } from "../../../_system.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

webgpuTest({
  name:
    "linear_gemv_rope equals linearRef of the normed row, then ropeRef and the KV-cache write of rope_kv",
  ...opts,
  fn: async (t) => {
    const gpu = await testDevice();
    const device = gpu.device;
    const { NORM, BIAS } = LINEAR_FLAGS;
    // H 4 query heads, G 2 kv heads of D 16; K 8 x 37 (a ragged tail for every geometry).
    const [H, G, D, K] = [4, 2, 16, 8 * 37];
    const N = (H + 2 * G) * D;
    const [pos, slot, pages] = [21, 2 * PAGE_SIZE + 5, 3];
    const layerBase = 2 * G * PAGE_SIZE * D; // the cache of a layer after one page of another
    const kvLen = layerBase + pages * 2 * G * PAGE_SIZE * D;
    const invFreq = Float32Array.from(
      ropeInvFreq(D, 10000, { type: "default" }),
    );
    const meta = new Uint32Array(32);
    meta[HDR.T] = 1;
    meta[HDR.POS] = 16;
    meta[16] = pos;
    meta[HDR.KVSLOT] = 17;
    meta[17] = slot;
    const variants = ["s r4 l64", "s r8 l32 t", "s r16 l16", "s r2 l128"];
    for (const dtype of await testDtypes()) {
      for (const v of variants) {
        const geo = { ...GEOMETRY, ...GEMV_S_VARIANTS[v] };
        assert.ok(ropeGemvFits(geo, D), v);
        const kernel = await compileGemvRope(device, dtype, D, geo);
        for (const flags of [NORM, NORM | BIAS]) {
          await t.step(`${dtype} ${v} flags=${flags}`, async () => {
            const x = randomF32(K, 51 + flags, 2);
            const w = roundToStorage(randomF32(N * K, 52, 0.5), dtype);
            const bias = randomF32(N, 53, 1);
            const g = randomF32(K, 54, 1);
            const y = bufferOf(device, "y", new Float32Array(N).fill(NaN));
            const kvInit = new Float32Array(kvLen).fill(NaN);
            const kv = bufferOf(device, "kv", toStorageBytes(kvInit, dtype));
            await runKernels(device, [{
              kernel,
              buffers: [
                uniformBuffer(
                  device,
                  "p",
                  linearRopeParams(N, K, flags, H, layerBase, 1e-5),
                ),
                bufferOf(device, "meta", meta),
                bufferOf(device, "x", x),
                bufferOf(device, "w", toStorageBytes(w, dtype)),
                bufferOf(device, "bias", bias),
                bufferOf(device, "g", g),
                y,
                bufferOf(device, "inv_freq", invFreq),
                kv,
              ],
              grid: grids.gemvS(N, geo, 1),
            }]);
            const lin = linearRef(rmsnormRef(x, g, K, 1e-5), w, 1, N, K, {
              bias: flags & BIAS ? bias : null,
            });
            // y: q heads rotated, k and v heads as the GEMV leaves them.
            const want = Float64Array.from(lin);
            for (let h = 0; h < H; h++) ropeRef(want, h * D, pos, invFreq);
            assert.ok(relErr(await readF32(device, y, N), want) < 1e-5, "y");
            // The cache: k rotated and v at the slot; every other element untouched (NaN).
            const bytes = await readBuffer(
              device,
              kv,
              0,
              kvLen * dtypeBytes(dtype),
            );
            const got = dtype === "f16"
              ? Float32Array.from(new Float16Array(bytes))
              : new Float32Array(bytes);
            const kWant = Float64Array.from(lin);
            for (let h = H; h < H + G; h++) ropeRef(kWant, h * D, pos, invFreq);
            const dims = { H, G, D };
            const gotRow: number[] = [];
            const wantRow: number[] = [];
            const written = new Set<number>();
            for (let kind = 0; kind < 2; kind++) {
              for (let kg = 0; kg < G; kg++) {
                const at = cacheIndex(dims, layerBase, slot, kind, kg);
                const from = (H + kind * G + kg) * D;
                for (let d = 0; d < D; d++) {
                  gotRow.push(got[at + d]);
                  wantRow.push(kind === 0 ? kWant[from + d] : lin[from + d]);
                  written.add(at + d);
                }
              }
            }
            const tol = dtype === "f16" ? 2e-3 : 1e-5;
            const err = relErr(gotRow, wantRow);
            assert.ok(err < tol, `kv: relative error ${err}`);
            for (let i = 0; i < kvLen; i++) {
              if (!written.has(i)) {
                assert.ok(Number.isNaN(got[i]), `kv[${i}] written`);
              }
            }
          });
        }
      }
    }
  },
});

webgpuTest({
  name:
    "compileGemvRope() refuses a geometry whose workgroups would not hold whole rotary pairs",
  ...opts,
  fn: async () => {
    const gpu = await testDevice();
    const geo = { ...GEOMETRY, ...GEMV_S_VARIANTS["s r4 l64 c2"] };
    await assert.rejects(
      () => compileGemvRope(gpu.device, "f32", 16, geo),
      new Error(
        "Kernel linear_gemv_rope: geometry GEMV_SROWS 4, GEMV_SRPT 2, GEMV_SMB 1 with head_dim 16: expected one row, one column per invocation and an even GEMV_SROWS dividing head_dim",
      ),
    );
  },
});

// The engine's defaults that depend on the adapter, resolved without a device: what a GPU with
// f16 storage gets for the one-row GEMV of each layer, and what a software adapter gets.
import assert from "node:assert/strict";
import {
  GPU_GEMV_S,
  resolveEngineOptions,
} from "../../../../adapters/webgpu/step/engine_options.ts";
import type { EngineDevice } from "../../../../adapters/webgpu/step/device.ts";
import {
  GEMV_SHAPES,
  gemvSVariant,
  GEOMETRY,
} from "../../../../adapters/webgpu/kernels/geometry.ts";
import { presetSource } from "../../../../adapters/webgpu/model/presets.ts";

// resolveEngineOptions reads the adapter's flags and loop budget only.
const adapter = (over: Partial<EngineDevice>): EngineDevice => ({
  device: null as unknown as GPUDevice,
  description: "test adapter",
  isFallback: false,
  f16: true,
  timestamps: true,
  loopBudget: null,
  limits: {
    maxStorageBufferBindingSize: 2 ** 31,
    maxBufferSize: 2 ** 32,
    maxComputeWorkgroupStorageSize: 49152,
    maxStorageBuffersPerShaderStage: 8,
    maxComputeWorkgroupsPerDimension: 65535,
  },
  ...over,
});
const src = presetSource("llama-3.2-1b", 0);
const small = (g: Record<string, number>) => ({
  GEMV_SROWS: g.GEMV_SROWS,
  GEMV_SLANES: g.GEMV_SLANES,
  GEMV_SRPT: g.GEMV_SRPT,
  GEMV_SLD: g.GEMV_SLD,
  GEMV_SROT: g.GEMV_SROT,
});

Deno.test("resolveEngineOptions() gives a GPU with f16 storage GPU_GEMV_S per layer", async (t) => {
  const { linear } = resolveEngineOptions(adapter({}), src, {});
  for (const name of GEMV_SHAPES) {
    await t.step(`${name}: ${GPU_GEMV_S[name]}`, () => {
      assert.deepEqual(
        small(linear.gemvS[name]),
        small({ ...GEOMETRY, ...gemvSVariant(GPU_GEMV_S[name]) }),
      );
      // The rest of the geometry is the engine's own.
      assert.equal(linear.gemvS[name].TILE_M, linear.geo.TILE_M);
    });
  }
});

Deno.test("resolveEngineOptions() keeps the engine's geometry for every layer elsewhere", async (t) => {
  const cases = [
    [
      "a software adapter",
      adapter({ isFallback: true, loopBudget: 65535 }),
      {},
    ],
    ["f32 storage on a GPU", adapter({}), { dtype: "f32" as const }],
    ["a geometry given", adapter({}), {
      linear: { geometry: { GEMV_SROWS: 8 } },
    }],
  ] as const;
  for (const [what, gpu, opts] of cases) {
    await t.step(what, () => {
      const { linear } = resolveEngineOptions(gpu, src, opts);
      for (const name of GEMV_SHAPES) {
        assert.equal(linear.gemvS[name], linear.geo, name);
      }
    });
  }
});

Deno.test("resolveEngineOptions() takes linear.gemvS over the GPU defaults, for the layers named", () => {
  const { linear } = resolveEngineOptions(adapter({}), src, {
    linear: { gemvS: { down: gemvSVariant("s r8 l32") } },
  });
  assert.deepEqual(
    small(linear.gemvS.down),
    small({ ...GEOMETRY, ...gemvSVariant("s r8 l32") }),
  );
  for (const name of ["qkv", "o", "gateUp", "lmHead"] as const) {
    assert.equal(linear.gemvS[name], linear.geo, name);
  }
});

Deno.test("resolveEngineOptions() takes attnMinSplitKeys in key blocks and refuses others", () => {
  // llama-3.2-1b: head_dim 64, a key block of 32.
  assert.equal(resolveEngineOptions(adapter({}), src, {}).minSplitKeys, 32);
  const opts = { attnMinSplitKeys: 256 };
  assert.equal(resolveEngineOptions(adapter({}), src, opts).minSplitKeys, 256);
  for (const bad of [0, 16, 100, 1.5 * 32]) {
    assert.throws(
      () => resolveEngineOptions(adapter({}), src, { attnMinSplitKeys: bad }),
      new RegExp(
        `attnMinSplitKeys: expected a positive multiple of the key block 32, got ${bad}`,
      ),
    );
  }
});

// Hybrid attention (attention_hybrid.wgsl + attention_merge.wgsl over the work list of
// attention_plan.ts) against the CPU reference, with and without KV splits, fused and serial.
import assert from "node:assert/strict";
import {
  attentionCaps,
  attentionWords,
  planAttention,
} from "../../../../adapters/webgpu/step/attention_plan.ts";
import {
  type Geometry,
  hybridShape,
} from "../../../../adapters/webgpu/kernels/geometry.ts";
import {
  metaWords,
  packStep,
  type StepLimits,
} from "../../../../adapters/webgpu/batch/step_batch.ts";
import { relErr } from "../_gpu.ts";
import { runHybridStep, unwritten } from "./_attention.ts";
import { webgpuTest } from "../../../_system.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const greedy = { temperature: 0, topP: 1, seed: 0 };

const LIM: StepLimits = {
  maxTokens: 64,
  maxSeqs: 6,
  numPages: 24,
  vocab: 64,
  maxContext: 96,
  logSize: 8,
};

/** A hybrid step: a 23-token chunk at position 9, a 2-token chunk, and decodes at 1, 40, 70. */
function step() {
  const pages = (first: number, n: number) =>
    Array.from({ length: n }, (_, i) => (first * 5 + i * 7) % LIM.numPages);
  return packStep({
    seqs: [
      {
        slot: 0,
        start: 9,
        tokens: Array.from({ length: 23 }, (_, i) => i),
        pages: pages(0, 2),
        sample: greedy,
      },
      { slot: 1, start: 0, tokens: [3, 4], pages: pages(1, 1), sample: null },
      { slot: 2, start: 1, tokens: null, pages: pages(2, 1), sample: greedy },
      { slot: 3, start: 40, tokens: null, pages: pages(3, 3), sample: greedy },
      { slot: 4, start: 70, tokens: null, pages: pages(4, 5), sample: greedy },
    ],
    logBase: 0,
  }, LIM);
}

function runHybrid(
  shapeHGD: [number, number, number],
  targetItems: number,
  mode: "fused" | "serial",
  geo: Partial<Geometry> = {},
) {
  return runHybridStep(
    step(),
    LIM,
    shapeHGD,
    // Equal ranges for decode and prefill tiles, so that target 256 splits this step's decodes
    // at every head shape (the default scale leaves them whole at a key block of 64).
    {
      targetItems,
      maxItemKeys: Infinity,
      mixedDecodeScale: 1,
    },
    mode,
    geo,
  );
}

webgpuTest({
  name:
    "attention_hybrid.wgsl equals the reference on a hybrid step, every tiling",
  ...opts,
  fn: async (t) => {
    for (
      const hgd of [[4, 2, 16], [6, 2, 20], [8, 1, 64], [4, 4, 128]] as [
        number,
        number,
        number,
      ][]
    ) {
      for (const target of [1, 256]) {
        await t.step(
          `H G D = ${hgd.join(" ")}, target ${target} items`,
          async () => {
            const { got, want, plan } = await runHybrid(hgd, target, "fused");
            assert.equal(
              plan.prefillItems > 0 && plan.prefillItems < plan.items,
              true,
            );
            if (target > 1) assert.ok(plan.merges > 0, "expected split items");
            else assert.equal(plan.merges, 0);
            const err = relErr(got, want);
            assert.ok(err < 1e-5, `relative error ${err}`);
          },
        );
      }
    }
  },
});

webgpuTest({
  name:
    "attention_hybrid.wgsl fused and serial dispatches give identical outputs",
  ...opts,
  fn: async () => {
    for (const target of [1, 256]) {
      const fused = await runHybrid([4, 2, 16], target, "fused");
      const serial = await runHybrid([4, 2, 16], target, "serial");
      assert.deepEqual(serial.got, fused.got);
    }
  },
});

webgpuTest({
  name:
    "minSplitKeys leaves tiles over fewer keys unsplit and splits the rest no finer, outputs equal to the reference",
  ...opts,
  fn: async () => {
    // The step's decodes see 2, 41 and 71 keys, its chunks 32 and 2 (key block 32 at D 64).
    const hgd: [number, number, number] = [4, 2, 64];
    // Equal ranges for decode and prefill tiles (mixedDecodeScale 1): minSplitKeys alone.
    const runWith = (minSplitKeys: number | undefined) =>
      runHybridStep(step(), LIM, hgd, {
        targetItems: 256,
        maxItemKeys: Infinity,
        minSplitKeys,
        mixedDecodeScale: 1,
      });
    const fine = await runWith(undefined);
    assert.equal(fine.plan.splitKeys, 32);
    for (const min of [64, 96]) {
      const { got, want, plan } = await runWith(min);
      // Each tile unsplit below min keys, else in ceil(keys / min) ranges, G items each: at 64
      // the 71-key decode in two, at 96 nothing split (no merge pass).
      assert.equal(plan.splitKeys, min === 64 ? 64 : 0);
      assert.equal(plan.merges > 0, min === 64);
      const ranges = [32, 2, 2, 41, 71].map((k) =>
        Math.max(1, Math.ceil(k / min))
      );
      assert.equal(
        plan.items,
        2 * ranges.reduce((a, b) => a + b, 0),
        `min ${min}`,
      );
      const err = relErr(got, want);
      assert.ok(err < 1e-5, `min ${min}: relative error ${err}`);
    }
    await assert.rejects(
      () => runWith(40),
      /minSplitKeys must be a positive multiple of the key block 32, got 40/,
    );
  },
});

webgpuTest({
  name:
    "in a step with prefill tiles decode ranges are mixedDecodeScale times as long, outputs equal to the reference",
  ...opts,
  fn: async () => {
    // Key block 32 at D 64; the plan's ranges are 32 keys (minSplitKeys test above). The step's
    // chunks see 32 and 2 keys (one range each), its decodes 2, 41 and 71.
    const hgd: [number, number, number] = [4, 2, 64];
    const runWith = (
      mixedDecodeScale: number | undefined,
      packed = step(),
    ) =>
      runHybridStep(packed, LIM, hgd, {
        targetItems: 256,
        maxItemKeys: Infinity,
        mixedDecodeScale,
      });
    for (const [scale, decodeKeys] of [[1, 32], [undefined, 64], [3, 96]]) {
      const { got, want, plan } = await runWith(scale);
      const ranges = [2, 41, 71].map((k) =>
        Math.max(1, Math.ceil(k / decodeKeys!))
      );
      // The chunks stay whole, so something is split only where a decode is (at scale 3 none).
      const split = ranges.some((n) => n > 1);
      assert.equal(plan.splitKeys, split ? 32 : 0, `scale ${scale}`);
      assert.equal(plan.decodeSplitKeys, split ? decodeKeys : 0);
      assert.equal(plan.merges > 0, split);
      assert.equal(plan.prefillItems, 2 * 2);
      assert.equal(
        plan.items,
        2 * (2 + ranges.reduce((a, b) => a + b, 0)),
        `scale ${scale}`,
      );
      const err = relErr(got, want);
      assert.ok(err < 1e-5, `scale ${scale}: relative error ${err}`);
    }
    // A step of decodes alone splits as before, whatever the scale.
    const one = await runWith(1, decodeStep());
    const two = await runWith(2, decodeStep());
    assert.equal(one.plan.items, two.plan.items);
    assert.equal(two.plan.decodeSplitKeys, two.plan.splitKeys);
    assert.deepEqual(two.got, one.got);
    for (const bad of [0, 1.5]) {
      await assert.rejects(
        () => runWith(bad),
        new RegExp(`mixedDecodeScale must be a positive integer, got ${bad}`),
      );
    }
  },
});

/** H, G, D of the decode-path variants' tests: GQA 2:1 and 3:1, and a head_dim of 128. */
const DECODE_SHAPES: [number, number, number][] = [
  [4, 2, 16],
  [6, 2, 20],
  [4, 4, 128],
];

/** Decodes only (the step's sequences 2-4: 1, 40 and 70 keys), as one-token steps run them. */
function decodeStep() {
  const pages = (first: number, n: number) =>
    Array.from({ length: n }, (_, i) => (first * 5 + i * 7) % LIM.numPages);
  return packStep({
    seqs: [1, 40, 70].map((start, s) => ({
      slot: s,
      start,
      tokens: null,
      pages: pages(s + 2, Math.ceil((start + 1) / 16)),
      sample: greedy,
    })),
    logBase: 0,
  }, LIM);
}

webgpuTest({
  name:
    "attention_hybrid.wgsl compiled for decodes only (HYB_DEC 1) equals both paths and the reference",
  ...opts,
  fn: async (t) => {
    for (const hgd of DECODE_SHAPES) {
      for (const target of [1, 256]) {
        await t.step(`H G D = ${hgd.join(" ")}, target ${target}`, async () => {
          const split = { targetItems: target, maxItemKeys: Infinity };
          const run = (HYB_DEC: number) =>
            runHybridStep(decodeStep(), LIM, hgd, split, "fused", { HYB_DEC });
          const dec = await run(1);
          assert.equal(dec.plan.prefillItems, 0);
          assert.equal(dec.plan.merges > 0, target > 1);
          assert.deepEqual(dec.got, (await run(0)).got);
          const err = relErr(dec.got, dec.want);
          assert.ok(err < 1e-5, `relative error ${err}`);
        });
      }
    }
  },
});

webgpuTest({
  name:
    "attention_hybrid.wgsl with one exp per score (HYB_SX 1) equals the reference, hybrid and decode-only steps",
  ...opts,
  fn: async (t) => {
    for (const hgd of DECODE_SHAPES) {
      for (const target of [1, 256]) {
        await t.step(`H G D = ${hgd.join(" ")}, target ${target}`, async () => {
          const split = { targetItems: target, maxItemKeys: Infinity };
          for (const packed of [step(), decodeStep()]) {
            const sx = await runHybridStep(packed, LIM, hgd, split, "fused", {
              HYB_SX: 1,
            });
            assert.deepEqual(unwritten(sx.got), []);
            const err = relErr(sx.got, sx.want);
            assert.ok(err < 1e-5, `relative error ${err}`);
          }
        });
      }
    }
  },
});

webgpuTest({
  name:
    "attention_hybrid.wgsl decode blocks loaded one block ahead (HYB_PF 1) equal loads at the block (HYB_PF 0)",
  ...opts,
  fn: async () => {
    // Decodes at 1, 40 and 70 keys: one partial block, and 2-5 blocks of 16-64 keys.
    for (const hgd of DECODE_SHAPES) {
      for (const target of [1, 256]) {
        const ahead = await runHybrid(hgd, target, "fused", { HYB_PF: 1 });
        const at = await runHybrid(hgd, target, "fused", { HYB_PF: 0 });
        assert.deepEqual(ahead.got, at.got);
        assert.ok(relErr(at.got, at.want) < 1e-5);
      }
    }
  },
});

webgpuTest({
  name:
    "attention_hybrid.wgsl decode scores in an array of their own (HYB_SC 1) equal scores over the K rows (HYB_SC 0)",
  ...opts,
  fn: async () => {
    // Decodes alone and the hybrid step (its prefill tiles untouched by HYB_SC), split and not,
    // with either softmax of the decode path (HYB_SX).
    for (const hgd of DECODE_SHAPES) {
      for (const target of [1, 256]) {
        for (const HYB_SX of [0, 1]) {
          for (const packed of [decodeStep(), step()]) {
            const [own, over] = await Promise.all(
              [1, 0].map((HYB_SC) =>
                runHybridStep(
                  packed,
                  LIM,
                  hgd,
                  {
                    targetItems: target,
                    maxItemKeys: Infinity,
                  },
                  "fused",
                  { HYB_SC, HYB_SX },
                )
              ),
            );
            assert.deepEqual(
              own.got,
              over.got,
              `${hgd} ${target} SX ${HYB_SX}`,
            );
            assert.ok(relErr(own.got, own.want) < 1e-5);
          }
        }
      }
    }
  },
});

Deno.test("planAttention() puts prefill tiles first and splits only when items are few", async (t) => {
  const shape = hybridShape(4, 2, 16); // qt 64 tokens, kb 64 keys
  const split = (targetItems: number) => ({
    targetItems,
    maxItemKeys: Infinity,
    mixedDecodeScale: 1,
  });
  const caps = attentionCaps(4, 2, shape, LIM, split(64));
  const fresh = () => {
    const m = new Uint32Array(metaWords(LIM) + attentionWords(caps));
    m.set(step().meta);
    return m;
  };
  await t.step("no split when the target is met", () => {
    const p = planAttention(fresh(), LIM, 2, shape, caps, split(1));
    // Tiles: chunk of 23, chunk of 2, three decodes; times 2 kv heads.
    assert.deepEqual([p.prefillItems, p.items, p.merges, p.splitKeys], [
      4,
      10,
      0,
      0,
    ]);
  });
  await t.step("splits keys in multiples of the key block", () => {
    const p = planAttention(fresh(), LIM, 2, shape, caps, split(64));
    assert.equal(p.splitKeys % shape.kb, 0);
    assert.ok(p.items > 10 && p.merges > 0);
  });
});

// The engine loop on the software adapter: greedy outputs identical alone, in a hybrid batch,
// after preemption and recompute, and from the prefix cache; fused = serial attention;
// cancellation frees blocks; a full queue refuses; GPU times and step records are coherent.
import assert from "node:assert/strict";
import type { EngineStepRow } from "../../../../adapters/backend.ts";
import {
  EngineLoop,
  type EngineLoopOptions,
} from "../../../../adapters/webgpu/serving/engine_loop.ts";
import {
  type EngineRequest,
  QueueFullError,
} from "../../../../adapters/webgpu/serving/engine_request.ts";
import type { AttentionMode } from "../../../../adapters/webgpu/step/engine_options.ts";
import { ForwardEngine } from "../../../../adapters/webgpu/step/forward.ts";
import { PAGE_SIZE } from "../../../../adapters/webgpu/batch/kv_blocks.ts";
import { presetSource } from "../../../../adapters/webgpu/model/presets.ts";
import { GREEDY } from "../../../../adapters/webgpu/batch/step_batch.ts";
import { testDevice } from "../_gpu.ts";
import { webgpuTest } from "../../../_system.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

/** Four prompts: page-crossing lengths, two sharing a 32-token prefix. */
const shared = Array.from({ length: 32 }, (_, i) => (i * 11 + 3) % 256);
const PROMPTS = [
  [5, 6, 7, 8, 9],
  Array.from({ length: 21 }, (_, i) => (i * 7 + 1) % 256),
  [...shared, 17, 18, 19],
  [...shared, 40],
];
const NEW = [14, 9, 12, 10];

async function engine(attention: AttentionMode = "fused", numPages?: number) {
  return await ForwardEngine.create(
    await testDevice(),
    presetSource("tiny", 5),
    {
      dtype: "f32",
      maxTokens: 64,
      maxSeqs: 4,
      maxContext: 64,
      numPages,
      attention,
      logSize: 64,
    },
  );
}

async function collect(
  loop: EngineLoop,
  req: EngineRequest,
): Promise<number[]> {
  const ids: number[] = [];
  for await (const ev of loop.submit(req)) {
    if (ev.kind === "token") ids.push(ev.id);
    if (ev.kind === "error") throw new Error(ev.message);
  }
  return ids;
}

const req = (i: number, extra: Partial<EngineRequest> = {}): EngineRequest => ({
  id: `r${i}`,
  prompt: PROMPTS[i],
  maxTokens: NEW[i],
  ignoreEos: true,
  ...extra,
});

/**
 * Each prompt alone, stepped directly on the engine (one sequence, no loop, no scheduler): the
 * whole prompt in one step, then one GPU-fed decode step per new token, each logging its id.
 */
let aloneCache: number[][] | null = null;
async function alone(): Promise<number[][]> {
  if (aloneCache) return aloneCache;
  const e = await engine();
  const out: number[][] = [];
  for (const [i, p] of PROMPTS.entries()) {
    const n = NEW[i];
    const pages = Array.from(
      { length: Math.ceil((p.length + n) / PAGE_SIZE) },
      (_, k) => k,
    );
    for (let j = 0; j < n; j++) {
      e.submitStep({
        seqs: [{
          slot: 0,
          start: j === 0 ? 0 : p.length + j - 1,
          tokens: j === 0 ? p : null,
          pages,
          sample: GREEDY,
        }],
        logBase: j,
      });
    }
    out.push(Array.from(await e.readTokenLog(0, n)));
  }
  e.destroy();
  aloneCache = out;
  return out;
}

async function together(
  loopOpts: EngineLoopOptions,
  attention: AttentionMode = "fused",
  numPages?: number,
) {
  const e = await engine(attention, numPages);
  const loop = await EngineLoop.create(e, { tokenBudget: 24, ...loopOpts });
  const steps: EngineStepRow[] = [];
  loop.onStep = (r) => steps.push(r);
  const got = await Promise.all(PROMPTS.map((_, i) => collect(loop, req(i))));
  const stats = loop.blocks.stats();
  await loop.close();
  e.destroy();
  return { got, steps, stats };
}

webgpuTest({
  name:
    "EngineLoop greedy outputs equal each request alone, under every policy",
  ...opts,
  fn: async (t) => {
    const want = await alone();
    for (
      const policy of ["sarathi", "prefill-first", "decode-first"] as const
    ) {
      await t.step(policy, async () => {
        const { got, steps } = await together({ policy, prefixCaching: false });
        assert.deepEqual(got, want);
        if (policy === "sarathi") {
          assert.ok(
            steps.some((s) => s.prefillTokens > 0 && s.decodeTokens > 0),
            "expected hybrid steps (prefill chunks with decodes)",
          );
        }
      });
    }
  },
});

webgpuTest({
  name: "EngineLoop fused and serial attention give identical greedy outputs",
  ...opts,
  fn: async () => {
    const fused = await together({ prefixCaching: false }, "fused");
    const serial = await together({ prefixCaching: false }, "serial");
    assert.deepEqual(serial.got, fused.got);
    assert.ok(serial.steps.every((s) => s.attention === "serial"));
  },
});

webgpuTest({
  name: "EngineLoop greedy outputs survive preemption and recompute",
  ...opts,
  fn: async () => {
    const want = await alone();
    // 5 blocks of 16 tokens cannot hold all four sequences: decodes preempt the newest.
    const { got, steps } = await together(
      { prefixCaching: false, tokenBudget: 64 },
      "fused",
      5,
    );
    assert.deepEqual(got, want);
    assert.ok(steps.some((s) => s.preempted > 0), "expected a preemption");
  },
});

webgpuTest({
  name:
    "EngineLoop greedy outputs are unchanged when the prefix comes from the cache",
  ...opts,
  fn: async () => {
    const want = await alone();
    const e = await engine();
    const loop = await EngineLoop.create(e, { tokenBudget: 24 });
    assert.deepEqual(await collect(loop, req(2)), want[2]);
    const cached: number[] = [];
    let cachedTokens = -1;
    for await (const ev of loop.submit(req(3))) {
      if (ev.kind === "token") cached.push(ev.id);
      if (ev.kind === "done") cachedTokens = ev.cachedTokens;
    }
    assert.equal(cachedTokens, 32);
    assert.deepEqual(cached, want[3]);
    assert.equal(loop.blocks.stats().prefixHitTokens, 32);
    await loop.close();
    e.destroy();
  },
});

/** Most steps submitted and not yet read back at once, from the step records. */
function peakInFlight(steps: EngineStepRow[]): number {
  let peak = 0;
  for (const s of steps) {
    const ahead = steps.filter((o) =>
      o.step > s.step && o.tSubmitNs < s.tReadbackNs
    ).length;
    peak = Math.max(peak, 1 + ahead);
  }
  return peak;
}

webgpuTest({
  name:
    "EngineLoop queues past stepsInFlight while steps fit queueAheadMs, with the same greedy ids",
  ...opts,
  fn: async (t) => {
    const want = await alone();
    const e = await engine();
    const run = async (queueAheadMs: number, encodeAhead = true) => {
      const loop = await EngineLoop.create(e, {
        tokenBudget: 24,
        prefixCaching: false,
        stepsInFlight: 1,
        maxStepsInFlight: 6,
        queueAheadMs,
        encodeAhead,
      });
      const steps: EngineStepRow[] = [];
      loop.onStep = (r) => steps.push(r);
      const ids = await collect(loop, req(0));
      await loop.close();
      return { ids, steps };
    };
    // A step whose map was asked for has run (Deno returns from mapAsync after the GPU did), so
    // it leaves the queue while its data is still on the way: the steps in flight are the
    // queue plus those mapped, and the ring (2 * 6 + 2 slots here) bounds both.
    await t.step("queueAheadMs 0: the floor of one step queued", async () => {
      const { ids, steps } = await run(0);
      assert.deepEqual(ids, want[0]);
      assert.equal(peakInFlight(steps), 2);
    });
    await t.step("an unbounded queueAheadMs: up to the ring", async () => {
      const { ids, steps } = await run(1e9);
      assert.deepEqual(ids, want[0]);
      // The first read-back step's GPU time (timestamps) opens the queue to the cap at once;
      // without timestamp queries there is no step time and the floor holds.
      assert.equal(peakInFlight(steps), e.gpu.timestamps ? 12 : 2);
    });
    // The step encoded before the maps is submitted right after them, before the refill: the
    // same ids and the same depth as encoding it after the maps.
    await t.step("encodeAhead false: the same ids and depth", async () => {
      for (const queueAheadMs of [0, 1e9]) {
        const { ids, steps } = await run(queueAheadMs, false);
        assert.deepEqual(ids, want[0]);
        const deep = queueAheadMs > 0 && e.gpu.timestamps;
        assert.equal(peakInFlight(steps), deep ? 12 : 2);
      }
    });
    await t.step(
      "a cap below the floor, or a negative bound, is refused",
      async () => {
        await assert.rejects(
          () => EngineLoop.create(e, { stepsInFlight: 4, maxStepsInFlight: 2 }),
          /maxStepsInFlight: expected >= stepsInFlight \(4\), got 2/,
        );
        await assert.rejects(
          () => EngineLoop.create(e, { queueAheadMs: -1 }),
          /queueAheadMs: expected >= 0, got -1/,
        );
      },
    );
    e.destroy();
  },
});

webgpuTest({
  name:
    "EngineLoop.cancel() ends the stream and frees the sequence's KV blocks",
  ...opts,
  fn: async () => {
    const e = await engine();
    const loop = await EngineLoop.create(e, {
      tokenBudget: 24,
      prefixCaching: false,
    });
    const ac = new AbortController();
    const events = loop.submit(req(1, { maxTokens: 40 }), ac.signal);
    let last = "";
    let tokens = 0;
    for await (const ev of events) {
      if (ev.kind === "token" && ++tokens === 2) ac.abort();
      if (ev.kind === "done") last = ev.finishReason;
    }
    assert.equal(last, "cancelled");
    assert.equal(loop.blocks.stats().used, 0);
    assert.equal(loop.counters.cancelled, 1);
    await loop.close();
    e.destroy();
  },
});

webgpuTest({
  name:
    "EngineLoop.submit() refuses when the queue is full, and bad requests by field",
  ...opts,
  fn: async (t) => {
    const e = await engine();
    const loop = await EngineLoop.create(e, { tokenBudget: 24, maxWaiting: 1 });
    await t.step("a second waiting request gets QueueFullError", async () => {
      // The first request is scheduled at once; the second waits; the third finds it waiting.
      const a = loop.submit(req(0));
      const b = loop.submit(req(1));
      assert.throws(() => loop.submit(req(2)), QueueFullError);
      for await (const _ of a) { /* drain */ }
      for await (const _ of b) { /* drain */ }
    });
    await t.step("token id out of the vocabulary", () => {
      assert.throws(
        () => loop.submit({ id: "x", prompt: [1, 256], maxTokens: 1 }),
        {
          name: "RequestError",
          field: "prompt",
          message:
            "Request x: prompt: expected token ids in [0, 256), got 256 at 1",
        },
      );
    });
    await t.step("prompt + max_tokens beyond the context", () => {
      assert.throws(
        () => loop.submit({ id: "y", prompt: [1, 2], maxTokens: 70 }),
        {
          name: "RequestError",
          field: "max_tokens",
          message:
            "Request y: 2 prompt tokens + max_tokens 70 exceed the context of 65 tokens",
        },
      );
    });
    await loop.close();
    e.destroy();
  },
});

webgpuTest({
  name:
    "EngineLoop stops at a stop id after min_tokens, and records coherent step times",
  ...opts,
  fn: async () => {
    const want = await alone();
    const e = await engine();
    const loop = await EngineLoop.create(e, { tokenBudget: 24 });
    const steps: EngineStepRow[] = [];
    loop.onStep = (r) => steps.push(r);
    const stopId = want[0][3];
    const first = want[0].indexOf(stopId);
    const ids: number[] = [];
    let reason = "";
    for await (
      const ev of loop.submit(
        req(0, {
          ignoreEos: false,
          stopTokenIds: [stopId],
          minTokens: first + 2,
        }),
      )
    ) {
      if (ev.kind === "token") ids.push(ev.id);
      if (ev.kind === "done") reason = ev.finishReason;
    }
    const again = want[0].indexOf(stopId, first + 1);
    if (again >= 0) {
      assert.equal(reason, "stop");
      assert.deepEqual(ids, want[0].slice(0, again + 1));
    } else {
      assert.equal(reason, "length");
    }
    for (const s of steps) {
      assert.ok(s.tSchedNs <= s.tSubmitNs && s.tSubmitNs <= s.tReadbackNs);
      if (s.tGpuStartNs !== null) {
        assert.ok(
          s.tGpuStartNs <= s.tGpuEndNs!,
          `step ${s.step}: GPU start after end`,
        );
        assert.ok(
          s.tGpuEndNs! <= s.tReadbackNs,
          `step ${s.step}: GPU end after readback`,
        );
      }
    }
    await loop.close();
    e.destroy();
  },
});

// The scheduler: literal cases per policy, then properties over random workloads simulated with
// a lagging readback (budget, stall-freedom, policy rules, preemption order, block accounting,
// no starvation).
import assert from "node:assert/strict";
import { BlockManager } from "../../../../adapters/webgpu/batch/kv_blocks.ts";
import {
  POLICIES,
  type Policy,
  Scheduler,
  type StepPlan,
} from "../../../../adapters/webgpu/serving/scheduler.ts";
import { Sequence } from "../../../../adapters/webgpu/serving/sequence.ts";

const greedy = { temperature: 0, topP: 1, seed: 0 };
const ids = (n: number, from = 1) =>
  Array.from({ length: n }, (_, i) => from + i);
const mk = (id: string, arrival: number, prompt: number, maxTokens: number) =>
  new Sequence(
    {
      id,
      prompt: ids(prompt, arrival * 1000 + 1),
      maxTokens,
      sampling: greedy,
    },
    arrival,
  );
const shape = (p: StepPlan) =>
  p.items.map((i) => `${i.seq.id}:${i.tokens ? i.tokens.length : "d"}`);

/** Reads back every token in flight (as the engine does after a readback). */
function readAll(s: Scheduler) {
  for (const q of [...s.running, ...s.draining, ...s.waiting]) {
    while (q.inFlight > 0) q.output.push(7);
    if (q.status === "draining") s.finish(q);
  }
}

Deno.test("Scheduler.schedule() sarathi: decodes first, then chunks within the budget", async (t) => {
  const s = new Scheduler(new BlockManager(64), {
    policy: "sarathi",
    tokenBudget: 8,
    maxSeqs: 4,
  });
  s.add(mk("a", 0, 5, 3));
  await t.step("a whole prompt fits", () => {
    assert.deepEqual(shape(s.schedule()), ["a:5"]);
  });
  s.add(mk("b", 1, 20, 3));
  await t.step("a's decode, then a chunk of b filling the budget", () => {
    assert.deepEqual(shape(s.schedule()), ["a:d", "b:7"]);
  });
  await t.step("the decode rides along every chunk", () => {
    assert.deepEqual(shape(s.schedule()), ["a:d", "b:7"]);
    assert.deepEqual(shape(s.schedule()), ["b:6"]); // a has scheduled its 3 samples
    assert.deepEqual(shape(s.schedule()), ["b:d"]);
  });
});

Deno.test("Scheduler.schedule() prefill-first: prefills alone, whole prompts, decodes wait", async (t) => {
  const s = new Scheduler(new BlockManager(64), {
    policy: "prefill-first",
    tokenBudget: 8,
    maxSeqs: 4,
  });
  s.add(mk("a", 0, 5, 3));
  s.add(mk("b", 1, 5, 3));
  await t.step("b does not fit whole after a: a alone", () => {
    assert.deepEqual(shape(s.schedule()), ["a:5"]);
  });
  await t.step("b's prefill runs before a's decode", () => {
    assert.deepEqual(shape(s.schedule()), ["b:5"]);
    assert.deepEqual(shape(s.schedule()), ["a:d", "b:d"]);
  });
  await t.step("a prompt longer than the budget is chunked alone", () => {
    s.add(mk("c", 2, 12, 1));
    assert.deepEqual(shape(s.schedule()), ["c:8"]);
    assert.deepEqual(shape(s.schedule()), ["c:4"]);
    assert.deepEqual(shape(s.schedule()), ["a:d", "b:d"]);
  });
});

Deno.test("Scheduler.schedule() decode-first: no admission while a sequence decodes", async (t) => {
  const s = new Scheduler(new BlockManager(64), {
    policy: "decode-first",
    tokenBudget: 8,
    maxSeqs: 4,
  });
  s.add(mk("a", 0, 4, 3));
  assert.deepEqual(shape(s.schedule()), ["a:4"]);
  s.add(mk("b", 1, 4, 2));
  await t.step("b waits for a's decodes", () => {
    assert.deepEqual(shape(s.schedule()), ["a:d"]);
    assert.deepEqual(shape(s.schedule()), ["a:d"]);
  });
  await t.step("once a has scheduled its last decode, b is admitted", () => {
    assert.deepEqual(shape(s.schedule()), ["b:4"]);
    readAll(s);
    assert.deepEqual(shape(s.schedule()), ["b:d"]);
  });
});

Deno.test("Scheduler.schedule() preempts the newest running sequence when blocks run out", async (t) => {
  // 3 blocks of 16: a (16 tokens) and b (16 tokens) fill 2; both need a new block to decode.
  const s = new Scheduler(new BlockManager(3, false), {
    policy: "sarathi",
    tokenBudget: 64,
    maxSeqs: 4,
    watermarkBlocks: 0,
  });
  const a = mk("a", 0, 16, 4);
  const b = mk("b", 1, 16, 4);
  s.add(a);
  s.add(b);
  assert.deepEqual(shape(s.schedule()), ["a:16", "b:16"]);
  await t.step("a gets the last block, b is preempted", () => {
    const p = s.schedule();
    assert.deepEqual(shape(p), ["a:d"]);
    assert.deepEqual(p.preempted.map((q) => q.id), ["b"]);
    assert.equal(b.status, "waiting");
    assert.equal(b.preemptions, 1);
  });
  await t.step("b is readmitted only after its tokens are read back", () => {
    assert.equal(b.inFlight, 1);
    assert.deepEqual(shape(s.schedule()), ["a:d"]);
    readAll(s);
    // b recomputes its prompt and its read-back token, chunk by chunk as blocks allow.
    assert.deepEqual(shape(s.schedule()), ["a:d", "b:16"]);
    assert.equal(b.prefillTarget, 17);
  });
});

Deno.test("Scheduler.schedule() serves a shared prefix from the cache", () => {
  const s = new Scheduler(new BlockManager(16), {
    policy: "sarathi",
    tokenBudget: 64,
    maxSeqs: 4,
  });
  const prompt = ids(40);
  s.add(new Sequence({ id: "a", prompt, maxTokens: 1, sampling: greedy }, 0));
  s.schedule();
  s.add(
    new Sequence({
      id: "b",
      prompt: [...prompt.slice(0, 32), 999],
      maxTokens: 1,
      sampling: greedy,
    }, 1),
  );
  const p = s.schedule();
  assert.deepEqual(shape(p), ["b:1"]);
  assert.equal(p.prefixHitTokens, 32);
  assert.equal(p.items[0].start, 32);
});

Deno.test("Scheduler refuses bad options and oversized requests", async (t) => {
  await t.step("budget below maxSeqs", () => {
    assert.throws(
      () =>
        new Scheduler(new BlockManager(4), {
          policy: "sarathi",
          tokenBudget: 2,
          maxSeqs: 4,
        }),
      {
        message:
          "Scheduler: tokenBudget: expected an integer >= maxSeqs (4), got 2",
      },
    );
  });
  await t.step("a request larger than the cache", () => {
    const s = new Scheduler(new BlockManager(2), {
      policy: "sarathi",
      tokenBudget: 8,
      maxSeqs: 2,
    });
    assert.throws(() => s.add(mk("x", 0, 30, 4)), {
      message:
        "Request x: 30 prompt + 4 new tokens need 3 KV blocks, the cache has 2",
    });
  });
});

/** A deterministic PRNG for the simulations. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface SimResult {
  steps: number;
  finishedOrder: string[];
  firstAdmission: string[];
  preemptions: number;
}

/**
 * Runs a random workload to completion, checking the invariants of every step. Samples are read
 * back `lag` steps after they were scheduled; some sequences stop early ("EOS").
 */
function simulate(policy: Policy, seed: number): SimResult {
  const r = rng(seed);
  const numBlocks = 6 + Math.floor(r() * 20);
  const maxSeqs = 1 + Math.floor(r() * 5);
  const budget = maxSeqs + Math.floor(r() * 40);
  const lag = Math.floor(r() * 4);
  const caching = r() < 0.5;
  const blocks = new BlockManager(numBlocks, caching);
  const s = new Scheduler(blocks, { policy, tokenBudget: budget, maxSeqs });
  const n = 3 + Math.floor(r() * 12);
  const seqs: Sequence[] = [];
  // Arrival steps in id order, so ids number the requests by arrival.
  const arrivals = Array.from({ length: n }, () => Math.floor(r() * 30)).sort(
    (a, b) => a - b,
  );
  for (let i = 0; i < n; i++) {
    const cap = numBlocks * 16;
    const prompt = 1 + Math.floor(r() * Math.min(60, cap - 8));
    const maxTokens = 1 + Math.floor(r() * Math.min(20, cap - prompt));
    const shared = r() < 0.3 && i > 0;
    const p = shared
      ? [...seqs[0].spec.prompt.slice(0, prompt)].concat(
        ids(Math.max(0, prompt - seqs[0].spec.prompt.length), 5000),
      )
      : ids(prompt, i * 100 + 1);
    seqs.push(
      new Sequence({ id: `r${i}`, prompt: p, maxTokens, sampling: greedy }, i),
    );
  }
  const eosAt = seqs.map((q) =>
    r() < 0.3 ? Math.floor(r() * q.spec.maxTokens) : -1
  );
  const pending: { step: number; seq: Sequence }[] = [];
  const finishedOrder: string[] = [];
  const firstAdmission: string[] = [];
  let preemptions = 0;
  let step = 0;
  const live = () => seqs.filter((q) => q.status !== "finished").length;
  while (live() > 0) {
    assert.ok(step < 5000, `${policy} seed ${seed}: no progress (starvation)`);
    for (const [i, q] of seqs.entries()) {
      if (arrivals[i] === step) s.add(q);
    }
    // Readback of samples scheduled `lag` steps ago.
    while (pending.length > 0 && pending[0].step <= step - lag) {
      const { seq } = pending.shift()!;
      if (seq.status === "finished") continue;
      seq.output.push(seq.output.length);
      const i = seqs.indexOf(seq);
      const stop = eosAt[i] >= 0 && seq.output.length - 1 >= eosAt[i];
      if (stop || (seq.status === "draining" && seq.inFlight === 0)) {
        s.finish(seq);
        finishedOrder.push(seq.id);
      }
    }
    const before = new Map(seqs.map((q) => [q, {
      status: q.status,
      computed: q.computed,
      decoding: q.status === "running" && q.remainingPrefill <= 0,
    }]));
    const runningBefore = [...s.running];
    const p = s.schedule();
    const where = `${policy} seed ${seed} step ${step}`;
    // Budget and limits.
    const T = p.items.reduce((a, it) => a + (it.tokens?.length ?? 1), 0);
    assert.ok(T <= budget, `${where}: ${T} tokens > budget ${budget}`);
    assert.ok(p.items.length <= maxSeqs, `${where}: too many sequences`);
    assert.equal(new Set(p.items.map((i) => i.seq)).size, p.items.length);
    assert.equal(T, p.prefillTokens + p.decodeTokens);
    // Positions continue where each sequence left off; blocks cover them.
    for (const it of p.items) {
      const b = before.get(it.seq)!;
      const n = it.tokens?.length ?? 1;
      if (b.status === "running") assert.equal(it.start, b.computed, where);
      assert.ok(it.seq.blocks.length * 16 >= it.start + n, where);
      if (it.tokens === null) assert.ok(it.start >= it.seq.prefillTarget);
      if (it.sample) pending.push({ step, seq: it.seq });
    }
    for (const a of p.admitted) {
      if (!firstAdmission.includes(a.id)) firstAdmission.push(a.id);
    }
    // Preemption takes the newest running sequence first.
    if (p.preempted.length > 0) {
      preemptions += p.preempted.length;
      const inStep = new Set(p.items.map((i) => i.seq));
      const candidates = runningBefore.filter((q) => !inStep.has(q));
      const newestFirst = [...candidates].sort((x, y) => y.arrival - x.arrival);
      assert.deepEqual(
        p.preempted.map((q) => q.id),
        newestFirst.slice(0, p.preempted.length).map((q) => q.id),
        `${where}: preemption order`,
      );
    }
    // Policy rules.
    const decodersBefore = seqs.filter((q) => before.get(q)!.decoding);
    if (policy === "sarathi" && p.prefillTokens > 0) {
      for (const q of decodersBefore) {
        assert.ok(
          p.items.some((i) => i.seq === q) || p.preempted.includes(q),
          `${where}: decode of ${q.id} waits behind a prefill (not stall-free)`,
        );
      }
    }
    if (policy === "prefill-first" && p.prefillTokens > 0) {
      assert.equal(p.decodeTokens, 0, `${where}: decode in a prefill step`);
    }
    if (policy === "decode-first" && decodersBefore.length > 0) {
      assert.equal(p.admitted.length, 0, `${where}: admission while decoding`);
    }
    // Block accounting: references equal the block tables of live sequences.
    const refs = new Map<number, number>();
    for (const q of seqs) {
      for (const b of q.blocks) refs.set(b, (refs.get(b) ?? 0) + 1);
    }
    for (let b = 0; b < numBlocks; b++) {
      assert.equal(
        blocks.refCount(b),
        refs.get(b) ?? 0,
        `${where}: block ${b}`,
      );
    }
    assert.equal(blocks.stats().used, refs.size);
    step++;
  }
  return { steps: step, finishedOrder, firstAdmission, preemptions };
}

Deno.test("Scheduler properties over random workloads, every policy", async (t) => {
  for (const policy of POLICIES) {
    await t.step(policy, () => {
      let preemptions = 0;
      for (let seed = 1; seed <= 300; seed++) {
        const r = simulate(policy, seed * 7919 + policy.length);
        preemptions += r.preemptions;
        // First admissions follow arrival order (ids are numbered by arrival).
        const order = r.firstAdmission.map((id) => Number(id.slice(1)));
        const sorted = [...order].sort((a, b) => a - b);
        assert.deepEqual(order, sorted, `${policy} seed ${seed}: FIFO`);
      }
      assert.ok(preemptions > 0, `${policy}: the workloads never preempted`);
    });
  }
});

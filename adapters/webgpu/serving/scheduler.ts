/**
 * Continuous-batching scheduler: decides, step by step, which sequences run and how many of their
 * tokens, under a token budget, a sequence limit and the KV blocks available. Pure logic: no
 * GPU, no clock; the engine loop submits what {@link Scheduler.schedule} returns.
 *
 * Policies (docs/ENGINE.md):
 * - `prefill-first` (vLLM v0): a step holds prefills only while any prefill can run; whole
 *   prompts are admitted when they fit the remaining budget (a prompt longer than the whole
 *   budget is chunked, alone); decodes run only in steps without prefill.
 * - `sarathi` (Sarathi-Serve): every running decode first, then chunks of running prefills, then
 *   new admissions, up to the budget: no decode ever waits behind a prefill.
 * - `decode-first`: every decode and the chunks of prefills already admitted; a new sequence is
 *   admitted only when no sequence is decoding.
 *
 * Admission is first come, first served (a blocked head blocks the queue, so nothing starves).
 * When a decode needs a block and none is left, the newest running sequence is preempted: its
 * blocks are released (full ones stay in the prefix cache) and it waits, ahead of younger
 * requests, to be recomputed from its prompt and the tokens it produced. A preempted sequence is
 * readmitted only once every token it had in flight has been read back.
 *
 * ~430 lines in one class: the three policies are one admission, chunking and preemption pass
 * over the same queues with different orders; split by policy, each would repeat that pass.
 *
 * @module
 */
import { type BlockManager, PAGE_SIZE } from "../batch/kv_blocks.ts";
import type { Sequence } from "./sequence.ts";

/** Scheduling policies. */
export const POLICIES = ["prefill-first", "sarathi", "decode-first"] as const;
/** A scheduling policy. */
export type Policy = typeof POLICIES[number];

/** Options of a {@link Scheduler}. */
export interface SchedulerOptions {
  /** Scheduling policy. */
  policy: Policy;
  /** Query tokens per step (>= maxSeqs, so every decode fits one step). */
  tokenBudget: number;
  /** Sequences running at once (GPU slots). */
  maxSeqs: number;
  /** Free blocks kept at admission while sequences run (default max(1, 1% of the blocks)). */
  watermarkBlocks?: number;
}

/** One sequence's part in a planned step. */
export interface PlannedItem {
  /** The sequence. */
  seq: Sequence;
  /** The sequence's GPU slot in this step (a sequence that drains frees it after the step). */
  slot: number;
  /** First position computed. */
  start: number;
  /** Prompt (or recomputed) ids of a prefill chunk, or `null` for one decode token fed on the GPU. */
  tokens: number[] | null;
  /** Whether the last position samples a token. */
  sample: boolean;
}

/** What one step runs, and what the scheduler did to get there. */
export interface StepPlan {
  /** Each sequence's part in the step, in row order. */
  items: PlannedItem[];
  /** Query tokens of prefill chunks. */
  prefillTokens: number;
  /** Decode tokens. */
  decodeTokens: number;
  /** Sequences preempted while planning this step. */
  preempted: Sequence[];
  /** Sequences admitted (first time or after preemption) in this step. */
  admitted: Sequence[];
  /** Prompt tokens of admitted sequences served from the prefix cache. */
  prefixHitTokens: number;
}

/**
 * The scheduler over one block manager.
 *
 * @example
 * ```ts
 * import { BlockManager } from "../batch/kv_blocks.ts";
 * import { Scheduler } from "./scheduler.ts";
 * import { Sequence } from "./sequence.ts";
 * const s = new Scheduler(new BlockManager(16), { policy: "sarathi", tokenBudget: 8, maxSeqs: 4 });
 * const greedy = { temperature: 0, topP: 1, seed: 0 };
 * s.add(new Sequence({ id: "a", prompt: [1, 2, 3, 4, 5], maxTokens: 2, sampling: greedy }, 0));
 * s.add(new Sequence({ id: "b", prompt: [6, 7, 8, 9, 10], maxTokens: 2, sampling: greedy }, 1));
 * const p = s.schedule();
 * console.log(p.items.map((i) => i.tokens?.length ?? 0)); // [ 5, 3 ]
 * ```
 */
export class Scheduler {
  /** Sequences waiting for admission, oldest first. */
  readonly waiting: Sequence[] = [];
  /** Sequences holding a slot, oldest first. */
  readonly running: Sequence[] = [];
  /** Sequences whose every sample is scheduled, waiting for readback (no slot). */
  readonly draining = new Set<Sequence>();
  private readonly freeSlots: number[];
  /** Slots of sequences that sampled their last token in the step being planned. */
  private drained: Sequence[] = [];
  private readonly watermark: number;
  /** Steps planned so far. */
  steps = 0;

  /**
   * A scheduler over `blocks`; throws when `opts` are out of range (the message names the option).
   */
  constructor(
    /** The KV blocks this scheduler hands out. */
    readonly blocks: BlockManager,
    /** Policy, budget and limits. */
    readonly opts: SchedulerOptions,
  ) {
    if (!Number.isInteger(opts.maxSeqs) || opts.maxSeqs < 1) {
      throw new Error(
        `Scheduler: maxSeqs: expected an integer >= 1, got ${opts.maxSeqs}`,
      );
    }
    if (
      !Number.isInteger(opts.tokenBudget) || opts.tokenBudget < opts.maxSeqs
    ) {
      throw new Error(
        `Scheduler: tokenBudget: expected an integer >= maxSeqs (${opts.maxSeqs}), got ${opts.tokenBudget}`,
      );
    }
    this.freeSlots = Array.from(
      { length: opts.maxSeqs },
      (_, i) => opts.maxSeqs - 1 - i,
    );
    this.watermark = opts.watermarkBlocks ??
      Math.max(1, Math.ceil(0.01 * blocks.numBlocks));
  }

  /** Queues a new sequence (it must be in state `waiting` and fit the cache on its own). */
  add(seq: Sequence): void {
    if (seq.status !== "waiting") {
      throw new Error(
        `Scheduler: sequence ${seq.id} is ${seq.status}, expected waiting`,
      );
    }
    const need = blocksForLength(
      seq.spec.prompt.length + seq.spec.maxTokens - 1,
    );
    if (need > this.blocks.numBlocks) {
      throw new Error(
        `Request ${seq.id}: ${seq.spec.prompt.length} prompt + ${seq.spec.maxTokens} new tokens need ${need} KV blocks, the cache has ${this.blocks.numBlocks}`,
      );
    }
    insertByArrival(this.waiting, seq);
  }

  /** Whether any sequence is waiting, running or draining. */
  get busy(): boolean {
    return this.waiting.length + this.running.length + this.draining.size > 0;
  }

  /** Plans the next step and updates the sequences as if it were submitted. */
  schedule(): StepPlan {
    const plan: StepPlan = {
      items: [],
      prefillTokens: 0,
      decodeTokens: 0,
      preempted: [],
      admitted: [],
      prefixHitTokens: 0,
    };
    this.plan(plan);
    // Running prefills that hold blocks but cannot grow, with nothing in flight to free any:
    // preempt the newest so the oldest can finish (never happens while blocks are plentiful).
    while (
      plan.items.length === 0 && this.running.length > 1 &&
      this.draining.size === 0
    ) {
      this.preempt(this.running[this.running.length - 1], plan);
      this.plan(plan);
    }
    // A slot freed by a sequence's last sample is reused from the next step on (its sample
    // writes the slot in this step).
    for (const d of this.drained) this.freeSlot(d);
    this.drained = [];
    if (plan.items.length > 0) this.steps++;
    return plan;
  }

  /**
   * Fills `plan` under the token budget in the policy's order of decodes, prefills and admissions.
   */
  private plan(plan: StepPlan): void {
    const budget = { left: this.opts.tokenBudget };
    const policy = this.opts.policy;
    if (policy === "prefill-first") {
      this.planPrefills(plan, budget);
      this.admit(plan, budget, true);
      if (plan.items.length === 0) this.planDecodes(plan, budget);
    } else {
      const decoding = this.running.some((s) => s.remainingPrefill <= 0);
      this.planDecodes(plan, budget);
      this.planPrefills(plan, budget);
      if (policy === "sarathi" || !decoding) this.admit(plan, budget, false);
    }
  }

  /**
   * Ends a sequence (finished, stopped or cancelled): registers its computed full blocks in the
   * prefix cache, releases them and its slot, and drops it from every queue.
   */
  finish(seq: Sequence): void {
    if (seq.status === "finished") return;
    this.releaseAll(seq);
    remove(this.waiting, seq);
    remove(this.running, seq);
    this.draining.delete(seq);
    seq.status = "finished";
  }

  /** Decodes of running sequences, oldest first, preempting the newest when blocks run out. */
  private planDecodes(plan: StepPlan, budget: { left: number }): void {
    for (const s of [...this.running]) {
      if (s.status !== "running" || s.remainingPrefill > 0) continue;
      if (budget.left < 1) break;
      const need = blocksFor(s, 1);
      while (need > this.blocks.available) {
        const victim = this.newestPreemptible(plan);
        if (!victim) break;
        this.preempt(victim, plan);
        if (victim === s) break;
      }
      if (s.status !== "running" || need > this.blocks.available) continue;
      this.grow(s, need);
      plan.items.push({
        seq: s,
        slot: s.slot,
        start: s.computed,
        tokens: null,
        sample: true,
      });
      s.computed += 1;
      this.sampled(s);
      plan.decodeTokens++;
      budget.left--;
    }
  }

  /** Next chunks of running prefills, oldest first, as far as budget and blocks allow. */
  private planPrefills(plan: StepPlan, budget: { left: number }): void {
    for (const s of [...this.running]) {
      if (s.remainingPrefill <= 0 || budget.left <= 0) continue;
      const n = this.fit(s, Math.min(s.remainingPrefill, budget.left), 0);
      if (n <= 0) continue;
      this.chunk(s, n, plan, budget);
    }
  }

  /** Admits waiting sequences in arrival order while budget, slots and blocks allow. */
  private admit(
    plan: StepPlan,
    budget: { left: number },
    wholeOnly: boolean,
  ): void {
    while (
      this.waiting.length > 0 && budget.left > 0 && this.freeSlots.length > 0
    ) {
      const s = this.waiting[0];
      // Preempted: its last tokens are still on their way back, or it just lost its blocks.
      if (s.inFlight > 0 || plan.preempted.includes(s)) break;
      const known = s.known();
      const hit = this.blocks.lookup(known, known.length - 1);
      let n = Math.min(known.length - hit.tokens, budget.left);
      const whole = known.length - hit.tokens;
      if (wholeOnly && n < whole) {
        // A prompt longer than the whole budget runs chunked, alone.
        if (!(plan.items.length === 0 && whole > this.opts.tokenBudget)) break;
      }
      this.blocks.acquire(hit.blocks);
      const keep = this.running.length > 0 ? this.watermark : 0;
      const fitted = this.fitFresh(hit.blocks.length, hit.tokens, n, keep);
      if (wholeOnly && fitted < n) n = 0;
      else n = fitted;
      if (n <= 0) {
        this.blocks.release(hit.blocks);
        break;
      }
      this.waiting.shift();
      s.status = "running";
      s.slot = this.freeSlots.pop()!;
      s.prefillTarget = known.length;
      s.computed = hit.tokens;
      s.blocks = hit.blocks;
      s.blockKeys = hit.keys;
      if (s.admittedStep < 0) {
        s.admittedStep = this.steps;
        s.cachedTokens = hit.tokens;
      }
      this.blocks.recordLookup(known.length, hit.tokens);
      plan.prefixHitTokens += hit.tokens;
      insertByArrival(this.running, s);
      plan.admitted.push(s);
      this.chunk(s, n, plan, budget, known);
    }
  }

  /** Schedules `n` prefill tokens of `s` (blocks must fit) and registers its full prompt blocks. */
  private chunk(
    s: Sequence,
    n: number,
    plan: StepPlan,
    budget: { left: number },
    known = s.known(),
  ): void {
    this.grow(s, blocksFor(s, n));
    const start = s.computed;
    const end = start + n;
    const sample = end === s.prefillTarget;
    plan.items.push({
      seq: s,
      slot: s.slot,
      start,
      tokens: known.slice(start, end),
      sample,
    });
    s.computed = end;
    const full = Math.floor(end / PAGE_SIZE);
    if (full > s.blockKeys.length) {
      const parent = s.blockKeys[s.blockKeys.length - 1] ?? "";
      s.blockKeys.push(
        ...this.blocks.register(
          s.blocks,
          known,
          s.blockKeys.length,
          full,
          parent,
        ),
      );
    }
    if (sample) this.sampled(s);
    plan.prefillTokens += n;
    budget.left -= n;
  }

  /** Largest n' <= n whose blocks fit, keeping `keep` blocks available. */
  private fit(s: Sequence, n: number, keep: number): number {
    return this.fitFresh(s.blocks.length, s.computed, n, keep);
  }

  /**
   * Largest n' <= n that fits blocks of a sequence holding `haveBlocks` with `computed` positions
   * done.
   */
  private fitFresh(
    haveBlocks: number,
    computed: number,
    n: number,
    keep: number,
  ): number {
    const spare = this.blocks.available - keep;
    if (spare < 0) return 0;
    const maxEnd = (haveBlocks + spare) * PAGE_SIZE;
    return Math.max(0, Math.min(n, maxEnd - computed));
  }

  /** Allocates `n` more blocks to `s`; not fitting is a bug (callers fit first). */
  private grow(s: Sequence, n: number): void {
    if (n <= 0) return;
    const got = this.blocks.allocate(n);
    if (!got) {
      throw new Error(`Scheduler: ${n} blocks for ${s.id} do not fit (bug)`);
    }
    s.blocks.push(...got);
  }

  /** Counts a scheduled sample; the last one moves the sequence to draining. */
  private sampled(s: Sequence): void {
    s.samplesScheduled++;
    if (s.allSampled) {
      remove(this.running, s);
      this.drained.push(s);
      s.status = "draining";
      this.draining.add(s);
    }
  }

  /** The newest running sequence not yet in this step, or none. */
  private newestPreemptible(plan: StepPlan): Sequence | undefined {
    const inStep = new Set(plan.items.map((i) => i.seq));
    for (let i = this.running.length - 1; i >= 0; i--) {
      const s = this.running[i];
      if (!inStep.has(s)) return s;
    }
    return undefined;
  }

  /** Sends `s` back to waiting: registers and releases its blocks and slot, clears its progress. */
  private preempt(s: Sequence, plan: StepPlan): void {
    this.releaseAll(s);
    remove(this.running, s);
    s.status = "waiting";
    s.computed = 0;
    s.preemptions++;
    insertByArrival(this.waiting, s);
    plan.preempted.push(s);
  }

  /** Registers the computed full blocks of known tokens, then releases blocks and slot. */
  private releaseAll(s: Sequence): void {
    if (s.blocks.length > 0) {
      const known = s.known();
      const full = Math.floor(Math.min(s.computed, known.length) / PAGE_SIZE);
      if (full > s.blockKeys.length) {
        const parent = s.blockKeys[s.blockKeys.length - 1] ?? "";
        this.blocks.register(s.blocks, known, s.blockKeys.length, full, parent);
      }
      this.blocks.release(s.blocks);
    }
    s.blocks = [];
    s.blockKeys = [];
    this.freeSlot(s);
  }

  /** Returns the slot of `s` to the free list, if it holds one. */
  private freeSlot(s: Sequence): void {
    if (s.slot >= 0) {
      this.freeSlots.push(s.slot);
      s.slot = -1;
    }
  }
}

/** Blocks `s` must add to compute `n` more positions. */
function blocksFor(s: Sequence, n: number): number {
  return Math.max(0, blocksForLength(s.computed + n) - s.blocks.length);
}

/** Blocks covering `n` positions. */
export function blocksForLength(n: number): number {
  return Math.ceil(n / PAGE_SIZE);
}

function insertByArrival(list: Sequence[], s: Sequence): void {
  let i = list.length;
  while (i > 0 && list[i - 1].arrival > s.arrival) i--;
  list.splice(i, 0, s);
}

function remove(list: Sequence[], s: Sequence): void {
  const i = list.indexOf(s);
  if (i >= 0) list.splice(i, 1);
}

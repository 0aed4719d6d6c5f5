/**
 * One request's sequence as the scheduler tracks it: what is known on the host (prompt, tokens
 * read back), what has been scheduled onto the GPU (KV positions, samples), and its blocks.
 *
 * Positions 0 .. `computed - 1` have their KV written by submitted steps. While `computed <
 * prefillTarget` the sequence is prefilling from `known()`; after that, each step feeds the token
 * its previous step sampled on the GPU (the host learns it later, by readback).
 *
 * @module
 */
import type { BlockKey } from "../batch/kv_blocks.ts";
import type { SamplingParams } from "../batch/step_batch.ts";

/** Where a sequence is in its life. */
export type SeqStatus = "waiting" | "running" | "draining" | "finished";

/** What a request asks of the engine. */
export interface SeqSpec {
  /** Request id (unique among live sequences). */
  id: string;
  /** Prompt token ids (>= 1). */
  prompt: readonly number[];
  /** Tokens to generate at most (>= 1). */
  maxTokens: number;
  /** Sampling of every new token. */
  sampling: SamplingParams;
}

/**
 * Scheduler state of one sequence.
 *
 * @example
 * ```ts
 * import { Sequence } from "./sequence.ts";
 * const s = new Sequence({ id: "a", prompt: [1, 2, 3], maxTokens: 2, sampling: { temperature: 0, topP: 1, seed: 0 } }, 0);
 * console.log(s.status, s.prefillTarget, s.remainingPrefill); // waiting 3 3
 * ```
 */
export class Sequence {
  /** Lifecycle state. */
  status: SeqStatus = "waiting";
  /** Tokens read back so far, in order. */
  readonly output: number[] = [];
  /** KV positions written or scheduled to be written. */
  computed = 0;
  /** Known tokens to prefill before the next sample (prompt, plus output after a preemption). */
  prefillTarget: number;
  /** Samples scheduled (read back or in flight). */
  samplesScheduled = 0;
  /** Block table: block ids covering positions [0, 16 * blocks.length). */
  blocks: number[] = [];
  /** Chain keys of the leading blocks registered in the prefix cache. */
  blockKeys: BlockKey[] = [];
  /** GPU slot holding the last sampled token, or -1. */
  slot: number = -1;
  /** Prompt tokens served from the prefix cache at the first admission. */
  cachedTokens = 0;
  /** Times this sequence was preempted (its blocks freed, to be recomputed). */
  preemptions = 0;
  /** Step index of the first admission, or -1. */
  admittedStep: number = -1;

  /** A new sequence in state `waiting`, nothing computed, its prefill target the prompt. */
  constructor(
    /** The request. */
    readonly spec: SeqSpec,
    /** Arrival order (lower is older); decides admission and preemption order. */
    readonly arrival: number,
  ) {
    this.prefillTarget = spec.prompt.length;
  }

  /** Request id. */
  get id(): string {
    return this.spec.id;
  }

  /** Samples scheduled but not yet read back. */
  get inFlight(): number {
    return this.samplesScheduled - this.output.length;
  }

  /** Prompt tokens still to prefill before the next sample. */
  get remainingPrefill(): number {
    return this.prefillTarget - this.computed;
  }

  /** Whether every sample the request allows has been scheduled. */
  get allSampled(): boolean {
    return this.samplesScheduled >= this.spec.maxTokens;
  }

  /** Prompt followed by the tokens read back. */
  known(): number[] {
    return [...this.spec.prompt, ...this.output];
  }
}

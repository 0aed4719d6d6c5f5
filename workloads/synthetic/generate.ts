/**
 * Synthetic workloads: an arrival process, input and output length distributions and,
 * optionally, multi-turn sessions with think time. Seeded: one spec and seed, one workload.
 *
 * In a session, turn k's prompt is the whole conversation so far (the previous prompt, the
 * previous answer, a new user message), so its prefix blocks repeat the previous turn's: the
 * prefix reuse a serving engine would see.
 *
 * @module
 */
import type { TraceRequest } from "../base/request.ts";
import { Rng } from "../base/random.ts";
import { type ArrivalSpec, arrivalTimes } from "./arrivals.ts";
import { lengthSampler, type LengthSpec } from "./lengths.ts";

/** Multi-turn sessions. */
export interface SessionSpec {
  /** Turns per session. */
  turns: LengthSpec;
  /** Think time between a reply and the next turn, in ms. */
  thinkMs: LengthSpec;
}

/** A synthetic workload. */
export interface SyntheticSpec {
  /** Requests to generate (sessions: turns in total, the last session cut short). */
  requests: number;
  /** Arrivals of requests, or of session starts. */
  arrival: ArrivalSpec;
  /** Input tokens (sessions: tokens of each new user message). */
  input: LengthSpec;
  /** Output tokens of each request. */
  output: LengthSpec;
  /** Multi-turn sessions; absent: independent requests. */
  sessions?: SessionSpec;
  /** Default 0. */
  seed?: number;
  /** Tokens per prefix block of session prompts. Default 512. */
  blockSize?: number;
}

/**
 * Generates the requests of a synthetic workload.
 *
 * @example
 * ```ts
 * import { generateSynthetic } from "./generate.ts";
 * const reqs = generateSynthetic({ requests: 3, arrival: { kind: "constant", rate: 2 },
 *   input: { kind: "fixed", value: 100 }, output: { kind: "fixed", value: 10 } });
 * console.log(reqs.map((r) => r.arrivalMs)); // [ 0, 500, 1000 ]
 * ```
 */
export function generateSynthetic(spec: SyntheticSpec): TraceRequest[] {
  if (!Number.isInteger(spec.requests) || spec.requests < 0) {
    throw new RangeError(
      `Synthetic requests must be an integer >= 0, got ${spec.requests}`,
    );
  }
  const seed = spec.seed ?? 0;
  const rng = new Rng(seed ^ 0x5eed);
  const input = lengthSampler(spec.input);
  const output = lengthSampler(spec.output);
  if (!spec.sessions) {
    const times = arrivalTimes(spec.arrival, spec.requests, seed);
    return Array.from(times, (t, i) => ({
      id: String(i),
      arrivalMs: t,
      inputTokens: input(rng),
      outputTokens: output(rng),
    }));
  }
  const turns = lengthSampler(spec.sessions.turns);
  const think = lengthSampler(spec.sessions.thinkMs);
  const bs = spec.blockSize ?? 512;
  const starts = arrivalTimes(spec.arrival, spec.requests, seed);
  const out: TraceRequest[] = [];
  let nextBlock = 0;
  for (let s = 0; out.length < spec.requests; s++) {
    const nTurns = Math.max(1, turns(rng));
    let t = starts[s];
    let context = 0;
    const blocks: number[] = [];
    for (let k = 0; k < nTurns && out.length < spec.requests; k++) {
      const inputTokens = context + input(rng);
      const outputTokens = output(rng);
      while (blocks.length * bs < inputTokens) blocks.push(nextBlock++);
      const thinkTimeMs = k === 0 ? undefined : think(rng);
      if (thinkTimeMs !== undefined) t += thinkTimeMs;
      out.push({
        id: `${s}.${k}`,
        arrivalMs: t,
        inputTokens,
        outputTokens,
        prefixBlocks: blocks.slice(0, Math.ceil(inputTokens / bs)),
        sessionId: String(s),
        turn: k,
        ...(thinkTimeMs !== undefined ? { thinkTimeMs } : {}),
      });
      context = inputTokens + outputTokens;
    }
  }
  return out.sort((a, b) => a.arrivalMs - b.arrivalMs);
}

/**
 * Assigns arrivals from a process to a trace without times (ShareGPT, vLLM custom): requests, or
 * the first turns of sessions, get the process's times in order; a later turn follows its
 * session's previous turn by its `thinkTimeMs` (0 when absent).
 *
 * @example
 * ```ts
 * import { assignArrivals } from "./generate.ts";
 * const reqs = [0, 1].map((i) => ({ id: String(i), arrivalMs: 0, inputTokens: 5, outputTokens: 5 }));
 * console.log(assignArrivals(reqs, { kind: "constant", rate: 10 }, 0).map((r) => r.arrivalMs)); // [ 0, 100 ]
 * ```
 */
export function assignArrivals(
  requests: readonly TraceRequest[],
  arrival: ArrivalSpec,
  seed: number,
): TraceRequest[] {
  const firsts = requests.filter((r) =>
    r.sessionId === undefined || (r.turn ?? 0) === 0
  );
  const times = arrivalTimes(arrival, firsts.length, seed);
  const last = new Map<string, number>();
  let k = 0;
  const out = requests.map((r) => {
    let t: number;
    if (r.sessionId === undefined || (r.turn ?? 0) === 0) t = times[k++];
    else t = (last.get(r.sessionId) ?? 0) + (r.thinkTimeMs ?? 0);
    if (r.sessionId !== undefined) last.set(r.sessionId, t);
    return { ...r, arrivalMs: t };
  });
  return out.sort((a, b) => a.arrivalMs - b.arrivalMs);
}

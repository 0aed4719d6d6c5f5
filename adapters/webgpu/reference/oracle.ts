/**
 * The correctness oracle format of `tests/fixtures/models/<name>/expected.json` (made with Hugging
 * Face transformers): per prompt, the last-position logits, the argmax at every position and a
 * greedy continuation. Parsing and the error measures live here.
 *
 * @module
 */

/** One prompt of an oracle file. */
export interface OracleCase {
  /** Prompt token ids. */
  prompt: number[];
  /** [V] logits at the last prompt position. */
  lastLogits: number[];
  /** Argmax of the logits at every prompt position. */
  allLogitsArgmax: number[];
  /** Greedy continuation after the prompt. */
  greedy: number[];
}

/** A parsed oracle file. */
export interface Oracle {
  model: string;
  dtype: string;
  cases: OracleCase[];
}

function intArray(v: unknown, where: string): number[] {
  if (!Array.isArray(v) || v.some((x) => !Number.isInteger(x))) {
    throw new Error(`${where}: expected an array of integers`);
  }
  return v as number[];
}

/**
 * Parses an oracle file's JSON; errors name the case and field.
 *
 * @example
 * ```ts
 * import { parseOracle } from "./oracle.ts";
 * const o = parseOracle({ model: "m", dtype: "float32", cases: [
 *   { prompt: [1], last_logits: [0.5, -0.5], all_logits_argmax: [0], greedy: [0, 0] },
 * ] }, "expected.json");
 * console.log(o.cases[0].greedy); // [0, 0]
 * ```
 */
export function parseOracle(raw: unknown, where: string): Oracle {
  const o = raw as Record<string, unknown>;
  if (typeof o !== "object" || o === null || !Array.isArray(o.cases)) {
    throw new Error(`${where}: expected an object with a "cases" array`);
  }
  const cases = (o.cases as Record<string, unknown>[]).map((c, i) => {
    const w = `${where}, case ${i}`;
    const last = c.last_logits;
    if (!Array.isArray(last) || last.some((x) => typeof x !== "number")) {
      throw new Error(
        `${w}, field "last_logits": expected an array of numbers`,
      );
    }
    return {
      prompt: intArray(c.prompt, `${w}, field "prompt"`),
      lastLogits: last as number[],
      allLogitsArgmax: intArray(
        c.all_logits_argmax ?? [],
        `${w}, field "all_logits_argmax"`,
      ),
      greedy: intArray(c.greedy, `${w}, field "greedy"`),
    };
  });
  return { model: String(o.model ?? ""), dtype: String(o.dtype ?? ""), cases };
}

/**
 * Relative RMS error `sqrt(sum (a - b)^2 / sum b^2)` of `a` against the reference `b`.
 *
 * @example
 * ```ts
 * import { relRmsError } from "./oracle.ts";
 * console.log(relRmsError([1.1, 2], [1, 2]).toFixed(4)); // 0.0447
 * ```
 */
export function relRmsError(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
): number {
  if (a.length !== b.length) {
    throw new Error(
      `relRmsError: expected equal lengths, got ${a.length} and ${b.length}`,
    );
  }
  let e = 0;
  let n = 0;
  for (let i = 0; i < b.length; i++) {
    e += (a[i] - b[i]) ** 2;
    n += b[i] ** 2;
  }
  return Math.sqrt(e / n);
}

/** Largest absolute difference of two equal-length arrays. */
export function maxAbsError(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Index of the largest value, lowest index on ties. */
export function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

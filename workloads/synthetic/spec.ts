/**
 * Text forms of arrival processes, length distributions and synthetic workloads, as the CLI
 * takes them:
 *
 * - arrival: `poisson:RATE`, `gamma:RATE:CV`, `constant:RATE`, `onoff:RATE:ON_S:OFF_S`
 * - length: `fixed:N`, `uniform:MIN:MAX`, `lognormal:MEAN:SIGMA`, `zipf:MIN:MAX:S`,
 *   `empirical:TRACE_PATH:input|output`
 * - workload: `n=1000,arrival=gamma:5:2,input=lognormal:1000:0.6,output=uniform:50:300`
 *   plus optional `turns=<length>,think=<length in ms>,seed=N,block=N`
 *
 * @module
 */
import type { ArrivalSpec } from "./arrivals.ts";
import { checkArrivalSpec } from "./arrivals.ts";
import type { LengthSpec } from "./lengths.ts";
import { lengthSampler } from "./lengths.ts";
import type { SyntheticSpec } from "./generate.ts";
import { UsageError } from "../base/usage_error.ts";

/** A spec that does not parse; the message names the part and the expected form. */
export class SpecError extends UsageError {
  /** What a valid spec looks like. */
  readonly expected: string;

  /** A spec part `what` that did not parse: `value` as given, `expected` its form. */
  constructor(what: string, value: string, expected: string) {
    super(`${what}: expected ${expected}, got ${JSON.stringify(value)}`);
    this.expected = expected;
  }
}

const num = (
  what: string,
  v: string | undefined,
  text: string,
  form: string,
) => {
  const n = Number(v);
  if (v === undefined || v.trim() === "" || !Number.isFinite(n)) {
    throw new SpecError(what, text, form);
  }
  return n;
};

/**
 * Parses an arrival process.
 *
 * @example
 * ```ts
 * import { parseArrivalSpec } from "./spec.ts";
 * console.log(parseArrivalSpec("gamma:5:2")); // { kind: "gamma", rate: 5, cv: 2 }
 * ```
 */
export function parseArrivalSpec(text: string, what = "Arrival"): ArrivalSpec {
  const [kind, ...a] = text.split(":");
  const form =
    "poisson:RATE, gamma:RATE:CV, constant:RATE or onoff:RATE:ON_S:OFF_S";
  let spec: ArrivalSpec;
  const n = (i: number) => num(what, a[i], text, form);
  switch (kind) {
    case "poisson":
    case "constant":
      if (a.length !== 1) throw new SpecError(what, text, form);
      spec = { kind, rate: n(0) };
      break;
    case "gamma":
      if (a.length !== 2) throw new SpecError(what, text, form);
      spec = { kind, rate: n(0), cv: n(1) };
      break;
    case "onoff":
      if (a.length !== 3) throw new SpecError(what, text, form);
      spec = { kind, rate: n(0), onS: n(1), offS: n(2) };
      break;
    default:
      throw new SpecError(what, text, form);
  }
  try {
    checkArrivalSpec(spec);
  } catch (e) {
    throw new SpecError(what, text, `${form} (${(e as Error).message})`);
  }
  return spec;
}

/** A length distribution whose values come from a trace file, resolved by the caller. */
export interface EmpiricalFromTrace {
  /** Values drawn from a trace file. */
  kind: "empirical-trace";
  /** The trace file. */
  path: string;
  /** Which length of its requests. */
  field: "input" | "output";
}

/**
 * Parses a length distribution.
 *
 * @example
 * ```ts
 * import { parseLengthSpec } from "./spec.ts";
 * console.log(parseLengthSpec("uniform:50:300")); // { kind: "uniform", min: 50, max: 300 }
 * ```
 */
export function parseLengthSpec(
  text: string,
  what = "Length",
): LengthSpec | EmpiricalFromTrace {
  const [kind, ...a] = text.split(":");
  const form =
    "fixed:N, uniform:MIN:MAX, lognormal:MEAN:SIGMA, zipf:MIN:MAX:S or empirical:TRACE:input|output";
  const n = (i: number) => num(what, a[i], text, form);
  let spec: LengthSpec | EmpiricalFromTrace;
  const arity = (k: number) => {
    if (a.length !== k) throw new SpecError(what, text, form);
  };
  switch (kind) {
    case "fixed":
      arity(1);
      spec = { kind, value: n(0) };
      break;
    case "uniform":
      arity(2);
      spec = { kind, min: n(0), max: n(1) };
      break;
    case "lognormal":
      arity(2);
      spec = { kind, mean: n(0), sigma: n(1) };
      break;
    case "zipf":
      arity(3);
      spec = { kind, min: n(0), max: n(1), s: n(2) };
      break;
    case "empirical": {
      const field = a.at(-1);
      if (a.length < 2 || (field !== "input" && field !== "output")) {
        throw new SpecError(what, text, form);
      }
      return { kind: "empirical-trace", path: a.slice(0, -1).join(":"), field };
    }
    default:
      throw new SpecError(what, text, form);
  }
  try {
    lengthSampler(spec);
  } catch (e) {
    throw new SpecError(what, text, `${form} (${(e as Error).message})`);
  }
  return spec;
}

/** A synthetic spec whose empirical lengths may still name trace files. */
export type SyntheticSpecText =
  & Omit<SyntheticSpec, "input" | "output">
  & {
    input: LengthSpec | EmpiricalFromTrace;
    output: LengthSpec | EmpiricalFromTrace;
  };

/**
 * Parses a synthetic workload spec (see the module doc for the form).
 *
 * @example
 * ```ts
 * import { parseSyntheticSpec } from "./spec.ts";
 * const s = parseSyntheticSpec("n=10,arrival=poisson:2,input=fixed:100,output=fixed:20");
 * console.log(s.requests, s.arrival.kind); // 10 poisson
 * ```
 */
export function parseSyntheticSpec(text: string): SyntheticSpecText {
  const parts = new Map<string, string>();
  const form =
    "n=N,arrival=<arrival>,input=<length>,output=<length>[,turns=<length>,think=<length>," +
    "seed=N,block=N]";
  for (const p of text.split(",")) {
    const eq = p.indexOf("=");
    const key = p.slice(0, eq).trim();
    if (
      eq < 0 ||
      !["n", "arrival", "input", "output", "turns", "think", "seed", "block"]
        .includes(key)
    ) {
      throw new SpecError("Synthetic workload", p, form);
    }
    parts.set(key, p.slice(eq + 1).trim());
  }
  for (const need of ["n", "arrival", "input", "output"]) {
    if (!parts.has(need)) {
      throw new SpecError(`Synthetic workload (${need} missing)`, text, form);
    }
  }
  const n = Number(parts.get("n"));
  if (!Number.isInteger(n) || n < 1) {
    throw new SpecError(
      "Synthetic workload n",
      parts.get("n")!,
      "an integer >= 1",
    );
  }
  const fixedOnly = (k: string) => {
    const s = parseLengthSpec(parts.get(k)!, `Synthetic workload ${k}`);
    if (s.kind === "empirical-trace") {
      throw new SpecError(
        `Synthetic workload ${k}`,
        parts.get(k)!,
        "a length spec other than empirical",
      );
    }
    return s;
  };
  const spec: SyntheticSpecText = {
    requests: n,
    arrival: parseArrivalSpec(
      parts.get("arrival")!,
      "Synthetic workload arrival",
    ),
    input: parseLengthSpec(parts.get("input")!, "Synthetic workload input"),
    output: parseLengthSpec(parts.get("output")!, "Synthetic workload output"),
    seed: parts.has("seed") ? Number(parts.get("seed")) : undefined,
    blockSize: parts.has("block") ? Number(parts.get("block")) : undefined,
  };
  if (parts.has("turns") || parts.has("think")) {
    spec.sessions = {
      turns: parts.has("turns")
        ? fixedOnly("turns")
        : { kind: "fixed", value: 1 },
      thinkMs: parts.has("think")
        ? fixedOnly("think")
        : { kind: "fixed", value: 0 },
    };
  }
  return spec;
}

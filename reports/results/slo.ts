/**
 * Latency SLOs: parsing the `--slo` flag and describing an SLO in words.
 *
 * The SLO decision itself (inclusive bounds, n < 2 passes TPOT, failure policy) lives in
 * `reports/sql/request_slo.sql` and `reports/sql/slo_attainment.sql`; this module only turns a
 * flag into bounds.
 *
 * @module
 */

/**
 * Upper latency bounds in milliseconds, inclusive; an absent field is no bound on that metric.
 * Field meanings follow docs/METRICS.md: TTFT `ft - sent`, TPOT `(lt - ft) / (n - 1)`, E2E
 * `lt - sent`, ITL the largest chunk gap of a request (a stall bound).
 */
export interface Slo {
  /** Bound on TTFT, ms. */
  ttftMs?: number;
  /** Bound on TPOT, ms (requests with fewer than 2 tokens pass). */
  tpotMs?: number;
  /** Bound on end-to-end latency, ms. */
  e2eMs?: number;
  /** Bound on the largest chunk gap of a request, ms. */
  itlMs?: number;
}

const KEYS = {
  ttft: "ttftMs",
  tpot: "tpotMs",
  e2e: "e2eMs",
  itl: "itlMs",
} as const satisfies Record<string, keyof Slo>;

type SloKey = keyof typeof KEYS;

const EXAMPLE = "ttft=200,tpot=50,e2e=5000";
const VALUE_PATTERN = /^(\d+(?:\.\d*)?|\.\d+)(ms|s)?$/;

/**
 * Parses an SLO flag value `key=value[,key=value...]` into bounds in milliseconds.
 *
 * Keys: `ttft`, `tpot`, `e2e`, `itl` (max gap between chunks), each at most once. Values are
 * positive decimal numbers in milliseconds, or with a unit suffix `ms` or `s` (`0.2s` = 200 ms).
 * Spaces around parts are ignored. Errors name the flag, the bad part and what was expected.
 *
 * @example
 * ```ts
 * import { parseSlo } from "./slo.ts";
 * console.log(parseSlo("ttft=200,tpot=50ms,e2e=5s")); // { ttftMs: 200, tpotMs: 50, e2eMs: 5000 }
 * ```
 */
export function parseSlo(spec: string): Slo {
  function fail(why: string): never {
    throw new Error(`Invalid --slo "${spec}": ${why}`);
  }
  if (spec.trim() === "") {
    fail(`expected at least one bound, e.g. ${EXAMPLE}`);
  }
  const slo: Slo = {};
  const parts = spec.split(",");
  parts.forEach((raw, i) => {
    const part = raw.trim();
    if (part === "") {
      fail(`part ${i + 1} is empty, expected key=value, e.g. ${EXAMPLE}`);
    }
    const eq = part.indexOf("=");
    if (eq < 0) {
      fail(`part "${part}" is not key=value, expected e.g. ${EXAMPLE}`);
    }
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (!Object.hasOwn(KEYS, key)) {
      fail(
        `unknown key "${key}" in "${part}", expected one of ${
          Object.keys(KEYS).join(", ")
        }`,
      );
    }
    const field = KEYS[key as SloKey];
    if (slo[field] !== undefined) {
      fail(`key "${key}" is given more than once`);
    }
    const ms = parseMilliseconds(value);
    if (ms === undefined) {
      fail(
        `bad value "${value}" for ${key}, expected a positive number of milliseconds, ` +
          `optionally with unit ms or s (e.g. 200, 200ms, 0.2s)`,
      );
    }
    slo[field] = ms;
  });
  return slo;
}

/** `"1.5s"` -> 1500, `"20"` / `"20ms"` -> 20; `undefined` when not a positive decimal. */
function parseMilliseconds(value: string): number | undefined {
  const m = VALUE_PATTERN.exec(value);
  if (m === null) return undefined;
  // Shifting the decimal exponent in the string keeps "0.2s" exactly 200 (0.2 * 1000 is not
  // always exact in binary floating point, e.g. 1.1 * 1000 = 1100.0000000000002).
  const ms = m[2] === "s" ? Number(`${m[1]}e3`) : Number(m[1]);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

/**
 * Describes an SLO compactly, bounds in the order ttft, tpot, e2e, itl: `"ttft<=200ms tpot<=50ms"`.
 * An SLO without bounds reads `"no latency bounds"`.
 *
 * @example
 * ```ts
 * import { formatSlo } from "./slo.ts";
 * console.log(formatSlo({ ttftMs: 200, e2eMs: 5000 })); // ttft<=200ms e2e<=5000ms
 * ```
 */
export function formatSlo(slo: Slo): string {
  const parts: string[] = [];
  for (const [key, field] of Object.entries(KEYS)) {
    const v = slo[field];
    if (v !== undefined) parts.push(`${key}<=${v}ms`);
  }
  return parts.length === 0 ? "no latency bounds" : parts.join(" ");
}

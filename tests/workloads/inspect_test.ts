import assert from "node:assert/strict";
import {
  lengthStats,
  percentileLinear,
  percentileNearestRank,
  readTrace,
  traceStats,
  traceSvg,
} from "../../workloads/mod.ts";
import { tracePath } from "../_fixtures.ts";
import { fixture } from "./_fixture.ts";

/** Prose in stats.json that no trace reader can reproduce: descriptions, not figures. */
const PROSE = new Set([
  "timestamp_unit",
  "failed_note",
  "infinite_cache_block_hit_ratio_note",
]);

/** Compares every leaf of `want` with `got`: integers exactly, other numbers within 1e-6. */
function compareAll(
  want: unknown,
  got: unknown,
  key: string,
  out: string[],
): number {
  if (want !== null && typeof want === "object" && !Array.isArray(want)) {
    let n = 0;
    for (const [k, v] of Object.entries(want)) {
      if (PROSE.has(k)) continue;
      n += compareAll(
        v,
        (got as Record<string, unknown> | undefined)?.[k],
        `${key}.${k}`,
        out,
      );
    }
    return n;
  }
  if (
    typeof want === "number" && Number.isInteger(want) &&
    !/_s$|_s\.|mean|p\d\d$/.test(key)
  ) {
    if (got !== want) out.push(`${key}: expected ${want} exactly, got ${got}`);
  } else if (typeof want === "number") {
    const ok = typeof got === "number" &&
      Math.abs(got - want) <= 1e-6 * Math.abs(want);
    if (!ok) {
      out.push(`${key}: expected ${want} within 1e-6 relative, got ${got}`);
    }
  } else if (JSON.stringify(got) !== JSON.stringify(want)) {
    out.push(
      `${key}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`,
    );
  }
  return 1;
}

Deno.test({
  name:
    "traceStats() reproduces every figure of stats.json for each staged trace",
  fn: async (t) => {
    const files = JSON.parse(
      await Deno.readTextFile(await tracePath("stats.json")),
    )
      .files as Record<string, { stats: Record<string, unknown> }>;
    assert.ok(Object.keys(files).length >= 3);
    for (const [rel, { stats }] of Object.entries(files)) {
      await t.step(rel, async () => {
        const w = await readTrace(await tracePath(rel), {
          sortByTime: true,
          sourceFailures: "keep",
        });
        const mine = traceStats(w);
        assert.ok(String(mine.file).endsWith(`/${rel}`));
        const problems: string[] = [];
        const compared = compareAll(
          { ...stats, file: undefined },
          { ...mine, file: undefined },
          "",
          problems,
        );
        // On a mismatch, the same figures computed again and by a plain loop: twice under load
        // (sessions 2 and 6, docs/perf.md) one summary held the next call's mean, not
        // reproduced since; these say whether it is the data or the runtime.
        assert.deepEqual(
          problems,
          [],
          problems.length === 0
            ? undefined
            : `${problems.join("; ")}; again: ${
              JSON.stringify({
                input: traceStats(w).input_tokens,
                plainInputMean: w.requests.reduce((a, r) =>
                  a + r.inputTokens, 0) /
                  w.requests.length,
              })
            }`,
        );
        assert.ok(compared >= 50, `compared ${compared} figures`);
      });
    }
  },
});

Deno.test("percentileLinear() interpolates like numpy", async (t) => {
  const cases: [number[], number, number][] = [
    [[1, 2, 3, 4], 50, 2.5],
    [[1, 2, 3, 4], 90, 3.7],
    [[5], 99, 5],
    [[10, 20], 0, 10],
    [[10, 20], 100, 20],
  ];
  for (const [v, q, want] of cases) {
    await t.step(`${JSON.stringify(v)} p${q}`, () => {
      assert.ok(Math.abs(percentileLinear(v, q) - want) < 1e-12);
    });
  }
  await t.step(
    "empty is NaN",
    () => assert.ok(Number.isNaN(percentileLinear([], 50))),
  );
});

Deno.test("percentileNearestRank() takes sorted[ceil(q n) - 1]", async (t) => {
  const cases: [number[], number, number][] = [
    [[1, 2, 3, 4], 50, 2],
    [[1, 2, 3, 4], 90, 4],
    [[1, 2, 3, 4], 25, 1],
  ];
  for (const [v, q, want] of cases) {
    await t.step(
      `${JSON.stringify(v)} p${q}`,
      () => assert.equal(percentileNearestRank(v, q), want),
    );
  }
});

Deno.test("lengthStats() summarizes with population std and null when empty", async (t) => {
  await t.step("values", () => {
    const s = lengthStats([4, 1, 3, 2])!;
    assert.deepEqual([s.sum, s.mean, s.min, s.max, s.p50], [
      10,
      2.5,
      1,
      4,
      2.5,
    ]);
    assert.ok(Math.abs(s.std_pop - Math.sqrt(1.25)) < 1e-12);
  });
  await t.step("empty", () => assert.equal(lengthStats([]), null));
});

Deno.test("traceStats() counts bins, gaps, hits and failures of a hand-made trace", async () => {
  const p = await fixture(
    "h.jsonl",
    [
      [0, 600, [0, 1]],
      [0, 100, [0]],
      [500, 1100, [0, 1, 2]],
      [1200, 10, [5]],
      [61000, 10, [5]],
    ].map(([t, n, h]) =>
      JSON.stringify({
        timestamp: t,
        input_length: n,
        output_length: 2,
        hash_ids: h,
      })
    )
      .join("\n"),
  );
  const s = traceStats(
    await readTrace(p, { sortByTime: true, sourceFailures: "keep" }),
  );
  assert.equal(s.n_requests, 5);
  assert.equal(s.span_s, 61);
  assert.equal(s.peak_requests_in_1s_bin, 3);
  assert.equal(s.peak_requests_in_60s_bin, 4);
  assert.equal(s.n_60s_bins, 2);
  assert.equal(s.interarrival_zero_fraction, 0.25);
  assert.equal(s.failed_fraction, null);
  assert.deepEqual(s.hash_ids, {
    block_size_tokens: 512,
    total_blocks: 8,
    unique_block_ids: 4,
    max_block_id: 5,
    mean_blocks_per_request: 1.6,
    n_requests_len_hash_ids_eq_ceil_input_over_512: 5,
    n_requests_len_hash_ids_ne_ceil_input_over_512: 0,
    infinite_cache_block_hit_ratio: 4 / 8,
  });
});

Deno.test("traceStats() reports the failed fraction of BurstGPT", async () => {
  const p = await fixture(
    "b.csv",
    "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n0,ChatGPT,5,0,5,API log\n" +
      "1,ChatGPT,5,3,8,API log\n2,ChatGPT,5,3,8,API log\n3,ChatGPT,5,3,8,API log\n",
  );
  const s = traceStats(
    await readTrace(p, { sortByTime: true, sourceFailures: "keep" }),
  );
  assert.equal(s.failed_fraction, 0.25);
  assert.equal(s.n_output_tokens_zero, 1);
});

Deno.test("traceSvg() draws three labelled panels", () => {
  const svg = traceSvg(
    [0, 400, 1500].map((t, i) => ({
      id: String(i),
      arrivalMs: t,
      inputTokens: 10 * (i + 1),
      outputTokens: 3,
    })),
    "t <1>.csv",
  );
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  assert.match(svg, /t &lt;1&gt;\.csv: 3 requests over 1\.5 s/);
  assert.equal(svg.match(/<g>/g)?.length, 3);
  assert.match(svg, /requests per 1 s bin over time \(s\); max 2/);
});

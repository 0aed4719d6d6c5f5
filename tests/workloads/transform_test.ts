import assert from "node:assert/strict";
import {
  applyTransforms,
  capLengths,
  compressIdleGaps,
  filterLengths,
  firstN,
  fitContext,
  meanRate,
  rebase,
  sampleRandom,
  scaleTime,
  targetRate,
  timeWindow,
  type TraceRequest,
} from "../../workloads/mod.ts";

const at = (...times: number[]): TraceRequest[] =>
  times.map((t, i) => ({
    id: String(i),
    arrivalMs: t,
    inputTokens: 10 * (i + 1),
    outputTokens: i + 1,
  }));
const times = (rs: TraceRequest[]) => rs.map((r) => r.arrivalMs);

Deno.test("scaleTime() divides arrivals and think times by the speedup", async (t) => {
  await t.step(
    "x4",
    () =>
      assert.deepEqual(times(scaleTime(at(0, 1000, 3000), 4)), [0, 250, 750]),
  );
  await t.step("think time", () => {
    const [r] = scaleTime([{ ...at(1000)[0], thinkTimeMs: 500 }], 2);
    assert.deepEqual([r.arrivalMs, r.thinkTimeMs], [500, 250]);
  });
  await t.step(
    "0 is refused",
    () =>
      assert.throws(
        () => scaleTime(at(0), 0),
        new RangeError("Speedup must be a finite number > 0, got 0"),
      ),
  );
});

Deno.test("timeWindow() keeps [start, start + duration) and rebases", async (t) => {
  await t.step(
    "window",
    () =>
      assert.deepEqual(times(timeWindow(at(0, 500, 1400, 1500), 400, 1100)), [
        100,
        1000,
      ]),
  );
  await t.step("bad window", () =>
    assert.throws(
      () => timeWindow(at(0), -1, 5),
      new RangeError("Window must have start >= 0 and duration > 0, got -1:5"),
    ));
});

Deno.test("firstN() keeps the first n", async (t) => {
  await t.step(
    "2 of 3",
    () => assert.deepEqual(times(firstN(at(0, 1, 2), 2)), [0, 1]),
  );
  await t.step(
    "negative",
    () =>
      assert.throws(
        () => firstN(at(0), -1),
        new RangeError("Request count must be an integer >= 0, got -1"),
      ),
  );
});

Deno.test("targetRate() reaches the rate and keeps the shape of the gaps", async (t) => {
  const rs = at(0, 100, 100, 400, 1000);
  await t.step("mean rate", () => assert.equal(meanRate(targetRate(rs, 8)), 8));
  await t.step(
    "gap ratios unchanged",
    () => assert.deepEqual(times(targetRate(rs, 2)), [0, 200, 200, 800, 2000]),
  );
  await t.step("one request cannot be rated", () =>
    assert.throws(
      () => targetRate(at(5), 2),
      new RangeError(
        "A target rate needs >= 2 requests spread over time, got 1 request(s) spanning 0 ms",
      ),
    ));
});

Deno.test("rebase() moves the first arrival to 0", () => {
  assert.deepEqual(times(rebase(at(700, 900))), [0, 200]);
});

Deno.test("compressIdleGaps() shortens only long gaps", async (t) => {
  await t.step(
    "one long gap",
    () =>
      assert.deepEqual(
        times(compressIdleGaps(at(0, 100, 60100, 60200), 1000)),
        [0, 100, 1100, 1200],
      ),
  );
  await t.step("negative", () =>
    assert.throws(
      () => compressIdleGaps(at(0), -1),
      new RangeError("Maximum gap must be a finite number >= 0 ms, got -1"),
    ));
});

Deno.test("sampleRandom() keeps a seeded subset in order", async (t) => {
  const rs = at(...Array.from({ length: 100 }, (_, i) => i));
  await t.step("count", () => {
    const a = sampleRandom(rs, { count: 10, seed: 7 });
    assert.equal(a.length, 10);
    assert.deepEqual(a, sampleRandom(rs, { count: 10, seed: 7 }));
    assert.notDeepEqual(a, sampleRandom(rs, { count: 10, seed: 8 }));
    assert.deepEqual(times(a), times(a).slice().sort((x, y) => x - y));
  });
  await t.step(
    "fraction",
    () => assert.equal(sampleRandom(rs, { fraction: 0.25 }).length, 25),
  );
  await t.step("whole sessions", () => {
    const ss = rs.map((r, i) => ({ ...r, sessionId: String(i % 10) }));
    const a = sampleRandom(ss, { count: 3, bySession: true, seed: 1 });
    assert.equal(a.length, 30);
    assert.equal(new Set(a.map((r) => r.sessionId)).size, 3);
  });
  await t.step(
    "neither count nor fraction",
    () =>
      assert.throws(
        () => sampleRandom(rs, {}),
        new RangeError("Sample needs exactly one of count and fraction"),
      ),
  );
});

Deno.test("filterLengths() and capLengths() bound lengths", async (t) => {
  const rs = at(0, 1, 2); // inputs 10, 20, 30; outputs 1, 2, 3
  await t.step(
    "filter inclusive",
    () =>
      assert.deepEqual(
        filterLengths(rs, { minInput: 20, maxOutput: 2 }).map((r) => r.id),
        ["1"],
      ),
  );
  await t.step("cap with blocks", () => {
    const [r] = capLengths([{
      ...rs[2],
      inputTokens: 1500,
      prefixBlocks: [1, 2, 3],
    }], {
      maxInput: 600,
      maxOutput: 2,
    });
    assert.deepEqual([r.inputTokens, r.outputTokens, r.prefixBlocks], [600, 2, [
      1,
      2,
    ]]);
  });
});

Deno.test("applyTransforms() applies in order, seeds random steps and records counts", () => {
  const rs = at(...Array.from({ length: 20 }, (_, i) => i * 1000));
  const r = applyTransforms(rs, [
    { kind: "window", startMs: 2000, durationMs: 10000 },
    { kind: "sample", count: 5 },
    { kind: "rebase" },
    { kind: "speedup", factor: 2 },
  ], 42);
  assert.deepEqual(
    r.applied.map((
      a,
    ) => [
      a.spec.kind,
      a.requestsBefore,
      a.requestsAfter,
      a.seed !== undefined,
    ]),
    [
      ["window", 20, 10, false],
      ["sample", 10, 5, true],
      ["rebase", 5, 5, false],
      ["speedup", 5, 5, false],
    ],
  );
  assert.equal(r.requests[0].arrivalMs, 0);
  assert.deepEqual(r, applyTransforms(rs, r.applied.map((a) => a.spec), 42));
});

Deno.test("fitContext() shrinks only the requests over the context, keeping their ratio", async (t) => {
  const r = (inputTokens: number, outputTokens: number, prompt?: string) => ({
    id: "0",
    arrivalMs: 0,
    inputTokens,
    outputTokens,
    ...(prompt ? { prompt: { kind: "text" as const, text: prompt } } : {}),
  });
  const cases: [string, ReturnType<typeof r>, number, [number, number]][] = [
    ["fits: untouched", r(100, 28), 128, [100, 28]],
    ["exactly the limit: untouched", r(100, 29), 129, [100, 29]],
    ["over: both scaled (374 + 44 -> 115 + 13)", r(374, 44), 129, [115, 13]],
    ["a long output keeps >= 1 input token", r(1, 900), 64, [1, 63]],
    [
      "a given prompt keeps its length; the output shrinks",
      r(100, 50, "x"),
      129,
      [100, 29],
    ],
    [
      "a given prompt longer than the context is left as is",
      r(200, 5, "x"),
      129,
      [200, 5],
    ],
  ];
  for (const [name, req, limit, [inp, out]] of cases) {
    await t.step(name, () => {
      const f = fitContext([req], limit);
      assert.deepEqual(
        [f.requests[0].inputTokens, f.requests[0].outputTokens],
        [inp, out],
      );
      const changed = inp !== req.inputTokens || out !== req.outputTokens;
      assert.equal(f.adjusted, changed ? 1 : 0);
    });
  }
  await t.step("a context under 2 tokens is refused", () => {
    assert.throws(() => fitContext([], 1), {
      message: "Context must be an integer >= 2 tokens, got 1",
    });
  });
});

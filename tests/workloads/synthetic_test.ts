import assert from "node:assert/strict";
import {
  arrivalTimes,
  assignArrivals,
  generateSynthetic,
  lengthSampler,
  loadWorkload,
  parseArrivalSpec,
  parseLengthSpec,
  parseSyntheticSpec,
  SpecError,
} from "../../workloads/mod.ts";
import { Rng } from "../../workloads/base/random.ts";
import { fixture } from "./_fixture.ts";

function gapStats(t: Float64Array): { mean: number; cv: number } {
  const g = Array.from({ length: t.length - 1 }, (_, i) => t[i + 1] - t[i]);
  const mean = g.reduce((a, b) => a + b, 0) / g.length;
  const sd = Math.sqrt(g.reduce((a, b) => a + (b - mean) ** 2, 0) / g.length);
  return { mean, cv: sd / mean };
}

Deno.test("arrivalTimes() draws processes with the asked rate and burstiness", async (t) => {
  const n = 40_000;
  const cases: [string, Parameters<typeof arrivalTimes>[0], number, number][] =
    [
      ["poisson", { kind: "poisson", rate: 5 }, 200, 1],
      ["gamma cv 3", { kind: "gamma", rate: 5, cv: 3 }, 200, 3],
      ["gamma cv 0.5", { kind: "gamma", rate: 20, cv: 0.5 }, 50, 0.5],
      ["constant", { kind: "constant", rate: 4 }, 250, 0],
    ];
  for (const [name, spec, mean, cv] of cases) {
    await t.step(name, () => {
      const s = gapStats(arrivalTimes(spec, n, 1));
      assert.ok(Math.abs(s.mean - mean) / mean < 0.05, `mean gap ${s.mean}`);
      assert.ok(Math.abs(s.cv - cv) < 0.08 * Math.max(cv, 1), `cv ${s.cv}`);
    });
  }
  await t.step("on/off: nothing in off periods", () => {
    const ts = arrivalTimes(
      { kind: "onoff", rate: 50, onS: 1, offS: 4 },
      2000,
      3,
    );
    assert.ok(ts.every((x) => x % 5000 < 1000));
    const s = gapStats(ts);
    assert.ok(Math.abs(s.mean - 100) / 100 < 0.1, `mean gap ${s.mean}`);
  });
  await t.step("seeded", () => {
    assert.deepEqual(
      arrivalTimes({ kind: "poisson", rate: 1 }, 5, 9),
      arrivalTimes({ kind: "poisson", rate: 1 }, 5, 9),
    );
  });
});

Deno.test("lengthSampler() draws each distribution", async (t) => {
  const draw = (spec: Parameters<typeof lengthSampler>[0], n = 20_000) => {
    const f = lengthSampler(spec);
    const rng = new Rng(5);
    return Array.from({ length: n }, () => f(rng));
  };
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  await t.step(
    "fixed",
    () => assert.deepEqual(draw({ kind: "fixed", value: 7 }, 3), [7, 7, 7]),
  );
  await t.step("uniform", () => {
    const v = draw({ kind: "uniform", min: 10, max: 20 });
    assert.ok(v.every((x) => Number.isInteger(x) && x >= 10 && x <= 20));
    assert.ok(Math.abs(mean(v) - 15) < 0.2);
  });
  await t.step(
    "lognormal mean",
    () =>
      assert.ok(
        Math.abs(
          mean(draw({ kind: "lognormal", mean: 1000, sigma: 0.5 })) - 1000,
        ) < 20,
      ),
  );
  await t.step("zipf favours the minimum", () => {
    const v = draw({ kind: "zipf", min: 1, max: 100, s: 1.2 });
    const ones = v.filter((x) => x === 1).length / v.length;
    assert.ok(ones > 0.25 && ones < 0.4, `P(1) ${ones}`);
    assert.ok(v.every((x) => x >= 1 && x <= 100));
  });
  await t.step(
    "empirical",
    () =>
      assert.ok(
        draw({ kind: "empirical", values: [3, 9] }, 100).every((x) =>
          x === 3 || x === 9
        ),
      ),
  );
  await t.step(
    "bad uniform",
    () =>
      assert.throws(
        () => lengthSampler({ kind: "uniform", min: 5, max: 2 }),
        new RangeError(
          "Length uniform: expected integers 0 <= min <= max, got [5,2]",
        ),
      ),
  );
});

Deno.test("generateSynthetic() builds sessions whose prompts share their history's blocks", () => {
  const reqs = generateSynthetic({
    requests: 30,
    arrival: { kind: "poisson", rate: 1 },
    input: { kind: "fixed", value: 300 },
    output: { kind: "fixed", value: 100 },
    sessions: {
      turns: { kind: "fixed", value: 3 },
      thinkMs: { kind: "fixed", value: 2000 },
    },
    blockSize: 256,
  });
  assert.equal(reqs.length, 30);
  const s0 = reqs.filter((r) => r.sessionId === "0").sort((a, b) =>
    a.turn! - b.turn!
  );
  assert.deepEqual(s0.map((r) => [r.turn, r.inputTokens, r.thinkTimeMs]), [
    [0, 300, undefined],
    [1, 700, 2000],
    [2, 1100, 2000],
  ]);
  assert.deepEqual(s0[1].prefixBlocks!.slice(0, 2), s0[0].prefixBlocks);
  assert.deepEqual(s0[2].prefixBlocks!.slice(0, 3), s0[1].prefixBlocks);
  assert.equal(s0[2].arrivalMs - s0[1].arrivalMs, 2000);
  const s1 = reqs.find((r) => r.sessionId === "1")!;
  assert.ok(!s1.prefixBlocks!.some((b) => s0[2].prefixBlocks!.includes(b)));
});

Deno.test("assignArrivals() times untimed requests and follows sessions", () => {
  const reqs = [
    {
      id: "a",
      arrivalMs: 0,
      inputTokens: 1,
      outputTokens: 1,
      sessionId: "x",
      turn: 0,
    },
    {
      id: "b",
      arrivalMs: 0,
      inputTokens: 1,
      outputTokens: 1,
      sessionId: "x",
      turn: 1,
      thinkTimeMs: 50,
    },
    { id: "c", arrivalMs: 0, inputTokens: 1, outputTokens: 1 },
  ];
  const out = assignArrivals(reqs, { kind: "constant", rate: 10 }, 0);
  assert.deepEqual(out.map((r) => [r.id, r.arrivalMs]), [["a", 0], ["b", 50], [
    "c",
    100,
  ]]);
});

Deno.test("parseSyntheticSpec() and friends parse the text forms and name what is wrong", async (t) => {
  await t.step("full spec", () => {
    const s = parseSyntheticSpec(
      "n=10,arrival=gamma:5:2,input=lognormal:1000:0.6,output=zipf:1:500:1.1,turns=uniform:1:4,think=fixed:1500,seed=3",
    );
    assert.deepEqual(s.arrival, { kind: "gamma", rate: 5, cv: 2 });
    assert.deepEqual(s.sessions?.thinkMs, { kind: "fixed", value: 1500 });
    assert.equal(s.seed, 3);
  });
  await t.step(
    "empirical from a trace",
    () =>
      assert.deepEqual(parseLengthSpec("empirical:/t/a.csv:input"), {
        kind: "empirical-trace",
        path: "/t/a.csv",
        field: "input",
      }),
  );
  const errors: [string, () => unknown, string][] = [
    [
      "unknown arrival",
      () => parseArrivalSpec("weibull:3"),
      'Arrival: expected poisson:RATE, gamma:RATE:CV, constant:RATE or onoff:RATE:ON_S:OFF_S, got "weibull:3"',
    ],
    [
      "zero rate",
      () => parseArrivalSpec("poisson:0"),
      'Arrival: expected poisson:RATE, gamma:RATE:CV, constant:RATE or onoff:RATE:ON_S:OFF_S (Arrival poisson: rate must be a number > 0, got 0), got "poisson:0"',
    ],
    [
      "missing n",
      () =>
        parseSyntheticSpec("arrival=poisson:1,input=fixed:1,output=fixed:1"),
      'Synthetic workload (n missing): expected n=N,arrival=<arrival>,input=<length>,output=<length>[,turns=<length>,think=<length>,seed=N,block=N], got "arrival=poisson:1,input=fixed:1,output=fixed:1"',
    ],
    [
      "unknown key",
      () => parseSyntheticSpec("n=1,rate=3"),
      'Synthetic workload: expected n=N,arrival=<arrival>,input=<length>,output=<length>[,turns=<length>,think=<length>,seed=N,block=N], got "rate=3"',
    ],
  ];
  for (const [name, f, msg] of errors) {
    await t.step(
      name,
      () =>
        assert.throws(
          f,
          (e: unknown) => e instanceof SpecError && e.message === msg,
        ),
    );
  }
});

Deno.test("loadWorkload() builds synthetic workloads, empirical lengths from a trace", async () => {
  const trace = await fixture(
    "e.jsonl",
    '{"timestamp": 0, "input_length": 77, "output_length": 5}\n',
  );
  const w = await loadWorkload({
    synthetic:
      `n=4,arrival=constant:2,input=empirical:${trace}:input,output=fixed:3`,
    transforms: [{ kind: "speedup", factor: 2 }],
  });
  assert.deepEqual(w.requests.map((r) => [r.arrivalMs, r.inputTokens]), [
    [0, 77],
    [250, 77],
    [500, 77],
    [750, 77],
  ]);
  assert.deepEqual(
    (w.record.source as { spec: { input: unknown } }).spec.input,
    { kind: "empirical", count: 1 },
  );
});

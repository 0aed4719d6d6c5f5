import assert from "node:assert/strict";
import { runCli } from "../../harness/_cli.ts";
import { createFixtureStore, type FixtureRun } from "../_fixture.ts";
import { generatedRun } from "../_runs.ts";

const SCHED = Array.from({ length: 40 }, (_, i) => i * 50);
const TTFT = SCHED.map((_, i) => 40 + 2 * ((i * 7) % 11));
const WORKLOAD = {
  source: { path: "/traces/a.csv", sha256: "ab12", format: "azure-llm" },
  transforms: [{ spec: { kind: "rate", rate: 20 } }],
  seed: 0,
};
const OPTIONS = { db: "x.duckdb", label: "x", load: {}, speedup: 1 };

/** Group `label` of 3 runs; run k's TTFTs are `scale * (1 + 0.02 k)` times TTFT. */
function group(label: string, scale: number, extra: Partial<FixtureRun> = {}) {
  return [0, 1, 2].map((k) => ({
    ...generatedRun({
      runId: `${label}-${k}`,
      label,
      schedMs: SCHED,
      ttftMs: TTFT.map((v) => Math.round(v * scale * (1 + 0.02 * k))),
      group: { id: `g-${label}`, index: k },
      startedAt: `2026-11-21T0${label.length % 10}:0${k}:00.000Z`,
    }),
    workload: WORKLOAD,
    options: { ...OPTIONS, label },
    backendInfo: { model: "m", baseUrl: `http://127.0.0.1:${8000 + k}/v1` },
    ...extra,
  }));
}

Deno.test("compare on groups of repeated runs", async (t) => {
  const failing = group("flaky", 1);
  // one run of the flaky group had a failed request: its fidelity is flagged
  failing[1].requests[3] = {
    ...failing[1].requests[3],
    status: "error",
    httpStatus: 503,
    error: "overloaded",
    events: [],
    doneMs: null,
    completionTokensReported: null,
    promptTokensReported: null,
  };
  const fx = await createFixtureStore([
    ...group("base", 1),
    ...group("again", 1.01),
    ...group("slow", 1.5),
    ...group("seed1", 1, { workload: { ...WORKLOAD, seed: 1 } }),
    ...failing,
  ]);
  fx.store.close();
  const compare = (b: string, c: string, ...extra: string[]) =>
    runCli([
      "compare",
      "--db",
      fx.path,
      "--baseline",
      b,
      "--candidate",
      c,
      ...extra,
    ]);
  try {
    await t.step(
      "a label names its whole group: intervals between runs",
      async () => {
        const r = await compare("base", "slow", "--format", "json");
        assert.equal(r.code, 1, r.stderr);
        const j = JSON.parse(r.stdout);
        assert.equal(j.method, "between_runs");
        assert.equal(j.optimistic, false);
        assert.deepStrictEqual(j.baseline.run_ids, [
          "base-0",
          "base-1",
          "base-2",
        ]);
        assert.equal(j.rows[0].runs_baseline, 3);
        assert.ok(
          j.headline[1].startsWith('baseline "base" (3 runs): goodput'),
        );
        const p50 = j.rows[0];
        assert.ok(p50.ci_low <= p50.delta && p50.delta <= p50.ci_high);
        assert.ok(p50.ci_low_pct > 10, "the whole interval is past +10 %");
      },
    );

    await t.step(
      "A/A: two groups of the same configuration pass the default gates",
      async () => {
        const r = await compare("base", "again");
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.ok(
          r.stdout.startsWith("== verdict: pass (5 gates), trusted"),
          r.stdout,
        );
      },
    );

    await t.step(
      "a different workload is refused with the differences listed",
      async () => {
        const r = await compare("base", "seed1");
        assert.equal(r.code, 1);
        assert.equal(
          r.stderr,
          'tokentrace: error: Baseline "base" and candidate "seed1" were not run alike: 1 setting ' +
            "differs (baseline vs candidate):\n" +
            "  workload.seed: 0 vs 1\n" +
            "Compare runs of the same workload, backend and load settings, or pass " +
            "--allow-different to compare them anyway (the differences are then printed with " +
            "the result)\n",
        );
      },
    );

    await t.step(
      "--allow-different compares and prints the differences",
      async () => {
        const r = await compare("base", "seed1", "--allow-different");
        assert.equal(r.code, 0, r.stderr);
        assert.ok(
          r.stdout.includes(
            "differences (allowed by --allow-different; baseline vs candidate):\n  workload.seed: 0 vs 1\n",
          ),
          r.stdout,
        );
      },
    );

    await t.step(
      "a flagged side makes the gates untrusted; --fail-on-untrusted fails",
      async () => {
        const plain = await compare("base", "flaky");
        assert.equal(plain.code, 0, plain.stdout + plain.stderr);
        assert.ok(
          plain.stdout.startsWith(
            "== verdict: pass (5 gates), UNTRUSTED (candidate fidelity FLAGGED: failed 2.5% > 1% in 1 " +
              "of 3 runs)",
          ),
          plain.stdout,
        );
        const strict = await compare("base", "flaky", "--fail-on-untrusted");
        assert.equal(strict.code, 1);
        assert.ok(strict.stderr.includes("--fail-on-untrusted"), strict.stderr);
      },
    );

    await t.step(
      "--single-run compares the named runs alone, and says it is optimistic",
      async () => {
        const r = await compare(
          "base-0",
          "again-0",
          "--single-run",
          "--format",
          "json",
        );
        const j = JSON.parse(r.stdout);
        assert.equal(j.method, "within_run");
        assert.ok(
          j.caveat.startsWith(
            "1 run per side: the intervals cover only the sampling",
          ),
        );
      },
    );
  } finally {
    await Deno.remove(fx.dir, { recursive: true });
  }
});

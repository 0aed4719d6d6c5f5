import assert from "node:assert/strict";
import { runCli } from "../../harness/_cli.ts";
import { createFixtureStore } from "../_fixture.ts";
import { generatedRun } from "../_runs.ts";

const SCHED = Array.from({ length: 80 }, (_, i) => i * 40);
const TTFT = SCHED.map((_, i) => 40 + 2 * ((i * 7) % 11));

Deno.test("compareCommand() gates exit 1 only beyond bound and outside noise", async (t) => {
  const fx = await createFixtureStore([
    generatedRun({
      runId: "base",
      label: "baseline",
      schedMs: SCHED,
      ttftMs: TTFT,
    }),
    generatedRun({
      runId: "slow",
      label: "candidate",
      schedMs: SCHED,
      ttftMs: TTFT.map((v) => v * 1.5),
    }),
  ]);
  fx.store.close();
  const junit = `${fx.dir}/gates.xml`;
  const compare = (...extra: string[]) =>
    runCli([
      "compare",
      "--db",
      fx.path,
      "--baseline",
      "baseline",
      "--candidate",
      "candidate",
      ...extra,
    ]);
  try {
    await t.step(
      "a 50 % slower p99 TTFT fails a +10% gate: exit 1, JUnit failure",
      async () => {
        const r = await compare(
          "--gate",
          "p99_ttft:+10%,p50_tpot:+10%",
          "--junit",
          junit,
        );
        assert.equal(r.code, 1, r.stderr);
        assert.ok(r.stdout.includes("FAIL p99_ttft:+10%"), r.stdout);
        assert.ok(r.stdout.includes("ok p50_tpot:+10%"), r.stdout);
        assert.ok(r.stdout.includes("verdict: FAIL (1 of 2 gates)"), r.stdout);
        const xml = await Deno.readTextFile(junit);
        assert.ok(xml.includes('tests="2" failures="1"'), xml);
      },
    );

    await t.step("within a +80% bound it passes: exit 0", async () => {
      const r = await compare("--gate", "p99_ttft:+80%");
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdout.includes("verdict: pass"));
    });

    await t.step(
      "without --gate the default gates judge: a 50 % slower TTFT fails them",
      async () => {
        const r = await compare("--format", "json");
        assert.equal(r.code, 1, r.stderr);
        const j = JSON.parse(r.stdout);
        assert.equal(j.schema, "tokentrace.compare/v2");
        assert.equal(j.rows[1].metric, "ttft_ms");
        assert.deepStrictEqual(
          j.gates.map((g: { gate: string }) => g.gate),
          [
            "p50_ttft:+10%",
            "p99_ttft:+20%",
            "p50_tpot:+10%",
            "p99_tpot:+20%",
            "goodput:-5%",
          ],
        );
        assert.equal(j.method, "within_run");
        assert.equal(j.optimistic, true);
      },
    );

    await t.step("--gate none judges nothing: exit 0", async () => {
      const r = await compare("--gate", "none");
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdout.startsWith("== verdict: no gates, trusted"), r.stdout);
    });

    await t.step("an unknown run lists close matches", async () => {
      const r = await runCli([
        "compare",
        "--db",
        fx.path,
        "--baseline",
        "baselin",
        "--candidate",
        "candidate",
      ]);
      assert.equal(r.code, 1);
      assert.ok(
        r.stderr.includes(
          'No run "baselin" in "' + fx.path +
            '": expected a run id, a unique run id prefix or a label; close matches: label "baseline"',
        ),
        r.stderr,
      );
    });
  } finally {
    await Deno.remove(fx.dir, { recursive: true });
  }
});

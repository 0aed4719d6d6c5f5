import assert from "node:assert/strict";
import { Store } from "../../../harness/store.ts";
import { runCli } from "../../harness/_cli.ts";
import { createFixtureStore, RUN_A, RUN_C } from "../_fixture.ts";

Deno.test("reportCommand() renders every format", async (t) => {
  const fx = await createFixtureStore([RUN_A, RUN_C], { views: false });
  fx.store.close();
  const report = (...args: string[]) =>
    runCli(["report", "--db", fx.path, ...args]);
  try {
    await t.step("table (default) with an SLO", async () => {
      const r = await report("--run", "baseline", "--slo", "ttft=30");
      assert.equal(r.code, 0, r.stderr);
      assert.ok(
        r.stdout.includes("attainment 40.0% (2 of 5 counted met)"),
        r.stdout,
      );
    });

    await t.step("md, json, junit to stdout", async () => {
      const md = await report("--format", "md", "--run", "baseline");
      assert.ok(md.stdout.startsWith("# tokentrace run baseline"), md.stdout);
      const json = JSON.parse(
        (await report("--format", "json", "--run", "baseline")).stdout,
      );
      assert.equal(json.schema, "tokentrace.report/v2");
      assert.equal(json.anchors.length, 14);
      assert.equal(json.fidelity.checks.length, 13);
      assert.equal(json.fidelity.ok, false);
      const junit = await report("--format", "junit", "--run", "baseline");
      assert.ok(
        junit.stdout.includes('<testsuite name="fidelity baseline" tests="13"'),
      );
    });

    await t.step("csv: one row per request with every metric", async () => {
      const r = await report(
        "--format",
        "csv",
        "--run",
        "baseline",
        "--slo",
        "ttft=40",
      );
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split("\n");
      assert.equal(lines.length, 7); // header + 6 requests
      const head = lines[0].split(",");
      for (
        const col of [
          "req_id",
          "ttft_ms",
          "tpot_ms",
          "e2e_ms",
          "meets_slo",
          "error",
        ]
      ) {
        assert.ok(head.includes(col), col);
      }
      assert.ok(lines[1].includes(",r1,"), lines[1]);
    });

    await t.step(
      "parquet: one row per token chunk, to --out only",
      async () => {
        const out = `${fx.dir}/tokens.parquet`;
        const r = await report(
          "--format",
          "parquet",
          "--run",
          "baseline",
          "--out",
          out,
        );
        assert.equal(r.code, 0, r.stderr);
        assert.ok(r.stderr.includes("Wrote 10 token chunks of run "), r.stderr);
        const store = await Store.open(fx.path, { readOnly: true });
        try {
          const rows = await store.query(
            `select count(*)::int as n, sum(gap_ms) as gaps from read_parquet('${out}')`,
          );
          assert.deepStrictEqual(rows, [{ n: 10, gaps: 242 }]);
        } finally {
          store.close();
        }
        const none = await report("--format", "parquet", "--run", "baseline");
        assert.equal(none.code, 2);
        assert.ok(
          none.stderr.includes(
            "Option --out: expected a file to write with --format parquet",
          ),
        );
      },
    );

    await t.step("html to a file: one offline page with charts", async () => {
      const out = `${fx.dir}/report.html`;
      const r = await report(
        "--format",
        "html",
        "--run",
        "baseline",
        "--out",
        out,
      );
      assert.equal(r.code, 0, r.stderr);
      const html = await Deno.readTextFile(out);
      assert.ok(html.includes("<svg") && !html.includes("<script"));
    });

    await t.step(
      "a run with no completed requests still renders and explains",
      async () => {
        const r = await report("--run", "no-completions");
        assert.equal(r.code, 0, r.stderr);
        assert.ok(
          r.stdout.includes(
            "no completed requests (status ok; 1 error, 1 timeout",
          ),
        );
      },
    );

    await t.step("a bad format is a flag error (exit 2)", async () => {
      const r = await report("--format", "pdf");
      assert.equal(r.code, 2);
      assert.equal(
        r.stderr.trim().split("\n").at(-1),
        'tokentrace: error: Option --format: expected one of table, md, json, junit, html, csv, parquet, got "pdf"',
      );
    });

    await t.step("an unknown run lists close matches", async () => {
      const r = await report("--run", "basline");
      assert.equal(r.code, 1);
      assert.ok(r.stderr.includes('close matches: label "baseline"'), r.stderr);
    });
  } finally {
    await Deno.remove(fx.dir, { recursive: true });
  }
});

Deno.test("reportCommand() refuses a database from a newer schema", async () => {
  const fx = await createFixtureStore([RUN_A], { views: false });
  await fx.store.exec(
    `insert into tokentrace_schema values (999, 'future', now())`,
  );
  fx.store.close();
  try {
    const r = await runCli(["report", "--db", fx.path]);
    assert.equal(r.code, 1);
    assert.ok(
      r.stderr.includes(`has schema version 999, newer than this tokentrace's`),
      r.stderr,
    );
  } finally {
    await Deno.remove(fx.dir, { recursive: true });
  }
});

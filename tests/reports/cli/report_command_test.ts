import assert from "node:assert/strict";
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
      assert.equal(json.schema, "tokentrace.report/v1");
      assert.equal(json.anchors.length, 14);
      assert.equal(json.fidelity.length, 10);
      const junit = await report("--format", "junit", "--run", "baseline");
      assert.ok(
        junit.stdout.includes('<testsuite name="fidelity baseline" tests="10"'),
      );
    });

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
        'tokentrace: error: Option --format: expected one of table, md, json, junit, html, got "pdf"',
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

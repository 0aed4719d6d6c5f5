import assert from "node:assert/strict";
import { startHostileServer } from "../../adapters/scripted/mod.ts";
import { runCli } from "./_cli.ts";

Deno.test("tokentrace run --on-bad-row skip: the skipped rows are counted in the report", async () => {
  const server = startHostileServer("ok", { tokens: 3 });
  const dir = await Deno.makeTempDir({ prefix: "tokentrace-skip-" });
  await Deno.writeTextFile(
    `${dir}/t.jsonl`,
    '{"timestamp": 0, "input_length": 8, "output_length": 3}\n' +
      '{"timestamp": 5, "input_length": 8, "output_length": 1e15}\n' +
      '{"timestamp": 9, "input_length": NaN, "output_length": 3}\n' +
      '{"timestamp": 12, "input_length": 8, "output_length": 3}\n',
  );
  try {
    const run = await runCli([
      "run",
      "--trace",
      `${dir}/t.jsonl`,
      "--on-bad-row",
      "skip",
      "--url",
      server.url,
      "--db",
      `${dir}/r.duckdb`,
      "--quiet",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const report = await runCli([
      "report",
      "--db",
      `${dir}/r.duckdb`,
      "--format",
      "json",
    ]);
    assert.equal(report.code, 0, report.stderr);
    const check = JSON.parse(report.stdout).fidelity.checks.find((
      c: { check: string },
    ) => c.check === "skipped_trace_rows");
    assert.equal(check.value, 2);
    assert.equal(check.flagged, true);
  } finally {
    await server.close();
  }
});

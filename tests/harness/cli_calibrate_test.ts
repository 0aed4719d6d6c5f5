import assert from "node:assert/strict";
import { Store } from "../../harness/store.ts";
import { runCli } from "./_cli.ts";
import { formatDecimal } from "../../reports/render/_text.ts";

Deno.test("tokentrace calibrate stores the harness's error against the scripted server", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tokentrace-calibrate-" });
  const r = await runCli([
    "calibrate",
    "--rate",
    "20",
    "--tokens",
    "5",
    "--itl-ms",
    "10",
    "--duration",
    "1",
    "--db",
    `${dir}/c.duckdb`,
    "--json",
    "--quiet",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.n_requests, 20);
  assert.equal(out.n_tokens, 100);
  for (
    const k of [
      "ttft_err_p99_ms",
      "token_err_p99_ms",
      "gap_err_p99_ms",
      "schedule_lag_p99_ms",
    ]
  ) {
    assert.equal(typeof out[k], "number", k);
    assert.ok(out[k] >= 0 && out[k] < 1000, `${k} = ${out[k]}`);
  }
  const store = await Store.open(`${dir}/c.duckdb`, { readOnly: true });
  const rows = await store.query(
    "select rate_rps, itl_ms, n_requests, n_tokens, token_err_p99_ms from calibrations",
  );
  assert.deepEqual(rows, [{
    rate_rps: 20,
    itl_ms: 10,
    n_requests: 20,
    n_tokens: 100,
    token_err_p99_ms: out.token_err_p99_ms,
  }]);
  const runs = await store.query("select label, status from runs");
  assert.deepEqual(runs, [{ label: "calibration", status: "completed" }]);
  store.close();

  // Reports of ordinary runs in this database show the floor next to their latencies.
  const rep = await runCli(["report", "--db", `${dir}/c.duckdb`]);
  assert.equal(rep.code, 0, rep.stderr);
  assert.match(
    rep.stdout,
    new RegExp(
      `floor +harness error p99: TTFT ${formatDecimal(out.ttft_err_p99_ms)},`,
    ),
  );
  const json = JSON.parse(
    (await runCli(["report", "--db", `${dir}/c.duckdb`, "--format", "json"]))
      .stdout,
  );
  assert.equal(json.calibration.token_err_p99_ms, out.token_err_p99_ms);
});

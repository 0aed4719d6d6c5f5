import assert from "node:assert/strict";
import { startScriptedWorker } from "../../adapters/scripted/mod.ts";
import { cliCommand, runCli, waitFor, writeAzureTrace } from "./_cli.ts";

/** Starts `tokentrace dashboard` on `db`; its URL and a stop function. */
async function startDashboard(db: string) {
  const child = cliCommand(["dashboard", "--db", db, "--port", "0"]).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const first = await lines.read();
  if (first.done) throw new Error("the dashboard exited before listening");
  return {
    url: first.value.trim(),
    async stop() {
      child.kill("SIGTERM");
      await lines.cancel();
      await child.stderr.cancel();
      await child.status;
    },
  };
}

Deno.test("tokentrace report and dashboard show a run while it records; the dashboard blocks no run", async () => {
  const server = await startScriptedWorker({
    timing: { ttftBaseMs: 10, ttftPerInputTokenMs: 0, itlMs: 20 },
    recordSends: false,
  });
  const dir = await Deno.makeTempDir({ prefix: "tokentrace-live-" });
  const db = `${dir}/r.duckdb`;
  await writeAzureTrace(`${dir}/short.csv`, 2, 10, 8, 3);
  await writeAzureTrace(`${dir}/long.csv`, 12, 0, 8, 1000); // 20 s of streaming
  const base = ["--url", server.url, "--db", db, "--quiet"];
  // A dashboard open on the file while a run starts and records into it.
  const first = await runCli(["run", "--trace", `${dir}/short.csv`, ...base]);
  assert.equal(first.code, 0, first.stderr);
  const dashboard = await startDashboard(db);
  assert.equal((await fetch(`${dashboard.url}/`)).status, 200);
  const run = cliCommand([
    "run",
    "--trace",
    `${dir}/long.csv`,
    "--label",
    "live",
    ...base,
  ]).spawn();
  try {
    await waitFor(
      async () => (await server.stats()).chunks >= 48,
      60_000,
      "the second run streaming",
    );
    // The recorder rewrites the snapshot every 2 s: wait for one taken while streaming.
    const t0 = Date.now();
    await waitFor(
      () => {
        try {
          return Deno.statSync(`${db}.live`).mtime!.getTime() > t0;
        } catch {
          return false;
        }
      },
      60_000,
      "a live snapshot",
    );
    const report = await runCli([
      "report",
      "--db",
      db,
      "--run",
      "live",
      "--format",
      "json",
    ]);
    assert.equal(report.code, 0, report.stderr);
    assert.match(
      report.stderr,
      /is being written by a run: reporting from its live snapshot/,
    );
    const json = JSON.parse(report.stdout);
    assert.equal(json.run.status, "running");
    assert.ok(json.requests.total > 0, report.stdout.slice(0, 400));

    const page = await (await fetch(`${dashboard.url}/`)).text();
    assert.match(page, /this is its live snapshot/);
    assert.match(page, /live/);
    const detail = await fetch(`${dashboard.url}/runs/live`);
    assert.equal(detail.status, 200);
    await detail.body?.cancel();
  } finally {
    run.kill("SIGINT");
    const out = await run.output();
    await dashboard.stop();
    await server.close();
    assert.equal(out.code, 130, new TextDecoder().decode(out.stderr));
  }
  // The run ended: the snapshot is gone and the file reads directly.
  assert.throws(() => Deno.statSync(`${db}.live`), Deno.errors.NotFound);
  const after = await runCli(["report", "--db", db, "--run", "live"]);
  assert.equal(after.code, 0, after.stderr);
  assert.match(after.stdout, /aborted/);
});

import assert from "node:assert/strict";
import { startScriptedWorker } from "../../adapters/scripted/mod.ts";
import { Store } from "../../harness/store.ts";
import { cliCommand, runCli, waitFor, writeAzureTrace } from "./_cli.ts";

/** Resolves once the database's write-ahead log has grown `times` times (commits landed). */
export async function walGrowth(db: string, times: number): Promise<void> {
  const size = () => {
    try {
      return Deno.statSync(`${db}.wal`).size;
    } catch {
      return 0;
    }
  };
  for (let i = 0; i < times; i++) {
    const before = size();
    await waitFor(() => size() > before, 60_000, `commit ${i + 1} in ${db}`);
  }
}

Deno.test("tokentrace run: after kill -9 every sent request is in_flight and no token row is orphaned", async () => {
  const server = await startScriptedWorker({
    timing: { ttftBaseMs: 10, ttftPerInputTokenMs: 0, itlMs: 50 },
    recordSends: false,
  });
  const dir = await Deno.makeTempDir({ prefix: "tokentrace-crash-" });
  const db = `${dir}/r.duckdb`;
  // 12 requests at once, each streaming 400 tokens 50 ms apart (20 s): all are in flight when
  // the process is killed.
  await writeAzureTrace(`${dir}/t.csv`, 12, 0, 8, 400);
  const child = cliCommand([
    "run",
    "--trace",
    `${dir}/t.csv`,
    "--url",
    server.url,
    "--db",
    db,
    "--quiet",
  ]).spawn();
  try {
    await waitFor(
      async () => {
        const s = await server.stats();
        return s.received >= 12 && s.chunks >= 24;
      },
      60_000,
      "12 requests at the server, streaming",
    );
    // Every request was sent before these commits were posted: three commits later its
    // in-flight row is in the file.
    await walGrowth(db, 3);
  } finally {
    child.kill("SIGKILL");
    await child.output();
    await server.close();
  }
  const store = await Store.open(db, { readOnly: true });
  try {
    assert.deepEqual(await store.query("select status from runs"), [{
      status: "running",
    }]);
    assert.deepEqual(
      await store.query(
        "select status, count(*)::int as n, count(sent_ns)::int as sent from requests group by all",
      ),
      [{ status: "in_flight", n: 12, sent: 12 }],
    );
    assert.deepEqual(
      await store.query(
        `select count(*)::int as orphans from token_events t
         where not exists (select 1 from requests r where r.run_id = t.run_id and r.req_id = t.req_id)`,
      ),
      [{ orphans: 0 }],
    );
    const tokens = await store.query(
      "select count(*)::int as n from token_events",
    );
    assert.ok((tokens[0].n as number) > 0, "token rows were committed");
  } finally {
    store.close();
  }
  // The report counts them as in flight.
  const report = await runCli(["report", "--db", db]);
  assert.equal(report.code, 0, report.stderr);
  assert.match(
    report.stdout,
    /requests +12 total: 0 ok, 0 error, 0 timeout, 0 cancelled, 12 in flight/,
  );
});

const MOD = new URL("../../mod.ts", import.meta.url).pathname;

/** The state letter of a process (`Z` for a zombie), or null once it is gone. */
function procState(pid: number): string | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return null;
  }
}

Deno.test({
  name:
    "tokentrace run: the CLI ends when its launcher dies and marks the run aborted",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const server = await startScriptedWorker({
      timing: { ttftBaseMs: 10, ttftPerInputTokenMs: 0, itlMs: 50 },
      recordSends: false,
    });
    const dir = await Deno.makeTempDir({ prefix: "tokentrace-orphan-" });
    const db = `${dir}/r.duckdb`;
    await writeAzureTrace(`${dir}/t.csv`, 12, 0, 8, 400);
    const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
    // The launcher: a shell that starts the CLI, prints its pid and waits (as npx does).
    const launcher = new Deno.Command("sh", {
      args: [
        "-c",
        `${q(Deno.execPath())} run -A ${q(MOD)} run --trace ${
          q(`${dir}/t.csv`)
        } --url ${q(server.url)} --db ${q(db)} --quiet & echo $!; wait`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const out = launcher.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    let pid = 0;
    try {
      pid = Number((await out.read()).value!.trim().split("\n")[0]);
      await waitFor(
        async () => (await server.stats()).chunks >= 24,
        60_000,
        "the run streaming",
      );
      launcher.kill("SIGKILL");
      await launcher.status;
      await waitFor(
        () => {
          const s = procState(pid);
          return s === null || s === "Z";
        },
        60_000,
        `the orphaned CLI (pid ${pid}) to exit`,
      );
    } finally {
      if (pid > 0 && procState(pid) !== null) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch { /* gone */ }
      }
      await out.cancel();
      await launcher.stderr.cancel();
      await server.close();
    }
    const store = await Store.open(db, { readOnly: true });
    try {
      assert.deepEqual(
        await store.query(
          "select status, end_reason, finished_at is not null as ended from runs",
        ),
        [{
          status: "aborted",
          end_reason: "SIGTERM (the launching process exited)",
          ended: true,
        }],
      );
      assert.deepEqual(
        await store.query(
          "select count(*)::int as n from requests where status = 'in_flight'",
        ),
        [{ n: 0 }],
      );
    } finally {
      store.close();
    }
  },
});

Deno.test("tokentrace run: a second Ctrl-C leaves the run aborted, not running", async () => {
  const server = await startScriptedWorker({
    timing: { ttftBaseMs: 10, ttftPerInputTokenMs: 0, itlMs: 50 },
    recordSends: false,
  });
  const dir = await Deno.makeTempDir({ prefix: "tokentrace-ctrlc2-" });
  const db = `${dir}/r.duckdb`;
  await writeAzureTrace(`${dir}/t.csv`, 12, 0, 8, 400);
  const child = cliCommand([
    "run",
    "--trace",
    `${dir}/t.csv`,
    "--url",
    server.url,
    "--db",
    db,
    "--quiet",
  ]).spawn();
  const err = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let stderr = "";
  try {
    await waitFor(
      async () => (await server.stats()).chunks >= 24,
      60_000,
      "the run streaming",
    );
    child.kill("SIGINT");
    // The second once the first is being handled (signals sent at once may merge into one).
    while (!stderr.includes("SIGINT: stopping")) {
      const { value, done } = await err.read();
      if (done) break;
      stderr += value;
    }
    child.kill("SIGINT");
    for (;;) {
      const { value, done } = await err.read();
      if (done) break;
      stderr += value;
    }
  } finally {
    await child.stdout.cancel();
    await server.close();
  }
  const status = await child.status;
  assert.equal(status.code, 130, stderr);
  const store = await Store.open(db, { readOnly: true });
  try {
    const run = await store.query(
      "select status, finished_at is not null as ended from runs",
    );
    assert.deepEqual(run, [{ status: "aborted", ended: true }], stderr);
  } finally {
    store.close();
  }
});

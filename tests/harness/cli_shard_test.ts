import assert from "node:assert/strict";
import { join } from "node:path";
import { Store } from "../../harness/store.ts";
import { cliCommand, runCli, startScriptedProcess } from "./_cli.ts";

// 3-turn sessions at 40 sessions/s: shards take whole sessions; no --sessions, so every turn is
// sent at its planned time and the plan's send times can be compared exactly.
const PLAN = [
  "--synthetic",
  "n=24,arrival=poisson:40,input=fixed:8,output=fixed:3,turns=fixed:3,think=fixed:20",
];

interface Shard {
  index: number;
  db: string;
  extra?: string[];
}

/** Runs shard processes together from one start `leadS` seconds ahead; their results. */
async function runShards(
  url: string,
  shards: Shard[],
  leadS: number,
): Promise<{ code: number; stderr: string }[]> {
  const startAt = String(Math.floor(Date.now() / 1000) + leadS);
  const children = shards.map((s) =>
    cliCommand([
      "run",
      ...PLAN,
      "--url",
      url,
      "--db",
      s.db,
      "--shard",
      `${s.index}/2`,
      "--start-at",
      startAt,
      "--quiet",
      ...(s.extra ?? []),
    ]).output()
  );
  const dec = new TextDecoder();
  return (await Promise.all(children)).map((o) => ({
    code: o.code,
    stderr: dec.decode(o.stderr),
  }));
}

Deno.test("tokentrace run --shard + merge: shard processes replay one plan, merged like the unsharded run", async (t) => {
  const server = await startScriptedProcess([
    "--ttft-ms",
    "5",
    "--itl-ms",
    "5",
  ]);
  const dir = await Deno.makeTempDir({ prefix: "tokentrace-shards-" });
  const db = (name: string) => join(dir, `${name}.duckdb`);
  try {
    const shards: Shard[] = [
      { index: 0, db: db("s0") },
      { index: 1, db: db("s1") },
      // the same shard of another plan (another seed: other arrivals and prompts)
      { index: 1, db: db("other"), extra: ["--seed", "1"] },
    ];
    // Processes take seconds to start on busy cores: when a shard reports that the start had
    // passed before it was ready, all start again further ahead.
    let results: { code: number; stderr: string }[] = [];
    for (const lead of [20, 60, 180]) {
      for (const s of shards) await Deno.remove(s.db).catch(() => {});
      results = await runShards(server.url, shards, lead);
      if (!results.some((r) => r.stderr.includes("--start-at) passed"))) break;
    }
    results.forEach((r, i) =>
      assert.equal(r.code, 0, `shard ${i}: ${r.stderr}`)
    );
    const unsharded = await runCli([
      "run",
      ...PLAN,
      "--url",
      server.url,
      "--db",
      db("whole"),
      "--quiet",
    ]);
    assert.equal(unsharded.code, 0, unsharded.stderr);

    await t.step(
      "each shard sent whole sessions, together the plan once",
      async () => {
        const sessions = new Map<string, string>();
        let total = 0;
        for (const s of shards.slice(0, 2)) {
          const store = await Store.open(s.db, { readOnly: true });
          const rows = await store.query(
            "select req_id, session_id from requests",
          );
          const facts = await store.query(
            "select shard_by, plan_requests, shard_requests from run_shards",
          );
          store.close();
          assert.deepEqual(facts, [{
            shard_by: "session",
            plan_requests: 24,
            shard_requests: rows.length,
          }]);
          total += rows.length;
          for (const r of rows) {
            const other = sessions.get(r.session_id as string);
            assert.ok(other === undefined || other === s.db, "session split");
            sessions.set(r.session_id as string, s.db);
          }
        }
        assert.equal(total, 24);
        assert.equal(sessions.size, 8);
      },
    );

    await t.step(
      "merge: the unsharded run's requests and send plan, each once",
      async () => {
        const merged = await runCli([
          "merge",
          db("s0"),
          db("s1"),
          "--out",
          db("merged"),
          "--quiet",
        ]);
        assert.equal(merged.code, 0, merged.stderr);
        assert.match(
          merged.stderr,
          /^Merged 2 shards of plan [0-9a-f]{12} into run [0-9a-f-]{36} in .*merged\.duckdb: 24 of the plan's 24 requests, each once \(72 token events\); the shards' clocks may disagree by <= [0-9.e-]+ ms \(1 clock\)\n$/,
        );
        // planned send times relative to the first one: equal to the nanosecond
        const plan = async (path: string) => {
          const store = await Store.open(path, { readOnly: true });
          try {
            return await store.query(
              `select req_id, status, scheduled_ns - min(scheduled_ns) over () as offset_ns
             from requests order by req_id`,
            );
          } finally {
            store.close();
          }
        };
        const whole = await plan(db("whole"));
        assert.equal(whole.length, 24);
        assert.ok(whole.every((r) => r.status === "ok"));
        assert.deepEqual(await plan(db("merged")), whole);
      },
    );

    await t.step("merge refuses a shard of another plan", async () => {
      const r = await runCli([
        "merge",
        db("s0"),
        db("other"),
        "--out",
        db("refused"),
      ]);
      assert.equal(r.code, 1);
      const lines = r.stderr.trim().split("\n");
      assert.equal(
        lines[0],
        "tokentrace: error: Shards of different plans cannot be merged:",
      );
      assert.match(
        lines[1],
        /^shard 1\/2 in ".*other\.duckdb" \(run [0-9a-f-]{8}\) differs from shard 0\/2 in ".*s0\.duckdb" \(run [0-9a-f-]{8}\) in \d+ settings \(shard 0\/2 vs shard 1\/2\):$/,
      );
      assert.ok(
        lines.includes("  workload.seed: 0 vs 1"),
        r.stderr,
      );
      assert.ok(
        lines.some((l) => l.startsWith("  plan (sha256 of every request): ")),
      );
      await assert.rejects(() => Deno.stat(db("refused")));
    });
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

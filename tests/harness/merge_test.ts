import assert from "node:assert/strict";
import { join } from "node:path";
import { mergeCommand } from "../../harness/cli/merge_command.ts";
import {
  insertShardFacts,
  type ShardFactsRow,
} from "../../harness/shard_facts.ts";
import { Store } from "../../harness/store.ts";

const START_AT = 1_796_119_200_000_000_000n; // 2026-12-01T10:00:00Z
const ms = (v: number) => BigInt(v) * 1_000_000n;

interface ShardDb {
  index: number;
  count?: number;
  /** The plan start on the shard's run clock, ms. */
  startMs: number;
  /** Requests: id and planned offset from the start (ms); each sent 1 ms late, 2 tokens. */
  requests: [string, number][];
  seed?: number;
  planSha256?: string;
  status?: "completed" | "aborted" | "running";
  startAt?: bigint;
  runId?: string;
  /** Requests of the whole plan. Default 4. */
  planRequests?: number;
}

/** Writes a shard's database as `run --shard` would: its run, rows and run_shards row. */
async function writeShard(path: string, s: ShardDb): Promise<string> {
  const store = await Store.open(path);
  const runId = s.runId ?? `shard-${s.index}-${crypto.randomUUID()}`;
  const count = s.count ?? 2;
  try {
    await store.createRun({
      runId,
      label: "sharded",
      backend: "openai",
      toolVersion: "0.1.0",
      clockOriginUnixNs: (s.startAt ?? START_AT) - ms(s.startMs),
      workload: { seed: s.seed ?? 0, source: { path: "/x/t.csv" } },
      options: {
        db: path,
        shard: { index: s.index, count },
        timeoutMs: 600000,
        startAtUnixNs: String(s.startAt ?? START_AT),
      },
    });
    for (const [id, offset] of s.requests) {
      const sched = ms(s.startMs + offset);
      await store.exec(
        `insert into requests (run_id, req_id, scheduled_ns, released_ns, sent_ns, first_token_ns,
           last_token_ns, done_ns, input_tokens_planned, output_tokens_planned, output_chunks,
           output_tokens_counted, status, attempt)
         values ($1, $2, $3, $3, $3 + 1000000, $3 + 21000000, $3 + 31000000, $3 + 31000000,
           8, 2, 2, 2, 'ok', 0)`,
        [runId, id, sched],
      );
      for (const seq of [0, 1]) {
        await store.exec(
          `insert into token_events values ($1, $2, $3, $4, 1, 'content')`,
          [runId, id, seq, sched + ms(21 + 10 * seq)],
        );
      }
    }
    const facts: ShardFactsRow = {
      runId,
      shardIndex: s.index,
      shardCount: count,
      shardBy: "request",
      shardRunId: runId,
      planSha256: s.planSha256 ?? "a".repeat(64),
      planRequests: s.planRequests ?? 4,
      shardRequests: s.requests.length,
      startAtUnixNs: s.startAt ?? START_AT,
      startNs: ms(s.startMs),
      leadNs: ms(s.startMs - 100),
      hostClockOffsetNs: -400n,
      hostClockUncertaintyNs: 300n,
      hostClockDriftNs: -20n,
      hostClockId: "boot-a",
      hostClockSynced: false,
      hostClockEstErrorNs: 16_000_000_000n,
      sourceDb: null,
      timeShiftNs: 0n,
    };
    await insertShardFacts(store, [facts]);
    if ((s.status ?? "completed") !== "running") {
      await store.finishRun(
        runId,
        s.status === "aborted" ? "aborted" : "completed",
        s.status === "aborted" ? "SIGINT" : undefined,
      );
    }
  } finally {
    store.close();
  }
  return runId;
}

async function dir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "tokentrace-merge-" });
}

Deno.test("mergeCommand() joins shards on one time line, every request once", async () => {
  const d = await dir();
  const a = join(d, "s0.duckdb"), b = join(d, "s1.duckdb");
  // Shard 0's plan starts at 3 s on its clock, shard 1's at 5 s: shard 0 moves by +2 s.
  const id0 = await writeShard(a, {
    index: 0,
    startMs: 3000,
    requests: [["r0", 0], ["r2", 40]],
  });
  const id1 = await writeShard(b, {
    index: 1,
    startMs: 5000,
    requests: [["r1", 20], ["r3", 60]],
  });
  const out = join(d, "run.duckdb");
  const r = await mergeCommand([a, b], { out, quiet: true, label: "joined" });
  assert.equal(r.exitCode, 0);
  const store = await Store.open(out, { readOnly: true });
  try {
    const runs = await store.query(
      `select label, status, clock_origin_unix_ns, options::varchar as options,
         host::varchar as host, end_reason from runs`,
    );
    assert.deepEqual(runs.map((x) => ({ ...x, host: undefined })), [{
      label: "joined",
      status: "completed",
      clock_origin_unix_ns: START_AT - ms(5000),
      options: `{"db":"${a}","timeoutMs":600000,"startAtUnixNs":"${START_AT}"}`,
      host: undefined,
      end_reason: null,
    }]);
    assert.deepEqual(
      await store.query(
        `select req_id, scheduled_ns, sent_ns, first_token_ns, done_ns from requests
         order by scheduled_ns`,
      ),
      [["r0", 0], ["r1", 20], ["r2", 40], ["r3", 60]].map(([id, off]) => {
        const sched = ms(5000 + (off as number));
        return {
          req_id: id,
          scheduled_ns: sched,
          sent_ns: sched + ms(1),
          first_token_ns: sched + ms(21),
          done_ns: sched + ms(31),
        };
      }),
    );
    assert.deepEqual(
      await store.query(
        `select req_id, min(t_ns) as t0, max(t_ns) as t1, count(*)::int as n
         from token_events group by req_id order by req_id`,
      ),
      [["r0", 0], ["r1", 20], ["r2", 40], ["r3", 60]].map(([id, off]) => ({
        req_id: id,
        t0: ms(5021 + (off as number)),
        t1: ms(5031 + (off as number)),
        n: 2,
      })),
    );
    assert.deepEqual(
      await store.query(
        `select shard_index, shard_run_id, start_ns, time_shift_ns, source_db
         from run_shards order by shard_index`,
      ),
      [
        {
          shard_index: 0,
          shard_run_id: id0,
          start_ns: ms(3000),
          time_shift_ns: ms(2000),
          source_db: a,
        },
        {
          shard_index: 1,
          shard_run_id: id1,
          start_ns: ms(5000),
          time_shift_ns: 0n,
          source_db: b,
        },
      ],
    );
    // shards of one machine: 0.3 + 0.3 us of reading, 0.02 + 0.02 us of drift
    assert.deepEqual(
      await store.query(
        "select clocks, clock_disagreement_ms from run_shard_clock",
      ),
      [{ clocks: 1n, clock_disagreement_ms: 0.00064 }],
    );
  } finally {
    store.close();
  }
});

Deno.test("mergeCommand() refuses shards of different plans, listing the differences", async () => {
  const d = await dir();
  const a = join(d, "a.duckdb"), b = join(d, "b.duckdb");
  const id0 = await writeShard(a, {
    index: 0,
    startMs: 3000,
    requests: [["r0", 0], ["r2", 40]],
  });
  const id1 = await writeShard(b, {
    index: 1,
    startMs: 3000,
    requests: [["r1", 20], ["r3", 60]],
    seed: 1,
    planSha256: "b".repeat(64),
  });
  await assert.rejects(
    () => mergeCommand([a, b], { out: join(d, "run.duckdb"), quiet: true }),
    {
      message: [
        "Shards of different plans cannot be merged:",
        `shard 1/2 in "${b}" (run ${
          id1.slice(0, 8)
        }) differs from shard 0/2 in "${a}" (run ${
          id0.slice(0, 8)
        }) in 2 settings (shard 0/2 vs shard 1/2):`,
        `  plan (sha256 of every request): "${"a".repeat(60)}... vs "${
          "b".repeat(60)
        }...`,
        "  workload.seed: 0 vs 1",
        "Start every shard of a run with the same workload, seed, load flags and --start-at " +
        "(only i of --shard i/N differs), then merge them",
      ].join("\n"),
    },
  );
  await assert.rejects(() => Deno.stat(join(d, "run.duckdb")));
});

Deno.test("mergeCommand() refuses what does not make one whole run", async (t) => {
  const d = await dir();
  const s0 = join(d, "s0.duckdb"), s1 = join(d, "s1.duckdb");
  await writeShard(s0, {
    index: 0,
    startMs: 3000,
    requests: [["r0", 0]],
    planRequests: 2,
  });
  await writeShard(s1, {
    index: 1,
    startMs: 3000,
    requests: [["r1", 0]],
    planRequests: 2,
  });
  const out = join(d, "run.duckdb");
  await t.step("a missing shard", async () => {
    await assert.rejects(() => mergeCommand([s0], { out, quiet: true }), {
      message:
        "Shard 1/2 is missing: pass the database of every shard 0/2 .. 1/2",
    });
  });
  await t.step("a shard given twice", async () => {
    const again = join(d, "again.duckdb");
    const id = await writeShard(again, {
      index: 0,
      startMs: 3000,
      requests: [["r0", 0]],
      planRequests: 2,
    });
    const first = await Store.open(s0, { readOnly: true });
    const firstId = (await first.query("select run_id from runs"))[0]
      .run_id as string;
    first.close();
    await assert.rejects(
      () => mergeCommand([s0, again, s1], { out, quiet: true }),
      {
        message: `Shard 0/2 is given 2 times (shard 0/2 in "${s0}" (run ${
          firstId.slice(0, 8)
        }), shard 0/2 in "${again}" (run ${
          id.slice(0, 8)
        })): pass each shard once`,
      },
    );
  });
  await t.step("an aborted shard, unless --allow-incomplete", async () => {
    const ab = join(d, "aborted.duckdb");
    const id = await writeShard(ab, {
      index: 1,
      startMs: 3000,
      requests: [["r1", 0]],
      planRequests: 2,
      status: "aborted",
    });
    await assert.rejects(() => mergeCommand([s0, ab], { out, quiet: true }), {
      message: `Shard 1/2 in "${ab}" (run ${
        id.slice(0, 8)
      }) ended aborted (SIGINT): not all of its requests were sent; pass --allow-incomplete to merge it into an aborted run`,
    });
    const r = await mergeCommand([s0, ab], {
      out: join(d, "partial.duckdb"),
      quiet: true,
      allowIncomplete: true,
    });
    assert.equal(r.exitCode, 1);
    const store = await Store.open(join(d, "partial.duckdb"), {
      readOnly: true,
    });
    assert.deepEqual(await store.query("select status, end_reason from runs"), [
      { status: "aborted", end_reason: "shard 1/2 aborted: SIGINT" },
    ]);
    store.close();
  });
  await t.step("a shard still running", async () => {
    const run = join(d, "running.duckdb");
    const id = await writeShard(run, {
      index: 1,
      startMs: 3000,
      requests: [["r1", 0]],
      planRequests: 2,
      status: "running",
    });
    await assert.rejects(
      () =>
        mergeCommand([s0, run], { out, quiet: true, allowIncomplete: true }),
      {
        message: `Shard 1/2 in "${run}" (run ${
          id.slice(0, 8)
        }) is still running (or its process died): not all of its requests were sent`,
      },
    );
  });
  await t.step("a database with no shard run", async () => {
    const plain = join(d, "plain.duckdb");
    (await Store.open(plain)).close();
    await assert.rejects(
      () => mergeCommand([s0, plain], { out, quiet: true }),
      {
        message:
          `Database "${plain}" holds no shard run: pass the databases written by tokentrace run --shard i/N --start-at t`,
      },
    );
  });
  await t.step(
    "a database with two sharded runs needs --start-at",
    async () => {
      const both = join(d, "both.duckdb");
      const later = START_AT + 3_600_000_000_000n;
      const id0 = await writeShard(both, {
        index: 0,
        startMs: 3000,
        requests: [["r0", 0]],
        planRequests: 2,
      });
      const id1 = await writeShard(both, {
        index: 0,
        startMs: 3000,
        requests: [["r0", 0]],
        planRequests: 2,
        startAt: later,
      });
      await assert.rejects(
        () => mergeCommand([both, s1], { out, quiet: true }),
        {
          message:
            `Database "${both}" holds 2 shard runs (shard 0/2 in "${both}" (run ${
              id0.slice(0, 8)
            }) starting at 2026-12-01T10:00:00.000Z; shard 0/2 in "${both}" (run ${
              id1.slice(0, 8)
            }) starting at 2026-12-01T11:00:00.000Z): pass --start-at to choose the sharded run to merge`,
        },
      );
      const r = await mergeCommand([both, s1], {
        out: join(d, "chosen.duckdb"),
        quiet: true,
        startAt: "2026-12-01T10:00:00Z",
      });
      assert.equal(r.exitCode, 0);
    },
  );
  await t.step("--out naming a shard's database", async () => {
    await assert.rejects(
      () => mergeCommand([s0, s1], { out: s1, quiet: true }),
      {
        message:
          `Option --out: expected a database other than the shards' (the merged run is written there, the shards only read), got "${s1}"`,
      },
    );
  });
});

import assert from "node:assert/strict";
import { join } from "node:path";
import { compareCommand } from "../../harness/cli/compare_command.ts";
import { startDashboard } from "../../harness/cli/dashboard_command.ts";
import { reportCommand } from "../../harness/cli/report_command.ts";
import { exportStore } from "../../harness/parquet_export.ts";
import {
  createFixtureStore,
  RUN_A,
  RUN_B,
  RUN_C,
} from "../reports/_fixture.ts";
import { generatedRun } from "../reports/_runs.ts";

/** A file and the store exported from it; `same(a, b)` compares outputs, paths aside. */
async function fileAndStore() {
  const runs = [
    RUN_A,
    RUN_B,
    RUN_C,
    ...[0, 1, 2].map((i) =>
      generatedRun({
        runId: `main-${i}`,
        label: "main",
        schedMs: [0, 100, 200],
        ttftMs: [30 + i, 40, 50],
        group: { id: "grp-main", index: i },
        // distinct start times: lists sort by them, and ties may come back in any order
        startedAt: `2026-11-21T00:0${i}:00.000Z`,
      })
    ),
    ...[0, 1, 2].map((i) =>
      generatedRun({
        runId: `pr-${i}`,
        label: "pr",
        schedMs: [0, 100, 200],
        ttftMs: [60 + i, 70, 80],
        group: { id: "grp-pr", index: i },
        startedAt: `2026-11-21T01:0${i}:00.000Z`,
      })
    ),
  ];
  const fx = await createFixtureStore(runs);
  for (const g of ["main", "pr"]) {
    await fx.store.exec(
      `insert into run_groups values ('grp-${g}', '${g}', '2026-11-21 00:00:00+00', 'repeat', 3)`,
    );
  }
  fx.store.close();
  const dir = join(fx.dir, "store");
  await exportStore(fx.path, dir);
  const same = (fromFile: string, fromStore: string, what: string) =>
    assert.equal(
      fromStore.replaceAll(dir, "<db>"),
      fromFile.replaceAll(fx.path, "<db>"),
      what,
    );
  return { fx, dir, same };
}

Deno.test("report, compare and dashboard read a results store as they read its file", async (t) => {
  const { fx, dir, same } = await fileAndStore();
  try {
    for (const format of ["json", "md", "csv", "junit", "table"]) {
      await t.step(`report --format ${format}`, async () => {
        const out = (db: string) => join(fx.dir, `${format}-${db === dir}.out`);
        for (const db of [fx.path, dir]) {
          await reportCommand({
            db,
            run: RUN_A.runId,
            format,
            out: out(db),
            slo: "ttft=50,tpot=20",
          });
        }
        same(
          await Deno.readTextFile(out(fx.path)),
          await Deno.readTextFile(out(dir)),
          format,
        );
      });
    }

    await t.step("compare groups, with gates", async () => {
      const out = (db: string) => join(fx.dir, `compare-${db === dir}.json`);
      const codes = [];
      for (const db of [fx.path, dir]) {
        const r = await compareCommand({
          db,
          baseline: "main",
          candidate: "pr",
          format: "json",
          out: out(db),
          replicates: "50",
          seed: "0",
          gate: "p50_ttft:+10%",
          slo: "ttft=100",
        });
        codes.push(r.exitCode);
      }
      same(
        await Deno.readTextFile(out(fx.path)),
        await Deno.readTextFile(out(dir)),
        "compare",
      );
      assert.deepEqual(codes, [1, 1]); // p50 TTFT of pr is ~2x main's: the gate fails
    });

    await t.step("dashboard pages and console data", async () => {
      const pages = [
        "/",
        `/runs/${RUN_A.runId}`,
        `/compare?baseline=${RUN_A.runId}&candidate=${RUN_B.runId}`,
        "/data/schema.json",
        `/data/${RUN_A.runId}/requests.csv`,
        `/data/${RUN_A.runId}/token_events.csv`,
        `/data/_all/runs.csv`,
      ];
      const bodies: Record<string, string>[] = [];
      for (const db of [fx.path, dir]) {
        const server = await startDashboard({
          db,
          host: "127.0.0.1",
          port: "0",
        });
        try {
          const got: Record<string, string> = {};
          for (const p of pages) {
            const res = await fetch(`${server.url}${p}`);
            assert.equal(res.status, 200, `${p} from ${db}`);
            got[p] = await res.text();
          }
          bodies.push(got);
        } finally {
          await server.close();
        }
      }
      // table CSVs are unordered (the console loads them into tables): compare their lines
      const lines = (csv: string) => {
        const [header, ...rows] = csv.split("\n");
        return [header, ...rows.sort()].join("\n");
      };
      for (const p of pages) {
        const csv = p.endsWith(".csv");
        same(
          csv ? lines(bodies[0][p]) : bodies[0][p],
          csv ? lines(bodies[1][p]) : bodies[1][p],
          p,
        );
      }
    });
  } finally {
    await fx.dispose();
  }
});

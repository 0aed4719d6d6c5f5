/**
 * What `run` says about a run: exit codes for failed runs, --max-error-rate, --json equal to
 * `report --format json`, --repeat groups, and the coalesced-chunk check, against scripted
 * servers on 127.0.0.1 (port 0).
 */
import assert from "node:assert/strict";
import { createScriptedApp } from "../../../adapters/scripted/mod.ts";
import { serveRawHttp } from "../../../adapters/scripted/raw_http.ts";
import { Store } from "../../../harness/store.ts";
import { runCli } from "../../harness/_cli.ts";
import { serveScripted, tempDb } from "../../harness/_scripted.ts";

/** Deep equality where numbers may differ by a relative 1e-12. */
function assertClose(actual: unknown, expected: unknown, path: string): void {
  if (typeof expected === "number" && typeof actual === "number") {
    const tolerance = 1e-12 * Math.max(1, Math.abs(expected));
    assert.ok(
      Math.abs(actual - expected) <= tolerance,
      `${path}: ${actual} vs ${expected}`,
    );
  } else if (expected !== null && typeof expected === "object") {
    assert.equal(typeof actual, "object", path);
    const keys = Object.keys(expected as object);
    assert.deepStrictEqual(Object.keys(actual as object), keys, `${path} keys`);
    for (const k of keys) {
      assertClose(
        (actual as Record<string, unknown>)[k],
        (expected as Record<string, unknown>)[k],
        `${path}.${k}`,
      );
    }
  } else {
    assert.deepStrictEqual(actual, expected, path);
  }
}

const SYNTHETIC = "n=8,arrival=constant:40,input=fixed:8,output=fixed:4";

const run = (url: string, db: string, ...extra: string[]) =>
  runCli([
    "run",
    "--synthetic",
    SYNTHETIC,
    "--url",
    url,
    "--db",
    db,
    ...extra,
  ]);

Deno.test({
  name:
    "run: a run in which every request got HTTP 400 exits 1 and names the status",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = serveScripted({
      failEvery: 1,
      failStatus: 400,
      timing: { ttftBaseMs: 2, itlMs: 1 },
    });
    const db = await tempDb();
    try {
      const r = await run(server.url, db);
      assert.equal(r.code, 1, r.stderr);
      const lines = r.stdout.split("\n");
      assert.ok(lines[0].startsWith("== goodput —"), lines[0]);
      assert.ok(r.stdout.includes("fidelity FLAGGED ("), r.stdout);
      assert.ok(
        lines.some((l) => l === "failures    8 failed: http 8; HTTP 400 8"),
        r.stdout,
      );
      assert.ok(r.stdout.includes("Scripted failure (HTTP 400)"), r.stdout);
      assert.ok(
        r.stderr.includes(
          ": no request succeeded (8 of 8 sent failed: http x8; HTTP 400 x8)",
        ),
        r.stderr,
      );
    } finally {
      await server.close();
      await Deno.remove(db.replace(/\/results\.duckdb$/, ""), {
        recursive: true,
      });
    }
  },
});

Deno.test({
  name: "run --max-error-rate: exit 1 above the rate, 0 at or below it",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    // every 4th request fails: 2 of 8
    const server = serveScripted({
      failEvery: 4,
      timing: { ttftBaseMs: 2, itlMs: 1 },
    });
    const db = await tempDb();
    try {
      await t.step("25 % failed > 0.1: exit 1", async () => {
        const r = await run(
          server.url,
          db,
          "--quiet",
          "--max-error-rate",
          "0.1",
        );
        assert.equal(r.code, 1, r.stderr);
        assert.ok(
          r.stderr.includes(
            "25.0% of 8 sent requests failed: http x2; HTTP 500 x2, " +
              "above --max-error-rate 0.1",
          ),
          r.stderr,
        );
      });
      await t.step("25 % failed <= 0.5: exit 0", async () => {
        const r = await run(
          server.url,
          db,
          "--quiet",
          "--max-error-rate",
          "0.5",
        );
        assert.equal(r.code, 0, r.stderr);
      });
      await t.step("a rate outside 0..1 is a flag error", async () => {
        const r = await run(server.url, db, "--max-error-rate", "5");
        assert.equal(r.code, 2);
        assert.ok(
          r.stderr.includes(
            'Option --max-error-rate: expected a fraction from 0 to 1, e.g. 0.05, got "5"',
          ),
          r.stderr,
        );
      });
    } finally {
      await server.close();
      await Deno.remove(db.replace(/\/results\.duckdb$/, ""), {
        recursive: true,
      });
    }
  },
});

Deno.test({
  name: "run --json prints exactly what report --format json prints",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = serveScripted({ timing: { ttftBaseMs: 2, itlMs: 1 } });
    const db = await tempDb();
    try {
      const r = await run(
        server.url,
        db,
        "--json",
        "--slo",
        "ttft=500,tpot=50",
      );
      assert.equal(r.code, 0, r.stderr);
      const j = JSON.parse(r.stdout);
      assert.equal(j.schema, "tokentrace.report/v2");
      assert.equal(typeof j.fidelity.ok, "boolean");
      assert.deepStrictEqual(j.config.options.slo, { ttftMs: 500, tpotMs: 50 });
      assert.equal(j.lengths[3].metric, "output_tokens");
      const report = await runCli([
        "report",
        "--db",
        db,
        "--run",
        j.run.run_id,
        "--format",
        "json",
      ]);
      assert.equal(report.code, 0, report.stderr);
      // The same document, field for field; numbers may differ in their last bit, since
      // DuckDB's parallel sums add in whatever order its threads finish (the report printed
      // twice differs the same way).
      assertClose(JSON.parse(report.stdout), j, "$");
      assert.equal(
        r.stdout.split("\n").length,
        report.stdout.split("\n").length,
      );
    } finally {
      await server.close();
      await Deno.remove(db.replace(/\/results\.duckdb$/, ""), {
        recursive: true,
      });
    }
  },
});

Deno.test({
  name: "run --repeat 3 records three runs under one group",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = serveScripted({ timing: { ttftBaseMs: 2, itlMs: 1 } });
    const db = await tempDb();
    try {
      const r = await run(server.url, db, "--repeat", "3", "--label", "base");
      assert.equal(r.code, 0, r.stderr);
      // runs 1 and 2 print their headline, run 3 its summary
      const headlines = r.stdout.split("\n").filter((l) =>
        /^run \S+: goodput/.test(l)
      );
      assert.equal(headlines.length, 2, r.stdout);
      assert.ok(
        r.stdout.includes("repeat      run 3 of 3 of group "),
        r.stdout,
      );
      const store = await Store.open(db, { readOnly: true });
      try {
        const rows = await store.query(
          `select r.label, r.group_index, g.kind, g.repeats, g.label as group_label
           from runs as r join run_groups as g using (group_id) order by r.group_index`,
        );
        assert.deepStrictEqual(
          rows,
          [0, 1, 2].map((i) => ({
            label: "base",
            group_index: i,
            kind: "repeat",
            repeats: 3,
            group_label: "base",
          })),
        );
      } finally {
        store.close();
      }
    } finally {
      await server.close();
      await Deno.remove(db.replace(/\/results\.duckdb$/, ""), {
        recursive: true,
      });
    }
  },
});

Deno.test({
  name: "run: chunks a server writes together flag the coalesced-chunk check",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // 4 token chunks per socket write: of each request's 7 gaps, 6 fall inside a write
    const scripted = createScriptedApp({
      chunksPerWrite: 4,
      recordSends: false,
      timing: { ttftBaseMs: 2, itlMs: 2 },
    });
    const server = serveRawHttp(
      { hostname: "127.0.0.1", port: 0 },
      scripted.app.fetch,
    );
    const db = await tempDb();
    try {
      const r = await runCli([
        "run",
        "--synthetic",
        "n=6,arrival=constant:20,input=fixed:8,output=fixed:8",
        "--url",
        `http://127.0.0.1:${server.addr.port}`,
        "--db",
        db,
        "--json",
      ]);
      assert.equal(r.code, 0, r.stderr);
      const j = JSON.parse(r.stdout);
      const check = j.fidelity.checks.find((c: { check: string }) =>
        c.check === "coalesced_chunk_share"
      );
      assert.equal(check.flagged, true, JSON.stringify(check));
      assert.ok(check.value > 0.5, JSON.stringify(check));
      assert.equal(j.fidelity.ok, false);
      assert.ok(
        j.fidelity.reasons.some((x: string) =>
          x.startsWith("0 ms chunk gaps ")
        ),
        JSON.stringify(j.fidelity.reasons),
      );
      // other checks may flag too on a busy machine (schedule lag): the reason is listed anyway
      assert.ok(j.headline.includes("fidelity FLAGGED ("), j.headline);
      assert.ok(j.headline.includes("0 ms chunk gaps "), j.headline);
    } finally {
      await server.shutdown();
      await Deno.remove(db.replace(/\/results\.duckdb$/, ""), {
        recursive: true,
      });
    }
  },
});

import assert from "node:assert/strict";
import { startScriptedWorker } from "../../../adapters/scripted/mod.ts";
import {
  parseSuite,
  scenarioArgs,
} from "../../../harness/cli/suite_command.ts";
import { Store } from "../../../harness/store.ts";
import { runCli } from "../../harness/_cli.ts";

Deno.test("parseSuite() validates the file and names the field", async (t) => {
  await t.step("a YAML suite", () => {
    const s = parseSuite(
      `suite: nightly
defaults: { url: "http://127.0.0.1:1" }
scenarios:
  - name: a
    run: { synthetic: "n=2", max-requests: 2 }
    slo: ttft=100
    gates: p99_ttft:+10%
`,
      "s.yaml",
    );
    assert.deepStrictEqual(s.scenarios[0].run, {
      synthetic: "n=2",
      "max-requests": 2,
    });
  });
  const errors: [string, string, string][] = [
    [
      "s.yaml",
      "suite: x\nscenarios: []\n",
      'Suite file "s.yaml", scenarios: Too small: expected array to have >=1 items, got []',
    ],
    [
      "s.json",
      '{"suite": "x", "scenarios": [{"name": "bad name", "run": {}}]}',
      "Suite file \"s.json\", scenarios[0].name: a scenario name is letters, digits, '.', '_' or '-', got \"bad name\"",
    ],
    [
      "s.yaml",
      "suite: x\nscenarios:\n  - name: a\n    run: { db: other.duckdb }\n",
      'Suite file "s.yaml", scenarios[0].run.db: set by the suite (db, label and quiet come from the command line; slo, warmup, cooldown and repeat are scenario fields), got "other.duckdb"',
    ],
    [
      "s.yaml",
      "suite: x\nscenarios:\n  - name: a\n    gates: p95_ttft:+1%\n",
      'Suite file "s.yaml", scenarios[0] "a": Invalid --gate "p95_ttft:+1%": unknown gate "p95_ttft", expected goodput or p50_/p99_ followed by ttft, tpot, itl or e2e',
    ],
    [
      "s.yaml",
      "suite: x\nscenarios:\n  - { name: a }\n  - { name: a }\n",
      'Suite file "s.yaml", scenarios[1].name: duplicate scenario name "a"',
    ],
    [
      "s.yaml",
      "suite: x\nscenario: []\n",
      'Suite file "s.yaml", scenarios: Invalid input: expected array, received undefined, got nothing',
    ],
  ];
  for (const [file, text, message] of errors) {
    await t.step(`error: ${message.slice(0, 60)}`, () => {
      assert.throws(() => parseSuite(text, file), { message });
    });
  }
});

Deno.test("scenarioArgs() turns options into flags", () => {
  assert.deepStrictEqual(
    scenarioArgs({
      rate: 2,
      "sort-by-time": true,
      quiet: false,
      url: "http://x",
    }),
    ["--rate", "2", "--sort-by-time", "--url", "http://x"],
  );
});

Deno.test({
  name:
    "suiteRunCommand() runs scenarios, compare --suite checks each against its previous run",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const server = await startScriptedWorker({
      timing: { ttftBaseMs: 5, itlMs: 2 },
      recordSends: false,
    });
    const dir = await Deno.makeTempDir({ prefix: "tokentrace-suite-" });
    const db = `${dir}/r.duckdb`;
    const suite = `${dir}/nightly.yaml`;
    await Deno.writeTextFile(
      suite,
      `suite: nightly
defaults:
  url: ${server.url}
scenarios:
  - name: short
    run: { synthetic: "n=6,arrival=constant:30,input=fixed:8,output=fixed:3" }
    slo: ttft=500
    gates: p99_ttft:+500%,goodput:-90%
  - name: long
    run: { synthetic: "n=6,arrival=constant:30,input=fixed:8,output=fixed:6" }
    warmup: 0.05
    gates: p50_e2e:+500%
`,
    );
    try {
      for (let i = 0; i < 2; i++) {
        const r = await runCli([
          "run",
          "--suite",
          suite,
          "--db",
          db,
          "--quiet",
        ]);
        assert.equal(r.code, 0, r.stderr);
      }
      const store = await Store.open(db, { readOnly: true });
      try {
        const rows = await store.query(
          `select suite, scenario, label, warmup_ns, json_extract_string(options, '$.suiteGates')
             as gates
           from runs order by started_at`,
        );
        assert.deepStrictEqual(
          rows.map((x) => [x.suite, x.scenario, x.label]),
          [
            ["nightly", "short", "nightly/short"],
            ["nightly", "long", "nightly/long"],
            ["nightly", "short", "nightly/short"],
            ["nightly", "long", "nightly/long"],
          ],
        );
        assert.equal(rows[1].warmup_ns, 50_000_000n);
        assert.equal(rows[0].gates, "p99_ttft:+500%,goodput:-90%");
      } finally {
        store.close();
      }
      const junit = `${dir}/suite.xml`;
      const c = await runCli([
        "compare",
        "--suite",
        "nightly",
        "--db",
        db,
        "--junit",
        junit,
      ]);
      assert.equal(c.code, 0, c.stdout + c.stderr);
      assert.ok(c.stdout.includes("== scenario long =="), c.stdout);
      assert.ok(c.stdout.includes("== scenario short =="), c.stdout);
      const xml = await Deno.readTextFile(junit);
      assert.ok(xml.includes('tests="3" failures="0"'), xml);
      assert.ok(xml.includes('name="short: goodput:-90%"'), xml);

      const unknown = await runCli([
        "compare",
        "--suite",
        "weekly",
        "--db",
        db,
      ]);
      assert.equal(unknown.code, 1);
      assert.ok(
        unknown.stderr.includes(
          `No run of suite "weekly" in "${db}": expected one of "nightly"`,
        ),
        unknown.stderr,
      );
    } finally {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "run --suite with repeat: each scenario a group; compare --suite compares groups",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const server = await startScriptedWorker({
      timing: { ttftBaseMs: 5, itlMs: 10 },
      recordSends: false,
    });
    const dir = await Deno.makeTempDir({ prefix: "tokentrace-suite-" });
    const db = `${dir}/r.duckdb`;
    const suite = `${dir}/nightly.yaml`;
    await Deno.writeTextFile(
      suite,
      `suite: nightly
repeat: 2
defaults:
  url: ${server.url}
scenarios:
  - name: short
    run: { synthetic: "n=6,arrival=constant:30,input=fixed:8,output=fixed:3" }
    gates: p50_ttft:+400%
`,
    );
    try {
      for (let i = 0; i < 2; i++) {
        const r = await runCli([
          "run",
          "--suite",
          suite,
          "--db",
          db,
          "--quiet",
        ]);
        assert.equal(r.code, 0, r.stderr);
      }
      const store = await Store.open(db, { readOnly: true });
      try {
        const groups = await store.query(
          `select any_value(g.kind) as kind, any_value(g.repeats) as repeats,
             count(*)::int as runs
           from runs as r join run_groups as g using (group_id)
           group by g.group_id order by min(r.started_at)`,
        );
        assert.deepStrictEqual(groups, [
          { kind: "suite", repeats: 2, runs: 2 },
          { kind: "suite", repeats: 2, runs: 2 },
        ]);
      } finally {
        store.close();
      }
      const c = await runCli([
        "compare",
        "--suite",
        "nightly",
        "--db",
        db,
        "--format",
        "json",
      ]);
      assert.equal(c.code, 0, c.stdout + c.stderr);
      const j = JSON.parse(c.stdout.slice(c.stdout.indexOf("{")));
      assert.equal(j.method, "between_runs");
      assert.equal(j.baseline.run_ids.length, 2);
      assert.equal(j.candidate.run_ids.length, 2);
    } finally {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

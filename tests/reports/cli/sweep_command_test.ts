import assert from "node:assert/strict";
import { Store } from "../../../harness/store.ts";
import { runCli } from "../../harness/_cli.ts";
import { serveQueue } from "./_queue_server.ts";

Deno.test({
  name: "sweepCommand() finds the capacity and stops once attainment collapsed",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // one slot, ~10 + 3 * 10 = 40 ms per request: about 25 req/s of capacity
    const server = serveQueue({ ttftMs: 10, itlMs: 10 });
    const dir = await Deno.makeTempDir({ prefix: "tokentrace-sweep-" });
    const db = `${dir}/r.duckdb`;
    try {
      const r = await runCli([
        "sweep",
        "--rates",
        "4,12,80,160",
        "--slo",
        "ttft=60",
        "--label",
        "q",
        "--db",
        db,
        "--html",
        `${dir}/sweep.html`,
        "--synthetic",
        "n=12,arrival=constant:10,input=fixed:10,output=fixed:4",
        "--url",
        server.url,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdout.includes("## Sweep q"), r.stdout);
      assert.ok(r.stderr.includes("point 3/4 rate 80"), r.stderr);
      assert.ok(!r.stderr.includes("point 4/4"), "160 req/s must be skipped");

      const store = await Store.open(db, { readOnly: true });
      try {
        const [sweep] = await store.query(
          `select axis, planned_values, stop_reason, target_attainment from sweeps`,
        );
        assert.equal(sweep.axis, "rate");
        assert.equal(sweep.planned_values, "4,12,80,160");
        assert.match(
          String(sweep.stop_reason),
          /^attainment \d+\.\d% at rate=80 is below 50%: higher loads skipped$/,
        );
        const runs = await store.query(
          `select label, sweep_value from runs where sweep_id is not null order by sweep_value`,
        );
        assert.deepStrictEqual(runs.map((x) => [x.label, x.sweep_value]), [
          ["q@rate=4", 4],
          ["q@rate=12", 12],
          ["q@rate=80", 80],
        ]);
      } finally {
        store.close();
      }
      // the capacity lies between the last point that met 90 % and the first that did not
      const m =
        /Capacity at 90\.0% attainment: \*\*([\d.]+) req\/s\*\* \((\w+)\)/.exec(
          r.stdout,
        );
      assert.ok(m !== null, r.stdout);
      assert.equal(m[2], "interpolated");
      assert.ok(Number(m[1]) > 4 && Number(m[1]) < 80, m[1]);
      const html = await Deno.readTextFile(`${dir}/sweep.html`);
      assert.ok(html.includes("Attainment vs offered rate"));
    } finally {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("sweep flags are validated and errors name the flag", async (t) => {
  const cases: [string[], string][] = [
    [
      ["sweep", "--slo", "ttft=1", "--synthetic", "n=2"],
      'Option --speedups / --rates / --concurrencies: expected exactly one of --speedups x,y,.. or --rates r,s,.. (requests/s) or --concurrencies n,m,.., got ""',
    ],
    [
      ["sweep", "--rates", "1,2", "--synthetic", "n=2"],
      'Option --slo: expected the SLO attainment is judged by, e.g. ttft=500,tpot=50, got ""',
    ],
    [
      ["sweep", "--concurrencies", "1,2.5", "--slo", "ttft=1"],
      'Option --concurrencies: expected whole numbers of requests in flight, e.g. 1,2,4,8, got "1,2.5"',
    ],
    [
      ["sweep", "--rates", "1,-2", "--slo", "ttft=1"],
      'Invalid --rates "1,-2": "-2" is not a number > 0, expected e.g. 1,2,4,8',
    ],
  ];
  for (const [args, message] of cases) {
    await t.step(args.join(" "), async () => {
      const r = await runCli(args);
      assert.equal(r.code, 2, r.stderr);
      // the last line: Deno may print set-up warnings first
      assert.equal(
        r.stderr.trim().split("\n").at(-1),
        `tokentrace: error: ${message}`,
      );
    });
  }
});

import assert from "node:assert/strict";
import { Store } from "../../../harness/store.ts";
import { runCli } from "../../harness/_cli.ts";
import { serveQueue } from "./_queue_server.ts";

Deno.test({
  name: "sweepCommand() finds the capacity and stops once attainment collapsed",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // One slot, 150 + 3 * 10 = 180 ms per request, 12 requests a point, TTFT SLO 1000 ms.
    // Lateness only stretches the service, so the margins hold on a machine whose timers run
    // late: at 4 req/s (gap 250 ms) a request misses only if services take ~1 s; at 8 (gap 125)
    // request k's TTFT is 150 + 55 k ms (all meet it; 75 % still do at 230 ms a service); at
    // 160 (gap 6.25) it is at least 150 + 173.75 k ms, so requests 5-11 miss (41.7 %, below
    // 50 %) however fast the machine.
    const server = serveQueue({ ttftMs: 150, itlMs: 10 });
    const dir = await Deno.makeTempDir({ prefix: "tokentrace-sweep-" });
    const db = `${dir}/r.duckdb`;
    try {
      const r = await runCli([
        "sweep",
        "--rates",
        "4,8,160,320",
        "--slo",
        "ttft=1000",
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
      assert.ok(r.stderr.includes("point 3/4 rate 160"), r.stderr);
      assert.ok(!r.stderr.includes("point 4/4"), "320 req/s must be skipped");

      const store = await Store.open(db, { readOnly: true });
      try {
        const [sweep] = await store.query(
          `select axis, planned_values, stop_reason, target_attainment from sweeps`,
        );
        assert.equal(sweep.axis, "rate");
        assert.equal(sweep.planned_values, "4,8,160,320");
        assert.match(
          String(sweep.stop_reason),
          /^attainment \d+\.\d% at rate=160 is below 50%: higher loads skipped$/,
        );
        const runs = await store.query(
          `select label, sweep_value from runs where sweep_id is not null order by sweep_value`,
        );
        assert.deepStrictEqual(runs.map((x) => [x.label, x.sweep_value]), [
          ["q@rate=4", 4],
          ["q@rate=8", 8],
          ["q@rate=160", 160],
        ]);
      } finally {
        store.close();
      }
      // the capacity lies between the last point that met 90 % (4, or 8 on an idle machine) and
      // the first that did not (8 or 160)
      const m =
        /Capacity at 90\.0% attainment: \*\*([\d.]+) req\/s\*\* \((\w+)\)/.exec(
          r.stdout,
        );
      assert.ok(m !== null, r.stdout);
      assert.equal(m[2], "interpolated");
      assert.ok(Number(m[1]) > 4 && Number(m[1]) < 160, m[1]);
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

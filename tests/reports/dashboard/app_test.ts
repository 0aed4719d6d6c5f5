import assert from "node:assert/strict";
import { CONTENT_SECURITY_POLICY } from "../../../reports/dashboard/app.ts";
import { RUN_A, RUN_B, RUN_C } from "../_fixture.ts";
import { dashboardFixture } from "./_dashboard.ts";

Deno.test("createApp() pages", async (t) => {
  const d = await dashboardFixture([RUN_A, RUN_B, RUN_C]);
  try {
    await t.step("the runs list links every run", async () => {
      const res = await d.app.request("/");
      assert.equal(res.status, 200);
      const html = await res.text();
      for (const r of [RUN_A, RUN_B, RUN_C]) {
        assert.ok(html.includes(`/runs/${r.runId}`), r.runId);
      }
    });

    await t.step(
      "the runs list shows goodput, attainment, p99s and fidelity, sortable",
      async () => {
        const html = await (await d.app.request("/?sort=ttft_p99&dir=desc"))
          .text();
        const order = [...html.matchAll(/<tr data-run="([^"]+)">/g)].map((m) =>
          m[1]
        );
        // p99 TTFT: B 496 ms, A 49.6 ms, C none (empty values sort last)
        assert.deepStrictEqual(order, [RUN_B.runId, RUN_A.runId, RUN_C.runId]);
        assert.ok(
          html.includes(
            '<a href="/?sort=ttft_p99&amp;dir=asc" class="sorted">',
          ),
        );
        for (
          const col of [
            "goodput",
            "attainment",
            "p99 TTFT",
            "p99 TPOT",
            "fidelity",
          ]
        ) {
          assert.ok(html.includes(`>${col}`), col);
        }
        assert.ok(
          html.includes('<span class="flag" title="run_status, failed_share'),
          html,
        );
        const asc = await (await d.app.request("/?sort=ttft_p99&dir=asc"))
          .text();
        const ascOrder = [...asc.matchAll(/<tr data-run="([^"]+)">/g)].map((
          m,
        ) => m[1]);
        assert.deepStrictEqual(ascOrder, [
          RUN_A.runId,
          RUN_B.runId,
          RUN_C.runId,
        ]);
      },
    );

    await t.step(
      "the compare page picks runs from lists and takes a gate",
      async () => {
        const form = await (await d.app.request("/compare")).text();
        assert.ok(form.includes('<select name="baseline">'));
        assert.ok(
          form.includes(`<option value="${RUN_A.runId}">baseline (run,`),
          form,
        );
        const res = await d.app.request(
          `/compare?baseline=${RUN_A.runId}&candidate=${RUN_B.runId}&slo=ttft%3D100` +
            "&gate=p99_ttft%3A%2B10%25",
        );
        assert.equal(res.status, 200);
        const html = await res.text();
        assert.ok(
          html.includes(
            '<p class="headline" id="verdict">verdict: FAIL (1 of 1 gates), UNTRUSTED',
          ),
          html,
        );
        assert.ok(
          html.includes("<td>p99_ttft:+10%</td><td>FAIL (untrusted)</td>"),
          html,
        );
        assert.ok(html.includes(`<option value="${RUN_A.runId}" selected>`));
      },
    );

    await t.step(
      "run detail renders the report with charts, by label",
      async () => {
        const res = await d.app.request("/runs/baseline?slo=ttft%3D30");
        assert.equal(res.status, 200);
        const html = await res.text();
        assert.ok(html.includes("<svg"));
        assert.ok(html.includes("attainment 40.0%"));
      },
    );

    await t.step(
      "a run with no completed requests renders and explains",
      async () => {
        const html = await (await d.app.request(`/runs/${RUN_C.runId}`)).text();
        assert.ok(html.includes("no completed requests (status ok"));
      },
    );

    await t.step("an unknown run lists close matches (404)", async () => {
      const res = await d.app.request("/runs/baselin");
      assert.equal(res.status, 404);
      assert.ok(
        (await res.text()).includes(
          "close matches: label &quot;baseline&quot;",
        ),
      );
    });

    await t.step("compare view shows deltas with intervals", async () => {
      const res = await d.app.request(
        "/compare?baseline=baseline&candidate=candidate",
      );
      assert.equal(res.status, 200);
      const html = await res.text();
      assert.ok(html.includes('<table id="comparison">'));
      assert.ok(html.includes("p99 ttft_ms"));
    });

    await t.step("the console page and its data", async () => {
      const page = await (await d.app.request("/sql?run=baseline")).text();
      assert.ok(page.includes(`data-run="${RUN_A.runId}"`));
      const schema = await (await d.app.request("/data/schema.json")).json();
      assert.deepStrictEqual(Object.keys(schema.tables), [
        "runs",
        "requests",
        "token_events",
        "sweeps",
        "run_shards",
      ]);
      assert.ok(
        schema.views.some((v: { name: string }) =>
          v.name === "run_latency_summary"
        ),
      );
      const csv =
        await (await d.app.request(`/data/${RUN_A.runId}/requests.csv`)).text();
      assert.equal(csv.trim().split("\n").length, 7); // header + 6 requests
    });
  } finally {
    await d.dispose();
  }
});

Deno.test("createApp() security rules", async (t) => {
  const d = await dashboardFixture([RUN_A]);
  try {
    await t.step(
      "read-only methods: POST, PUT, DELETE are refused with 405",
      async () => {
        for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
          const res = await d.app.request("/data/schema.json", {
            method,
            body: "drop table runs",
          });
          assert.equal(res.status, 405, method);
          assert.equal(res.headers.get("allow"), "GET, HEAD");
        }
      },
    );

    await t.step(
      "read-only database: no request changes the file",
      async () => {
        const before = await Deno.readFile(d.path);
        for (
          const url of [
            "/",
            "/runs/baseline",
            "/compare?baseline=baseline&candidate=baseline",
            "/sql?run=baseline",
            "/data/schema.json",
            `/data/baseline/token_events.csv`,
            "/data/baseline/runs.csv?sql=drop%20table%20runs",
            "/runs/x';drop table runs;--",
          ]
        ) {
          await (await d.app.request(url)).arrayBuffer();
        }
        assert.deepStrictEqual(await Deno.readFile(d.path), before);
        assert.equal(
          (await d.store.query("select count(*)::int as n from runs"))[0].n,
          1,
        );
      },
    );

    await t.step(
      "no file outside the assets: paths and unknown names are 404",
      async () => {
        for (
          const url of [
            "/assets/..%2F..%2F..%2Fetc%2Fpasswd",
            "/assets/../deno.json",
            "/assets/duckdb-node.cjs",
            "/data/baseline/..%2Fruns.csv",
            "/data/baseline/information_schema.csv",
            "/etc/passwd",
          ]
        ) {
          const res = await d.app.request(url);
          assert.equal(res.status, 404, url);
          const body = await res.text();
          assert.ok(!body.includes("root:"), url);
        }
        const ok = await d.app.request("/assets/duckdb-eh.wasm");
        assert.equal(ok.headers.get("content-type"), "application/wasm");
        await ok.body?.cancel();
      },
    );

    await t.step(
      "known hosts only: a foreign Host header is refused",
      async () => {
        const res = await d.app.request("http://evil.example/", {
          headers: { host: "evil.example" },
        });
        assert.equal(res.status, 421);
        const local = await d.app.request("http://127.0.0.1:8080/");
        assert.equal(local.status, 200);
        await local.body?.cancel();
      },
    );

    await t.step(
      "a strict Content-Security-Policy on every response",
      async () => {
        for (const url of ["/", "/sql", "/nope", "/assets/console.js"]) {
          const res = await d.app.request(url);
          assert.equal(
            res.headers.get("content-security-policy"),
            CONTENT_SECURITY_POLICY,
          );
          assert.equal(res.headers.get("x-content-type-options"), "nosniff");
          await res.body?.cancel();
        }
        assert.ok(
          CONTENT_SECURITY_POLICY.includes(
            "script-src 'self' 'wasm-unsafe-eval'",
          ),
        );
        assert.ok(CONTENT_SECURITY_POLICY.includes("frame-ancestors 'none'"));
      },
    );

    await t.step(
      "no CDN: pages reference only the dashboard's own assets",
      async () => {
        const page = await (await d.app.request("/sql")).text();
        assert.ok(!/(src|href)=["']?https?:/i.test(page));
        const js = await (await d.app.request("/assets/duckdb-browser.mjs"))
          .text();
        assert.ok(!js.includes('from"apache-arrow"'));
        assert.ok(js.includes("./arrow-shim.mjs"));
      },
    );
  } finally {
    await d.dispose();
  }
});

/**
 * The dashboard end to end in Debian's chromium (driven by playwright-core): the page loads, a
 * chart renders, a SQL query runs in DuckDB-Wasm and returns rows, and screenshots are saved
 * (to $TOKENTRACE_SCREENSHOT_DIR when set, else a temporary folder).
 *
 * @module
 */
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { startDashboard } from "../../../harness/cli/dashboard_command.ts";
import { installViews } from "../../../reports/sql/views.ts";
import { createFixtureStore, RUN_A, RUN_B } from "../_fixture.ts";
import { CHROMIUM_PATH, skip } from "../../_system.ts";

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

Deno.test({
  name: "dashboardCommand() serves a working dashboard to chromium",
  // In CI (.ci/run installs chromium) a missing browser is a failure, not a skip.
  ignore: skip.chromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const fx = await createFixtureStore([RUN_A, RUN_B], { views: false });
    await installViews(fx.store);
    fx.store.close();
    const server = await startDashboard({
      db: fx.path,
      host: "127.0.0.1",
      port: "0",
    });
    const shots = Deno.env.get("TOKENTRACE_SCREENSHOT_DIR") ??
      await Deno.makeTempDir({ prefix: "tokentrace-shots-" });
    const profile = await Deno.makeTempDir({ prefix: "tokentrace-chromium-" });
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: FLAGS,
      viewport: { width: 1200, height: 900 },
    });
    const offsite: string[] = [];
    context.on("request", (r) => {
      if (!r.url().startsWith(server.url)) offsite.push(r.url());
    });
    try {
      const page = await context.newPage();
      await t.step("the runs page loads and lists the runs", async () => {
        await page.goto(`${server.url}/`);
        assert.equal(await page.locator("#runs tr").count(), 3); // header + 2 runs
        await page.screenshot({ path: `${shots}/dashboard-runs.png` });
      });

      await t.step("a run's detail renders its charts", async () => {
        await page.goto(`${server.url}/runs/baseline?slo=ttft%3D30`);
        await page.waitForSelector(".chart svg");
        assert.ok(await page.locator(".chart svg").count() >= 4);
        const box = await page.locator(".chart svg").first().boundingBox();
        assert.ok(box !== null && box.width > 200 && box.height > 100);
        await page.screenshot({
          path: `${shots}/dashboard-run.png`,
          fullPage: true,
        });
      });

      await t.step("the SQL console runs a query in DuckDB-Wasm", async () => {
        await page.goto(`${server.url}/sql?run=baseline`);
        await page.waitForSelector("#console[data-ready=true]", {
          timeout: 90_000,
        });
        // every table a view reads is loaded: the fidelity checks are there too
        const ready = await page.locator("#status").textContent();
        assert.ok(!ready!.includes("view run_fidelity unavailable"), ready!);
        await page.fill(
          "#sql",
          "select metric, n, p50_ms from run_latency_summary order by metric_order",
        );
        await page.click("#run");
        await page.waitForSelector("#console[data-rows]", { timeout: 30_000 });
        assert.equal(await page.getAttribute("#console", "data-rows"), "8");
        const cells = await page.locator("#result-table tr:nth-child(2) td")
          .allTextContents();
        // ttft_ms of run A: 3 samples, p50 30 (the same number as the server's view)
        assert.deepStrictEqual(cells, ["ttft_ms", "3", "30"]);
        // The fidelity view, its delivery checks included, runs on the console's tables too.
        await page.fill(
          "#sql",
          "select check_name from run_fidelity where check_order >= 10 order by check_order",
        );
        await page.click("#run");
        await page.waitForSelector('#console[data-rows="4"]', {
          timeout: 30_000,
        });
        assert.deepStrictEqual(
          await page.locator("#result-table td").allTextContents(),
          [
            "coalesced_chunk_share",
            "steps_in_flight",
            "itl_burst_share",
            "skipped_trace_rows",
          ],
        );
        await page.screenshot({
          path: `${shots}/dashboard-sql.png`,
          fullPage: true,
        });
      });

      await t.step(
        "the console downloads every result row as CSV",
        async () => {
          await page.fill(
            "#sql",
            "select metric, n, p50_ms from run_latency_summary order by metric_order",
          );
          await page.click("#run");
          await page.waitForSelector('#console[data-rows="8"]', {
            timeout: 30_000,
          });
          const [download] = await Promise.all([
            page.waitForEvent("download"),
            page.click("#download"),
          ]);
          const text = await Deno.readTextFile((await download.path())!);
          const lines = text.trimEnd().split("\r\n");
          assert.equal(lines[0], "metric,n,p50_ms");
          assert.equal(lines[1], "ttft_ms,3,30");
          assert.equal(lines.length, 9); // header + 8 metrics
        },
      );

      await t.step("an error keeps its line breaks", async () => {
        await page.fill("#sql", "select nope\nfrom run_latency_summary");
        await page.click("#run");
        await page.waitForSelector("#status.flag");
        const status = await page.locator("#status").textContent();
        assert.ok(status!.startsWith("Error: "), status!);
        assert.ok(status!.includes("\n"), status!);
        const whiteSpace = await page.locator("#status").evaluate((el) =>
          // runs in the page: the browser's getComputedStyle
          (globalThis as unknown as {
            getComputedStyle(e: unknown): { whiteSpace: string };
          }).getComputedStyle(el).whiteSpace
        );
        assert.equal(whiteSpace, "pre-wrap");
        assert.ok(await page.locator("#download").isDisabled());
      });

      await t.step(
        "nothing was fetched from anywhere but the dashboard",
        () => {
          assert.deepStrictEqual(offsite, []);
        },
      );
      console.log(`screenshots in ${shots}`);
    } finally {
      await context.close();
      await server.close();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      await Deno.remove(fx.dir, { recursive: true });
    }
  },
});

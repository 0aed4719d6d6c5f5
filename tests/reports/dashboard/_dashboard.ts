/**
 * Test helpers: a fixture database opened read-only behind a dashboard app.
 *
 * @module
 */
import { Store } from "../../../harness/store.ts";
import { createApp } from "../../../reports/dashboard/app.ts";
import { loadAssets, locateAssets } from "../../../reports/dashboard/assets.ts";
import { installViews } from "../../../reports/sql/views.ts";
import { createFixtureStore, type FixtureRun } from "../_fixture.ts";

/** A dashboard app over `runs`; `dispose()` closes and deletes everything. */
export async function dashboardFixture(runs: FixtureRun[]) {
  const fx = await createFixtureStore(runs, { views: false });
  await installViews(fx.store);
  fx.store.close();
  const store = await Store.open(fx.path, { readOnly: true });
  const exportDir = await Deno.makeTempDir({ prefix: "tokentrace-export-" });
  const assets = await loadAssets(locateAssets());
  const app = createApp({ store, assets, exportDir });
  return {
    app,
    store,
    path: fx.path,
    exportDir,
    async dispose() {
      store.close();
      await Deno.remove(fx.dir, { recursive: true });
      await Deno.remove(exportDir, { recursive: true });
    },
  };
}

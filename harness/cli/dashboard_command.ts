/**
 * `tokentrace dashboard --db results.duckdb`: serves the dashboard (runs, run detail with charts,
 * compare, SQL console on DuckDB-Wasm) on 127.0.0.1 until Ctrl-C. The only place that listens.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { createApp } from "../../reports/dashboard/app.ts";
import { loadAssets, locateAssets } from "../../reports/dashboard/assets.ts";
import { serveHttp } from "../http_server.ts";
import { openResults } from "../parquet_store.ts";
import { integerAtLeast } from "./flags.ts";
import {
  parseServerFlags,
  SERVER_FLAG_HELP,
  type ServerFlags,
} from "./server_flags.ts";

/** Raw `dashboard` flags. */
export interface DashboardFlags extends ServerFlags {
  db: string;
  host: string;
  port: string;
}

/** A running dashboard. */
export interface DashboardServer {
  url: string;
  /** Stops serving and releases the database. */
  close(): Promise<void>;
}

/**
 * Starts the dashboard on `host:port` (port 0 picks a free one) and prints its URL on stdout.
 *
 * @example
 * ```ts ignore
 * const server = await startDashboard({ db: "results.duckdb", host: "127.0.0.1", port: "0" });
 * await server.close();
 * ```
 */
export async function startDashboard(
  f: DashboardFlags,
): Promise<DashboardServer> {
  const port = integerAtLeast("--port", f.port, 0);
  const limits = parseServerFlags(f);
  // Opened once to fail early on a bad path (a file, or a results store folder); each request
  // then opens it for itself and closes it when answered, so the dashboard never holds a lock a
  // run would wait on.
  (await openResults(f.db)).close();
  const exportDir = await Deno.makeTempDir({ prefix: "tokentrace-dashboard-" });
  let server: ReturnType<typeof serveHttp>;
  try {
    const assets = await loadAssets(locateAssets());
    const app = createApp({
      openStore: () => openResults(f.db),
      assets,
      exportDir,
      allowedHosts: ["localhost", "127.0.0.1", "[::1]", f.host.toLowerCase()],
    });
    server = serveHttp({ hostname: f.host, port, ...limits }, app.fetch);
  } catch (e) {
    await Deno.remove(exportDir, { recursive: true }).catch(() => {});
    throw e;
  }
  const shown = f.host.includes(":") ? `[${f.host}]` : f.host;
  const url = `http://${shown}:${server.addr.port}`;
  return {
    url,
    close: async () => {
      await server.shutdown();
      await Deno.remove(exportDir, { recursive: true }).catch(() => {});
    },
  };
}

/** Serves until SIGINT or SIGTERM. */
export async function dashboardCommand(f: DashboardFlags): Promise<void> {
  const server = await startDashboard(f);
  console.log(server.url);
  console.error(
    `Dashboard of ${f.db} on ${server.url} (read-only, opened per request: runs may record into it meanwhile; Ctrl-C to stop)`,
  );
  if (f.host !== "127.0.0.1" && f.host !== "localhost" && f.host !== "::1") {
    console.error(
      `Warning: --host ${f.host} exposes the run data to the network (no authentication)`,
    );
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
  });
  await server.close();
}

/** Registers `tokentrace dashboard` on `program`. */
export function addDashboardCommand(
  program: Command,
  exit: (code: number) => void,
): void {
  program.command("dashboard")
    .description(
      "browse runs in a browser: charts, compare, SQL console (DuckDB-Wasm, no CDN); read-only",
    )
    .option(
      "--db <path>",
      "result database, or a results store folder (tokentrace export)",
      "results.duckdb",
    )
    .option("--host <addr>", "address to bind", "127.0.0.1")
    .option("--port <n>", "port (0 picks a free one)", "8080")
    .option("--max-connections <n>", SERVER_FLAG_HELP.maxConnections)
    .option("--header-timeout <s>", SERVER_FLAG_HELP.headerTimeout)
    .option("--keep-alive-timeout <s>", SERVER_FLAG_HELP.keepAliveTimeout)
    .action(async (opts) => {
      await dashboardCommand(opts);
      exit(0);
    });
}

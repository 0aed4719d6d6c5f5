import assert from "node:assert/strict";
import { Store } from "../../harness/store.ts";
import { startServe } from "../_serve_process.ts";
import { webgpuTest } from "../_system.ts";
import { cliCommand } from "./_cli.ts";

/**
 * Opens `n` connections to `url` that never send a byte, waits until the server has closed all
 * but `limit` of them (it makes room for each new one), and returns the ones still open.
 */
async function idleFlood(
  url: string,
  n: number,
  limit: number,
): Promise<Deno.TcpConn[]> {
  const { hostname, port } = new URL(url);
  const conns: Deno.TcpConn[] = [];
  for (let i = 0; i < n; i++) {
    conns.push(await Deno.connect({ hostname, port: Number(port) }));
  }
  // The oldest n - limit are closed by the server: their reads end.
  await Promise.all(
    conns.slice(0, n - limit).map(async (c) => {
      await c.read(new Uint8Array(16)).catch(() => null);
      c.close();
    }),
  );
  return conns.slice(n - limit);
}

Deno.test("tokentrace dashboard: more idle connections than --max-connections, still answering", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tokentrace-dash-flood-" });
  (await Store.open(`${dir}/r.duckdb`)).close();
  const child = cliCommand([
    "dashboard",
    "--db",
    `${dir}/r.duckdb`,
    "--port",
    "0",
    "--max-connections",
    "8",
  ]).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    const url = (await lines.read()).value!.trim();
    const open = await idleFlood(url, 40, 8);
    const res = await fetch(`${url}/`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /<html/i);
    for (const c of open) c.close();
  } finally {
    child.kill("SIGTERM");
    await lines.cancel();
    await child.stderr.cancel();
    await child.status;
  }
});

webgpuTest(
  "tokentrace serve: more idle connections than --max-connections, still answering",
  async () => {
    const serve = await startServe(["--max-connections", "8"]);
    try {
      const open = await idleFlood(serve.url, 40, 8);
      const res = await fetch(`${serve.url}/v1/models`);
      assert.equal(res.status, 200);
      assert.equal((await res.json()).object, "list");
      for (const c of open) c.close();
    } finally {
      await serve.stop();
    }
  },
);

/**
 * Worker entry of {@linkcode startScriptedWorker}: runs the scripted server and answers
 * `sendLog`, `stats` and `close` requests from the owning thread.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { createScriptedApp, type ScriptedServer } from "./server.ts";

let scripted: ScriptedServer | undefined;
let server: Deno.HttpServer<Deno.NetAddr> | undefined;

self.onmessage = async (
  e: MessageEvent<{ id: number; op: string; opts?: object }>,
) => {
  const { id, op } = e.data;
  if (op === "start") {
    scripted = createScriptedApp(e.data.opts);
    server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      scripted.app.fetch,
    );
    self.postMessage({ listening: server.addr.port });
  } else if (op === "sendLog") {
    // performance.now() of this thread -> epoch ms, comparable across threads.
    const origin = performance.timeOrigin;
    const entries = [...scripted!.sendLog].map((
      [k, v],
    ) => [k, v.map((t) => origin + t)]);
    self.postMessage({ id, result: entries });
  } else if (op === "stats") {
    self.postMessage({ id, result: { ...scripted!.stats } });
  } else if (op === "close") {
    await server?.shutdown();
    self.postMessage({ id, result: null });
  }
};

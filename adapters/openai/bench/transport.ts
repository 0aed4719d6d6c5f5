/**
 * Client CPU per request of the two OpenAI-adapter transports (`fetch`, `h1`) against the same
 * scripted server (its own process on 127.0.0.1), at a fixed open-loop rate.
 *
 * Run: `npx -y deno@2.9.6 run -A adapters/openai/bench/transport.ts [requests] [rate] [tokens]`
 * (default 5000 requests at 1000 req/s, 2 tokens each). CPU time is this process's user +
 * system time from /proc/self/stat (Linux), so it includes everything the client thread and
 * its runtime threads did for the requests.
 *
 * @module
 */
import { OpenAIBackend } from "../backend.ts";
import { startScriptedProcess } from "../../scripted/process.ts";
import { synthesizePrompts } from "../../../workloads/mod.ts";

const [n, rate, tokens] = [
  Number(Deno.args[0] ?? 5000),
  Number(Deno.args[1] ?? 1000),
  Number(Deno.args[2] ?? 2),
];

/** User + system CPU of this process, ms. */
function cpuMs(): number {
  const f = Deno.readTextFileSync("/proc/self/stat").split(") ")[1].split(" ");
  const ticks = Number(f[11]) + Number(f[12]);
  return ticks * 10; // USER_HZ = 100 on Linux
}

const server = await startScriptedProcess([
  "--ttft-ms",
  "5",
  "--ttft-per-token-ms",
  "0",
  "--itl-ms",
  "5",
]);
const requests = synthesizePrompts(
  Array.from({ length: n }, (_, i) => ({
    id: String(i),
    arrivalMs: 0,
    inputTokens: 16,
    outputTokens: tokens,
  })),
  { kind: "token_ids" },
);
try {
  for (const transport of ["fetch", "h1", "fetch", "h1"] as const) {
    const backend = new OpenAIBackend({
      baseUrl: server.url,
      model: "scripted",
      endpointKind: "vllm",
      transport,
    });
    const c0 = cpuMs();
    const t0 = performance.now();
    const all: Promise<void>[] = [];
    let ok = 0;
    for (let i = 0; i < n; i++) {
      const wait = t0 + (i * 1000) / rate - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      all.push((async () => {
        for await (
          const ev of backend.generate(
            {
              id: requests[i].id,
              prompt: requests[i].prompt,
              maxTokens: requests[i].outputTokens,
              minTokens: requests[i].outputTokens,
            },
            new AbortController().signal,
          )
        ) if (ev.kind === "done") ok++;
      })());
    }
    await Promise.all(all);
    const wall = performance.now() - t0;
    const cpu = cpuMs() - c0;
    await backend.close();
    console.log(
      `${
        transport.padEnd(5)
      } ${n} requests (${ok} ok) at ${rate} req/s, ${tokens} tokens: ` +
        `client CPU ${cpu} ms = ${(cpu / n * 1000).toFixed(0)} us/request ` +
        `(${(cpu / wall * 100).toFixed(0)}% of a core)`,
    );
  }
} finally {
  await server.close();
}

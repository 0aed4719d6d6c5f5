/**
 * Harness fidelity benchmark (issue 7): the four figures, each against its target.
 *
 * 1. schedule lag p99 at 1,000 requests/s open loop for 30 s (2-token requests);
 * 2. |client token time - server send time| p99 with 256 concurrent streams at 100 tokens/s;
 * 3. recorder throughput in token events/s into DuckDB;
 * 4. resident-memory growth over a 10-million-event run.
 *
 * Usage: `deno run -A harness/bench/fidelity.ts [--seconds 30] [--events 10000000]
 * [--workers auto|n] [--repeat 1]` (`deno task perf:harness`). 1 and 2 run `tokentrace
 * calibrate` against the scripted server in its own process on 127.0.0.1 (`--repeat` times
 * each, every run printed: on a 2-core machine the tails vary from run to run); 3 and 4 run
 * harness/bench/recorder.ts.
 *
 * @module
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "30" },
    events: { type: "string", default: "10000000" },
    workers: { type: "string", default: "auto" },
    repeat: { type: "string", default: "1" },
  },
});
const MOD = new URL("../../mod.ts", import.meta.url).pathname;
const RECORDER = new URL("./recorder.ts", import.meta.url).pathname;
const dir = await Deno.makeTempDir({ prefix: "tokentrace-fidelity-" });

async function json(args: string[]): Promise<Record<string, number>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`${args.join(" ")} failed (${out.code})`);
  const text = new TextDecoder().decode(out.stdout).trim();
  return JSON.parse(text.slice(text.indexOf("{")));
}

const verdict = (ok: boolean) => (ok ? "met" : "MISSED");
const lines: string[] = [];

const repeat = Math.max(1, Number(values.repeat));
const calibrate = (db: string, args: string[]) =>
  json([
    "run",
    "-A",
    MOD,
    "calibrate",
    ...args,
    "--duration",
    values.seconds,
    "--workers",
    values.workers,
    "--db",
    `${dir}/${db}.duckdb`,
    "--json",
    "--quiet",
  ]);
const ms = (v: number) => v.toFixed(3);

for (let k = 0; k < repeat; k++) {
  const p = await calibrate("pacing", [
    "--rate",
    "1000",
    "--tokens",
    "2",
    "--itl-ms",
    "5",
    "--ttft-ms",
    "5",
  ]);
  lines.push(
    `1. schedule lag at 1,000 req/s open loop, ${values.seconds} s, ${p.workers} sender thread(s): ` +
      `p50 ${ms(p.schedule_lag_p50_ms)} ms, p99 ${
        ms(p.schedule_lag_p99_ms)
      } ms, ` +
      `max ${ms(p.schedule_lag_max_ms)} ms ` +
      `(target p99 <= 1 ms: ${verdict(p.schedule_lag_p99_ms <= 1)})`,
  );
}
for (let k = 0; k < repeat; k++) {
  const st = await calibrate("streams", [
    "--rate",
    "128",
    "--tokens",
    "200",
    "--itl-ms",
    "10",
    "--ttft-ms",
    "10",
  ]);
  lines.push(
    `2. token time error, ${st.streams} streams at 100 tok/s, ${st.workers} sender thread(s): ` +
      `p50 ${ms(st.token_err_p50_ms)} ms, p99 ${ms(st.token_err_p99_ms)} ms, ` +
      `max ${ms(st.token_err_max_ms)} ms ` +
      `(target p99 <= 1 ms: ${verdict(st.token_err_p99_ms <= 1)}); ` +
      `gap error p99 ${ms(st.gap_err_p99_ms)} ms, TTFT error p99 ${
        ms(st.ttft_err_p99_ms)
      } ms`,
  );
}

const rec = await json([
  "run",
  "-A",
  RECORDER,
  "--events",
  values.events,
  "--json",
]);
lines.push(
  `3. recorder: ${
    Math.round(rec.events_per_s).toLocaleString("en-US")
  } token events/s ` +
    `(target >= 1,000,000: ${verdict(rec.events_per_s >= 1e6)})`,
);
lines.push(
  `4. RSS growth over ${
    Number(values.events).toLocaleString("en-US")
  } events: ${rec.rss_growth_mb.toFixed(0)} MB ` +
    `(target < 200 MB: ${verdict(rec.rss_growth_mb < 200)})`,
);
await Deno.remove(dir, { recursive: true });
console.log(lines.join("\n"));

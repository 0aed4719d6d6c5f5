/**
 * Regression-gate benchmark (issue 12): how often the default gate of `tokentrace compare`
 * fails comparisons of identical configurations (A/A false alarms), and how often it catches an
 * injected +20 % TTFT (power), with groups of N repeated runs per side.
 *
 * Per pair k (k = 0 .. pairs-1), in this order, each a `tokentrace run --repeat N` into one
 * database against `tokentrace scripted-server` processes on 127.0.0.1:
 *   A_k  the normal server;  B_k  the normal server again;  S_k  the server with --ttft-scale 1.2
 * then `compare --baseline A_k --candidate B_k` (A/A: exit 1 is a false alarm) and
 * `compare --baseline B_k --candidate S_k` (power: exit 1 is a detection), both with the default
 * gates and no other flag. Odd pairs run with every core kept busy by busy-loop child processes
 * (one per core, started before A_k and stopped after S_k), so half the pairs are measured on a
 * loaded machine, as CI machines often are.
 *
 * Usage: `deno run -A harness/bench/gate_noise.ts [--pairs 20] [--repeat 3] [--requests 60]
 * [--rate 20] [--out dir]`; prints one line per pair and both rates at the end, and writes every
 * comparison's JSON to the output folder (a temporary one by default).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { startScriptedProcess } from "../../adapters/scripted/process.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    pairs: { type: "string", default: "20" },
    repeat: { type: "string", default: "3" },
    requests: { type: "string", default: "60" },
    rate: { type: "string", default: "20" },
    out: { type: "string" },
  },
});
const pairs = Number(values.pairs);
const repeat = Number(values.repeat);
const MOD = new URL("../../mod.ts", import.meta.url).pathname;
const dir = values.out ??
  await Deno.makeTempDir({ prefix: "tokentrace-gates-" });
await Deno.mkdir(dir, { recursive: true });
const db = `${dir}/gates.duckdb`;
const synthetic =
  `n=${values.requests},arrival=poisson:${values.rate},input=fixed:100,output=fixed:16`;
const cores = navigator.hardwareConcurrency;

async function cli(args: string[]): Promise<{ code: number; stdout: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MOD, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  if (out.code !== 0 && out.code !== 1) {
    throw new Error(
      `Command "tokentrace ${args.join(" ")}" exited ${out.code}: ${stderr}`,
    );
  }
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout) };
}

async function group(label: string, url: string): Promise<void> {
  const r = await cli([
    "run",
    "--synthetic",
    synthetic,
    "--url",
    url,
    "--db",
    db,
    "--label",
    label,
    "--repeat",
    String(repeat),
    "--slo",
    "ttft=200,tpot=50",
    "--quiet",
  ]);
  if (r.code !== 0) throw new Error(`Group ${label} failed`);
}

interface Compared {
  failed: boolean;
  trusted: boolean;
  failedGates: string[];
  p50Ttft: string;
}

async function compare(
  baseline: string,
  candidate: string,
  name: string,
): Promise<Compared> {
  const r = await cli([
    "compare",
    "--db",
    db,
    "--baseline",
    baseline,
    "--candidate",
    candidate,
    "--format",
    "json",
  ]);
  await Deno.writeTextFile(`${dir}/${name}.json`, r.stdout);
  const j = JSON.parse(r.stdout);
  const row = j.rows.find((x: { metric: string; statistic: string }) =>
    x.metric === "ttft_ms" && x.statistic === "p50"
  );
  const pct = (v: number) => `${v >= 0 ? "+" : ""}${v.toFixed(1)}%`;
  return {
    failed: r.code === 1,
    trusted: j.trusted,
    failedGates: j.gates.filter((g: { verdict: string }) =>
      g.verdict === "fail"
    )
      .map((g: { gate: string }) => g.gate),
    p50Ttft: `${pct(row.delta_pct)} [${pct(row.ci_low_pct)}, ${
      pct(row.ci_high_pct)
    }]`,
  };
}

function busyLoops(): Deno.ChildProcess[] {
  return Array.from({ length: cores }, () =>
    new Deno.Command("sh", {
      args: ["-c", "while :; do :; done"],
      stdout: "null",
      stderr: "null",
    }).spawn());
}

const normal = await startScriptedProcess([
  "--ttft-ms",
  "20",
  "--itl-ms",
  "10",
]);
const slowed = await startScriptedProcess([
  "--ttft-ms",
  "20",
  "--itl-ms",
  "10",
  "--ttft-scale",
  "1.2",
]);
const started = performance.now();
console.log(
  `${pairs} pairs of groups of ${repeat} runs (${synthetic}), odd pairs with ${cores} busy ` +
    `loops; database ${db}`,
);
const results: { busy: boolean; aa: Compared; power: Compared }[] = [];
try {
  for (let k = 0; k < pairs; k++) {
    const busy = k % 2 === 1;
    const loops = busy ? busyLoops() : [];
    const t0 = performance.now();
    try {
      await group(`aa-${k}-a`, normal.url);
      await group(`aa-${k}-b`, normal.url);
      await group(`slow-${k}`, slowed.url);
    } finally {
      for (const p of loops) {
        p.kill("SIGKILL");
        await p.status;
      }
    }
    const aa = await compare(`aa-${k}-a`, `aa-${k}-b`, `aa-${k}`);
    const power = await compare(`aa-${k}-b`, `slow-${k}`, `power-${k}`);
    results.push({ busy, aa, power });
    console.log(
      `pair ${String(k).padStart(2)} ${busy ? "busy" : "idle"} ${
        ((performance.now() - t0) / 1000).toFixed(0)
      } s | A/A ${aa.failed ? "FAIL" : "pass"}${
        aa.trusted ? "" : " (untrusted)"
      } p50 TTFT ${aa.p50Ttft}${
        aa.failed ? ` ${aa.failedGates.join(",")}` : ""
      } | +20% TTFT ${power.failed ? "caught" : "MISSED"}${
        power.trusted ? "" : " (untrusted)"
      } p50 TTFT ${power.p50Ttft}`,
    );
  }
} finally {
  await normal.close();
  await slowed.close();
}
const rate = (xs: boolean[]) =>
  `${xs.filter((x) => x).length}/${xs.length} = ${
    (100 * xs.filter((x) => x).length / xs.length).toFixed(1)
  }%`;
const of = (busy: boolean | null, pick: (r: typeof results[0]) => boolean) =>
  rate(results.filter((r) => busy === null || r.busy === busy).map(pick));
console.log(
  `A/A false alarms (default gate failed): ${of(null, (r) => r.aa.failed)} ` +
    `(idle ${of(false, (r) => r.aa.failed)}, busy ${
      of(true, (r) => r.aa.failed)
    })`,
);
console.log(
  `power (+20% TTFT caught): ${of(null, (r) => r.power.failed)} ` +
    `(idle ${of(false, (r) => r.power.failed)}, busy ${
      of(true, (r) => r.power.failed)
    })`,
);
console.log(
  `untrusted comparisons: A/A ${of(null, (r) => !r.aa.trusted)}, power ${
    of(null, (r) => !r.power.trusted)
  }`,
);
console.log(
  `took ${
    ((performance.now() - started) / 60000).toFixed(1)
  } min; JSON in ${dir}`,
);

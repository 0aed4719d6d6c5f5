/**
 * `deno task perf:bench [--repeat N] [--busy K] [bench flags...]`: runs the default bench N
 * times (default 3), each as its own process with a fresh database, and prints every capacity,
 * its spread and each run's fidelity verdict and duration: the check that the bench's answer
 * is reproducible on this machine (docs/perf.md).
 *
 * `--busy K` starts K busy-loop processes for the whole measurement (a machine that other
 * work keeps busy); the bench must still complete and say its fidelity was flagged.
 *
 * @module
 */
const args = [...Deno.args];
const take = (flag: string, fallback: number): number => {
  const i = args.indexOf(flag);
  if (i < 0) return fallback;
  const v = Number(args[i + 1]);
  args.splice(i, 2);
  if (!Number.isInteger(v) || v < 0) {
    throw new Error(`${flag}: expected an integer >= 0, got ${args[i + 1]}`);
  }
  return v;
};
const repeat = take("--repeat", 3);
const busy = take("--busy", 0);

const mod = new URL("../../mod.ts", import.meta.url).pathname;
const burners = Array.from(
  { length: busy },
  () =>
    new Deno.Command(Deno.execPath(), {
      args: ["eval", "for (;;) {}"],
      stdout: "null",
      stderr: "null",
    }).spawn(),
);

interface Result {
  capacity: number | null;
  bound: string;
  halfWidth: number | null;
  fidelityOk: boolean;
  flags: string[];
  seconds: number;
  points: number;
  /** Schedule lag p99 of each point's run, ms (the pacing of the open-loop sends). */
  lagP99Ms: number[];
}

const results: Result[] = [];
try {
  for (let i = 0; i < repeat; i++) {
    const dir = await Deno.makeTempDir({ prefix: "tokentrace-bench-" });
    const t0 = performance.now();
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        // As `deno task bench` (pacing_priority.ts, settleHeap).
        "--v8-flags=--expose-gc",
        mod,
        "bench",
        "--db",
        `${dir}/bench.duckdb`,
        "--json",
        ...args,
      ],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    const seconds = (performance.now() - t0) / 1000;
    if (!out.success) {
      throw new Error(`Bench run ${i + 1} failed with status ${out.code}`);
    }
    const j = JSON.parse(new TextDecoder().decode(out.stdout));
    results.push({
      capacity: j.capacity.capacityRps,
      bound: j.capacity.bound,
      halfWidth: j.capacity.halfWidthRps,
      fidelityOk: j.fidelity.ok,
      flags: [
        ...j.fidelity.flags.map((f: { check: string }) => f.check),
        ...j.fidelity.cautions,
      ],
      seconds,
      points: j.points.length,
      lagP99Ms: j.points
        .map((p: { latency: { scheduleLagP99Ms: number | null } | null }) =>
          p.latency?.scheduleLagP99Ms ?? null
        )
        .filter((v: number | null): v is number => v !== null),
    });
    await Deno.remove(dir, { recursive: true });
  }
} finally {
  for (const b of burners) {
    try {
      b.kill();
    } catch { /* gone */ }
    await b.status;
  }
}

console.log(
  `bench x${repeat}${
    busy > 0 ? ` with ${busy} busy processes` : ""
  } on ${navigator.hardwareConcurrency} cores`,
);
for (const [i, r] of results.entries()) {
  console.log(
    `run ${i + 1}: capacity ${r.capacity?.toFixed(3) ?? "—"} req/s (${r.bound}${
      r.halfWidth === null ? "" : `, ± ${r.halfWidth.toFixed(3)}`
    }), ${r.points} points, ${r.seconds.toFixed(1)} s, lag p99 ${
      r.lagP99Ms.map((v) => v.toFixed(1)).join("/") || "—"
    } ms, fidelity ${r.fidelityOk ? "OK" : "FLAGGED"}${
      r.flags.length ? ` (${[...new Set(r.flags)].join("; ")})` : ""
    }`,
  );
}
const caps = results.map((r) => r.capacity).filter((c): c is number =>
  c !== null
);
if (caps.length > 0) {
  const mean = caps.reduce((a, b) => a + b, 0) / caps.length;
  const spread = Math.max(...caps.map((c) => Math.abs(c - mean) / mean));
  console.log(
    `capacity mean ${mean.toFixed(3)} req/s; largest deviation from the mean ${
      (spread * 100).toFixed(1)
    } % (target: within ± 15 % on an idle machine)`,
  );
}

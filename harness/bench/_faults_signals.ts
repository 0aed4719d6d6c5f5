/**
 * Fault campaign family: signals at random moments. A `tokentrace run` process streaming from
 * the scripted server gets, at a seeded random moment, SIGINT, SIGTERM, two SIGINTs, SIGKILL,
 * or loses its launcher (a shell killed with SIGKILL). Then the database must hold:
 * - the run `aborted` (or `running` after SIGKILL) and readable;
 * - no token row without its request row;
 * - every request the server received with a row (after SIGKILL: up to the loss window);
 * - after a graceful stop, no request left `in_flight` and every row's chunk count matching
 *   its token rows.
 * After SIGKILL it measures the loss window: the kill time minus the newest committed event's
 * time (events stream continuously, so this bounds the age of every lost event).
 *
 * @module
 */
import { startScriptedWorker } from "../../adapters/scripted/mod.ts";
import { msToNs } from "../clock.ts";
import { Store } from "../store.ts";
import type { Family } from "./_faults_report.ts";

const MOD = new URL("../../mod.ts", import.meta.url).pathname;

/** How a try stops the run. */
export type Stop = "SIGINT" | "SIGTERM" | "SIGINT x2" | "SIGKILL" | "launcher";
const STOPS: Stop[] = ["SIGINT", "SIGTERM", "SIGINT x2", "SIGKILL", "launcher"];

/** What the family measured besides pass/fail. */
export interface SignalFigures {
  /** Loss windows of the SIGKILL tries, ms. */
  lossWindowsMs: number[];
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
const wallNs = () => msToNs(performance.timeOrigin + performance.now());

function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat[stat.lastIndexOf(")") + 2] !== "Z";
  } catch {
    return false;
  }
}

/**
 * `tries` runs, each stopped one of the ways above (in turn) after a random 0.3-3 s of
 * streaming.
 */
export async function signalFamily(
  tries: number,
  seed: number,
): Promise<{ family: Family; figures: SignalFigures }> {
  const fam: Family = {
    name: "signals at random moments",
    tries: 0,
    failures: [],
  };
  const figures: SignalFigures = { lossWindowsMs: [] };
  const r = rng(seed);
  const dir = await Deno.makeTempDir({ prefix: "tokentrace-signals-" });
  // 30 requests 50 ms apart, 600 tokens 10 ms apart each: ~6 s of continuous streaming.
  const trace = `${dir}/t.csv`;
  const t0 = Date.UTC(2023, 10, 16, 18, 0, 0);
  await Deno.writeTextFile(
    trace,
    "TIMESTAMP,ContextTokens,GeneratedTokens\n" +
      Array.from(
        { length: 30 },
        (_, i) =>
          `${
            new Date(t0 + i * 50).toISOString().replace("T", " ").replace(
              "Z",
              "",
            )
          }0000,8,600`,
      ).join("\n") + "\n",
  );
  for (let i = 0; i < tries; i++) {
    const stop = STOPS[i % STOPS.length];
    const delayMs = 300 + Math.floor(r() * 2700);
    fam.tries++;
    const server = await startScriptedWorker({
      timing: { ttftBaseMs: 10, ttftPerInputTokenMs: 0, itlMs: 10 },
      recordSends: false,
    });
    const db = `${dir}/r${i}.duckdb`;
    const cli = `${q(Deno.execPath())} run -A ${q(MOD)} run --trace ${
      q(trace)
    } --url ${q(server.url)} --db ${q(db)} --quiet`;
    const launcher = new Deno.Command("sh", {
      args: ["-c", `${cli} & echo $!; wait`],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const out = launcher.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    const pid = Number((await out.read()).value!.trim().split("\n")[0]);
    let killNs = 0n;
    try {
      // Wait for streaming to begin, then the random delay.
      while ((await server.stats()).chunks < 10) {
        await new Promise((res) => setTimeout(res, 20));
      }
      await new Promise((res) => setTimeout(res, delayMs));
      killNs = wallNs();
      if (stop === "launcher") launcher.kill("SIGKILL");
      else if (stop === "SIGINT x2") {
        Deno.kill(pid, "SIGINT");
        await new Promise((res) => setTimeout(res, 5));
        Deno.kill(pid, "SIGINT");
      } else Deno.kill(pid, stop);
      const deadline = Date.now() + 60_000;
      while (alive(pid) && Date.now() < deadline) {
        await new Promise((res) => setTimeout(res, 20));
      }
      if (alive(pid)) {
        fam.failures.push(
          `${stop} after ${delayMs} ms: still running after 60 s`,
        );
        Deno.kill(pid, "SIGKILL");
        continue;
      }
      const received = (await server.stats()).received;
      const problem = await check(db, stop, received, killNs, figures).catch(
        (e) => `pid ${pid}: ${(e as Error).message}`,
      );
      if (problem) fam.failures.push(`${stop} after ${delayMs} ms: ${problem}`);
    } catch (e) {
      fam.failures.push(`${stop} after ${delayMs} ms: ${(e as Error).message}`);
    } finally {
      try {
        launcher.kill("SIGKILL");
      } catch { /* gone */ }
      await launcher.status;
      await out.cancel().catch(() => {});
      await server.close();
    }
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  return { family: fam, figures };
}

/** The invariants of one stopped run; a string says which one failed. */
async function check(
  db: string,
  stop: Stop,
  received: number,
  killNs: bigint,
  figures: SignalFigures,
): Promise<string | undefined> {
  const store = await Store.open(db, { readOnly: true, waitForLockMs: 5000 });
  try {
    const q1 = async (sql: string) => (await store.query(sql))[0];
    const run = await q1("select status, clock_origin_unix_ns as o from runs");
    const want = stop === "SIGKILL" ? "running" : "aborted";
    if (run.status !== want) return `run ${run.status}, expected ${want}`;
    const orphans = await q1(
      `select count(*)::int as n from token_events t where not exists
         (select 1 from requests r where r.run_id = t.run_id and r.req_id = t.req_id)`,
    );
    if (orphans.n !== 0) return `${orphans.n} token rows without a request row`;
    const rows = await q1(
      `select count(*)::int as n, count(*) filter (where status = 'in_flight')::int as f
       from requests`,
    );
    if (stop === "SIGKILL") {
      const newest = await q1("select max(t_ns) as t from token_events");
      if (newest.t !== null) {
        const window = Number(
          killNs - (BigInt(run.o as bigint) + BigInt(newest.t as bigint)),
        ) /
          1e6;
        figures.lossWindowsMs.push(window);
      }
      return undefined;
    }
    if ((rows.n as number) < received) {
      return `${rows.n} request rows for ${received} requests the server received`;
    }
    // A second Ctrl-C does not wait for requests in flight: they stay in_flight, truthfully.
    if (stop !== "SIGINT x2" && rows.f !== 0) {
      return `${rows.f} rows left in_flight`;
    }
    const mismatch = await q1(
      `select count(*)::int as n from requests r where status <> 'in_flight' and output_chunks <>
         (select count(*) from token_events t where t.run_id = r.run_id and t.req_id = r.req_id)`,
    );
    if (mismatch.n !== 0) {
      return `${mismatch.n} request rows whose chunk count differs from their token rows`;
    }
    return undefined;
  } finally {
    store.close();
  }
}

/**
 * The test suite's runner (`deno task test [deno test args...]`): runs `deno test -A --doc
 * --parallel` (two files at a time; `TOKENTRACE_TEST_JOBS` sets how many) with the dot
 * reporter so that passing tests and doc examples print nothing, shows progress, keeps every
 * failure's report, names each missing system package once, and ends with one line:
 * `N passed, N failed` (plus ignored and steps).
 *
 * Arguments are passed on to `deno test` (paths, `--filter`, ...).
 *
 * @module
 */
import { requirements, skip } from "./_system.ts";

const started = performance.now();
const args = Deno.args.length > 0 ? Deno.args : [];
const tty = Deno.stderr.isTerminal();
const enc = new TextEncoder();
const say = (s: string) => Deno.stderr.writeSync(enc.encode(s));

// One line per missing system package (tests/_system.ts): what to install, what it enables.
const strict = Deno.env.get("CI") !== undefined;
const seen = new Set<string>();
for (const r of Object.values(requirements)) {
  if (r.available) continue;
  const key = `${r.package}:${r.enables}`;
  if (seen.has(key)) continue;
  seen.add(key);
  say(
    `${strict ? "MISSING (CI: its tests fail)" : "SKIP"}: ${r.enables}: ` +
      `install the Debian package ${r.package}\n`,
  );
}

// Without a WebGPU adapter the engine's tests skip themselves (`ignore: skip.webgpu`), but a doc
// example cannot: the engine's modules' examples open an adapter, so they are left out of
// `--doc` then (the test files under tests/ still run; only examples are ignored).
const noAdapterDocs = skip.webgpu
  ? ["--ignore=adapters/webgpu/,harness/cli/engine_actions.ts"]
  : [];
if (skip.webgpu) {
  say(
    "SKIP: the doc examples of adapters/webgpu/ and harness/cli/engine_actions.ts " +
      "(they open a WebGPU adapter): install the Debian package mesa-vulkan-drivers\n",
  );
}

// Two test files at a time (Deno's --parallel: one worker per file): on a 2-core machine that
// other work keeps busy the suite then gets two of the runnable threads instead of one, and
// much of it waits on subprocesses and servers anyway. TOKENTRACE_TEST_JOBS=1 runs one file at
// a time (docs/perf.md, "A newcomer's first hour").
const jobs = Deno.env.get("TOKENTRACE_TEST_JOBS") ?? "2";
if (!/^[1-9][0-9]*$/.test(jobs)) {
  say(
    `TOKENTRACE_TEST_JOBS: expected a whole number of test files at a time >= 1, got "${jobs}"\n`,
  );
  Deno.exit(2);
}
// The suite's temporary files (stores, traces, CLI outputs, Mesa's runtime folder) go to a
// folder of its own, removed when the suite ends: a run leaves nothing in the machine's /tmp.
// TOKENTRACE_KEEP_TMP=1 keeps it (its path is printed) to look at what a failing test wrote.
const baseTmp = Deno.env.get("TMPDIR") || "/tmp";
const suiteTmp = Deno.makeTempDirSync({
  dir: baseTmp,
  prefix: "tokentrace-suite-",
});
const keepTmp = Deno.env.get("TOKENTRACE_KEEP_TMP") === "1";
// Ctrl-C reaches deno test as well (one process group): this runner stays to clean up.
Deno.addSignalListener("SIGINT", () => {});
const child = new Deno.Command(Deno.execPath(), {
  args: [
    "test",
    "-A",
    "--doc",
    "--reporter=dot",
    ...(jobs !== "1" ? ["--parallel"] : []),
    ...noAdapterDocs,
    ...args,
  ],
  stdout: "piped",
  stderr: "piped",
  env: { NO_COLOR: "1", DENO_JOBS: jobs, TMPDIR: suiteTmp },
}).spawn();

let tests = 0;
let failedSoFar = 0;
let lastLine = performance.now();
const elapsed = () => {
  const s = Math.round((performance.now() - started) / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
};
const progress = () => {
  const s = Math.round((performance.now() - started) / 1000);
  const clock = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  const line = `[${clock}] ${tests} tests and steps run, ${failedSoFar} failed`;
  if (tty) say(`\r\x1b[2K${line}`);
  else if (performance.now() - lastLine >= 30_000) {
    lastLine = performance.now();
    say(`${line}\n`);
  }
};

/** Deno's report after the dots: the ERRORS/FAILURES sections and its summary line. */
const report: string[] = [];
let summary: string | undefined;
const DOTS = /^[.,!]+$/;
const SUMMARY =
  /^(ok|FAILED) \| (\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed(?: \((\d+) steps?\))?(?: \| (\d+) ignored(?: \((\d+) steps?\))?)?/;
/** The empty Rust backtrace Deno adds to "Test failed" when RUST_BACKTRACE is set. */
const EMPTY_TRACE = /^(Stack backtrace:|\d+: <unknown>)$/;

async function pump(stream: ReadableStream<Uint8Array>, isErr: boolean) {
  let buf = "";
  const timer = setInterval(progress, 1000);
  try {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const t = line.trim();
        if (DOTS.test(t)) {
          tests += t.length;
          failedSoFar += [...t].filter((c) => c === "!").length;
          progress();
        } else if (SUMMARY.test(t)) {
          summary = t;
        } else if (
          t === "error: Test failed" || EMPTY_TRACE.test(t) ||
          (isErr && t === "")
        ) {
          // Deno's trailer: the summary below says it.
        } else {
          report.push(line);
        }
      }
    }
    if (buf.trim() !== "") report.push(buf);
  } finally {
    clearInterval(timer);
  }
}

await Promise.all([pump(child.stdout, false), pump(child.stderr, true)]);
const status = await child.status;
if (tty) say("\r\x1b[2K");
if (keepTmp) {
  say(`TOKENTRACE_KEEP_TMP: the suite's temporary files are in ${suiteTmp}\n`);
} else {
  try {
    Deno.removeSync(suiteTmp, { recursive: true });
  } catch (e) {
    say(`could not remove the suite's temporary folder ${suiteTmp}: ${e}\n`);
  }
}

// Drop blank lines at either end of what Deno printed besides the dots.
while (report.length > 0 && report[0].trim() === "") report.shift();
while (report.length > 0 && report.at(-1)!.trim() === "") report.pop();
if (report.length > 0) console.log(report.join("\n") + "\n");

const m = summary ? SUMMARY.exec(summary) : null;
if (m === null) {
  console.log(
    `deno test ended with status ${status.code}${
      status.signal ? ` (signal ${status.signal})` : ""
    } without a summary after ${elapsed()}`,
  );
  console.log(`0 passed, ${Math.max(1, failedSoFar)} failed`);
  Deno.exit(status.code === 0 ? 1 : status.code);
}
const [, , passed, passedSteps, failed, failedSteps, ignored] = m;
const extra = [
  ignored && ignored !== "0" ? `${ignored} ignored` : "",
  passedSteps ? `${Number(passedSteps) + Number(failedSteps ?? 0)} steps` : "",
  elapsed(),
].filter(Boolean).join(", ");
// The counts are Deno's; a run that crashed after its summary still fails (its status).
if (status.code !== 0 && failed === "0") {
  console.log(
    `deno test exited with status ${status.code}${
      status.signal ? ` (signal ${status.signal})` : ""
    } after a summary with no failures`,
  );
}
console.log(`${passed} passed, ${failed} failed (${extra})`);
Deno.exit(status.code);

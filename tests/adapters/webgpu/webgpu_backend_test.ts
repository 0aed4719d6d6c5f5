// The `webgpu` backend: the engine on its own thread, driven through the Backend interface.
import assert from "node:assert/strict";
import { generateRequest } from "../../../harness/generate_request.ts";
import type {
  EngineStepRow,
  EngineTokenRow,
  StreamEvent,
} from "../../../adapters/backend.ts";
import {
  type EngineHostKind,
  WebGPUBackend,
} from "../../../adapters/webgpu/mod.ts";
import { webgpuTest } from "../../_system.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const ENGINE = { model: "tiny", maxSeqs: 2, tokenBudget: 16, maxContext: 64 };

function request(id: string, outputTokens: number, ids = [5, 6, 7]) {
  return {
    id,
    arrivalMs: 0,
    inputTokens: ids.length,
    outputTokens,
    prompt: { kind: "token_ids" as const, ids },
  };
}

async function collect(
  b: WebGPUBackend,
  req: ReturnType<typeof request>,
  signal = new AbortController().signal,
): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const ev of b.generate(generateRequest(req), signal)) out.push(ev);
  return out;
}

for (const host of ["process", "worker"] as const) {
  webgpuTest({
    name:
      `WebGPUBackend (host ${host}) streams exact-length outputs from the engine and records every step`,
    ...opts,
    fn: () => streamsAndRecords(host),
  });
}

async function streamsAndRecords(host: EngineHostKind): Promise<void> {
  {
    const b = await WebGPUBackend.open({ ...ENGINE, host });
    const info = await b.describe();
    assert.equal(info.engineHost, host);
    assert.equal(b.engineHost.pid === undefined, host === "worker");
    assert.equal(typeof info.engineClockOffsetUs, "number");
    assert.ok((info.engineClockRoundTripUs as number) > 0);
    const steps: EngineStepRow[] = [];
    const tokens: EngineTokenRow[] = [];
    b.attachEngineSink({
      engineStep: (r) => steps.push(r),
      engineToken: (r) => tokens.push(r),
    });
    try {
      const [a, c] = await Promise.all([
        collect(b, request("a", 5)),
        collect(b, request("c", 3, [300, 301])), // ids >= the vocabulary fold into it
      ]);
      for (const [events, n] of [[a, 5], [c, 3]] as const) {
        assert.deepEqual(events.map((e) => e.kind), [
          "sent",
          ...Array(n).fill("tokens"),
          "usage",
          "done",
        ]);
        const usage = events.at(-2)!;
        assert.equal(usage.kind === "usage" && usage.completionTokens, n);
      }
      assert.deepEqual(
        tokens.filter((t) => t.reqId === "a").map((t) => t.tokenIndex),
        [0, 1, 2, 3, 4],
      );
      assert.ok(steps.length > 0);
      assert.ok(
        tokens.every((t) => steps.some((s) => s.step === t.step)),
        "every token's step is recorded",
      );
    } finally {
      await b.close();
    }
  }
}

webgpuTest({
  name: "WebGPUBackend.setClockOrigin() times the next run from its own origin",
  ...opts,
  fn: async () => {
    // The engine's clock started an hour ago; the run clock starts now.
    const b = await WebGPUBackend.open({
      ...ENGINE,
      clockOriginMs: performance.now() - 3_600_000,
    });
    const rows: EngineStepRow[] = [];
    b.attachEngineSink({
      engineStep: (r) => rows.push(r),
      engineToken: () => {},
    });
    try {
      const hour = 3_600_000_000_000n;
      const before = await collect(b, request("early", 2));
      assert.ok(before.every((e) => e.tNs >= hour), "on the engine's clock");
      b.setClockOrigin(performance.now());
      rows.length = 0;
      const after = await collect(b, request("late", 3));
      const sent = after[0].tNs, done = after.at(-1)!.tNs;
      assert.ok(sent >= 0n && done < hour, `sent ${sent}, done ${done}`);
      for (const e of after) {
        assert.ok(e.tNs >= sent && e.tNs <= done, `${e.kind} at ${e.tNs}`);
      }
      assert.ok(rows.length > 0);
      for (const r of rows) {
        assert.ok(r.tSubmitNs >= 0n && r.tReadbackNs <= done, `step ${r.step}`);
      }
    } finally {
      await b.close();
    }
  },
});

webgpuTest({
  name:
    "WebGPUBackend: an aborted request ends cancelled; a closed backend answers with an error",
  ...opts,
  fn: async () => {
    const b = await WebGPUBackend.open(ENGINE);
    const ac = new AbortController();
    const events: StreamEvent[] = [];
    for await (
      const ev of b.generate(generateRequest(request("x", 60)), ac.signal)
    ) {
      events.push(ev);
      if (ev.kind === "tokens") ac.abort();
    }
    const end = events.at(-1)!;
    assert.deepEqual(end.kind === "error" && [end.errorKind, end.message], [
      "cancelled",
      "Request x cancelled",
    ]);
    await b.close();
    const late = await collect(b, request("y", 2));
    assert.deepEqual(
      late.map((e) => e.kind === "error" ? [e.errorKind, e.message] : e.kind),
      [["stream", "Request y: engine closed"]],
    );
  },
});

webgpuTest({
  name:
    "WebGPUBackend reports a sink that refuses a record once, and sends it no more records",
  ...opts,
  fn: async () => {
    const b = await WebGPUBackend.open(ENGINE);
    let calls = 0;
    const failures: string[] = [];
    b.attachEngineSink({
      engineStep: () => {
        calls++;
        throw new Error("Recorder of run x has finished");
      },
      engineToken: () => {},
      failed: (message) => failures.push(message),
    });
    try {
      await collect(b, request("a", 4));
      await collect(b, request("b", 4));
      assert.deepEqual(failures, [
        "Engine records could not be written: Recorder of run x has finished",
      ]);
      assert.equal(calls, 1);
    } finally {
      await b.close();
    }
  },
});

webgpuTest({
  name:
    "WebGPUBackend: an engine process that dies ends its live requests with why, and refuses new ones",
  ...opts,
  fn: async () => {
    const b = await WebGPUBackend.open(ENGINE);
    try {
      const events: StreamEvent[] = [];
      for await (
        const ev of b.generate(
          generateRequest(request("long", 60)),
          new AbortController().signal,
        )
      ) {
        events.push(ev);
        if (ev.kind === "tokens" && events.length === 2) {
          Deno.kill(b.engineHost.pid!, "SIGKILL");
        }
      }
      const end = events.at(-1)!;
      assert.equal(end.kind, "error");
      assert.match(
        end.kind === "error" ? end.message : "",
        /Engine process exited \(signal SIGKILL\) while serving/,
      );
      const late = await collect(b, request("later", 2));
      assert.deepEqual(late.map((e) => e.kind), ["error"]);
      assert.match(
        late[0].kind === "error" ? late[0].message : "",
        /Request later: Engine process exited/,
      );
    } finally {
      await b.close();
    }
  },
});

webgpuTest({
  name:
    "WebGPUBackend: the engine's process ends when the harness's process is killed",
  ...opts,
  fn: async () => {
    // A harness that opens the engine, prints its pid, and waits to be killed.
    const dir = await Deno.makeTempDir();
    const script = `${dir}/harness.ts`;
    const mod = new URL(
      "../../../adapters/webgpu/webgpu_backend.ts",
      import.meta.url,
    );
    await Deno.writeTextFile(
      script,
      `import { WebGPUBackend } from ${JSON.stringify(mod.href)};\n` +
        `const b = await WebGPUBackend.open(${JSON.stringify(ENGINE)});\n` +
        `console.log(b.engineHost.pid);\n` +
        `setInterval(() => {}, 1000);\n`,
    );
    const harness = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-config", script],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = harness.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    let line = "";
    while (!line.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      line += value;
    }
    const pid = Number(line.trim());
    assert.ok(pid > 0, `the harness printed its engine's pid: ${line}`);
    assert.ok(alive(pid), "the engine's process runs");
    harness.kill("SIGKILL");
    await harness.status;
    await reader.cancel();
    // Its stdin closed with the harness: it exits on its own (the suite's timeout bounds this).
    while (alive(pid)) await new Promise((r) => setTimeout(r, 20));
    await Deno.remove(dir, { recursive: true });
  },
});

/** Whether process `pid` exists and has not exited (a zombie counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

// The `webgpu` backend: the engine on its own thread, driven through the Backend interface.
import assert from "node:assert/strict";
import { generateRequest } from "../../../harness/generate_request.ts";
import type {
  EngineStepRow,
  EngineTokenRow,
  StreamEvent,
} from "../../../adapters/backend.ts";
import { WebGPUBackend } from "../../../adapters/webgpu/webgpu_backend.ts";
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

webgpuTest({
  name:
    "WebGPUBackend streams exact-length outputs from the engine's thread and records every step",
  ...opts,
  fn: async () => {
    const b = await WebGPUBackend.open(ENGINE);
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
  },
});

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

/**
 * A sender worker of a spread run (see parallel.ts): rebuilds the backend, replays its share
 * of the requests on its own event loop and posts its rows straight to the recorder's worker.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import type { Backend } from "../adapters/backend.ts";
import { ArmedSends } from "./armed_sends.ts";
import { RunClock } from "./clock.ts";
import { wallTimes } from "./load_plan.ts";
import { RecorderProducer } from "./recorder.ts";
import { replayThread } from "./runner.ts";
import type { OpenPace, RunContext } from "./run_context.ts";
import { SharedCounters } from "./_run_counters.ts";
import { SharedSlots } from "./_shared_slots.ts";
import type { FromSender, ToSender } from "./parallel.ts";

let backend: Backend | undefined;
let recorder: RecorderProducer | undefined;
let clock: RunClock | undefined;
let init: Extract<ToSender, { op: "init" }> | undefined;
let slots: SharedSlots | undefined;
const stop = new AbortController();
const post = (m: FromSender) => self.postMessage(m);

self.onmessage = async (e: MessageEvent<ToSender>) => {
  const m = e.data;
  try {
    if (m.op === "init") {
      init = m;
      // The same run clock as the coordinator's: both read the shared wall scale.
      clock = new RunClock(m.clockWallOriginMs - performance.timeOrigin);
      const c = clock;
      const mod = await import(m.backend.moduleUrl);
      backend = mod.createPortableBackend(
        m.backend.options,
        () => c.nowNs(),
      ) as Backend;
      recorder = RecorderProducer.attach(
        m.recorderPort,
        m.runId,
        m.recorderOptions,
      );
      recorder.onError = (message) => stop.abort(message);
      if (m.slots) {
        slots = new SharedSlots(m.slots.buffer, m.slots.cap, (r) => post(r));
      }
      post({
        op: "ready",
        takesSendHandoffs: backend.takesSendHandoffs === true &&
          !backend.timesTokensElsewhere,
      });
    } else if (m.op === "go") {
      const i = init!;
      const counters = new SharedCounters(i.counters, i.lane, i.lanes);
      const ctx: RunContext = {
        startNs: m.startNs,
        counters,
        indices: i.indices,
        slots,
        pace: i.users
          ? { mode: "closed", users: i.users, claim: () => counters.claim() }
          : openPace(i.scheduleOffsetsNs!.map((o) => o + m.startNs), m),
        stopped: (reason) => post({ op: "abort", reason }),
        // The error-rate window is the coordinator's: ended requests go there when it keeps one.
        ended: i.load.errorRate
          ? (failed, tNs) => post({ op: "ended", failed, tNs })
          : () => {},
      };
      const outcome = await replayThread({
        backend: backend!,
        requests: i.requests,
        recorder: recorder!,
        clock: clock!,
        signal: stop.signal,
        load: i.load,
      }, ctx);
      await recorder!.detach();
      await backend!.close();
      post({ op: "result", outcome });
    } else if (m.op === "abort") {
      stop.abort(m.reason);
    } else if (m.op === "slot-grant") {
      slots?.granted(m.id);
    }
  } catch (err) {
    post({ op: "error", message: (err as Error).message });
  }
};

/** The worker's open-loop pace: its lane's beats and, when the metronome sends, its table. */
function openPace(
  scheduleNs: BigInt64Array,
  go: Extract<ToSender, { op: "go" }>,
): OpenPace {
  return {
    mode: "open",
    scheduleNs,
    beats: go.beats!,
    armed: go.armed && new ArmedSends(go.armed, wallTimes(clock!, scheduleNs)),
  };
}

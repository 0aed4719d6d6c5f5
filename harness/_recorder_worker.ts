/**
 * The recorder's database thread: owns the result store for the length of a run, appends each
 * batch it receives and commits it at once, so a crash loses at most the batch in transit.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import type { DuckDBAppender } from "@duckdb/node-api";
import { Store } from "./store.ts";
import type { RequestRow } from "./recorder.ts";
import {
  CHANNELS,
  type FromWorker,
  type TokenBatch,
  type ToWorker,
} from "./_recorder_protocol.ts";

let store: Store | undefined;
let tokens: DuckDBAppender | undefined;
let requests: DuckDBAppender | undefined;
let runId = "";
const counts = { tokenRows: 0, requestRows: 0, flushes: 0 };
let failed: string | undefined;

const send = (m: FromWorker) => self.postMessage(m);

self.onmessage = async (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  try {
    if (failed && m.op !== "finish") return;
    switch (m.op) {
      case "open":
        store = await Store.open(m.path);
        runId = m.run.runId;
        await store.createRun(m.run);
        tokens = await store.conn.createAppender("token_events");
        requests = await store.conn.createAppender("requests");
        send({ op: "opened" });
        break;
      case "batch":
        if (m.tokens) appendTokens(m.tokens);
        for (const r of m.requests) appendRequest(r);
        tokens!.flushSync();
        requests!.flushSync();
        counts.tokenRows += m.tokens?.n ?? 0;
        counts.requestRows += m.requests.length;
        counts.flushes++;
        send({ op: "flushed", ...counts });
        break;
      case "backendInfo":
        await store!.setBackendInfo(runId, m.info);
        break;
      case "finish": {
        if (store) {
          tokens?.closeSync();
          requests?.closeSync();
          tokens = requests = undefined;
          await store.finishRun(
            runId,
            failed ? "failed" : m.status,
            failed ?? m.reason,
          );
          store.close();
          store = undefined;
        }
        if (failed) send({ op: "error", message: failed });
        else send({ op: "finished", ...counts });
        break;
      }
    }
  } catch (err) {
    failed = `${(err as Error).message}`;
    send({ op: "error", message: failed });
  }
};

function appendTokens(b: TokenBatch): void {
  const a = tokens!;
  for (let i = 0; i < b.n; i++) {
    a.appendVarchar(runId);
    a.appendVarchar(b.reqId[i]);
    a.appendInteger(b.seq[i]);
    a.appendBigInt(b.tNs[i]);
    a.appendInteger(b.nTokens[i]);
    a.appendVarchar(CHANNELS[b.channel[i]]);
    a.endRow();
  }
}

/** Appends one `requests` row in the column order of schema version 1. */
function appendRequest(r: RequestRow): void {
  const a = requests!;
  const big = (v: bigint | number | undefined) =>
    v === undefined || v === null ? a.appendNull() : a.appendBigInt(BigInt(v));
  const int = (v: number | undefined) =>
    v === undefined || v === null ? a.appendNull() : a.appendInteger(v);
  const str = (v: string | undefined) =>
    v === undefined || v === null ? a.appendNull() : a.appendVarchar(v);
  str(runId);
  str(r.reqId);
  big(r.traceIndex);
  str(r.sessionId);
  int(r.turn);
  big(r.scheduledNs);
  big(r.sentNs);
  big(r.firstByteNs);
  big(r.firstTokenNs);
  big(r.lastTokenNs);
  big(r.doneNs);
  int(r.inputTokensPlanned);
  int(r.outputTokensPlanned);
  int(r.promptTokensReported);
  int(r.completionTokensReported);
  int(r.cachedTokens);
  int(r.outputChunks);
  int(r.outputTokensCounted);
  str(r.status);
  int(r.httpStatus);
  str(r.errorKind);
  str(r.error);
  str(r.finishReason);
  a.endRow();
}

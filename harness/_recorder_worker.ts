/**
 * The recorder's database thread: owns the result store for the length of a run, appends each
 * batch it receives and commits it at once, so a crash loses at most the batch in transit.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import {
  BIGINT,
  type DuckDBAppender,
  DuckDBDataChunk,
  ENUM8,
  INTEGER,
} from "@duckdb/node-api";
import duckdb from "@duckdb/node-bindings";
import { Store } from "./store.ts";
import { LiveSnapshot } from "./_live_snapshot.ts";
import { lowerThreadPriority } from "../adapters/thread_priority.ts";
import type { RequestRow } from "./recorder_options.ts";
import type { EngineStepRow, EngineTokenRow } from "../adapters/backend.ts";
import {
  appendRows,
  ENGINE_STEP_COLUMNS,
  ENGINE_TOKEN_COLUMNS,
  REQUEST_COLUMNS,
} from "./_recorder_columns.ts";
import {
  CHANNELS,
  type FromWorker,
  type TokenBatch,
  type ToWorker,
} from "./_recorder_protocol.ts";

/** Nice value of the recorder's thread (see adapters/thread_priority.ts). */
const RECORDER_NICE = 10;

let store: Store | undefined;
/** Appender on the numeric staging table `tt_stage` (see {@linkcode appendTokens}). */
let tokens: DuckDBAppender | undefined;
let reqIds: DuckDBAppender | undefined;
let requests: DuckDBAppender | undefined;
let runId = "";
const counts = { tokenRows: 0, requestRows: 0 };
let failed: string | undefined;
/** The run's live snapshot (`<db>.live`), when asked for. */
let live: LiveSnapshot | undefined;
/** Run-wide request index of the next request id first seen (from any producer). */
let nextReqIdx = 0;

/**
 * A thread posting rows: the owner (on the worker itself) or a sender worker (on an attached
 * port). Its request indices are its own; `map` turns them into run-wide ones.
 */
interface Producer {
  reply: (m: FromWorker) => void;
  map: Int32Array;
  flushes: number;
}

const owner: Producer = {
  reply: (m) => self.postMessage(m),
  map: new Int32Array(1024),
  flushes: 0,
};

// Messages are handled strictly one after another, whichever producer posted them: a handler
// that awaits (a batch's insert) must finish before the next message (say, `finish`) touches
// the same appenders.
let queue: Promise<void> = Promise.resolve();
self.onmessage = (e: MessageEvent<ToWorker>) => {
  queue = queue.then(() => handle(e.data, owner));
};

async function handle(m: ToWorker, from: Producer): Promise<void> {
  const send = from.reply;
  try {
    // After a failure: producers are still attached (so their detach gets its answer) and
    // told, but nothing more is written.
    if (failed && m.op !== "finish" && m.op !== "detach" && m.op !== "attach") {
      if (m.op === "batch") send({ op: "error", message: failed });
      return;
    }
    switch (m.op) {
      case "open":
        // Database writes come in bursts; they must not take a core from the reading thread.
        lowerThreadPriority(m.niceness ?? RECORDER_NICE);
        // A reader (report, dashboard) may hold the file for a moment: wait for it.
        store = await Store.open(m.path, {
          allowForeignTables: m.allowForeignTables,
          waitForLockMs: 10_000,
        });
        // The run's rows only pass through: cap DuckDB's buffer pool so a long run's memory
        // stays bounded (written blocks are evicted, not kept up to 80% of RAM).
        await store.exec(`set memory_limit = '${m.memoryLimitMb}MB'`);
        // One DuckDB thread: the batches are small and a second worker thread only made them
        // costlier (~25 % more CPU per batch at 256 streams) and let a live-snapshot refresh
        // take both cores at once, beside the thread reading streams (docs/perf.md, issue 13).
        await store.exec("set threads = 1");
        runId = m.run.runId;
        await store.createRun(m.run);
        // Token rows are staged as numbers (data chunks of typed arrays, no per-cell strings)
        // and resolved to token_events by one vectorized INSERT ... SELECT per batch.
        await store.conn.run(
          "create temp table tt_reqs (req_idx integer, req_id varchar)",
        );
        tokens = await newStage();
        reqIds = await store.conn.createAppender("tt_reqs", "main", "temp");
        requests = await store.conn.createAppender("requests");
        if (m.liveSnapshotMs) {
          live = await LiveSnapshot.open(
            store.instance,
            m.path,
            runId,
            m.liveSnapshotMs,
          );
          await live.write();
        }
        send({ op: "opened" });
        break;
      case "batch": {
        // One transaction per batch: its in-flight request rows, token rows and final request
        // rows are committed together, or (on a crash) not at all.
        await store!.conn.run("begin transaction");
        const end = m.firstReqIdx + m.newReqIds.length;
        if (end > from.map.length) {
          const grown = new Int32Array(Math.max(end, from.map.length * 2));
          grown.set(from.map);
          from.map = grown;
        }
        m.newReqIds.forEach((id, i) => {
          from.map[m.firstReqIdx + i] = nextReqIdx;
          reqIds!.appendInteger(nextReqIdx++);
          reqIds!.appendVarchar(id);
          reqIds!.endRow();
        });
        reqIds!.flushSync();
        // In-flight rows first: a token row is never committed without its request row.
        appendRows(requests!, runId, REQUEST_COLUMNS, m.sent);
        requests!.flushSync();
        if (m.tokens) {
          const idx = m.tokens.reqIdx;
          for (let i = 0; i < m.tokens.n; i++) idx[i] = from.map[idx[i]];
          await appendTokens(m.tokens);
          releaseBatch(m.tokens);
        }
        if (m.requests.length > 0) await completeRequests(m.requests);
        await store!.conn.run("commit");
        counts.tokenRows += m.tokens?.n ?? 0;
        counts.requestRows += m.requests.length;
        from.flushes++;
        send({ op: "flushed", ...counts, flushes: from.flushes });
        refreshLive();
        break;
      }
      case "attach": {
        const port = m.port;
        const p: Producer = {
          reply: (r) => port.postMessage(r),
          map: new Int32Array(1024),
          flushes: 0,
        };
        port.onmessage = (e: MessageEvent<ToWorker>) => {
          queue = queue.then(() => handle(e.data, p));
        };
        break;
      }
      case "detach":
        // Everything this producer posted before has been handled (messages run in order).
        send(failed ? { op: "error", message: failed } : { op: "detached" });
        break;
      case "engine":
        await appendEngine(m.steps, m.tokens);
        break;
      case "backendInfo":
        await store!.setBackendInfo(runId, m.info);
        break;
      case "finish": {
        if (store) {
          engineSteps?.closeSync();
          engineTokens?.closeSync();
          engineSteps = engineTokens = undefined;
          tokens?.closeSync();
          reqIds?.closeSync();
          requests?.closeSync();
          tokens = reqIds = requests = undefined;
          await store.finishRun(
            runId,
            failed ? "failed" : m.status,
            failed ?? m.reason,
          );
          // The snapshot's connection first: a refresh in progress ends before the file closes.
          await live?.remove().catch(() => {});
          live = undefined;
          store.close();
          store = undefined;
        }
        if (failed) send({ op: "error", message: failed });
        else send({ op: "finished", ...counts, flushes: owner.flushes });
        break;
      }
    }
  } catch (err) {
    // A batch that failed half way is undone whole (no partial commit, no open transaction).
    if (m.op === "batch") {
      await store?.conn.run("rollback").catch(() => {});
    }
    failed = `${(err as Error).message}`;
    send({ op: "error", message: failed });
    // The owner stops the run whichever producer's rows failed.
    if (from !== owner) owner.reply({ op: "error", message: failed });
  }
}

/**
 * Starts a refresh of the live snapshot when one is due (beside the commits, never awaited); a
 * failure stops the snapshots, never the run.
 */
function refreshLive(): void {
  if (live?.failure !== undefined) {
    console.error(
      `tokentrace: live snapshot of run ${runId} stopped (the run goes on): ${live.failure}`,
    );
    live = undefined;
    return;
  }
  live?.refreshIfDue();
}

const STAGE_TYPES = [INTEGER, INTEGER, BIGINT, INTEGER, ENUM8(CHANNELS)];
/**
 * The type of `token_events.channel` (schema version 11): an ENUM of {@linkcode CHANNELS} in
 * code order, so a channel code is its ENUM value's storage as it is (one byte, no string).
 */
const CHANNEL_ENUM = `enum(${CHANNELS.map((c) => `'${c}'`).join(", ")})`;
/** DuckDB's vector size: rows per data chunk. */
const CHUNK_ROWS = 2048;
/** The data chunk token rows are staged through (see {@linkcode appendTokens}). */
let stageChunk: DuckDBDataChunk | undefined;

/**
 * Writes a token batch: numeric columns into `tt_stage` by data chunks, then one
 * `INSERT ... SELECT` joins request ids into `token_events` (committing the
 * batch) and the stage is emptied.
 */
async function appendTokens(b: TokenBatch): Promise<void> {
  const a = tokens!;
  // One data chunk for the whole run: the appender copies its rows, and a chunk per slice left
  // ~2.7 MB of native memory per batch for the garbage collector, which saw none of it (RSS
  // growth 292 MB over 10 M events against 158 MB; docs/perf.md, "Continued (tail13e)").
  const chunk = stageChunk ??= DuckDBDataChunk.create(STAGE_TYPES, CHUNK_ROWS);
  for (let off = 0; off < b.n; off += CHUNK_ROWS) {
    const m = Math.min(CHUNK_ROWS, b.n - off);
    chunk.rowCount = m;
    copyColumn(chunk, 0, b.reqIdx.subarray(off, off + m));
    copyColumn(chunk, 1, b.seq.subarray(off, off + m));
    copyColumn(chunk, 2, b.tNs.subarray(off, off + m));
    copyColumn(chunk, 3, b.nTokens.subarray(off, off + m));
    copyColumn(chunk, 4, b.channel.subarray(off, off + m));
    a.appendDataChunk(chunk);
  }
  a.flushSync();
  await store!.conn.run(
    `insert into token_events (run_id, req_id, seq, t_ns, n_tokens, channel)
     select $1, r.req_id, s.seq, s.t_ns, s.n_tokens, s.channel
     from tt_stage s join tt_reqs r using (req_idx)`,
    [runId],
  );
  // Deleted rows keep their storage in DuckDB: a stage only ever deleted from grew by every row
  // of the run (RSS +160 MB over 10M events, and out of memory with a 96 MB pool). Dropping and
  // recreating it each batch cost ~3 statements per batch, 10 batches a second; so it is
  // emptied by `DELETE` and dropped only once it has held STAGE_ROWS_BEFORE_RECREATE rows.
  stagedSinceCreate += b.n;
  if (stagedSinceCreate >= STAGE_ROWS_BEFORE_RECREATE) {
    a.closeSync();
    tokens = await newStage();
  } else {
    await store!.conn.run("delete from tt_stage");
  }
}

/**
 * Copies a typed array into column `col` of the stage chunk in one native call: the column's
 * DuckDB type has the array's element layout (STAGE_TYPES) and the chunk's validity is all
 * valid (no NULL is ever written to it). `setColumnValues` writes item by item and cost ~20 %
 * of the database thread's CPU per batch (docs/perf.md, "Continued (tail13e)").
 */
function copyColumn(
  chunk: DuckDBDataChunk,
  col: number,
  values: Int32Array | BigInt64Array | Uint8Array,
): void {
  duckdb.copy_data_to_vector(
    duckdb.data_chunk_get_vector(chunk.chunk, col),
    0,
    values.buffer as ArrayBuffer,
    values.byteOffset,
    values.byteLength,
  );
}

/**
 * Frees a written batch's arrays now (a zero-length `transfer` drops their memory) instead of at
 * the next collection: this thread allocates so little that its collections are rare, and the
 * batches (2.7 MB each at 131,072 rows) it had been handed piled up meanwhile (RSS growth of the
 * recorder benchmark ~60 MB above the 158 MB of a worker that collected often).
 */
function releaseBatch(b: TokenBatch): void {
  for (const a of [b.reqIdx, b.seq, b.tNs, b.nTokens, b.channel]) {
    const buf = a.buffer as ArrayBuffer;
    if (!buf.detached) buf.transfer(0);
  }
}

/** Rows `tt_stage` may hold over its life before it is recreated (bounds its dead storage). */
const STAGE_ROWS_BEFORE_RECREATE = 1 << 20;
/** Rows staged since `tt_stage` was (re)created. */
let stagedSinceCreate = 0;

/** (Re)creates the staging table `tt_stage` and returns an appender on it. */
async function newStage(): Promise<DuckDBAppender> {
  stagedSinceCreate = 0;
  await store!.conn.run("drop table if exists tt_stage");
  await store!.conn.run(
    `create temp table tt_stage (req_idx integer, seq integer, t_ns bigint,
       n_tokens integer, channel ${CHANNEL_ENUM})`,
  );
  return await store!.conn.createAppender("tt_stage", "main", "temp");
}

/**
 * Replaces the in-flight rows of requests that ended with their final rows (inserting those
 * that were never in flight: a request cancelled before it was sent), inside the batch's
 * transaction: one `DELETE` by id, then the rows through the `requests` appender (a staging
 * table recreated per batch cost four more statements per batch; docs/perf.md, issue 13).
 */
async function completeRequests(rows: RequestRow[]): Promise<void> {
  const ids = rows.map((r) => `'${r.reqId.replaceAll("'", "''")}'`).join(", ");
  await store!.conn.run(
    `delete from main.requests where run_id = $1 and req_id in (${ids})`,
    [runId],
  );
  const a = requests!;
  appendRows(a, runId, REQUEST_COLUMNS, rows);
  a.flushSync();
}

// ---- Engine records (built-in engine only) ----

let engineSteps: DuckDBAppender | undefined;
let engineTokens: DuckDBAppender | undefined;

/** Appends `engine_steps` and `engine_tokens` rows. */
async function appendEngine(
  steps: EngineStepRow[],
  toks: EngineTokenRow[],
): Promise<void> {
  engineSteps ??= await store!.conn.createAppender("engine_steps");
  engineTokens ??= await store!.conn.createAppender("engine_tokens");
  appendRows(engineSteps, runId, ENGINE_STEP_COLUMNS, steps);
  engineSteps.flushSync();
  appendRows(engineTokens, runId, ENGINE_TOKEN_COLUMNS, toks);
  engineTokens.flushSync();
}

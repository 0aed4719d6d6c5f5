/**
 * Reads a trace file of a known format into the canonical request stream.
 *
 * Formats are detected from the extension and the first line; `format` overrides detection.
 * Readers register in {@linkcode TRACE_READERS}.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { TraceRequest } from "../base/request.ts";
import { withDuckDB } from "./_duckdb.ts";
import { readHead } from "./_csv.ts";
import { readAzureLlm } from "./azure_llm.ts";
import { readBurstGpt } from "./burstgpt.ts";
import { readMooncake } from "./mooncake.ts";
import { readShareGpt } from "./sharegpt.ts";
import { readVllmCustom } from "./vllm_custom.ts";
import { readVidur } from "./vidur.ts";
import { readGeneric } from "./generic.ts";
import {
  detectFormat,
  FORMAT_NAMES,
  type TraceFormat,
} from "./detect_format.ts";
import {
  DEFAULT_READER_OPTIONS,
  type ReaderOptions,
  type ReaderResult,
  type TraceReader,
} from "./reader.ts";
import type { SkippedRows } from "./bad_rows.ts";
import { TraceError } from "./trace_error.ts";

export { detectFormat, FORMAT_NAMES, type TraceFormat, type TraceReader };

/** The readers by format name. */
export const TRACE_READERS: Record<TraceFormat, TraceReader> = {
  "azure-llm": readAzureLlm,
  "burstgpt": readBurstGpt,
  "mooncake": readMooncake,
  "sharegpt": readShareGpt,
  "vllm-custom": readVllmCustom,
  "vidur": readVidur,
  "generic": readGeneric,
};

/** What a workload came from; stored with the run. */
export interface TraceSource {
  /** The file read. */
  path: string;
  /** Its format (detected or given). */
  format: TraceFormat;
  /** Its size. */
  bytes: number;
  /** Its SHA-256 (hex): two runs replayed the same file when these agree. */
  sha256: string;
  /** Records in the file (data rows or non-empty lines), bad ones included. */
  rows: number;
}

/** Requests of a trace plus where they came from and what was left out. */
export interface TraceWorkload {
  /** The file the requests came from. */
  source: TraceSource;
  /** The requests, in arrival order. */
  requests: TraceRequest[];
  /** Bad rows skipped under `onBadRow: "skip"`. */
  skipped: SkippedRows;
  /** Records removed by filter options. */
  filtered: number;
  /** Records the source marks failed (BurstGPT zero-token responses). */
  sourceFailures: number;
  /** False when the trace has no arrival times. */
  timed: boolean;
  /** Whether token lengths were counted or estimated. */
  lengths: "counted" | "approximate";
  /** Format-specific facts (header, JSON keys, raw first/last times). */
  details: Record<string, unknown>;
  /** The reader options used, stored with the run. */
  options: Omit<ReaderOptions, "countTokens"> & { tokenizer: boolean };
}

/** Options for {@linkcode readTrace}: a format (detected when absent) and reader options. */
export interface ReadTraceOptions extends Partial<ReaderOptions> {
  /** Format name; detected from the file when absent (`generic` when `columns` is given). */
  format?: string;
}

/**
 * Reads a trace file into requests sorted by arrival, with the file's size and checksum.
 *
 * @example
 * ```ts
 * import { readTrace } from "./read_trace.ts";
 * const p = await Deno.makeTempFile({ suffix: ".jsonl" });
 * await Deno.writeTextFile(p, '{"timestamp": 5, "input_length": 10, "output_length": 2}\n');
 * const w = await readTrace(p);
 * console.log(w.source.format, w.requests.length); // mooncake 1
 * ```
 */
export async function readTrace(
  path: string,
  opts: ReadTraceOptions = {},
): Promise<TraceWorkload> {
  let size: number;
  try {
    const st = await Deno.stat(path);
    if (st.isDirectory) {
      throw new TraceError({ path }, "is a folder: expected a trace file");
    }
    size = st.size;
  } catch (e) {
    if (e instanceof TraceError) throw e;
    if (e instanceof Deno.errors.NotFound) {
      throw new TraceError(
        { path },
        "file not found: check the path, or pass --trace with an existing file",
      );
    }
    throw new TraceError({ path }, `cannot read: ${(e as Error).message}`);
  }
  if (size === 0) {
    throw new TraceError({ path }, "the file is empty: expected trace records");
  }
  const { format: given, ...rest } = opts;
  const options: ReaderOptions = {
    ...DEFAULT_READER_OPTIONS,
    ...stripUndefined(rest),
  };
  let format: TraceFormat;
  if (given !== undefined) {
    if (!(FORMAT_NAMES as readonly string[]).includes(given)) {
      throw new TraceError(
        { path },
        `unknown format "${given}": expected one of ${FORMAT_NAMES.join(", ")}`,
      );
    }
    format = given as TraceFormat;
  } else if (options.columns) format = "generic";
  else format = detectFormat(path, await headOf(path));
  const digest = sha256File(path);
  let result: ReaderResult;
  try {
    result = await withDuckDB((conn) =>
      TRACE_READERS[format](conn, path, options)
    );
  } finally {
    await digest.catch(() => "");
  }
  if (result.records === 0) {
    throw new TraceError(
      { path },
      "the file has no records (a header or blank lines only): expected trace records",
    );
  }
  const { countTokens, ...recorded } = options;
  return {
    source: {
      path,
      format,
      bytes: size,
      sha256: await digest,
      rows: result.records,
    },
    requests: result.requests,
    skipped: result.skipped,
    filtered: result.filtered,
    sourceFailures: result.sourceFailures,
    timed: result.timed,
    lengths: result.lengths,
    details: result.details,
    options: { ...recorded, tokenizer: countTokens !== undefined },
  };
}

/** The first 64 KiB of a file, decompressed when it is gzip. */
async function headOf(path: string): Promise<Uint8Array> {
  const head = await readHead(path);
  if (head[0] !== 0x1f || head[1] !== 0x8b) return head;
  using f = await Deno.open(path);
  const reader = f.readable.pipeThrough(new DecompressionStream("gzip"))
    .getReader();
  const out: Uint8Array[] = [];
  let n = 0;
  try {
    while (n < 65536) {
      const { value, done } = await reader.read();
      if (done) break;
      out.push(value);
      n += value.length;
    }
  } catch {
    // A truncated gzip file: detect from what decompressed.
  }
  await reader.cancel().catch(() => {});
  const all = new Uint8Array(n);
  let k = 0;
  for (const c of out) {
    all.set(c, k);
    k += c.length;
  }
  return all;
}

/** SHA-256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  using f = await Deno.open(path);
  const buf = new Uint8Array(1 << 22);
  for (;;) {
    const n = await f.read(buf);
    if (n === null) break;
    h.update(buf.subarray(0, n));
  }
  return h.digest("hex");
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(o).filter(([, v]) => v !== undefined),
  ) as Partial<T>;
}

/**
 * Reads a trace file of a known format into the canonical request stream.
 *
 * Formats are detected from the extension and the first line; `format` overrides detection.
 * New formats register in {@linkcode TRACE_READERS}.
 *
 * @module
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import type { TraceRequest } from "./request.ts";
import { withDuckDB } from "./_duckdb.ts";
import { AZURE_LLM_COLUMNS, readAzureLlm } from "./formats/azure_llm.ts";
import { readMooncake } from "./formats/mooncake.ts";
import { TraceError } from "./trace_error.ts";

/** A reader turns one file into requests sorted by arrival time, arrivals rebased to 0. */
export type TraceReader = (
  conn: DuckDBConnection,
  path: string,
) => Promise<TraceRequest[]>;

/** The readers by format name. */
export const TRACE_READERS: Record<string, TraceReader> = {
  "azure-llm": readAzureLlm,
  "mooncake": readMooncake,
};

/** A trace format name (a key of {@linkcode TRACE_READERS}). */
export type TraceFormat = keyof typeof TRACE_READERS;

/** What a workload came from; stored with the run. */
export interface TraceSource {
  path: string;
  format: TraceFormat;
  bytes: number;
  sha256: string;
  /** Records in the file. */
  rows: number;
}

/** Requests of a trace plus where they came from. */
export interface TraceWorkload {
  source: TraceSource;
  requests: TraceRequest[];
}

/** Options for {@linkcode readTrace}. */
export interface ReadTraceOptions {
  /** Format name; detected from the file when absent. */
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
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new TraceError(
        { path },
        "file not found: check the path, or pass --trace with an existing file",
      );
    }
    throw new TraceError({ path }, `cannot read: ${(e as Error).message}`);
  }
  if (bytes.length === 0) {
    throw new TraceError({ path }, "the file is empty: expected trace records");
  }
  const format = opts.format ?? detectFormat(path, bytes);
  const reader = TRACE_READERS[format];
  if (!reader) {
    throw new TraceError(
      { path },
      `unknown format "${format}": expected one of ${
        Object.keys(TRACE_READERS).join(", ")
      }`,
    );
  }
  const requests = await withDuckDB((conn) => reader(conn, path));
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>),
  );
  const sha256 = Array.from(digest, (b) => b.toString(16).padStart(2, "0"))
    .join("");
  return {
    source: {
      path,
      format,
      bytes: bytes.length,
      sha256,
      rows: requests.length,
    },
    requests,
  };
}

/**
 * Guesses a trace's format from its first line (header or first JSON object).
 *
 * @example
 * ```ts
 * import { detectFormat } from "./read_trace.ts";
 * const head = new TextEncoder().encode("TIMESTAMP,ContextTokens,GeneratedTokens\n");
 * console.log(detectFormat("x.csv", head)); // azure-llm
 * ```
 */
export function detectFormat(path: string, head: Uint8Array): TraceFormat {
  const text = new TextDecoder().decode(head.subarray(0, 4096)).replace(
    /^\uFEFF/,
    "",
  );
  const first = text.split(/\r?\n/, 1)[0].trim();
  if (first.startsWith("{")) {
    if (/"input_length"/.test(first) || /"hash_ids"/.test(first)) {
      return "mooncake";
    }
  } else {
    const cols = first.split(",").map((c) => c.trim());
    if (AZURE_LLM_COLUMNS.every((c) => cols.includes(c))) return "azure-llm";
  }
  throw new TraceError(
    { path, line: 1 },
    `cannot detect the trace format from ${
      JSON.stringify(first.slice(0, 80))
    }: expected an Azure LLM CSV header (${
      AZURE_LLM_COLUMNS.join(",")
    }) or a Mooncake JSON line; pass --format ${
      Object.keys(TRACE_READERS).join("|")
    }`,
  );
}

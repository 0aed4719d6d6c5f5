/**
 * Guesses a trace's format from its name and first line (CSV header or first JSON value).
 *
 * @module
 */
import { AZURE_LLM_COLUMNS } from "./azure_llm.ts";
import { BURSTGPT_COLUMNS } from "./burstgpt.ts";
import { VIDUR_COLUMNS } from "./vidur.ts";
import { splitCsvLine } from "./_csv.ts";
import { TraceError } from "./trace_error.ts";

/** The format names `--format` accepts. */
export const FORMAT_NAMES = [
  "azure-llm",
  "burstgpt",
  "mooncake",
  "sharegpt",
  "vllm-custom",
  "vidur",
  "generic",
] as const;

/** A trace format name. */
export type TraceFormat = typeof FORMAT_NAMES[number];

const MOONCAKE_KEYS = [
  "input_length",
  "hash_ids",
  "output_length",
  "text_input",
  "delay",
  "session_id",
  "messages",
];

/**
 * Guesses the format from `head`, the first bytes of the file (decompressed for `.gz`).
 *
 * @example
 * ```ts
 * import { detectFormat } from "./detect_format.ts";
 * const head = new TextEncoder().encode("TIMESTAMP,ContextTokens,GeneratedTokens\n");
 * console.log(detectFormat("x.csv", head)); // azure-llm
 * ```
 */
export function detectFormat(path: string, head: Uint8Array): TraceFormat {
  if (/\.parquet$/i.test(path)) {
    throw new TraceError(
      { path },
      "a Parquet trace needs a column mapping: pass --format generic --columns time=<col>,input=<col>,output=<col>",
    );
  }
  const text = new TextDecoder().decode(head.subarray(0, 65536)).replace(
    /^\uFEFF/,
    "",
  );
  if (text.trim() === "") {
    throw new TraceError(
      { path },
      "the file has no records (a header or blank lines only): expected trace records",
    );
  }
  const first = text.split(/\r?\n|\r/).find((l) => l.trim() !== "")!.trim();
  if (
    first.startsWith("[") || (first === "" && text.trimStart().startsWith("["))
  ) {
    if (/"conversations"/.test(text)) return "sharegpt";
  } else if (first.startsWith("{")) {
    let obj: Record<string, unknown> | null = null;
    try {
      obj = JSON.parse(first);
    } catch {
      // A bad first line: decide from the keys written in it, the reader reports the error.
    }
    const has = (k: string) =>
      obj ? k in obj : new RegExp(`"${k}"\\s*:`).test(first);
    if (MOONCAKE_KEYS.some(has)) return "mooncake";
    if (has("prompt")) return "vllm-custom";
  } else {
    const cols = splitCsvLine(first).map((c) => c.trim());
    const all = (need: readonly string[]) =>
      need.every((c) => cols.includes(c));
    if (all(AZURE_LLM_COLUMNS)) return "azure-llm";
    if (all(BURSTGPT_COLUMNS)) return "burstgpt";
    if (all(VIDUR_COLUMNS)) return "vidur";
  }
  throw new TraceError(
    { path, line: 1 },
    `cannot detect the trace format from ${
      JSON.stringify(first.slice(0, 80))
    }: expected an Azure LLM, BurstGPT or Vidur CSV header, a Mooncake/AIPerf or vLLM custom ` +
      `JSON line, or a ShareGPT JSON array; pass --format ${
        FORMAT_NAMES.join("|")
      } (generic with --columns)`,
  );
}

/**
 * What a reader does with a bad row: stop with a precise error (the default) or skip the row and
 * count it (`--on-bad-row skip`), keeping the first few as examples for the report.
 *
 * @module
 */
import { TraceError, type TraceErrorLocation } from "./trace_error.ts";

/** `error`: stop at the first bad row. `skip`: leave bad rows out and count them. */
export type BadRowPolicy = "error" | "skip";

/** The bad row policies, for flag validation. */
export const BAD_ROW_POLICIES: readonly BadRowPolicy[] = ["error", "skip"];

/** One skipped row: where it is and why it was skipped. */
export interface SkippedRow {
  /** 1-based line, for line-oriented files. */
  line?: number;
  /** 0-based record index, for files without lines. */
  record?: number;
  /** The field at fault. */
  field?: string;
  /** What was wrong, as the error would have said it. */
  reason: string;
}

/** Rows left out under the `skip` policy; stored with the run and shown by `inspect`. */
export interface SkippedRows {
  /** Rows skipped in all. */
  count: number;
  /** The first rows skipped, in file order (at most {@linkcode SKIPPED_EXAMPLES}). */
  examples: SkippedRow[];
}

/** How many skipped rows are kept as examples. */
export const SKIPPED_EXAMPLES = 20;

/** A bad row found by a reader, before its line number is known. */
export interface BadRowFinding {
  /** 0-based index among the records the reader saw (when `line` is not known yet). */
  rec?: number;
  /** 1-based line, when the reader knows it. */
  line?: number;
  field?: string;
  detail: string;
}

/**
 * Applies the policy to the findings of one file: throws the first (in file order) under
 * `error`, else returns the count and the first examples. `locate` maps record indices to lines.
 *
 * @example
 * ```ts
 * import { settleBadRows } from "./bad_rows.ts";
 * const s = await settleBadRows("t.csv", "skip", [{ line: 3, detail: "expected 3 columns, got 2" }], async () => new Map());
 * console.log(s.count, s.examples[0].line); // 1 3
 * ```
 */
export async function settleBadRows(
  path: string,
  policy: BadRowPolicy,
  findings: readonly BadRowFinding[],
  locate: (recs: number[]) => Promise<Map<number, number>>,
  recordsHaveLines = true,
): Promise<SkippedRows> {
  if (findings.length === 0) return { count: 0, examples: [] };
  // Records without a line are ordered by record index, which follows file order.
  const byRec = findings.filter((f) => f.line === undefined)
    .sort((a, b) => a.rec! - b.rec!).slice(0, SKIPPED_EXAMPLES);
  const lines = recordsHaveLines && byRec.length > 0
    ? await locate(byRec.map((f) => f.rec!))
    : new Map<number, number>();
  const located = [
    ...findings.filter((f) => f.line !== undefined).sort((a, b) =>
      a.line! - b.line!
    ).slice(0, SKIPPED_EXAMPLES),
    ...byRec.map((f) => ({ ...f, line: lines.get(f.rec!) })),
  ].sort((a, b) => (a.line ?? a.rec ?? 0) - (b.line ?? b.rec ?? 0)).slice(
    0,
    SKIPPED_EXAMPLES,
  );
  const loc = (f: BadRowFinding & { line?: number }): TraceErrorLocation => ({
    path,
    ...(f.line !== undefined ? { line: f.line } : { record: f.rec }),
    ...(f.field !== undefined ? { field: f.field } : {}),
  });
  if (policy === "error") {
    throw new TraceError(loc(located[0]), located[0].detail);
  }
  return {
    count: findings.length,
    examples: located.map((f) => {
      const l = loc(f);
      return {
        ...(l.line !== undefined ? { line: l.line } : { record: l.record }),
        ...(f.field !== undefined ? { field: f.field } : {}),
        reason: f.detail,
      };
    }),
  };
}

/**
 * The error every trace reader throws for bad input: it names the file, the line and the field.
 *
 * @module
 */
import { UsageError } from "../base/usage_error.ts";

/** Where in a trace file a problem was found. */
export interface TraceErrorLocation {
  /** The trace file. */
  path: string;
  /** 1-based line number, when the problem is on one line. */
  line?: number;
  /** 0-based record index, for files without lines (JSON arrays, Parquet). */
  record?: number;
  /** The field (column or JSON key) at fault. */
  field?: string;
}

/**
 * A bad trace file: the message says what, where and what to do.
 *
 * @example
 * ```ts
 * import { TraceError } from "./trace_error.ts";
 * const e = new TraceError({ path: "t.csv", line: 3, field: "ContextTokens" }, 'expected an integer >= 0, got "abc"');
 * console.log(e.message); // Trace "t.csv", line 3, field "ContextTokens": expected an integer >= 0, got "abc"
 * ```
 */
export class TraceError extends UsageError {
  /** Where the problem is. */
  readonly location: TraceErrorLocation;

  /** A bad trace at `location`; `detail` says what was expected and what was found. */
  constructor(location: TraceErrorLocation, detail: string) {
    const where = [`Trace "${location.path}"`];
    if (location.line !== undefined) where.push(`line ${location.line}`);
    else if (location.record !== undefined) {
      where.push(`record ${location.record}`);
    }
    if (location.field !== undefined) where.push(`field "${location.field}"`);
    super(`${where.join(", ")}: ${detail}`);
    this.location = location;
  }
}

/**
 * Maps record indices of a line-oriented file back to 1-based line numbers for error messages.
 *
 * Only used on the error path: a reader found a bad record by its index and the message must
 * name the line a person sees in an editor.
 *
 * @module
 */

/** Options for {@linkcode lineOfRecord}. */
export interface LineOfRecordOptions {
  /** Lines before the first record (a CSV header). Default 0. */
  headerLines?: number;
}

/**
 * Returns the 1-based line number of the `recordIndex`-th (0-based) non-blank record line.
 *
 * @example
 * ```ts
 * import { lineOfRecord } from "./_lines.ts";
 * const p = await Deno.makeTempFile();
 * await Deno.writeTextFile(p, "h\na\n\nb\n");
 * console.log(await lineOfRecord(p, 1, { headerLines: 1 })); // 4
 * ```
 */
export async function lineOfRecord(
  path: string,
  recordIndex: number,
  opts: LineOfRecordOptions = {},
): Promise<number> {
  const text = await Deno.readTextFile(path);
  const lines = text.split(/\r\n|\n|\r/);
  let seen = 0;
  for (let i = opts.headerLines ?? 0; i < lines.length; i++) {
    if (lines[i].trim() === "") continue;
    if (seen === recordIndex) return i + 1;
    seen++;
  }
  return lines.length;
}

/** Finds the first line that is not valid JSON, for a JSONL file DuckDB refused. */
export async function firstBadJsonLine(
  path: string,
): Promise<{ line: number; text: string; reason: string } | null> {
  const text = await Deno.readTextFile(path);
  const lines = text.split(/\r\n|\n|\r/);
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i].replace(/^\uFEFF/, "").trim();
    if (l === "") continue;
    try {
      const v = JSON.parse(l);
      if (v === null || typeof v !== "object" || Array.isArray(v)) {
        return { line: i + 1, text: l, reason: "expected a JSON object" };
      }
    } catch (e) {
      return {
        line: i + 1,
        text: l,
        reason: `expected a JSON object, got invalid JSON (${
          (e as Error).message
        })`,
      };
    }
  }
  return null;
}

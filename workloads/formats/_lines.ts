/**
 * Maps record indices of a line-oriented file back to 1-based line numbers for error messages.
 *
 * Only used on the error path: a reader found a bad record by its index and the message must
 * name the line a person sees in an editor. The file is scanned as bytes in chunks, so files
 * larger than the biggest JavaScript string work too. Quoted CSV fields that span lines are not
 * supported (no public LLM trace has them).
 *
 * @module
 */

/** Options for {@linkcode linesOfRecords}. */
export interface LinesOfRecordsOptions {
  /** Lines before the first record (a CSV header). Default 0. */
  headerLines?: number;
  /** 1-based lines that hold no record (rows the CSV reader rejected). Default none. */
  skipLines?: ReadonlySet<number>;
}

/**
 * Returns the 1-based line number of each 0-based record index (non-blank lines after the header,
 * less `skipLines`); indices past the end map to the last line.
 *
 * @example
 * ```ts
 * import { linesOfRecords } from "./_lines.ts";
 * const p = await Deno.makeTempFile();
 * await Deno.writeTextFile(p, "h\na\n\nb\nc\n");
 * const m = await linesOfRecords(p, [1, 2], { headerLines: 1, skipLines: new Set([5]) });
 * console.log(m.get(1), m.get(2)); // 4 5
 * ```
 */
export async function linesOfRecords(
  path: string,
  recordIndices: readonly number[],
  opts: LinesOfRecordsOptions = {},
): Promise<Map<number, number>> {
  const wanted = new Set(recordIndices);
  const out = new Map<number, number>();
  const header = opts.headerLines ?? 0;
  const skip = opts.skipLines ?? new Set<number>();
  let line = 1;
  let blank = true;
  let seen = 0;
  const endLine = () => {
    if (line > header && !blank && !skip.has(line)) {
      if (wanted.has(seen)) out.set(seen, line);
      seen++;
    }
    line++;
    blank = true;
  };
  using file = await Deno.open(path);
  const buf = new Uint8Array(1 << 20);
  for (;;) {
    const n = await file.read(buf);
    if (n === null) break;
    for (let i = 0; i < n; i++) {
      const b = buf[i];
      if (b === 10) endLine();
      else if (b !== 13 && b !== 32 && b !== 9) blank = false;
    }
    if (out.size === wanted.size) return out;
  }
  if (!blank) endLine();
  for (const r of wanted) if (!out.has(r)) out.set(r, Math.max(1, line - 1));
  return out;
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
  opts: LinesOfRecordsOptions = {},
): Promise<number> {
  return (await linesOfRecords(path, [recordIndex], opts)).get(recordIndex)!;
}

/** The reason `text` is not one JSON object, or null when it is. */
export function jsonObjectProblem(text: string): string | null {
  try {
    const v = JSON.parse(text);
    if (v === null || typeof v !== "object" || Array.isArray(v)) {
      return "expected a JSON object";
    }
    return null;
  } catch (e) {
    return `expected a JSON object, got invalid JSON (${(e as Error).message})`;
  }
}

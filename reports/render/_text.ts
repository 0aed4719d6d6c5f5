/**
 * Text helpers shared by the renderers of reports/render/ (private to the folder).
 *
 * @module
 */

/** What a missing value (SQL NULL) looks like: never "0". */
export const MISSING = "—";

/** Display width of `s`: one column per code point (the renderers emit no wide characters). */
export function width(s: string): number {
  return [...s].length;
}

/** `s` padded with spaces on the left to `w` columns. */
export function padStart(s: string, w: number): string {
  return " ".repeat(Math.max(0, w - width(s))) + s;
}

/** `s` padded with spaces on the right to `w` columns. */
export function padEnd(s: string, w: number): string {
  return s + " ".repeat(Math.max(0, w - width(s)));
}

/**
 * A decimal with precision that follows magnitude, so that about four significant digits show:
 * < 10 -> 3 decimals, < 100 -> 2, < 1000 -> 1, else 0 with "," thousands separators.
 * `null` -> {@linkcode MISSING}. Independent of the locale.
 */
export function formatDecimal(v: number | null): string {
  if (v === null) return MISSING;
  const a = Math.abs(v);
  const digits = a < 10 ? 3 : a < 100 ? 2 : a < 1000 ? 1 : 0;
  return groupThousands(v.toFixed(digits));
}

/**
 * A latency in milliseconds for a table whose unit is ms: {@linkcode formatDecimal} below 10 s,
 * else seconds with the unit written, e.g. `12.35 s` (so long latencies stay readable).
 */
export function formatLatencyMs(v: number | null): string {
  if (v === null) return MISSING;
  return Math.abs(v) >= 10_000
    ? `${formatDecimal(v / 1000)} s`
    : formatDecimal(v);
}

/** An integer count with "," thousands separators. */
export function formatCount(n: number): string {
  return groupThousands(n.toFixed(0));
}

/** A fraction 0..1 as a percentage with one decimal; `null` -> {@linkcode MISSING}. */
export function formatPercent(v: number | null): string {
  return v === null ? MISSING : `${(v * 100).toFixed(1)}%`;
}

function groupThousands(fixed: string): string {
  const [int, frac] = fixed.split(".");
  const sign = int.startsWith("-") ? "-" : "";
  const digits = sign ? int.slice(1) : int;
  const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return sign + grouped + (frac === undefined ? "" : `.${frac}`);
}

/**
 * Word-wraps `text` to lines of at most `maxWidth` columns: the first line starts with `first`,
 * the following ones with `rest` (a hanging indent). A word longer than a line is cut.
 */
export function wrap(
  text: string,
  maxWidth: number,
  first = "",
  rest = " ".repeat(width(first)),
): string[] {
  const lines: string[] = [];
  let line = first;
  let empty = true;
  const room = () => maxWidth - width(line);
  for (let word of text.split(/\s+/).filter((w) => w !== "")) {
    if (!empty && width(word) + 1 > room()) {
      lines.push(line);
      line = rest;
      empty = true;
    }
    if (!empty) line += " ";
    while (width(word) > room()) {
      const cut = Math.max(1, room());
      const chars = [...word];
      line += chars.slice(0, cut).join("");
      lines.push(line);
      line = rest;
      word = chars.slice(cut).join("");
    }
    line += word;
    empty = false;
  }
  lines.push(line);
  return lines.map((l) => l.trimEnd());
}

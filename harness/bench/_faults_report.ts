/**
 * The fault campaign's result per family, and its table.
 *
 * @module
 */

/** One family of faults: how many tries, and what went wrong in the failed ones. */
export interface Family {
  name: string;
  tries: number;
  /** One line per failed try. */
  failures: string[];
}

/**
 * The `tries / passed / failed` table, then every failure.
 *
 * @example
 * ```ts
 * import { campaignTable } from "./_faults_report.ts";
 * console.log(campaignTable([{ name: "x", tries: 2, failures: [] }]));
 * ```
 */
export function campaignTable(families: Family[]): string {
  const w = Math.max(6, ...families.map((f) => f.name.length));
  const row = (a: string, b: string, c: string, d: string) =>
    `${a.padEnd(w)}  ${b.padStart(5)}  ${c.padStart(6)}  ${d.padStart(6)}`;
  const lines = [row("family", "tries", "passed", "failed")];
  for (const f of families) {
    lines.push(
      row(
        f.name,
        String(f.tries),
        String(f.tries - f.failures.length),
        String(f.failures.length),
      ),
    );
  }
  for (const f of families) {
    for (const x of f.failures) lines.push(`FAILED ${f.name}: ${x}`);
  }
  return lines.join("\n");
}

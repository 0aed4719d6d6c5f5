/**
 * JUnit XML for CI systems: one test case per regression gate (`compare --gate`), or one per
 * fidelity check of a run (`report --format junit`).
 *
 * @module
 */
import type { GateResult } from "../results/gate.ts";
import type { RunReport } from "../results/run_report.ts";
import { escapeMarkup } from "./_escape.ts";
import { runHeadline } from "./headline.ts";

interface Case {
  name: string;
  failure?: string;
  skipped?: string;
  output: string;
}

function suiteXml(name: string, cases: Case[], headline?: string): string {
  const failures = cases.filter((c) => c.failure !== undefined).length;
  const skipped = cases.filter((c) => c.skipped !== undefined).length;
  const lines = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="tokentrace" tests="${cases.length}" failures="${failures}" skipped="${skipped}">`,
    `  <testsuite name="${
      escapeMarkup(name)
    }" tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}">`,
  ];
  if (headline !== undefined) {
    lines.push(
      `    <properties><property name="headline" value="${
        escapeMarkup(headline)
      }"/></properties>`,
    );
  }
  for (const c of cases) {
    lines.push(
      `    <testcase classname="${escapeMarkup(name)}" name="${
        escapeMarkup(c.name)
      }">`,
    );
    if (c.failure !== undefined) {
      lines.push(
        `      <failure message="${escapeMarkup(c.failure)}">${
          escapeMarkup(c.failure)
        }</failure>`,
      );
    }
    if (c.skipped !== undefined) {
      lines.push(`      <skipped message="${escapeMarkup(c.skipped)}"/>`);
    }
    lines.push(`      <system-out>${escapeMarkup(c.output)}</system-out>`);
    lines.push(`    </testcase>`);
  }
  lines.push(`  </testsuite>`, `</testsuites>`);
  return lines.join("\n") + "\n";
}

/**
 * JUnit XML with one test case per gate: `fail` is a failure, `no_data` is skipped, `pass` and
 * `noise` pass (the message says which).
 *
 * @example
 * ```ts
 * import { renderGatesJunit } from "./junit.ts";
 * console.log(renderGatesJunit("compare baseline..candidate", []).includes("<testsuites"));
 * ```
 */
export function renderGatesJunit(
  suiteName: string,
  results: readonly GateResult[],
): string {
  return suiteXml(
    suiteName,
    results.map((r) => ({
      name: r.gate.spec,
      failure: r.verdict === "fail" ? r.message : undefined,
      skipped: r.verdict === "no_data" ? r.message : undefined,
      output: `${r.verdict}: ${r.message}`,
    })),
  );
}

/**
 * JUnit XML with one test case per fidelity check of a run: flagged is a failure, unknown is
 * skipped.
 *
 * @example
 * ```ts ignore
 * await Deno.writeTextFile("fidelity.xml", renderFidelityJunit(report));
 * ```
 */
export function renderFidelityJunit(report: RunReport): string {
  const run = report.summary.run;
  return suiteXml(
    `fidelity ${run.label ?? run.runId}`,
    report.fidelity.map((f) => {
      const text = `${f.name} = ${f.value ?? "NULL"} ${f.unit} (threshold ${
        f.threshold ?? "none"
      }, n = ${f.n}): ${f.description}`;
      return {
        name: f.name,
        failure: f.flagged === true ? text : undefined,
        skipped: f.flagged === null ? text : undefined,
        output: text,
      };
    }),
    runHeadline(report.summary),
  );
}

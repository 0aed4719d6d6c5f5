/**
 * Fault campaign family: bad traces. Valid Azure CSV and Mooncake JSONL traces with one field of
 * one random row replaced by a bad value (seeded); the reader must stop with a TraceError that
 * names the file, that line and that field (policy `error`), or skip exactly that row and count
 * it (policy `skip`). Nothing may crash, hang or be accepted silently.
 *
 * @module
 */
import { readTrace, TraceError } from "../../workloads/mod.ts";
import type { Family } from "./_faults_report.ts";

/** Bad values and the formats they apply to (`csv` cells, `json` values). */
const BAD_COUNTS = {
  csv: ["", "abc", "-3", "3.5", "1e15", "NaN", "Infinity", "99999999999"],
  json: ['""', '"abc"', "-3", "3.5", "1e15", "NaN", "Infinity", "null", "[1]"],
};
const BAD_TIMES = {
  csv: ["", "yesterday", "2023-13-45 99:99:99", "2900-01-01 00:00:00"],
  json: ['"soon"', "-5", "1e22", "NaN", "Infinity", "[0]"],
};

/** A small PRNG (mulberry32): the campaign is the same for the same seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Case {
  file: string;
  text: string;
  /** 1-based line of the bad row, and its field. */
  line: number;
  field: string;
  value: string;
}

function azureCase(r: () => number, rows: number): Case {
  const fields = ["TIMESTAMP", "ContextTokens", "GeneratedTokens"];
  const k = Math.floor(r() * 3);
  // Wall-clock times are offsets from the first row's: a bad time goes after it.
  const bad = (k === 0 ? 2 : 1) + Math.floor(r() * (k === 0 ? rows - 1 : rows));
  const pool = k === 0 ? BAD_TIMES.csv : BAD_COUNTS.csv;
  const value = pool[Math.floor(r() * pool.length)];
  const lines = ["TIMESTAMP,ContextTokens,GeneratedTokens"];
  for (let i = 1; i <= rows; i++) {
    const cells = [
      `2023-11-16 18:15:${String(10 + i).padStart(2, "0")}.0000000`,
      "100",
      "20",
    ];
    if (i === bad) cells[k] = value;
    lines.push(cells.join(","));
  }
  return {
    file: "t.csv",
    text: lines.join("\n") + "\n",
    line: bad + 1,
    field: fields[k],
    value,
  };
}

function mooncakeCase(r: () => number, rows: number): Case {
  const bad = 1 + Math.floor(r() * rows);
  const keys = ["timestamp", "input_length", "output_length", "hash_ids"];
  const k = Math.floor(r() * 4);
  const pool = k === 0
    ? BAD_TIMES.json
    : k === 3
    ? ['"abc"', "[1, 2, 3, 4, 5]", "[1.5]", '{"a": 1}']
    : BAD_COUNTS.json;
  const value = pool[Math.floor(r() * pool.length)];
  const lines: string[] = [];
  for (let i = 1; i <= rows; i++) {
    const v = [String(i * 10), "1000", "20", "[1, 2]"];
    if (i === bad) v[k] = value;
    lines.push(
      `{"timestamp": ${v[0]}, "input_length": ${v[1]}, "output_length": ${
        v[2]
      }, "hash_ids": ${v[3]}}`,
    );
  }
  return {
    file: "t.jsonl",
    text: lines.join("\n") + "\n",
    line: bad,
    field: keys[k],
    value,
  };
}

/**
 * `tries` corrupted traces (half CSV, half JSONL), each read under both policies.
 */
export async function traceFamily(
  tries: number,
  seed: number,
): Promise<Family> {
  const fam: Family = { name: "bad traces", tries: 0, failures: [] };
  const r = rng(seed);
  const dir = await Deno.makeTempDir({ prefix: "tokentrace-badtrace-" });
  const rows = 8;
  for (let i = 0; i < tries; i++) {
    const c = i % 2 === 0 ? azureCase(r, rows) : mooncakeCase(r, rows);
    const path = `${dir}/${i}-${c.file}`;
    await Deno.writeTextFile(path, c.text);
    const what = `${c.file} line ${c.line} ${c.field}=${c.value}`;
    fam.tries++;
    try {
      const w = await readTrace(path);
      fam.failures.push(
        `${what}: accepted (${w.requests.length} requests), expected an error`,
      );
    } catch (e) {
      const loc = e instanceof TraceError ? e.location : undefined;
      // A bad cell can make the row unparseable as a whole: then no field is named.
      if (
        !loc || loc.line !== c.line ||
        (loc.field !== undefined && loc.field !== c.field) ||
        !(e as Error).message.startsWith(`Trace "${path}", line ${c.line}`)
      ) {
        fam.failures.push(
          `${what}: ${(e as Error).name}: ${(e as Error).message}`,
        );
      }
    }
    fam.tries++;
    try {
      const w = await readTrace(path, { onBadRow: "skip" });
      if (
        w.skipped.count !== 1 || w.requests.length !== rows - 1 ||
        w.skipped.examples[0]?.line !== c.line
      ) {
        fam.failures.push(
          `${what} (skip): ${w.requests.length} requests, ${w.skipped.count} skipped (${
            JSON.stringify(w.skipped.examples[0])
          })`,
        );
      }
    } catch (e) {
      fam.failures.push(`${what} (skip): ${(e as Error).message}`);
    }
  }
  await Deno.remove(dir, { recursive: true });
  return fam;
}

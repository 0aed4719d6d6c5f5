/**
 * The error-message rule of the house style, as a check (`deno task check` runs it): the message
 * of every `new <Name>Error(...)` in the source folders starts with a capital letter (or with a
 * flag, a quoted name, an interpolated value or a code name such as `createApp():`, which name
 * the subject as it is spelt) and has no trailing period. Only messages written as literals are
 * judged (what is computed at run time is not), and not those quoted in comments. That a
 * message names the bad value is left to review and to the tests, which assert exact messages.
 *
 * `deno run --allow-read tests/_error_style.ts` prints each violation as `file:line: message`
 * and exits 1 when there is one.
 *
 * @module
 */
import { join, relative } from "node:path";

/** One message that breaks the rule. */
export interface ErrorStyleViolation {
  /** 1-based line of the `new ...Error(`. */
  line: number;
  /** The message as written (string parts only; `${...}` kept as written). */
  message: string;
  /** Which part of the rule it breaks. */
  rule: "capital" | "period";
}

/** Folders whose `.ts` files are judged. */
export const ERROR_STYLE_FOLDERS: readonly string[] = [
  "harness",
  "adapters",
  "reports",
  "workloads",
];

/**
 * A first character that may open a message: a capital letter, a digit, a flag (`--rate`), a
 * quoted or backticked name, or an interpolation (`${file}: ...`).
 */
const OPENERS = /^[A-Z0-9\-"'`$\[(<]/;

/**
 * A code name that opens a message about misuse of an API (`maxNewTokens: expected ...`,
 * `createApp(): give ...`): a name is written as it is spelt, so it keeps its lower case.
 */
const CODE_NAME = /^[a-z_]\w*(?:\.\w+)*(?:\(\)(?=[ :])|:)/;

interface Literal {
  start: number;
  end: number;
  text: string;
}

/** Reads the string or template literal opening at `i`; returns it and the index after it. */
function readLiteral(src: string, i: number): Literal {
  const quote = src[i];
  let j = i + 1;
  let text = "";
  while (j < src.length && src[j] !== quote) {
    if (src[j] === "\\") {
      text += src.slice(j, j + 2);
      j += 2;
    } else if (quote === "`" && src.startsWith("${", j)) {
      const close = skipBalanced(src, j + 1, "{", "}");
      text += src.slice(j, close);
      j = close;
    } else {
      text += src[j++];
    }
  }
  return { start: i, end: j + 1, text };
}

/** The index after the bracket that closes the one at `i`, skipping literals and comments. */
function skipBalanced(
  src: string,
  i: number,
  open: string,
  close: string,
): number {
  let depth = 0;
  let j = i;
  while (j < src.length) {
    const c = src[j];
    if (c === '"' || c === "'" || c === "`") {
      j = readLiteral(src, j).end;
      continue;
    }
    if (src.startsWith("//", j)) {
      j = src.indexOf("\n", j);
      if (j < 0) return src.length;
      continue;
    }
    if (src.startsWith("/*", j)) {
      j = src.indexOf("*/", j) + 2;
      if (j < 2) return src.length;
      continue;
    }
    if (c === open) depth++;
    else if (c === close && --depth === 0) return j + 1;
    j++;
  }
  return src.length;
}

/**
 * The violations in one source text: for each `new XError(` whose first argument starts with a
 * literal, the first literal must open with a capital (see {@linkcode OPENERS}), and when the
 * argument ends with a literal, that one must not end with a period.
 *
 * @example
 * ```ts
 * import { errorStyleViolations } from "./_error_style.ts";
 * const v = errorStyleViolations('throw new Error("bad value.");');
 * console.log(v.map((x) => x.rule)); // ["capital", "period"]
 * ```
 */
export function errorStyleViolations(src: string): ErrorStyleViolation[] {
  const out: ErrorStyleViolation[] = [];
  const re = /\bnew\s+(?:[A-Z]\w*)?Error\s*\(/g;
  for (const m of src.matchAll(re)) {
    // Skip matches inside comments: a doc example may quote the runtime's own messages.
    const lineStart = src.lastIndexOf("\n", m.index) + 1;
    const before = src.slice(lineStart, m.index);
    if (before.includes("//") || /^\s*\*/.test(before)) continue;
    let j = m.index + m[0].length;
    while (/\s/.test(src[j] ?? "")) j++;
    if (!['"', "'", "`"].includes(src[j])) continue;
    // The first argument: literals joined by `+` (anything else ends the judged part).
    const parts: Literal[] = [];
    let k = j;
    let endsWithLiteral = false;
    for (;;) {
      const lit = readLiteral(src, k);
      parts.push(lit);
      k = lit.end;
      while (/\s/.test(src[k] ?? "")) k++;
      if (src[k] === "," || src[k] === ")") {
        endsWithLiteral = true;
        break;
      }
      if (src[k] !== "+") break;
      k++;
      while (/\s/.test(src[k] ?? "")) k++;
      if (!['"', "'", "`"].includes(src[k])) {
        // `"..." + expr + "..."`: find the last literal of the argument, if it ends with one.
        const argEnd = argumentEnd(src, k);
        const tail = /(["'`])((?:\\.|(?!\1)[^\\])*)\1\s*$/s.exec(
          src.slice(k, argEnd),
        );
        if (tail) {
          parts.push({ start: 0, end: 0, text: tail[2] });
          endsWithLiteral = true;
        }
        break;
      }
    }
    const message = parts.map((p) => p.text).join("");
    const line = src.slice(0, m.index).split("\n").length;
    const first = parts[0].text;
    if (!OPENERS.test(first) && !CODE_NAME.test(first)) {
      out.push({ line, message, rule: "capital" });
    }
    if (endsWithLiteral && /[^.]\.$/.test(parts[parts.length - 1].text)) {
      out.push({ line, message, rule: "period" });
    }
  }
  return out;
}

/** The index of the `,` or `)` that ends the argument starting at `i` (depth 0). */
function argumentEnd(src: string, i: number): number {
  let j = i;
  while (j < src.length) {
    const c = src[j];
    if (c === '"' || c === "'" || c === "`") j = readLiteral(src, j).end;
    else if (c === "(") j = skipBalanced(src, j, "(", ")");
    else if (c === "[") j = skipBalanced(src, j, "[", "]");
    else if (c === "{") j = skipBalanced(src, j, "{", "}");
    else if (c === "," || c === ")") return j;
    else j++;
  }
  return j;
}

async function* sourceFiles(root: string, dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(join(root, dir))) {
    const rel = join(dir, e.name);
    if (e.isDirectory) yield* sourceFiles(root, rel);
    else if (e.isFile && e.name.endsWith(".ts")) yield rel;
  }
}

/** Every violation under {@linkcode ERROR_STYLE_FOLDERS} of `root`, as `file:line: ...` lines. */
export async function checkErrorStyle(root: string): Promise<string[]> {
  const lines: string[] = [];
  for (const folder of ERROR_STYLE_FOLDERS) {
    for await (const f of sourceFiles(root, folder)) {
      const src = await Deno.readTextFile(join(root, f));
      for (const v of errorStyleViolations(src)) {
        const why = v.rule === "capital"
          ? "starts without a capital letter"
          : "ends with a period";
        lines.push(
          `${
            relative(root, join(root, f))
          }:${v.line}: error message ${why}: ${v.message}`,
        );
      }
    }
  }
  return lines;
}

if (import.meta.main) {
  const root = new URL("../", import.meta.url).pathname;
  const found = await checkErrorStyle(root);
  for (const l of found) console.error(l);
  if (found.length > 0) {
    console.error(
      `${found.length} error message(s) break the house style (a capital first, no trailing period)`,
    );
    Deno.exit(1);
  }
}

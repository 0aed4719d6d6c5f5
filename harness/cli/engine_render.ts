/**
 * Renderers of the engine commands' results to text or JSON (the CLI prints what they return).
 *
 * @module
 */
import type { GenerateResult, VerifyReport } from "./engine_actions.ts";

/** Output format of the renderers. */
export type RenderFormat = "text" | "json";

/**
 * Renders a {@link GenerateResult}: ids, then timing (text), or the whole result (JSON).
 *
 * @example
 * ```ts
 * import { renderGenerate } from "./engine_render.ts";
 * console.log(renderGenerate({
 *   model: "preset:tiny", device: "cpu", dtype: "f32", promptIds: [1], ids: [5, 6],
 *   finishReason: "length", timing: { loadMs: 1, firstTokenMs: 2, totalMs: 3, tokensPerS: 666.7 },
 * }, "text").split("\n")[0]); // ids: 5,6
 * ```
 */
export function renderGenerate(
  r: GenerateResult,
  format: RenderFormat,
): string {
  if (format === "json") return JSON.stringify(r, null, 2);
  const t = r.timing;
  return [
    `ids: ${r.ids.join(",")}`,
    `model ${r.model} on ${r.device} (${r.dtype}): ${r.promptIds.length} prompt + ${r.ids.length} new tokens, finish ${r.finishReason}`,
    `load ${t.loadMs.toFixed(0)} ms, first token ${
      t.firstTokenMs.toFixed(1)
    } ms, total ${t.totalMs.toFixed(1)} ms, ${t.tokensPerS.toFixed(1)} tok/s`,
  ].join("\n");
}

/**
 * Renders a {@link VerifyReport}: one line per prompt and a verdict (text), or JSON.
 *
 * @example
 * ```ts
 * import { renderVerify } from "./engine_render.ts";
 * const text = renderVerify({
 *   model: "m", device: "cpu", dtype: "f32", tolerance: 1e-3, pass: true,
 *   cases: [{ promptTokens: 1, lastLogitsRelRms: 1e-7, lastLogitsMaxAbs: 1e-6, argmaxMatches: 1,
 *     greedyFirstMismatch: -1, greedyExpected: [3], greedyGot: [3], pass: true }],
 * }, "text");
 * console.log(text.split("\n").at(-1)); // PASS: 1 of 1 prompts
 * ```
 */
export function renderVerify(r: VerifyReport, format: RenderFormat): string {
  if (format === "json") return JSON.stringify(r, null, 2);
  const lines = [
    `verify ${r.model} on ${r.device} (${r.dtype}), tolerance ${r.tolerance} relative RMS`,
    "case  prompt  last-logits rel-RMS  max-abs     argmax       greedy",
  ];
  r.cases.forEach((c, i) => {
    const greedy = c.greedyFirstMismatch === -1
      ? `${c.greedyExpected.length}/${c.greedyExpected.length} equal`
      : `differs at ${c.greedyFirstMismatch} (expected ${
        c.greedyExpected[c.greedyFirstMismatch]
      }, got ${c.greedyGot[c.greedyFirstMismatch]})`;
    lines.push(
      `${String(i).padEnd(6)}${String(c.promptTokens).padEnd(8)}${
        c.lastLogitsRelRms.toExponential(2).padEnd(21)
      }${c.lastLogitsMaxAbs.toExponential(2).padEnd(12)}${
        // Room for "65536/65536" and a space.
        `${c.argmaxMatches}/${c.promptTokens} `.padEnd(13)}${greedy}${
        c.pass ? "" : "  FAIL"
      }`,
    );
  });
  const ok = r.cases.filter((c) => c.pass).length;
  lines.push(`${r.pass ? "PASS" : "FAIL"}: ${ok} of ${r.cases.length} prompts`);
  return lines.join("\n");
}

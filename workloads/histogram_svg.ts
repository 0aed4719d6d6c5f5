/**
 * An SVG picture of a trace for `workloads inspect --svg`: requests per second over time and
 * histograms of input and output lengths. Self-contained SVG text (no scripts, no fonts to
 * fetch), so it opens offline in any browser.
 *
 * @module
 */
import type { TraceRequest } from "./base/request.ts";

const W = 720, H = 200, PAD = 44;

/**
 * Renders the three panels of a request stream as one SVG document.
 *
 * @example
 * ```ts
 * import { traceSvg } from "./histogram_svg.ts";
 * const svg = traceSvg([{ id: "0", arrivalMs: 0, inputTokens: 10, outputTokens: 2 }], "t.csv");
 * console.log(svg.startsWith("<svg")); // true
 * ```
 */
export function traceSvg(
  requests: readonly TraceRequest[],
  title: string,
): string {
  let spanS = 0;
  for (const r of requests) spanS = Math.max(spanS, r.arrivalMs / 1000);
  const perSecond = new Array(Math.floor(spanS) + 1).fill(0);
  for (const r of requests) perSecond[Math.floor(r.arrivalMs / 1000)]++;
  const panels = [
    panel("requests per 1 s bin over time (s)", perSecond, 0, 1, 0),
    lengthPanel("input tokens", requests.map((r) => r.inputTokens), 1),
    lengthPanel("output tokens", requests.map((r) => r.outputTokens), 2),
  ];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${
    3 * H + 30
  }" font-family="sans-serif" font-size="11">
<title>${escape(title)}</title>
<text x="${PAD}" y="18" font-size="13">${
    escape(title)
  }: ${requests.length} requests over ${spanS.toFixed(1)} s</text>
${panels.join("\n")}
</svg>
`;
}

/** A histogram of lengths in 40 equal-width bins. */
function lengthPanel(label: string, values: number[], row: number): string {
  if (values.length === 0) return panel(label, [], 0, 1, row);
  let lo = Infinity, hi = -Infinity;
  for (const v of values) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const width = Math.max(1, Math.ceil((hi - lo + 1) / 40));
  const bins = new Array(Math.floor((hi - lo) / width) + 1).fill(0);
  for (const v of values) bins[Math.floor((v - lo) / width)]++;
  return panel(`${label} (count per bin of ${width})`, bins, lo, width, row);
}

/** Bars of `counts`, bin k covering x0 + k*width. */
function panel(
  label: string,
  counts: number[],
  x0: number,
  width: number,
  row: number,
): string {
  const top = 30 + row * H;
  const plotW = W - 2 * PAD, plotH = H - 60;
  const max = counts.reduce((m, c) => Math.max(m, c), 1);
  const bw = plotW / Math.max(1, counts.length);
  const bars = counts.map((c, k) => {
    const h = (c / max) * plotH;
    return `<rect x="${(PAD + k * bw).toFixed(2)}" y="${
      (top + 20 + plotH - h).toFixed(2)
    }" width="${Math.max(0.5, bw - 0.5).toFixed(2)}" height="${
      h.toFixed(2)
    }" fill="#4c78a8"/>`;
  }).join("");
  const xEnd = x0 + counts.length * width;
  return `<g>
<text x="${PAD}" y="${top + 12}">${escape(label)}; max ${max}</text>
<line x1="${PAD}" y1="${top + 20 + plotH}" x2="${PAD + plotW}" y2="${
    top + 20 + plotH
  }" stroke="#333"/>
${bars}
<text x="${PAD}" y="${top + 34 + plotH}">${x0}</text>
<text x="${PAD + plotW}" y="${
    top + 34 + plotH
  }" text-anchor="end">${xEnd}</text>
</g>`;
}

function escape(s: string): string {
  return s.replace(
    /[<>&"]/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!,
  );
}

/**
 * The live progress line of a run: rewritten in place on a terminal, a periodic line otherwise.
 *
 * @module
 */
import type { ReplayProgress } from "../runner.ts";

/**
 * Formats progress counters as one line, cut to `columns`. `tokensPerS` is the recent token
 * rate (default: the average since the start).
 */
export function formatProgress(
  p: ReplayProgress,
  columns = 100,
  tokensPerS?: number,
): string {
  const s = Number(p.elapsedNs) / 1e9;
  const tps = tokensPerS ?? (s > 0 ? p.tokens / s : 0);
  const line =
    `[${
      s.toFixed(1)
    }s] sent ${p.sent}/${p.planned}  in flight ${p.inFlight}  ` +
    `done ${p.done}  errors ${p.errors}  tokens ${p.tokens} (${
      tps.toFixed(0)
    }/s)`;
  return line.length > columns ? line.slice(0, columns - 1) + "…" : line;
}

/** Writes progress lines to stderr; `done()` ends the line. */
export class ProgressLine {
  private readonly tty = Deno.stderr.isTerminal();
  private lastPrint = 0;
  private readonly encoder = new TextEncoder();
  /** Recent (elapsed s, tokens) samples: the token rate shown is over the last ~5 s. */
  private readonly samples: [number, number][] = [];

  /** Tokens per second over the last ~5 s of updates. */
  private rate(p: ReplayProgress): number {
    const now = Number(p.elapsedNs) / 1e9;
    this.samples.push([now, p.tokens]);
    while (this.samples.length > 2 && now - this.samples[1][0] >= 5) {
      this.samples.shift();
    }
    const [t0, k0] = this.samples[0];
    return now > t0 ? (p.tokens - k0) / (now - t0) : 0;
  }

  /** Takes a progress update (call as often as you like). */
  update(p: ReplayProgress): void {
    const tps = this.rate(p);
    if (this.tty) {
      const cols = (() => {
        try {
          return Deno.consoleSize().columns;
        } catch {
          return 100;
        }
      })();
      this.write(`\r\x1b[2K${formatProgress(p, cols, tps)}`);
    } else if (performance.now() - this.lastPrint >= 10_000) {
      this.lastPrint = performance.now();
      this.write(formatProgress(p, 100, tps) + "\n");
    }
  }

  /** Ends the progress display. */
  done(p?: ReplayProgress): void {
    if (this.tty) {
      this.write(p ? `\r\x1b[2K${formatProgress(p)}\n` : "\n");
    } else if (p) this.write(formatProgress(p) + "\n");
  }

  private write(s: string): void {
    Deno.stderr.writeSync(this.encoder.encode(s));
  }
}

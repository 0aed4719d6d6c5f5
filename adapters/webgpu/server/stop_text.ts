/**
 * Stop strings over streamed text: text that could still become a stop string is held back, and
 * the text before the first stop string is all that is ever emitted.
 *
 * @module
 */

/**
 * Incremental stop-string matcher.
 *
 * @example
 * ```ts
 * import { StopText } from "./stop_text.ts";
 * const s = new StopText(["\n\n"]);
 * console.log(JSON.stringify([s.push("ab\n"), s.push("\ncd"), s.stopped])); // ["ab","",true]
 * ```
 */
export class StopText {
  private held = "";
  /** Whether a stop string was found (nothing more is emitted). */
  stopped = false;
  private readonly keep: number;

  constructor(private readonly stops: readonly string[]) {
    this.keep = Math.max(0, ...stops.map((s) => s.length - 1));
  }

  /** Adds text; returns the text safe to emit now. */
  push(text: string): string {
    if (this.stopped) return "";
    const all = this.held + text;
    let cut = -1;
    for (const s of this.stops) {
      if (s.length === 0) continue;
      const i = all.indexOf(s);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      this.stopped = true;
      this.held = "";
      return all.slice(0, cut);
    }
    const safe = Math.max(0, all.length - this.keep);
    this.held = all.slice(safe);
    return all.slice(0, safe);
  }

  /** The held-back text at the end of the stream. */
  flush(): string {
    const h = this.stopped ? "" : this.held;
    this.held = "";
    return h;
  }
}

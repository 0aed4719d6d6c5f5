/**
 * A FIFO counting semaphore: the concurrency cap of a run.
 *
 * @module
 */

/** At most `size` holders at once; waiters are served in arrival order. */
export class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  /** Largest number of simultaneous holders seen. */
  peak = 0;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`Concurrency must be an integer >= 1, got ${size}`);
    }
    this.free = size;
  }

  /** Resolves with true when a slot is held, or false if `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    if (this.free > 0) {
      this.free--;
      this.peak = Math.max(this.peak, this.size - this.free);
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const grant = () => {
        signal?.removeEventListener("abort", onAbort);
        this.peak = Math.max(this.peak, this.size - this.free);
        resolve(true);
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) this.waiting.splice(i, 1);
        resolve(false);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiting.push(grant);
    });
  }

  /** Gives a slot back (to the longest waiter, if any). */
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

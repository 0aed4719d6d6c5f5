/**
 * An unbounded single-consumer queue read as an async iterator (the engine pushes, one consumer
 * pulls); it ends after `close()` once drained.
 *
 * @module
 */

/**
 * A push/pull queue.
 *
 * @example
 * ```ts
 * import { EventQueue } from "./_event_queue.ts";
 * const q = new EventQueue<number>();
 * q.push(1);
 * q.close();
 * for await (const v of q) console.log(v); // 1
 * ```
 */
export class EventQueue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private waiter: (() => void) | null = null;
  private closed = false;

  /** Appends a value (ignored after close). */
  push(v: T): void {
    if (this.closed) return;
    this.items.push(v);
    this.wake();
  }

  /** Ends the iteration once the values already pushed are read. */
  close(): void {
    this.closed = true;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      while (this.items.length > 0) yield this.items.shift()!;
      if (this.closed) return;
      await new Promise<void>((r) => (this.waiter = r));
    }
  }
}

/**
 * A free list of KV-cache pages (PAGE_SIZE tokens each). The paged block manager with prefix
 * sharing builds on this in the scheduler; generation of one sequence only needs allocate/free.
 *
 * @module
 */

/**
 * Hands out page ids in [0, numPages), lowest first.
 *
 * @example
 * ```ts
 * import { PagePool } from "./kv_pages.ts";
 * const pool = new PagePool(4);
 * const a = pool.allocate(3);
 * pool.free(a);
 * console.log(a, pool.available); // [0, 1, 2] 4
 * ```
 */
export class PagePool {
  private readonly freeIds: number[];

  constructor(readonly numPages: number) {
    this.freeIds = Array.from({ length: numPages }, (_, i) => numPages - 1 - i);
  }

  /** Pages not allocated. */
  get available(): number {
    return this.freeIds.length;
  }

  /** Takes `n` pages; throws when fewer are free. */
  allocate(n: number): number[] {
    if (n > this.freeIds.length) {
      throw new Error(
        `KV cache: expected ${n} free pages, ${this.freeIds.length} of ${this.numPages} are free`,
      );
    }
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(this.freeIds.pop()!);
    return out;
  }

  /** Returns pages to the pool. */
  free(ids: readonly number[]): void {
    for (let i = ids.length - 1; i >= 0; i--) this.freeIds.push(ids[i]);
  }
}

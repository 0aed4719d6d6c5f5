/**
 * Resolving what a user compares (`compare --baseline/--candidate`): a run, or the group of
 * repeated runs it belongs to (`run --repeat N` records N runs under one group and one label).
 *
 * @module
 */
import { resolveRun } from "./resolve_run.ts";
import type { ReportSource } from "./snapshot.ts";

/** One side of a comparison: the runs it stands for. */
export interface ComparedSide {
  /** The reference as given (a label, a run id or a group id). */
  name: string;
  /** The group, else `null` (a single run). */
  groupId: string | null;
  /** Its runs, in group order (one id for a single run). */
  runIds: string[];
}

/**
 * Resolves `ref` to a side: a group id; else a run (id, label or prefix, as `resolveRun`) and,
 * unless `single` is set, every run of the group it belongs to.
 *
 * @example
 * ```ts
 * import { Store } from "../../harness/store.ts";
 * import { resolveSide } from "./resolve_group.ts";
 * const path = await Deno.makeTempFile({ suffix: ".duckdb" });
 * await Deno.remove(path);
 * const store = await Store.open(path);
 * await store.createGroup({ groupId: "g1", label: "base", kind: "repeat", repeats: 2 });
 * for (const index of [0, 1]) {
 *   await store.createRun({ runId: `r${index}`, label: "base", backend: "openai",
 *     toolVersion: "0", clockOriginUnixNs: BigInt(index), group: { groupId: "g1", index } });
 * }
 * console.log(await resolveSide(store, "base")); // { name: "base", groupId: "g1", runIds: [ "r0", "r1" ] }
 * store.close();
 * ```
 */
export async function resolveSide(
  source: ReportSource,
  ref: string,
  single = false,
): Promise<ComparedSide> {
  const groupRuns = async (groupId: string) =>
    (await source.query(
      `select run_id from runs where group_id = $1 order by group_index, started_at, run_id`,
      [groupId],
    )).map((r) => r.run_id as string);
  if (!single) {
    const byGroup = await groupRuns(ref);
    if (byGroup.length > 0) return { name: ref, groupId: ref, runIds: byGroup };
  }
  const run = await resolveRun(source, ref);
  if (single) return { name: ref, groupId: null, runIds: [run.runId] };
  const g = await source.query(`select group_id from runs where run_id = $1`, [
    run.runId,
  ]);
  const groupId = g[0]?.group_id;
  if (groupId === null || groupId === undefined) {
    return { name: ref, groupId: null, runIds: [run.runId] };
  }
  return {
    name: ref,
    groupId: String(groupId),
    runIds: await groupRuns(String(groupId)),
  };
}

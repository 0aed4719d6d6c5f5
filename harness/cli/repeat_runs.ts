/**
 * `tokentrace run --repeat N` (and suite repeats): N runs of one configuration recorded one
 * after another under one group (`run_groups`), so that `compare` can see run-to-run variation.
 * Every run is an ordinary run; all but the last print only their headline.
 *
 * @module
 */
import { Store } from "../store.ts";
import type { RunCommandResult, RunConfig } from "./run_config.ts";
import { EXIT } from "./exit_codes.ts";

/** What a group of repeated runs produced. */
export interface RepeatResult extends RunCommandResult {
  groupId: string;
  runIds: string[];
}

/**
 * Records `cfg.repeat` runs of `cfg` under a new group, calling `runOnce` for each; stops early
 * when a run is stopped by a signal. The exit code is the first non-zero one, else 0.
 */
export async function runRepeated(
  cfg: RunConfig,
  runOnce: (cfg: RunConfig) => Promise<RunCommandResult>,
): Promise<RepeatResult> {
  const groupId = crypto.randomUUID();
  const store = await Store.open(cfg.db);
  try {
    await store.createGroup({
      groupId,
      label: cfg.label,
      kind: cfg.grouping?.suite === undefined ? "repeat" : "suite",
      repeats: cfg.repeat,
    });
  } finally {
    store.close();
  }
  const runIds: string[] = [];
  let last: RunCommandResult | undefined;
  let exitCode = 0;
  for (let index = 0; index < cfg.repeat; index++) {
    if (!cfg.quiet || cfg.json) {
      console.error(
        `Run ${index + 1} of ${cfg.repeat} (group ${groupId}${
          cfg.label === undefined ? "" : `, label "${cfg.label}"`
        })`,
      );
    }
    last = await runOnce({
      ...cfg,
      summary: index === cfg.repeat - 1 ? cfg.summary : "headline",
      grouping: { ...cfg.grouping, group: { groupId, index } },
    });
    runIds.push(last.runId);
    if (exitCode === 0) exitCode = last.exitCode;
    if (last.exitCode === EXIT.sigint || last.exitCode === EXIT.sigterm) break;
  }
  return { ...last!, exitCode, groupId, runIds };
}

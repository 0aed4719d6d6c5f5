/**
 * The closed loop: N users, each sending its next request after the previous reply plus think
 * time; users start together or spread over the ramp. Users of every thread take requests
 * from one cursor, in plan order.
 *
 * @module
 */
import { msToNs } from "./clock.ts";
import { userStartOffsetNs } from "./load_plan.ts";
import { sleepUntil } from "./pacer.ts";
import type { ClosedPace, LoadStrategy } from "./run_context.ts";

/** Plays this thread's users until the heads run out or sending stops. */
export const closedLoop: LoadStrategy<ClosedPace> = {
  async sendAll({ clock, load, heads, startNs, pace, sender, sending }) {
    const user = async (u: number) => {
      const startAt = startNs + userStartOffsetNs(u, load.users!, load.rampUp);
      if (!(await sleepUntil(clock, startAt, sending))) return;
      while (!sending.aborted) {
        const i = pace.claim();
        if (i >= heads.length) return;
        await sender.sendTurns(heads[i], clock.nowNs());
        if (load.thinkMs) {
          const until = clock.nowNs() + msToNs(load.thinkMs);
          if (!(await sleepUntil(clock, until, sending))) return;
        }
      }
    };
    await Promise.all(pace.users.map((u) => user(u)));
  },
};

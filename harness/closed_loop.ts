/**
 * The closed loop: N users, each sending its next request after the previous reply plus think
 * time; users start together or spread over the ramp. Users of every thread take requests
 * from one cursor, in plan order.
 *
 * @module
 */
import { msToNs } from "./clock.ts";
import { userStartOffsetNs } from "./load_plan.ts";
import { sleepUntilPlanned } from "./pacer.ts";
import type { ClosedPace, LoadStrategy } from "./run_context.ts";

/** Plays this thread's users until the heads run out or sending stops. */
export const closedLoop: LoadStrategy<ClosedPace> = {
  async sendAll(
    { clock, load, heads, startNs, pace, sender, sending, mayStart },
  ) {
    const user = async (u: number) => {
      let at = startNs + userStartOffsetNs(u, load.users!, load.rampUp);
      if (!(await sleepUntilPlanned(clock, at, sending, mayStart))) return;
      while (mayStart(at)) {
        const i = pace.claim();
        if (i >= heads.length) return;
        await sender.sendTurns(heads[i], at);
        at = clock.nowNs() + msToNs(load.thinkMs ?? 0);
        if (!(await sleepUntilPlanned(clock, at, sending, mayStart))) return;
      }
    };
    await Promise.all(pace.users.map((u) => user(u)));
  },
};

/** The purge function's work, apart from its wiring (handler.ts) so that tests run it on a local table. */
import { DAY_MS, type PurgeReport, type PurgeTarget, purgeDeleted } from '../../shared/store/purge/purge.js';

/** Room for the run or experiment in hand to finish (a 10,000-object run is ten list + delete pairs). */
export const STOP_BEFORE_TIMEOUT_MS = 120_000;

export interface PurgeContext {
  getRemainingTimeInMillis(): number;
}

export function createPurgeHandler(target: PurgeTarget, afterDays: number, clock: () => number = Date.now) {
  return async (_event: unknown, context: PurgeContext): Promise<PurgeReport> => {
    const report = await purgeDeleted(target, {
      olderThanMs: afterDays * DAY_MS,
      now: clock(),
      deadline: clock() + context.getRemainingTimeInMillis() - STOP_BEFORE_TIMEOUT_MS,
    });
    // One structured line per day: what went, what was kept and why, and whether tomorrow continues.
    console.log(JSON.stringify({ message: 'purge', afterDays, ...report }));
    return report;
  };
}

/** Loading the runs to compare: one runs/search per experiment, runs/get for any it did not find. */
import { ApiError, api, type Run } from '../lib/api.js';
import { runIdFilter } from './diff.js';

export interface LoadedRuns {
  /** In the order the URL names them. */
  runs: Run[];
  /** Ids that no longer exist (or are not visible to this token). */
  missing: string[];
}

export async function loadCompareRuns(
  experimentIds: readonly string[],
  runIds: readonly string[],
  signal: AbortSignal,
): Promise<LoadedRuns> {
  const found = new Map<string, Run>();
  if (experimentIds.length > 0 && runIds.length > 0) {
    let pageToken: string | undefined;
    do {
      const page = await api.searchRuns(
        {
          experiment_ids: [...experimentIds],
          filter: runIdFilter(runIds),
          run_view_type: 'ALL',
          max_results: 1000,
          page_token: pageToken,
        },
        signal,
      );
      for (const run of page.runs ?? []) found.set(run.info.run_id, run);
      pageToken = page.next_page_token || undefined;
    } while (pageToken);
  }
  const missing: string[] = [];
  await Promise.all(
    runIds
      .filter((id) => !found.has(id))
      .map(async (id) => {
        try {
          found.set(id, (await api.getRun(id)).run);
        } catch (error) {
          if (error instanceof ApiError && error.status === 404) missing.push(id);
          else throw error;
        }
      }),
  );
  signal.throwIfAborted();
  return { runs: runIds.flatMap((id) => found.get(id) ?? []), missing };
}

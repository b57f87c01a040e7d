/** The run page's calls that lib/api.ts has no wrapper for. */
import { api, type ModelVersion, type Run } from '../lib/api.js';
import { searchLiteral } from '../lib/format.js';
import { TAG } from './run-model.js';

/** Child runs (by `mlflow.parentRunId`) in the parent's experiment, active ones, oldest first, up to `limit`. */
export async function childRuns(experimentId: string, runId: string, limit = 200, signal?: AbortSignal) {
  const answer = await api.searchRuns(
    {
      experiment_ids: [experimentId],
      filter: `tags.${TAG.parentRunId} = ${searchLiteral(runId)}`,
      run_view_type: 'ACTIVE_ONLY',
      max_results: limit,
      order_by: ['attributes.start_time ASC'],
    },
    signal,
  );
  return { runs: answer.runs ?? ([] as Run[]), more: answer.next_page_token !== undefined };
}

/** Registered model versions whose source run is this run. */
export async function versionsOfRun(runId: string): Promise<ModelVersion[]> {
  const answer = await api.searchModelVersions(`run_id = ${searchLiteral(runId)}`);
  return answer.model_versions ?? [];
}

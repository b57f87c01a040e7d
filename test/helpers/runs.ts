import { isLater } from '../../shared/domain/runs/metrics.js';
import type { KeyedPoint, LatestMetric, Run, RunRepository } from '../../shared/domain/runs/model.js';
import { type RunSearch, searchRuns } from '../../shared/domain/runs/search.js';

/**
 * A run as RunService.create would make it (active, RUNNING, in experiment 1, nothing logged), with
 * `overrides` on top: for tests that write or search runs without going through the service.
 */
export function testRun(runId: string, overrides: Partial<Run> = {}): Run {
  return {
    runId,
    experimentId: '1',
    runName: `run-${runId}`,
    userId: '',
    status: 'RUNNING',
    startTime: 0,
    artifactUri: `mlflow-artifacts:/1/${runId}/artifacts`,
    lifecycleStage: 'active',
    params: {},
    tags: {},
    metrics: {},
    datasets: [],
    modelOutputs: [],
    modelInputs: [],
    ...overrides,
  };
}

/** A wide run's write: `count` keys with 40-character names from `first`, one point each. */
export const widePoints = (first: number, count: number, step: number, timestamp = step): KeyedPoint[] =>
  Array.from({ length: count }, (_, i) => ({
    key: `model.layers.${first + i}.attention.output.grad_norm`,
    step,
    timestamp,
    value: ((first + i) * 31 + step * 17 + timestamp) % 1009,
  }));

/** The latest point per key of everything logged, by MLflow's rule: what a run's metrics must say. */
export function latestOfLogged(points: readonly KeyedPoint[]): Record<string, LatestMetric> {
  const latest: Record<string, LatestMetric> = {};
  for (const { key, step, timestamp, value } of points) {
    if (isLater({ step, timestamp, value }, latest[key])) latest[key] = { key, step, timestamp, value };
  }
  return latest;
}

/** The page a search over every run of the experiment gives (a reference for the store's paths), each run read by key. */
export async function bruteForcePage(
  repo: Pick<RunRepository, 'listByExperiment' | 'get'>,
  query: RunSearch,
  experimentId: string,
) {
  const listed = await repo.listByExperiment(experimentId);
  const runs = await Promise.all(listed.map((run) => repo.get(run.runId)));
  return searchRuns(
    runs.filter((run) => run !== undefined),
    query,
  );
}

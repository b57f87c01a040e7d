import type { Run } from '../../shared/domain/runs/model.js';

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

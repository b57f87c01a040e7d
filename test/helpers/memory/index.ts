/** The tracking services wired to in-memory repositories, as functions/tracking/handler.ts wires them to DynamoDB. */
import { ExperimentService } from '../../../shared/domain/experiments/service.js';
import { LoggedModelService } from '../../../shared/domain/logged-models/service.js';
import { RunService } from '../../../shared/domain/runs/service.js';
import { MemoryExperimentRepository } from './experiments.js';
import { MemoryLoggedModelRepository } from './logged-models.js';
import { MemoryRunRepository } from './runs.js';

export { MemoryExperimentRepository, MemoryLoggedModelRepository, MemoryRunRepository };

export function memoryTracking(options: { now?: () => number; modelJsonLimit?: number } = {}) {
  const clock = options.now ?? (() => 1_700_000_000_000);
  const runRepo = new MemoryRunRepository();
  const experimentRepo = new MemoryExperimentRepository(() => runRepo.runs.values());
  const modelRepo = new MemoryLoggedModelRepository(options.modelJsonLimit);
  const experiments: ExperimentService = new ExperimentService(
    experimentRepo,
    { artifactRoot: 'mlflow-artifacts:/', allowClientArtifactLocation: false },
    clock,
    (experimentId, from, to) => runs.setLifecycleForExperiment(experimentId, from, to),
  );
  const models = new LoggedModelService(
    modelRepo,
    {
      getExperiment: (experimentId) => experiments.get(experimentId),
      runExists: async (runId) => (await runRepo.get(runId)) !== undefined,
    },
    clock,
  );
  const runs: RunService = new RunService(runRepo, experiments, models);
  return { experiments, runs, models, experimentRepo, runRepo, modelRepo };
}

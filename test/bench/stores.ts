/**
 * The services a benchmark drives directly (no HTTP), over one metered DynamoDB client: shared by the
 * tracking and search benchmarks so that both measure the same wiring the functions use.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ensureTable } from '../../local/stand-ins.js';
import { ExperimentService } from '../../shared/domain/experiments/service.js';
import { RunService } from '../../shared/domain/runs/service.js';
import { DynamoExperimentRepository } from '../../shared/store/experiments/repository.js';
import { DynamoRunRepository } from '../../shared/store/runs/repository.js';
import { type CapacityMeter, meteredDocumentClient } from './capacity.js';

export interface Services {
  doc: DynamoDBDocumentClient;
  meter: CapacityMeter;
  tableName: string;
  experiments: ExperimentService;
  runs: RunService;
  /** The repository under `runs`, for seeding steps the service has no bulk form of. */
  runRepository: DynamoRunRepository;
}

export async function services(endpoint: string, tableName: string): Promise<Services> {
  await ensureTable(endpoint, tableName);
  const { doc, meter } = meteredDocumentClient(endpoint);
  const experiments: ExperimentService = new ExperimentService(
    new DynamoExperimentRepository(doc, tableName),
    { artifactRoot: 'mlflow-artifacts:/', allowClientArtifactLocation: false },
    Date.now,
    (id, from, to) => runs.setLifecycleForExperiment(id, from, to),
  );
  const runRepository = new DynamoRunRepository(doc, tableName);
  const runs: RunService = new RunService(runRepository, experiments);
  return { doc, meter, tableName, experiments, runs, runRepository };
}

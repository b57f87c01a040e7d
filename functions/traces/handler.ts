/**
 * The traces function: OTLP span export, trace info, search, tags, assessments and deletes. It reads and
 * writes trace items in the table and span payloads under the bucket's `traces/` prefix only (its IAM
 * grant says the same: infra/stacks/api-stack.ts).
 */
import { TRACES_ROUTE_SPECS } from '../../shared/api/routes-traces.js';
import { loadConfig } from '../../shared/config.js';
import { ExperimentService } from '../../shared/domain/experiments/service.js';
import { TraceService } from '../../shared/domain/traces/service.js';
import { InvalidParameterValueError } from '../../shared/errors.js';
import { createDynamoClient } from '../../shared/store/clients.js';
import { createDocumentClient } from '../../shared/store/doc-commands.js';
import { DynamoExperimentRepository } from '../../shared/store/experiments/repository.js';
import { DynamoPermissionRepository } from '../../shared/store/permissions/repository.js';
import { DynamoRunReader } from '../../shared/store/runs/run-reader.js';
import { createS3Client } from '../../shared/store/s3-clients.js';
import { DynamoTraceRepository } from '../../shared/store/traces/repository.js';
import { S3SpanStore } from '../../shared/store/traces/span-store.js';
import { createHttpHandler } from '../middleware/http-handler.js';
import { createObservability } from '../middleware/observability.js';
import { grantCache } from '../middleware/permission-check.js';
import { ownerLookupOf } from '../middleware/resource-resolution.js';
import { createClientTracer } from '../middleware/tracing.js';
import { traceOperations } from './operations.js';

const config = loadConfig();
const observability = createObservability('traces');
if (!config.artifactBucket) throw new Error('Missing required environment variable CAIRN_ARTIFACT_BUCKET');
const capture = createClientTracer('traces');
const client = createDynamoClient(config, capture);
const doc = createDocumentClient(client);
const experiments = new ExperimentService(new DynamoExperimentRepository(doc, config.tableName), {
  artifactRoot: config.artifactRoot,
  allowClientArtifactLocation: config.allowClientArtifactLocation,
});
const runs = new DynamoRunReader(client, config.tableName);

/**
 * Experiment artifact locations never change once assigned, so a container remembers them for reads. An
 * experiment's lifecycle does change (delete, restore), so writes read it afresh: a traced call costs one
 * experiment read (at its export) and two trace writes, the issue's ≤ 3 DynamoDB calls.
 */
const MAX_CACHED_EXPERIMENTS = 1000;
const artifactLocations = new Map<string, string>();
function remember(experimentId: string, artifactLocation: string): void {
  if (!artifactLocations.has(experimentId) && artifactLocations.size >= MAX_CACHED_EXPERIMENTS) {
    const [oldest] = artifactLocations.keys();
    if (oldest !== undefined) artifactLocations.delete(oldest);
  }
  artifactLocations.set(experimentId, artifactLocation);
}
async function experimentArtifactLocation(experimentId: string): Promise<string> {
  const cached = artifactLocations.get(experimentId);
  if (cached !== undefined) return cached;
  const experiment = await experiments.get(experimentId);
  remember(experimentId, experiment.artifactLocation);
  return experiment.artifactLocation;
}
async function activeExperimentArtifactLocation(experimentId: string): Promise<string> {
  const experiment = await experiments.get(experimentId);
  remember(experimentId, experiment.artifactLocation);
  if (experiment.lifecycleStage !== 'active') {
    // MLflow's store (`_check_experiment_is_active`) answers the same on start_trace.
    throw new InvalidParameterValueError(
      `The experiment ${experimentId} must be in the 'active' state. Current state is ${experiment.lifecycleStage}.`,
    );
  }
  return experiment.artifactLocation;
}

const traceRepository = new DynamoTraceRepository(doc, config.tableName);
const traces = new TraceService({
  traces: traceRepository,
  spans: new S3SpanStore(createS3Client(config, capture), config.artifactBucket, config.artifactKeyPrefix),
  experimentArtifactLocation,
  activeExperimentArtifactLocation,
  runExperiment: async (runId) => (await runs.get(runId))?.experimentId,
  retentionDays: config.traceRetentionDays,
});

export const handler = createHttpHandler(
  'traces',
  TRACES_ROUTE_SPECS,
  traceOperations(traces),
  observability,
  {
    grants: grantCache(new DynamoPermissionRepository(doc, config.tableName)),
    // A trace's experiment, for the check when a grant makes the answer depend on it: one BatchGetItem
    // for a request's traces (the live ones; an expired trace resolves to nothing and the operation 404s).
    lookups: {
      // link-to-run is checked on its run's experiment: the run's identity, the read the service makes.
      runExperiments: ownerLookupOf((runId) => runs.get(runId)),
      traceExperiments: async (traceIds) =>
        new Map((await traceRepository.batchGet(traceIds)).map((info) => [info.traceId, info.experimentId])),
    },
  },
);

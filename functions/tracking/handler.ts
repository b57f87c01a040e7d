/**
 * The tracking function: experiments, runs, params, tags, metrics, run search and logged models, plus the
 * `/health` probe (open) and `/version` (behind a token like the rest). Clients and services are built once per container.
 */
import { TRACKING_ROUTE_SPECS } from '../../shared/api/routes-tracking.js';
import { invalidateGrants } from '../../shared/auth/permission-cache.js';
import { StoredResourceGrants } from '../../shared/auth/resource-grants.js';
import { loadConfig } from '../../shared/config.js';
import { ExperimentService } from '../../shared/domain/experiments/service.js';
import { LoggedModelService } from '../../shared/domain/logged-models/service.js';
import { experimentResource, registeredModelResource } from '../../shared/domain/permissions/resources.js';
import { PermissionService } from '../../shared/domain/permissions/service.js';
import { RunService } from '../../shared/domain/runs/service.js';
import { ResourceDoesNotExistError } from '../../shared/errors.js';
import { createDynamoClient } from '../../shared/store/clients.js';
import { createDocumentClient } from '../../shared/store/doc-commands.js';
import { DynamoExperimentRepository } from '../../shared/store/experiments/repository.js';
import { DynamoLoggedModelRepository } from '../../shared/store/logged-models/repository.js';
import { DynamoPrincipalDirectory } from '../../shared/store/permissions/principals.js';
import { DynamoPermissionRepository } from '../../shared/store/permissions/repository.js';
import { DynamoRegistryRepository } from '../../shared/store/registry/repository.js';
import { DynamoRunRepository } from '../../shared/store/runs/repository.js';
import { DynamoRunReader } from '../../shared/store/runs/run-reader.js';
import { createHttpHandler, textResponse } from '../middleware/http-handler.js';
import { createObservability } from '../middleware/observability.js';
import { grantCache } from '../middleware/permission-check.js';
import { ownerLookupOf } from '../middleware/resource-resolution.js';
import { createClientTracer } from '../middleware/tracing.js';
import { experimentOperations } from './experiments.js';
import { loggedModelOperations } from './logged-models.js';
import { experimentPermissionOperations } from './permissions.js';
import { runOperations } from './runs.js';

/**
 * What `GET /version` reports: the MLflow server whose protocols Cairn was recorded against and serves
 * (docs/reference traffic, test/contract). The stock client probes it before exporting trace spans and
 * uses OTLP `/v1/traces` from 3.4 on, which the traces function serves (functions/traces).
 */
export const MLFLOW_COMPATIBLE_VERSION = '3.11.2.dev0';

const config = loadConfig();
const observability = createObservability('tracking');
const client = createDynamoClient(config, createClientTracer('tracking'));
const doc = createDocumentClient(client);
// A principal's grants (issue 16): read by the per-request check, written by creates, renames and the
// permission endpoints.
const grants = new DynamoPermissionRepository(doc, config.tableName);
const experiments: ExperimentService = new ExperimentService(
  new DynamoExperimentRepository(doc, config.tableName),
  { artifactRoot: config.artifactRoot, allowClientArtifactLocation: config.allowClientArtifactLocation },
  Date.now,
  (experimentId, from, to): Promise<void> => runs.setLifecycleForExperiment(experimentId, from, to),
  // The creator's MANAGE on a new experiment (issue 16); a deleted experiment keeps its grants.
  new StoredResourceGrants(grants, undefined, (message, details) =>
    observability.logger.warn(message, details),
  ),
);
const runRepository = new DynamoRunRepository(doc, config.tableName);
const loggedModels = new LoggedModelService(new DynamoLoggedModelRepository(doc, config.tableName), {
  getExperiment: (experimentId) => experiments.get(experimentId),
  runExists: async (runId) => (await runRepository.get(runId)) !== undefined,
});
const runs: RunService = new RunService(runRepository, experiments, loggedModels);
const principals = new DynamoPrincipalDirectory(client, config.tableName);
const permissionService = new PermissionService({
  grants,
  principalScope: async (name) => (await principals.get(name))?.scope,
  // Registered models too: the web UI lists a model's grants through this function's permissions/list.
  resources: {
    experiment: experimentResource(experiments),
    registered_model: registeredModelResource(new DynamoRegistryRepository(doc, config.tableName)),
  },
  changed: invalidateGrants,
});
// The permission check's reads: a run's or logged model's experiment from its one item (projected), and an
// experiment's id by name for get-by-name.
const owners = new DynamoRunReader(client, config.tableName);
const permissions = {
  grants: grantCache(grants),
  lookups: {
    runExperiments: ownerLookupOf((runId) => owners.get(runId)),
    loggedModelExperiments: ownerLookupOf((modelId) => owners.getLoggedModel(modelId)),
    experimentIdByName: async (name: string) => {
      try {
        return (await experiments.getByName(name)).experimentId;
      } catch (error) {
        if (error instanceof ResourceDoesNotExistError) return undefined;
        throw error;
      }
    },
  },
};

export const handler = createHttpHandler(
  'tracking',
  TRACKING_ROUTE_SPECS,
  {
    health: async () => textResponse('OK'),
    version: async () => textResponse(MLFLOW_COMPATIBLE_VERSION),
    ...experimentOperations(experiments),
    ...runOperations(runs, observability),
    ...loggedModelOperations(loggedModels),
    ...experimentPermissionOperations(permissionService, permissions.grants),
  },
  observability,
  permissions,
);

/**
 * The artifacts function: MLflow's proxied-artifact protocol, answered with presigned S3 URLs, plus the
 * `artifacts/list` and `presigned-upload-url` RPCs, MLflow's root downloads (`get-artifact`,
 * `model-versions/get-artifact`) and the UI's upload. The only function that can touch the bucket.
 */

import type { S3Client } from '@aws-sdk/client-s3';
import { ARTIFACTS_ROUTE_SPECS } from '../../shared/api/routes-artifacts.js';
import { loadConfig } from '../../shared/config.js';
import { ArtifactService } from '../../shared/domain/artifacts/service.js';
import { S3ArtifactStore } from '../../shared/store/artifacts/artifact-store.js';
import { createDynamoClient } from '../../shared/store/clients.js';
import { createDocumentClient } from '../../shared/store/doc-commands.js';
import { DynamoPermissionRepository } from '../../shared/store/permissions/repository.js';
import { DynamoVersionSourceReader } from '../../shared/store/registry/version-reader.js';
import { DynamoRunReader } from '../../shared/store/runs/run-reader.js';
import { createPresignClients, createS3Client } from '../../shared/store/s3-clients.js';
import { createHttpHandler } from '../middleware/http-handler.js';
import { createObservability } from '../middleware/observability.js';
import { grantCache } from '../middleware/permission-check.js';
import { ownerLookupOf } from '../middleware/resource-resolution.js';
import { createClientTracer } from '../middleware/tracing.js';
import { artifactOperations } from './operations.js';

const config = loadConfig();
const observability = createObservability('artifacts');
if (!config.artifactBucket) throw new Error('Missing required environment variable CAIRN_ARTIFACT_BUCKET');
// Both clients traced: every DynamoDB and S3 call is a subsegment of the invocation's trace.
const capture = createClientTracer('artifacts');
const store = new S3ArtifactStore(
  createS3Client(config, capture),
  config.artifactBucket,
  config.presignExpiresSeconds,
);
const dynamo = createDynamoClient(config, capture);
const runs = new DynamoRunReader(dynamo, config.tableName);
// model-versions/get-artifact reads a version's source as the registry stored it, under the same root.
const registry = {
  versions: new DynamoVersionSourceReader(dynamo, config.tableName),
  artifactRoot: config.artifactRoot,
};
const artifacts = new ArtifactService(store, runs, config.artifactKeyPrefix, registry);
const presignClients = createPresignClients(config);
// Locally, one service per origin a client reaches this server by (see createPresignClients): built on a
// Host's first request, dropped with its presign client.
const servicesByPresigner = new WeakMap<S3Client, ArtifactService>();

/**
 * The service for a request. Locally the front has checked the Host against its allowlist, so URLs go
 * where the caller already reaches this server; on AWS there are no presign clients and URLs point at S3.
 */
function artifactsFor(host: string | undefined): ArtifactService {
  if (!presignClients || !host) return artifacts;
  const presigner = presignClients(host);
  let service = servicesByPresigner.get(presigner);
  if (!service) {
    service = new ArtifactService(store.withPresigner(presigner), runs, config.artifactKeyPrefix, registry);
    servicesByPresigner.set(presigner, service);
  }
  return service;
}

// The permission check reads the caller's grants (one Query, cached) and, when a grant makes the answer
// depend on it, a run's or logged model's experiment with the same projected read the service makes.
const permissions = {
  grants: grantCache(new DynamoPermissionRepository(createDocumentClient(dynamo), config.tableName)),
  lookups: {
    runExperiments: ownerLookupOf((runId) => runs.get(runId)),
    loggedModelExperiments: ownerLookupOf((modelId) => runs.getLoggedModel(modelId)),
  },
};

export const handler = createHttpHandler(
  'artifacts',
  ARTIFACTS_ROUTE_SPECS,
  artifactOperations((request) => artifactsFor(request.headers.host), observability),
  observability,
  permissions,
);

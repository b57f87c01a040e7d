/**
 * The registry function: registered models, model versions, stages and aliases (MLflow's model
 * registry), and Cairn's promotion policies with their audit trail. Clients and services are built once
 * per container. Promotions (set-alias, transition-stage) go through the policy guard, which evaluates
 * the model's policy for that alias or stage against the version's source run and records the decision.
 */
import { REGISTRY_ROUTE_SPECS } from '../../shared/api/routes-registry.js';
import { loadConfig } from '../../shared/config.js';
import { PolicyPromotionGuard, PromotionPolicyService } from '../../shared/domain/promotion/service.js';
import { RegistryService } from '../../shared/domain/registry/service.js';
import { StoredVersionFiles } from '../../shared/store/artifacts/version-files.js';
import { createDynamoClient, createS3Client } from '../../shared/store/clients.js';
import { createDocumentClient } from '../../shared/store/doc-commands.js';
import { DynamoPromotionRepository } from '../../shared/store/promotion/repository.js';
import { DynamoRegistryRepository } from '../../shared/store/registry/repository.js';
import { DynamoRunRepository } from '../../shared/store/runs/repository.js';
import { DynamoRunReader } from '../../shared/store/runs/run-reader.js';
import { createHttpHandler } from '../middleware/http-handler.js';
import { createObservability } from '../middleware/observability.js';
import { createClientTracer } from '../middleware/tracing.js';
import { registryOperations } from './operations.js';
import { promotionOperations } from './promotion.js';

const config = loadConfig();
const observability = createObservability('registry');
const capture = createClientTracer('registry');
const client = createDynamoClient(config, capture);
const doc = createDocumentClient(client);
const promotions = new DynamoPromotionRepository(doc, config.tableName);
const registryRepo = new DynamoRegistryRepository(doc, config.tableName);
// A version's files are sealed when it is registered and listed (bucket permitting) into the audit entry
// of each promotion: the registry's only use of the bucket, a listing.
const versionFiles = new StoredVersionFiles(
  doc,
  config.tableName,
  config.artifactBucket
    ? {
        client: createS3Client(config, capture),
        bucket: config.artifactBucket,
        keyPrefix: config.artifactKeyPrefix,
      }
    : undefined,
);
const registry = new RegistryService(
  registryRepo,
  { artifactRoot: config.artifactRoot },
  new PolicyPromotionGuard(promotions, new DynamoRunRepository(doc, config.tableName)),
  new DynamoRunReader(client, config.tableName),
  Date.now,
  versionFiles,
);

export const handler = createHttpHandler(
  'registry',
  REGISTRY_ROUTE_SPECS,
  {
    ...registryOperations(registry),
    ...promotionOperations(new PromotionPolicyService(promotions, registryRepo)),
  },
  observability,
);

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
import { createDynamoClient } from '../../shared/store/clients.js';
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
const client = createDynamoClient(config, createClientTracer('registry'));
const doc = createDocumentClient(client);
const promotions = new DynamoPromotionRepository(doc, config.tableName);
const registryRepo = new DynamoRegistryRepository(doc, config.tableName);
const registry = new RegistryService(
  registryRepo,
  { artifactRoot: config.artifactRoot },
  new PolicyPromotionGuard(promotions, new DynamoRunRepository(doc, config.tableName)),
  new DynamoRunReader(client, config.tableName),
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

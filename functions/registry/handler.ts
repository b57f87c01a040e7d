/**
 * The registry function: registered models, model versions, stages and aliases (MLflow's model
 * registry). Clients and services are built once per container. Promotions (set-alias,
 * transition-stage) go through a PromotionGuard; this deployment allows every promotion for now.
 */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { loadConfig } from '../../shared/config.js';
import { allowAllPromotions } from '../../shared/domain/promotion-guard.js';
import { RegistryService } from '../../shared/domain/registry.js';
import { createDynamoClient } from '../../shared/store/clients.js';
import { DynamoRegistryRepository } from '../../shared/store/registry-repo.js';
import { createHttpHandler } from '../middleware/http-handler.js';
import { createObservability } from '../middleware/observability.js';
import { createClientTracer } from '../middleware/tracing.js';
import { registryOperations } from './operations.js';

const config = loadConfig();
const observability = createObservability('registry');
const doc = DynamoDBDocumentClient.from(createDynamoClient(config, createClientTracer('registry')), {
  marshallOptions: { removeUndefinedValues: true },
});
const registry = new RegistryService(
  new DynamoRegistryRepository(doc, config.tableName),
  { artifactRoot: config.artifactRoot },
  allowAllPromotions,
);

export const handler = createHttpHandler('registry', registryOperations(registry), observability);

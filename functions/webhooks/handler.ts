/**
 * The webhook delivery function: the delivery queue's SQS event source invokes it with batches of up to
 * ten deliveries; each is attempted once (shared/domain/webhooks/deliver.ts, the code the local server
 * runs in-process) and the ones to try again are reported back for SQS to redeliver, then dead-letter.
 * Env: CAIRN_TABLE_NAME (webhook items), CAIRN_WEBHOOK_KMS_KEY_ID (opens secrets),
 * CAIRN_WEBHOOK_ALLOW_PRIVATE_TARGETS (set by the CDK construct from `cairn:webhookAllowPrivateTargets`),
 * CAIRN_WEBHOOK_ALLOWED_SCHEMES and CAIRN_WEBHOOK_TIMEOUT_SECONDS (shared/store/webhooks/from-env.ts).
 *
 * Clients and settings are built once per container; a missing setting stops the container at load,
 * before it takes a message off the queue.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { KMSClient } from '@aws-sdk/client-kms';
import { loadConfig } from '../../shared/config.js';
import { attemptDelivery } from '../../shared/domain/webhooks/deliver.js';
import { createDynamoClient } from '../../shared/store/clients.js';
import { createDocumentClient } from '../../shared/store/doc-commands.js';
import { webhookSettingsFromEnv } from '../../shared/store/webhooks/from-env.js';
import { KmsSecretSealer } from '../../shared/store/webhooks/kms-sealer.js';
import { DynamoWebhookRepository } from '../../shared/store/webhooks/repository.js';
import { logLevelFor } from '../middleware/observability.js';
import { createClientTracer } from '../middleware/tracing.js';
import { createDeliveryHandler } from './delivery-handler.js';

const config = loadConfig();
const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME || 'cairn-webhooks',
  logLevel: logLevelFor(process.env),
});
const settings = webhookSettingsFromEnv(process.env);
const keyId = process.env.CAIRN_WEBHOOK_KMS_KEY_ID;
if (!keyId) throw new Error('CAIRN_WEBHOOK_KMS_KEY_ID is not set: webhook secrets cannot be opened');
const sealer = new KmsSecretSealer(new KMSClient({ region: config.region }), keyId);
const repository = new DynamoWebhookRepository(
  createDocumentClient(createDynamoClient(config, createClientTracer('webhooks'))),
  config.tableName,
);

export const handler = createDeliveryHandler(
  (message) =>
    attemptDelivery(message, {
      webhooks: repository,
      sealer,
      policy: settings.policy,
      timeoutMs: settings.timeoutMs,
    }),
  {
    info: (message, attributes) => logger.info(message, attributes),
    warn: (message, attributes) => logger.warn(message, attributes),
    error: (message, attributes) => logger.error(message, attributes),
  },
);

/**
 * The registry function: registered models, model versions, stages and aliases (MLflow's model
 * registry), and Cairn's promotion policies with their audit trail. Clients and services are built once
 * per container. Promotions (set-alias, transition-stage) go through the policy guard, which evaluates
 * the model's policy for that alias or stage against the version's source run and records the decision.
 */
import { REGISTRY_ROUTE_SPECS } from '../../shared/api/routes-registry.js';
import { invalidateGrants } from '../../shared/auth/permission-cache.js';
import { StoredResourceGrants } from '../../shared/auth/resource-grants.js';
import { loadConfig } from '../../shared/config.js';
import { withModelVersion } from '../../shared/domain/logged-models/registrations.js';
import { registeredModelResource } from '../../shared/domain/permissions/resources.js';
import { PermissionService } from '../../shared/domain/permissions/service.js';
import { PolicyPromotionGuard, PromotionPolicyService } from '../../shared/domain/promotion/service.js';
import { RegistryService } from '../../shared/domain/registry/service.js';
import { type WarnLog, WebhookFanOut, WebhookService } from '../../shared/domain/webhooks/service.js';
import type { BucketListing } from '../../shared/store/artifacts/bucket-listing.js';
import { StoredVersionFiles } from '../../shared/store/artifacts/version-files.js';
import { createDynamoClient } from '../../shared/store/clients.js';
import { createDocumentClient } from '../../shared/store/doc-commands.js';
import { DynamoLoggedModelRepository } from '../../shared/store/logged-models/repository.js';
import { DynamoPrincipalDirectory } from '../../shared/store/permissions/principals.js';
import { DynamoPermissionRepository } from '../../shared/store/permissions/repository.js';
import { DynamoPromotionRepository } from '../../shared/store/promotion/repository.js';
import { DynamoRegistryRepository } from '../../shared/store/registry/repository.js';
import { readRun } from '../../shared/store/runs/run-get.js';
import { DynamoRunReader } from '../../shared/store/runs/run-reader.js';
import { webhookRuntimeFromEnv } from '../../shared/store/webhooks/from-env.js';
import { DynamoWebhookRepository } from '../../shared/store/webhooks/repository.js';
import { createHttpHandler } from '../middleware/http-handler.js';
import { createObservability } from '../middleware/observability.js';
import { grantCache } from '../middleware/permission-check.js';
import { createClientTracer } from '../middleware/tracing.js';
import { registryOperations } from './operations.js';
import { registeredModelPermissionOperations } from './permissions.js';
import { promotionOperations } from './promotion.js';
import { webhookOperations } from './webhooks.js';

const config = loadConfig();
const observability = createObservability('registry');
const capture = createClientTracer('registry');
const client = createDynamoClient(config, capture);
const doc = createDocumentClient(client);
// A principal's grants (issue 16): read by the per-request check, written by creates, renames and the
// permission endpoints.
const grants = new DynamoPermissionRepository(doc, config.tableName);
const promotions = new DynamoPromotionRepository(doc, config.tableName);
const registryRepo = new DynamoRegistryRepository(doc, config.tableName);
// A version's files are sealed when it is registered and listed (bucket permitting) into the audit entry
// of each promotion: the registry's only use of the bucket, a listing. The S3 client is loaded for the
// first listing, not at cold start: most registry calls never list.
let listing: Promise<BucketListing> | undefined;
const bucket = config.artifactBucket;
const versionFiles = new StoredVersionFiles(
  doc,
  config.tableName,
  bucket
    ? {
        listing: () => {
          if (!listing) {
            const loading = Promise.all([
              import('../../shared/store/s3-clients.js'),
              import('../../shared/store/artifacts/bucket-listing.js'),
            ]).then(([clients, listings]) =>
              listings.bucketListing(clients.createS3Client(config, capture), bucket),
            );
            // A failed load is not kept: the next listing tries again.
            loading.catch(() => {
              if (listing === loading) listing = undefined;
            });
            listing = loading;
          }
          return listing;
        },
        keyPrefix: config.artifactKeyPrefix,
      }
    : undefined,
);
const loggedModels = new DynamoLoggedModelRepository(doc, config.tableName);
// The tag grows with every registration: bounded as the tracking API bounds a logged model tag value
// (LOGGED_MODEL_LIMITS.tagValue, not imported: it would pull the logged-model service into this bundle).
const MAX_MODEL_VERSIONS_TAG = 100_000;
const registry = new RegistryService(
  registryRepo,
  { artifactRoot: config.artifactRoot },
  new PolicyPromotionGuard(promotions, { get: (runId) => readRun(doc, config.tableName, runId) }),
  new DynamoRunReader(client, config.tableName),
  Date.now,
  versionFiles,
  {
    record: async (loggedModelId, name, version) => {
      // Bookkeeping after the version is stored: failing the request here would answer an error for a
      // version that exists, and the client's retry would register a second one.
      try {
        await loggedModels.mutate(loggedModelId, (model) =>
          withModelVersion(model, name, version, Date.now(), MAX_MODEL_VERSIONS_TAG),
        );
      } catch (error) {
        observability.logger.warn('mlflow.modelVersions tag not updated', {
          loggedModelId,
          name,
          version,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    },
  },
  // Grants follow registered models (issue 16): the creator's MANAGE, moved on rename, dropped on delete.
  new StoredResourceGrants(grants, undefined, (message, details) =>
    observability.logger.warn(message, details),
  ),
);

const grantsCached = grantCache(grants);
const principals = new DynamoPrincipalDirectory(client, config.tableName);
const permissions = new PermissionService({
  grants,
  principalScope: async (name) => (await principals.get(name))?.scope,
  resources: { registered_model: registeredModelResource(registryRepo) },
  changed: invalidateGrants,
});

// Registry webhooks: the queue, sealer and publisher are chosen by the environment (in-process locally;
// SQS, KMS and EventBridge on AWS).
const webhookRepo = new DynamoWebhookRepository(doc, config.tableName);
const warn: WarnLog = (message, attributes) => observability.logger.warn(message, attributes);
const webhookRuntime = webhookRuntimeFromEnv(process.env, { repository: webhookRepo, warn });
const webhooks = new WebhookService(webhookRepo, webhookRuntime.sealer, webhookRuntime.settings);
const registryEvents = new WebhookFanOut(webhookRepo, webhookRuntime.queue, webhookRuntime.publisher, warn);

export const handler = createHttpHandler(
  'registry',
  REGISTRY_ROUTE_SPECS,
  {
    ...registryOperations(registry, registryEvents),
    ...webhookOperations(webhooks),
    ...promotionOperations(new PromotionPolicyService(promotions, registryRepo)),
    ...registeredModelPermissionOperations(permissions, grantsCached),
  },
  observability,
  // Registered models are named by the request itself: the check reads only the caller's grants.
  { grants: grantsCached, lookups: {} },
);

/**
 * MLflow's registry webhooks (MLflow ≥ 3.3, `mlflow/entities/webhook.py`, `mlflow/protos/webhooks.proto`):
 * the entity, the events a webhook may subscribe to, and the limits Cairn enforces. Types and constants
 * only, so that the store and the handlers need not import the service.
 */
import type { WebhookEventName } from './contracts.js';

export type WebhookStatus = 'ACTIVE' | 'DISABLED';
/** Protobuf enum order (ACTIVE = 1): a number in a request maps through this list. */
export const WEBHOOK_STATUSES = ['ACTIVE', 'DISABLED'] as const;

/** `WebhookEntity` in protobuf order (ENTITY_UNSPECIFIED = 0 is not a value a client may send). */
export const WEBHOOK_ENTITIES = [
  'registered_model',
  'model_version',
  'model_version_tag',
  'model_version_alias',
  'prompt',
  'prompt_version',
  'prompt_tag',
  'prompt_version_tag',
  'prompt_alias',
  'budget_policy',
] as const;
export type WebhookEntity = (typeof WEBHOOK_ENTITIES)[number];

/** `WebhookAction` in protobuf order (ACTION_UNSPECIFIED = 0 likewise). */
export const WEBHOOK_ACTIONS = ['created', 'updated', 'deleted', 'set', 'exceeded'] as const;
export type WebhookAction = (typeof WEBHOOK_ACTIONS)[number];

/**
 * The (entity, action) pairs MLflow accepts (`VALID_ENTITY_ACTIONS`). Cairn emits the registry ones and
 * the prompt ones (a prompt is a registered model tagged `mlflow.prompt.is_prompt`); a subscription to
 * `budget_policy.exceeded` is accepted, as MLflow accepts it, and never fires (Cairn has no AI gateway).
 */
export const VALID_ENTITY_ACTIONS: Readonly<Record<WebhookEntity, readonly WebhookAction[]>> = {
  registered_model: ['created'],
  model_version: ['created'],
  model_version_tag: ['set', 'deleted'],
  model_version_alias: ['created', 'deleted'],
  prompt: ['created'],
  prompt_version: ['created'],
  prompt_tag: ['set', 'deleted'],
  prompt_version_tag: ['set', 'deleted'],
  prompt_alias: ['created', 'deleted'],
  budget_policy: ['exceeded'],
};

export interface Webhook {
  /** A UUID whose first 48 bits are the creation time (version 7), so the store lists newest first by key. */
  webhookId: string;
  name: string;
  description?: string;
  url: string;
  events: WebhookEventName[];
  status: WebhookStatus;
  /** The secret as the SecretSealer sealed it; never answered by the API. */
  sealedSecret?: string;
  creationTimestamp: number;
  lastUpdatedTimestamp: number;
}

/** What an update may change; an absent field stays as it is (MLflow: an empty value is no change). */
export interface WebhookChanges {
  name?: string;
  description?: string;
  url?: string;
  events?: WebhookEventName[];
  sealedSecret?: string;
  status?: WebhookStatus;
}

export interface WebhookPage {
  webhooks: Webhook[];
  nextPageToken?: string;
}

export interface WebhookRepository {
  create(webhook: Webhook): Promise<void>;
  /** Strongly consistent: a webhook answers as soon as it is created and not at all once deleted. */
  get(webhookId: string): Promise<Webhook | undefined>;
  /** Newest first; `after` is a token this method returned. */
  list(maxResults: number, after?: string): Promise<WebhookPage>;
  /** Every webhook (at most MAX_WEBHOOKS): the fan-out of one registry event reads them all at once. */
  listAll(): Promise<Webhook[]>;
  count(): Promise<number>;
  /**
   * Applies `changes` unless the stored webhook was updated since `expected` was read (false then: the
   * caller reads again). Returns the stored result.
   */
  update(
    expected: Webhook,
    changes: WebhookChanges,
    lastUpdatedTimestamp: number,
  ): Promise<Webhook | undefined>;
  /** False when there was no such webhook. */
  delete(webhookId: string): Promise<boolean>;
}

/**
 * Limits. The lengths are MLflow's column sizes (`webhooks` table: url 500, description 1,000, secret
 * 1,000 of stored text) and its name rule (1–63 characters); MLflow has no cap on how many webhooks there
 * are, Cairn has one because every registry event reads them all (one Query of this partition, which
 * stays under DynamoDB's 1 MB page at this count: an item is at most ~4 KB).
 */
export const WEBHOOK_LIMITS = {
  nameLength: 63,
  urlLength: 500,
  descriptionLength: 1000,
  /** Characters of the secret as given (KMS seals up to 4 KB of plaintext; MLflow stores 1,000). */
  secretLength: 1000,
  maxWebhooks: 100,
  defaultMaxResults: 100,
  maxResults: 1000,
} as const;

export const eventLabel = (event: WebhookEventName) => `${event.entity}.${event.action}`;

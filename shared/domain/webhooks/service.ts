/**
 * Registry webhooks: the admin API's operations (MLflow's create/get/list/update/delete/test) and the
 * fan-out of registry events to the webhooks that subscribe to them. Secrets are sealed before they are
 * stored and opened only to sign a delivery; the API never answers one.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { InvalidParameterValueError, MlflowError, ResourceDoesNotExistError } from '../../errors.js';
import type {
  EventPublisher,
  RegistryEvent,
  SecretSealer,
  WebhookDeliveryMessage,
  WebhookEventName,
  WebhookQueue,
} from './contracts.js';
import { checkTarget, sendToWebhook, type UrlPolicy } from './deliver.js';
import {
  eventLabel,
  WEBHOOK_LIMITS,
  type Webhook,
  type WebhookChanges,
  type WebhookPage,
  type WebhookRepository,
  type WebhookStatus,
} from './model.js';
import { examplePayload } from './payloads.js';
import {
  parseWebhookUrl,
  validateWebhookDescription,
  validateWebhookName,
  validateWebhookSecret,
} from './rules.js';

/**
 * A UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then random bits. Its text sorts by creation
 * time, so the store lists webhooks newest first by key, as MLflow orders them.
 */
export function newWebhookId(nowMs: number, random: Buffer = randomBytes(10)): string {
  const hex = nowMs.toString(16).padStart(12, '0').slice(-12);
  const tail = random.toString('hex');
  const variant = ((Number.parseInt(tail.slice(3, 4), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${tail.slice(0, 3)}-${variant}${tail.slice(4, 7)}-${tail.slice(7, 19)}`;
}

const WEBHOOK_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const notFound = (webhookId: string) =>
  new ResourceDoesNotExistError(`Webhook with ID ${webhookId} not found.`);

export interface WebhookSettings {
  policy: UrlPolicy;
  /** One attempt's time limit, ms (MLflow's MLFLOW_WEBHOOK_REQUEST_TIMEOUT, 30 s). */
  timeoutMs: number;
  /** The test endpoint answers within the API's own deadline: its single attempt is cut shorter. */
  testTimeoutMs: number;
}

export interface NewWebhook {
  name: string;
  url: string;
  events: WebhookEventName[];
  description?: string;
  secret?: string;
  status?: WebhookStatus;
}

export interface WebhookUpdate {
  name?: string;
  url?: string;
  events?: WebhookEventName[];
  description?: string;
  secret?: string;
  status?: WebhookStatus;
}

export interface WebhookTestResult {
  success: boolean;
  responseStatus?: number;
  responseBody?: string;
  errorMessage?: string;
}

/** Reads again and retries an update that lost a race with another, this many times. */
const UPDATE_ATTEMPTS = 5;

export class WebhookService {
  constructor(
    private readonly repo: WebhookRepository,
    private readonly sealer: SecretSealer,
    private readonly settings: WebhookSettings,
    private readonly clock: () => number = Date.now,
  ) {}

  async create(input: NewWebhook): Promise<Webhook> {
    validateWebhookName(input.name);
    await this.checkUrl(input.url);
    if (input.description !== undefined) validateWebhookDescription(input.description);
    if (input.secret !== undefined) validateWebhookSecret(input.secret);
    if ((await this.repo.count()) >= WEBHOOK_LIMITS.maxWebhooks) {
      // A 400 like Cairn's other limits: RESOURCE_LIMIT_EXCEEDED is its 413, for an oversized body.
      throw new InvalidParameterValueError(
        `There are already ${WEBHOOK_LIMITS.maxWebhooks} webhooks, the most Cairn keeps; delete one first.`,
      );
    }
    const now = this.clock();
    const webhookId = newWebhookId(now);
    const webhook: Webhook = {
      webhookId,
      name: input.name,
      url: input.url,
      events: input.events,
      status: input.status ?? 'ACTIVE',
      creationTimestamp: now,
      lastUpdatedTimestamp: now,
      ...(input.description ? { description: input.description } : {}),
      ...(input.secret ? { sealedSecret: await this.sealer.seal(input.secret, webhookId) } : {}),
    };
    await this.repo.create(webhook);
    return webhook;
  }

  async get(webhookId: string): Promise<Webhook> {
    // An id this server could not have issued is not looked up (nor can it exceed a key's size).
    const webhook = WEBHOOK_ID.test(webhookId) ? await this.repo.get(webhookId) : undefined;
    if (!webhook) throw notFound(webhookId);
    return webhook;
  }

  async list(maxResults: number | undefined, pageToken: string | undefined): Promise<WebhookPage> {
    const limit = maxResults ?? WEBHOOK_LIMITS.defaultMaxResults;
    if (!Number.isInteger(limit) || limit < 1 || limit > WEBHOOK_LIMITS.maxResults) {
      throw new InvalidParameterValueError(`max_results must be between 1 and ${WEBHOOK_LIMITS.maxResults}.`);
    }
    return this.repo.list(limit, pageToken || undefined);
  }

  async update(webhookId: string, update: WebhookUpdate): Promise<Webhook> {
    if (update.name !== undefined) validateWebhookName(update.name);
    if (update.url !== undefined) await this.checkUrl(update.url);
    if (update.description !== undefined) validateWebhookDescription(update.description);
    if (update.secret !== undefined) validateWebhookSecret(update.secret);
    const sealedSecret = update.secret ? await this.sealer.seal(update.secret, webhookId) : undefined;
    const changes: WebhookChanges = {
      ...(update.name !== undefined ? { name: update.name } : {}),
      ...(update.url !== undefined ? { url: update.url } : {}),
      ...(update.events !== undefined ? { events: update.events } : {}),
      ...(update.description !== undefined ? { description: update.description } : {}),
      ...(update.status !== undefined ? { status: update.status } : {}),
      ...(sealedSecret ? { sealedSecret } : {}),
    };
    for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
      const current = await this.get(webhookId);
      // Strictly later than the last update, even within one millisecond: clients order by it.
      const at = Math.max(this.clock(), current.lastUpdatedTimestamp + 1);
      const updated = await this.repo.update(current, changes, at);
      if (updated) return updated;
    }
    throw new MlflowError(
      'RESOURCE_CONFLICT',
      `Webhook ${webhookId} was updated concurrently ${UPDATE_ATTEMPTS} times in a row; try again.`,
    );
  }

  async delete(webhookId: string): Promise<void> {
    if (!WEBHOOK_ID.test(webhookId) || !(await this.repo.delete(webhookId))) throw notFound(webhookId);
  }

  /**
   * MLflow's test endpoint: sends the example payload of `event` (default: the webhook's first event) to
   * the webhook now, once, and reports how the receiver answered. A failure is a result, not an error.
   */
  async test(webhookId: string, event: WebhookEventName | undefined): Promise<WebhookTestResult> {
    const webhook = await this.get(webhookId);
    const name = event ?? (webhook.events[0] as WebhookEventName);
    const message: WebhookDeliveryMessage = {
      entity: name.entity,
      action: name.action,
      timestamp: this.clock(),
      payload: examplePayload(name),
      webhookId,
      deliveryId: randomUUID(),
    };
    try {
      const outcome = await sendToWebhook(webhook, message, {
        sealer: this.sealer,
        policy: this.settings.policy,
        timeoutMs: this.settings.testTimeoutMs,
        clock: this.clock,
      });
      if (outcome.kind !== 'delivered' && outcome.status === undefined) {
        return { success: false, errorMessage: `Failed to test webhook: ${outcome.reason}` };
      }
      const status = outcome.status ?? 0;
      return {
        success: status < 400,
        responseStatus: status,
        ...(outcome.body ? { responseBody: outcome.body } : {}),
      };
    } catch (error) {
      return { success: false, errorMessage: `Failed to test webhook: ${(error as Error).message}` };
    }
  }

  /** The URL's syntax and scheme, then (unless private networks are allowed) where its host resolves now. */
  private async checkUrl(url: string): Promise<void> {
    parseWebhookUrl(url, this.settings.policy.allowedSchemes);
    try {
      await checkTarget(url, this.settings.policy);
    } catch (error) {
      if (error instanceof MlflowError) throw error;
      throw new InvalidParameterValueError(
        `Invalid webhook URL ${JSON.stringify(url)}: ${(error as Error).message}`,
      );
    }
  }
}

/** What a failure the request must not fail for is reported with (Powertools' `logger.warn` fits). */
export type WarnLog = (message: string, attributes: Record<string, unknown>) => void;

/** Where the registry reports its events; it never throws (the write it reports has already succeeded). */
export interface RegistryEventSink {
  emit(event: RegistryEvent | undefined): Promise<void>;
}

export const NO_EVENTS: RegistryEventSink = { emit: async () => undefined };

/**
 * Fans a registry event out: one delivery per active webhook subscribed to it, onto the queue, and the
 * event itself to the publisher (EventBridge on AWS). Neither can fail the registry write that happened:
 * MLflow delivers after the write and only logs a failed delivery; a lost event is logged with its name.
 */
export class WebhookFanOut implements RegistryEventSink {
  constructor(
    private readonly webhooks: Pick<WebhookRepository, 'listAll'>,
    private readonly queue: WebhookQueue,
    private readonly publisher: EventPublisher,
    private readonly warn: WarnLog,
    private readonly newDeliveryId: () => string = randomUUID,
  ) {}

  async emit(event: RegistryEvent | undefined): Promise<void> {
    if (!event) return;
    await Promise.all([this.deliver(event), this.publish(event)]);
  }

  private async deliver(event: RegistryEvent): Promise<void> {
    try {
      const subscribed = (await this.webhooks.listAll()).filter(
        (webhook) =>
          webhook.status === 'ACTIVE' &&
          webhook.events.some((name) => name.entity === event.entity && name.action === event.action),
      );
      if (subscribed.length === 0) return;
      await this.queue.send(
        subscribed.map((webhook) => ({
          ...event,
          webhookId: webhook.webhookId,
          deliveryId: this.newDeliveryId(),
        })),
      );
    } catch (error) {
      this.warn('webhook deliveries not queued', {
        event: eventLabel(event),
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  private async publish(event: RegistryEvent): Promise<void> {
    try {
      await this.publisher.publish([event]);
    } catch (error) {
      this.warn('registry event not published', {
        event: eventLabel(event),
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
}

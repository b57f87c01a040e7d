/**
 * Registry webhooks, one item each in one partition (`pk = WEBHOOKS`, `sk = WEBHOOK#<id>`): there are at
 * most WEBHOOK_LIMITS.maxWebhooks, and every registry event reads them all with one Query. Ids are UUIDv7,
 * so key order is creation order and a listing reads newest first without sorting. The secret is stored
 * only as the sealer sealed it.
 */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import type { WebhookEventName } from '../../domain/webhooks/contracts.js';
import {
  eventLabel,
  WEBHOOK_LIMITS,
  type Webhook,
  type WebhookChanges,
  type WebhookPage,
  type WebhookRepository,
  type WebhookStatus,
} from '../../domain/webhooks/model.js';
import { InvalidParameterValueError } from '../../errors.js';
import { isConditionFailure } from '../items.js';
import { keyConditions, keys } from '../keys.js';

interface WebhookItem {
  pk: string;
  sk: string;
  webhookId: string;
  name: string;
  description?: string;
  url: string;
  /** `entity.action` per subscribed event. */
  events: string[];
  status: WebhookStatus;
  sealedSecret?: string;
  created: number;
  updated: number;
}

function toItem(webhook: Webhook): WebhookItem {
  return {
    ...keys.webhook(webhook.webhookId),
    webhookId: webhook.webhookId,
    name: webhook.name,
    ...(webhook.description ? { description: webhook.description } : {}),
    url: webhook.url,
    events: webhook.events.map((event) => eventLabel(event)),
    status: webhook.status,
    ...(webhook.sealedSecret ? { sealedSecret: webhook.sealedSecret } : {}),
    created: webhook.creationTimestamp,
    updated: webhook.lastUpdatedTimestamp,
  };
}

function fromItem(item: Record<string, unknown>): Webhook {
  const stored = item as unknown as WebhookItem;
  return {
    webhookId: stored.webhookId,
    name: stored.name,
    ...(stored.description ? { description: stored.description } : {}),
    url: stored.url,
    events: stored.events.map((label): WebhookEventName => {
      const [entity = '', action = ''] = label.split('.');
      return { entity, action };
    }),
    status: stored.status,
    ...(stored.sealedSecret ? { sealedSecret: stored.sealedSecret } : {}),
    creationTimestamp: stored.created,
    lastUpdatedTimestamp: stored.updated,
  };
}

/** A listing's page token: the id of the last webhook served (the next page starts after it). */
function encodeToken(webhookId: string): string {
  return Buffer.from(JSON.stringify({ after: webhookId })).toString('base64url');
}

function decodeToken(token: string): string {
  try {
    const body = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { after?: unknown };
    if (typeof body.after === 'string' && /^[0-9a-f-]{36}$/.test(body.after)) return body.after;
  } catch {
    // falls through to the refusal
  }
  throw new InvalidParameterValueError('Invalid page token: it is not a token this server issued.');
}

export class DynamoWebhookRepository implements WebhookRepository {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(webhook: Webhook): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: toItem(webhook),
        // A fresh random id: a clash would be a bug, and must not replace another webhook.
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async get(webhookId: string): Promise<Webhook | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: keys.webhook(webhookId), ConsistentRead: true }),
    );
    return Item ? fromItem(Item) : undefined;
  }

  async list(maxResults: number, after?: string): Promise<WebhookPage> {
    const afterId = after === undefined ? undefined : decodeToken(after);
    // One more than asked: whether there is a next page is known without a second, empty page.
    const { Items = [] } = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        ...keyConditions.prefix(keys.webhooksPartition, keys.webhookPrefix),
        ScanIndexForward: false,
        Limit: maxResults + 1,
        ConsistentRead: true,
        ...(afterId ? { ExclusiveStartKey: keys.webhook(afterId) } : {}),
      }),
    );
    const webhooks = Items.slice(0, maxResults).map(fromItem);
    const last = webhooks.at(-1);
    return {
      webhooks,
      ...(Items.length > maxResults && last ? { nextPageToken: encodeToken(last.webhookId) } : {}),
    };
  }

  async listAll(): Promise<Webhook[]> {
    // At most WEBHOOK_LIMITS.maxWebhooks items of a few KB: one page. Eventually consistent (half the
    // units): a webhook created a moment ago may miss an event, as with MLflow's 60 s listing cache.
    const { Items = [] } = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        ...keyConditions.prefix(keys.webhooksPartition, keys.webhookPrefix),
        Limit: WEBHOOK_LIMITS.maxWebhooks * 2,
      }),
    );
    return Items.map(fromItem);
  }

  async count(): Promise<number> {
    const { Count = 0 } = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        ...keyConditions.prefix(keys.webhooksPartition, keys.webhookPrefix),
        Select: 'COUNT',
        ConsistentRead: true,
      }),
    );
    return Count;
  }

  async update(
    expected: Webhook,
    changes: WebhookChanges,
    lastUpdatedTimestamp: number,
  ): Promise<Webhook | undefined> {
    const next: Webhook = {
      ...expected,
      ...changes,
      lastUpdatedTimestamp,
    };
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: toItem(next),
          // Only over the webhook as it was read: a concurrent update (or a delete) is not overwritten.
          ConditionExpression: 'attribute_exists(pk) AND updated = :read',
          ExpressionAttributeValues: { ':read': expected.lastUpdatedTimestamp },
        }),
      );
      return next;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async delete(webhookId: string): Promise<boolean> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: keys.webhook(webhookId),
          ConditionExpression: 'attribute_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}

/**
 * Unique names without transactions (design decision 5), shared by experiments and registered models:
 * a name is owned by a claim item (`<prefix>NAME#<name>`) naming the owner's immutable id, written with
 * a conditional put. A create or rename claims first and writes the owner after; a crash in between
 * leaves a claim whose owner is missing or carries another name. Readers ignore such a claim, and a
 * writer may take it over once it is older than CLAIM_TAKEOVER_MS (longer than any request can run), so
 * a live create is never robbed.
 */
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { MlflowError } from '../errors.js';
import { isConditionFailure } from './items.js';
import type { ItemKey } from './keys.js';

export const CLAIM_TAKEOVER_MS = 60_000;
const MAX_PARTITION_KEY_BYTES = 2048;
const MAX_SORT_KEY_BYTES = 1024;

export interface NameClaimsOptions {
  doc: DynamoDBDocumentClient;
  tableName: string;
  /** The claim item's key for a name. */
  key: (name: string) => ItemKey;
  /** The item's `type` attribute. */
  type: string;
  /** The attribute holding the owner's id (items already stored use it: it cannot change). */
  idAttribute: string;
  /** The name the owner with this id carries now, or undefined when it does not exist. */
  ownerName: (id: string) => Promise<string | undefined>;
  alreadyExists: (name: string) => MlflowError;
  clock: () => number;
}

export interface NameClaim {
  id: string;
  claimedAt: number;
}

export class NameClaims {
  constructor(private readonly options: NameClaimsOptions) {}

  /** The claim on `name`, strongly consistent, or undefined when nobody claims it. */
  async get(name: string): Promise<NameClaim | undefined> {
    const { doc, tableName, key, idAttribute } = this.options;
    const Key = key(name);
    // A key DynamoDB would refuse (a 500) names nothing: no claim that long could have been written.
    if (Buffer.byteLength(Key.pk) > MAX_PARTITION_KEY_BYTES || Buffer.byteLength(Key.sk) > MAX_SORT_KEY_BYTES)
      return undefined;
    const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key, ConsistentRead: true }));
    return Item ? { id: String(Item[idAttribute]), claimedAt: Number(Item.claimed_at) } : undefined;
  }

  /** Claims `name` for `id`, taking over a stale claim; throws `alreadyExists` otherwise. */
  async claim(name: string, id: string): Promise<void> {
    const { doc, tableName, key, type, idAttribute, clock } = this.options;
    const now = clock();
    const Item = { ...key(name), type, [idAttribute]: id, claimed_at: now };
    try {
      await doc.send(
        new PutCommand({ TableName: tableName, Item, ConditionExpression: 'attribute_not_exists(pk)' }),
      );
      return;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const existing = await this.get(name);
    const alreadyExists = this.options.alreadyExists(name);
    if (!existing) throw alreadyExists; // released a moment ago; the caller may retry
    if (existing.claimedAt > now - CLAIM_TAKEOVER_MS) throw alreadyExists;
    if ((await this.options.ownerName(existing.id)) === name) throw alreadyExists;
    try {
      await doc.send(
        new PutCommand({
          TableName: tableName,
          Item,
          // Only replace the exact stale claim inspected.
          ConditionExpression: '#id = :staleId AND claimed_at = :staleAt',
          ExpressionAttributeNames: { '#id': idAttribute },
          ExpressionAttributeValues: { ':staleId': existing.id, ':staleAt': existing.claimedAt },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw alreadyExists;
      throw error;
    }
  }

  /** Releases `name` if `id` still holds it. */
  async release(name: string, id: string): Promise<void> {
    const { doc, tableName, key, idAttribute } = this.options;
    try {
      await doc.send(
        new DeleteCommand({
          TableName: tableName,
          Key: key(name),
          ConditionExpression: '#id = :id',
          ExpressionAttributeNames: { '#id': idAttribute },
          ExpressionAttributeValues: { ':id': id },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }
}

/**
 * API token items (`pk = TOKENS`, `sk = TOKEN#<name>`). Written by `cairn token`, read by the authorizer on
 * every uncached request. It uses the low-level DynamoDB client with hand-written attribute values so the
 * authorizer's bundle carries neither lib-dynamodb nor a schema library.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { invalidateGrants } from '../../auth/permission-cache.js';
import { isScope, type Scope } from '../../auth/scopes.js';
import { asAttributeValues, keyConditions, keys } from '../keys.js';
import { deletePrincipal, putPrincipal } from '../permissions/principals.js';

/** What `cairn token list` shows: never the secret (never stored) nor its hash. */
export interface TokenSummary {
  name: string;
  scope: Scope;
  /** Epoch milliseconds. */
  created: number;
  lastUsed?: number;
  expires?: number;
}

export interface TokenRecord extends TokenSummary {
  /** SHA-256 of the secret, hex. */
  secretHash: string;
}

export class TokenAlreadyExistsError extends Error {
  constructor(name: string) {
    super(`A token named '${name}' already exists. Revoke it first or choose another name.`);
    this.name = 'TokenAlreadyExistsError';
  }
}

export class TokenNotFoundError extends Error {
  constructor(name: string) {
    super(`There is no token named '${name}'.`);
    this.name = 'TokenNotFoundError';
  }
}

export interface TokenRepository {
  create(record: TokenRecord): Promise<void>;
  /** Strongly consistent, so a token works as soon as it is created and not at all once revoked. */
  get(name: string): Promise<TokenRecord | undefined>;
  list(): Promise<TokenSummary[]>;
  revoke(name: string): Promise<void>;
  /**
   * Sets `lastUsed` to `now` unless it is already later than `now - minIntervalMs` (or the token is gone):
   * concurrent authorizers write it once. Returns whether this call wrote it.
   */
  recordUse(name: string, now: number, minIntervalMs: number): Promise<boolean>;
}

/** Aliased: `name` and `scope` are DynamoDB reserved words. */
const SUMMARY_NAMES = { '#n': 'name', '#s': 'scope', '#c': 'created', '#u': 'lastUsed', '#e': 'expires' };

export class DynamoTokenRepository implements TokenRepository {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async create(record: TokenRecord): Promise<void> {
    const item: Record<string, AttributeValue> = {
      ...keyOf(record.name),
      name: { S: record.name },
      scope: { S: record.scope },
      secretHash: { S: record.secretHash },
      created: { N: String(record.created) },
    };
    if (record.expires !== undefined) item.expires = { N: String(record.expires) };
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: item,
          // The name is the token's identity: a second create must not replace the first one's hash.
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new TokenAlreadyExistsError(record.name);
      throw error;
    }
    // After the token: a directory entry never names a token that was not created. Should this write
    // fail, the token works and `cairn permission` writes the entry before its next grant.
    await putPrincipal(this.client, this.tableName, { name: record.name, scope: record.scope });
  }

  async get(name: string): Promise<TokenRecord | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: keyOf(name), ConsistentRead: true }),
    );
    if (!Item) return undefined;
    const summary = toSummary(Item);
    const secretHash = Item.secretHash?.S;
    return summary && secretHash ? { ...summary, secretHash } : undefined;
  }

  async list(): Promise<TokenSummary[]> {
    const tokens: TokenSummary[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          ...asAttributeValues(keyConditions.prefix(keys.tokensPartition, keys.tokenPrefix)),
          // The hash never leaves the table for a listing.
          ProjectionExpression: Object.keys(SUMMARY_NAMES).join(', '),
          ExpressionAttributeNames: SUMMARY_NAMES,
          ConsistentRead: true,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        const summary = toSummary(item);
        if (summary) tokens.push(summary);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return tokens;
  }

  /**
   * Removes the token, its directory entry and every grant it held (MLflow deletes a user's permissions
   * with the user): a later token issued under the same name must start from its scope alone, not inherit
   * the MANAGE grants of what the old one created. Not one transaction: embedded mode's DynamoDB stand-in
   * has none (docs: local stand-ins). The token goes first, so a failure part-way never leaves a live token
   * with fewer grants (a dropped NO_PERMISSIONS would widen it); it can leave grants under a name no token
   * holds, which `revoke` reports as an error (the caller sees it and revokes again: a revoke of a missing
   * token still drops the name's grants before it answers TokenNotFoundError).
   */
  async revoke(name: string): Promise<void> {
    let missing = false;
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: keyOf(name),
          ConditionExpression: 'attribute_exists(pk)',
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      missing = true;
    }
    try {
      await deletePrincipal(this.client, this.tableName, name);
      for (const Key of await this.grantKeysOf(name)) {
        await this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key }));
      }
    } finally {
      // This process's checks forget the old grants at once; other containers within their cache's TTL,
      // while the authorizer already refuses the revoked token.
      invalidateGrants(name);
    }
    if (missing) throw new TokenNotFoundError(name);
  }

  /** The keys of every grant `name` holds (pk `PERM#<name>`, shared/store/permissions/repository.ts). */
  private async grantKeysOf(name: string): Promise<Record<string, AttributeValue>[]> {
    const found: Record<string, AttributeValue>[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: keys.grantPartition(name) } },
          ProjectionExpression: 'pk, sk',
          ConsistentRead: true,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        if (item.pk && item.sk) found.push({ pk: item.pk, sk: item.sk });
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return found;
  }

  async recordUse(name: string, now: number, minIntervalMs: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyOf(name),
          UpdateExpression: 'SET lastUsed = :now',
          // attribute_exists: a token revoked meanwhile must not come back as a bare item.
          ConditionExpression:
            'attribute_exists(pk) AND (attribute_not_exists(lastUsed) OR lastUsed <= :stale)',
          ExpressionAttributeValues: {
            ':now': { N: String(now) },
            ':stale': { N: String(now - minIntervalMs) },
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}

function keyOf(name: string): Record<string, AttributeValue> {
  const { pk, sk } = keys.token(name);
  return { pk: { S: pk }, sk: { S: sk } };
}

function numberOf(value: AttributeValue | undefined): number | undefined {
  if (value?.N === undefined) return undefined;
  const parsed = Number(value.N);
  return Number.isFinite(parsed) ? parsed : undefined;
}

/** An item as a summary, or undefined when it is not a whole token item (fail closed). */
function toSummary(item: Record<string, AttributeValue>): TokenSummary | undefined {
  const name = item.name?.S;
  const scope = item.scope?.S;
  const created = numberOf(item.created);
  if (name === undefined || !isScope(scope) || created === undefined) return undefined;
  const lastUsed = numberOf(item.lastUsed);
  const expires = numberOf(item.expires);
  return {
    name,
    scope,
    created,
    ...(lastUsed === undefined ? {} : { lastUsed }),
    ...(expires === undefined ? {} : { expires }),
  };
}

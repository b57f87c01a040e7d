/**
 * The document client and the patterns the repositories share with it. Kept apart from items.ts and
 * clients.ts: the artifacts function imports those but not lib-dynamodb, whose module-level code (it
 * declares no `sideEffects: false`, so bundlers keep it) would add ~7 KB to what its cold start loads.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  type DeleteCommand,
  DynamoDBDocumentClient,
  type PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from './items.js';
import type { ItemKey } from './keys.js';

/**
 * The one way a document client is built (functions, CLI, tests), so every writer marshals alike:
 * `removeUndefinedValues` lets mappers leave optional attributes undefined instead of spreading them in.
 */
export function createDocumentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/**
 * Every item a query matches, following DynamoDB's pages. `Item` is what the caller's entity module says
 * the query's items (or projections of them) are: the store does not check items it wrote itself.
 */
export async function queryAll<Item = Record<string, unknown>>(
  doc: DynamoDBDocumentClient,
  input: Omit<QueryCommandInput, 'ExclusiveStartKey'>,
): Promise<Item[]> {
  const items: Item[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(new QueryCommand({ ...input, ExclusiveStartKey: startKey }));
    items.push(...((page.Items ?? []) as Item[]));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/** Applies an update whose ConditionExpression may refuse it: false when it did. */
export async function updateIfCondition(
  doc: DynamoDBDocumentClient,
  input: UpdateCommandInput,
): Promise<boolean> {
  return sendIfCondition(doc, new UpdateCommand(input));
}

/** Sends a conditional Put, Delete or Update: false when its ConditionExpression refused it. */
export async function sendIfCondition(
  doc: DynamoDBDocumentClient,
  command: PutCommand | DeleteCommand | UpdateCommand,
): Promise<boolean> {
  try {
    // One overload per command class: the union needs a cast to reach `send`.
    await doc.send(command as UpdateCommand);
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** BatchGetItem's limit on keys per call. */
const BATCH_GET_KEYS = 100;

/**
 * Every item of `keys` that exists, in no particular order: 100 keys per call, calls in parallel, keys
 * DynamoDB leaves unprocessed (throttling) asked again with backoff, so that a missing item never stands
 * for an unread one.
 */
export async function batchGetAll<Item = Record<string, unknown>>(
  doc: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly ItemKey[],
  options: { consistent?: boolean; projection?: string; names?: Record<string, string> } = {},
): Promise<Item[]> {
  const batches: Record<string, unknown>[][] = [];
  const wantedKeys = keys.map((key) => ({ pk: key.pk, sk: key.sk }));
  for (let start = 0; start < wantedKeys.length; start += BATCH_GET_KEYS) {
    batches.push(wantedKeys.slice(start, start + BATCH_GET_KEYS));
  }
  const pages = await Promise.all(
    batches.map(async (batch) => {
      const items: Item[] = [];
      let wanted = batch;
      for (let attempt = 0; wanted.length > 0; attempt++) {
        if (attempt >= 8) throw new Error(`DynamoDB left ${wanted.length} keys unprocessed after 8 attempts`);
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 2 ** attempt * 10));
        const { Responses, UnprocessedKeys } = await doc.send(
          new BatchGetCommand({
            RequestItems: {
              [tableName]: {
                Keys: wanted,
                ...(options.consistent ? { ConsistentRead: true } : {}),
                ...(options.projection ? { ProjectionExpression: options.projection } : {}),
                ...(options.names ? { ExpressionAttributeNames: options.names } : {}),
              },
            },
          }),
        );
        items.push(...((Responses?.[tableName] ?? []) as Item[]));
        wanted = UnprocessedKeys?.[tableName]?.Keys ?? [];
      }
      return items;
    }),
  );
  return pages.flat();
}

/**
 * Puts up to 25 items in one BatchWriteItem, asking again with backoff for items DynamoDB leaves
 * unprocessed (throttling), so that a returned call means every item is stored.
 */
export async function putBatch(
  doc: DynamoDBDocumentClient,
  tableName: string,
  items: readonly Record<string, unknown>[],
  /** Keys to delete in the same BatchWrite (at most 25 writes in all). */
  deletes: readonly Record<string, unknown>[] = [],
): Promise<void> {
  let requests: (
    | { PutRequest: { Item: Record<string, unknown> } }
    | { DeleteRequest: { Key: Record<string, unknown> } }
  )[] = [
    ...items.map((Item) => ({ PutRequest: { Item } })),
    ...deletes.map((Key) => ({ DeleteRequest: { Key } })),
  ];
  for (let attempt = 0; requests.length > 0; attempt++) {
    if (attempt > 8) throw new Error(`DynamoDB left ${requests.length} writes unprocessed after 8 retries`);
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 2 ** attempt * 10));
    const { UnprocessedItems } = await doc.send(
      new BatchWriteCommand({ RequestItems: { [tableName]: requests } }),
    );
    requests = (UnprocessedItems?.[tableName] ?? []) as typeof requests;
  }
}

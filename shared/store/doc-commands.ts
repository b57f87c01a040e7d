/**
 * The document client and the patterns the repositories share with it. Kept apart from items.ts and
 * clients.ts: the artifacts function imports those but not lib-dynamodb, whose module-level code (it
 * declares no `sideEffects: false`, so bundlers keep it) would add ~7 KB to what its cold start loads.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from './items.js';

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
  try {
    await doc.send(new UpdateCommand(input));
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

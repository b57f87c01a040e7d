/**
 * Document-client patterns the repositories share. Kept apart from items.ts: the artifacts function
 * imports items.ts but not lib-dynamodb, whose module-level code would cost its bundle ~7 KB.
 */
import {
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from './items.js';

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

/**
 * A fresh table for one test file: in an in-memory dynalite by default, or in the fidelity lane's
 * shared DynamoDB Local (CAIRN_TEST_DYNAMODB=dynamodb-local), under a unique name.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import { ensureTable, LOCAL_CREDENTIALS, LOCAL_REGION, startDynalite } from '../../local/stand-ins.js';
import { createDocumentClient } from '../../shared/store/doc-commands.js';
import { toExperimentItem } from '../../shared/store/experiments/entity.js';
import { keys } from '../../shared/store/keys.js';

export const usingDynamoDbLocal = process.env.CAIRN_TEST_DYNAMODB === 'dynamodb-local';

export interface TestTable {
  endpoint: string;
  tableName: string;
  client: DynamoDBClient;
  doc: DynamoDBDocumentClient;
  close(): Promise<void>;
}

export function uniqueTableName(): string {
  return `cairn-test-${randomUUID().slice(0, 8)}`;
}

/** The external DynamoDB endpoint for this lane, or undefined when each file runs its own dynalite. */
export function externalDynamoEndpoint(): string | undefined {
  return usingDynamoDbLocal ? inject('dynamodbLocalEndpoint') : undefined;
}

export async function createTestTable(): Promise<TestTable> {
  const external = externalDynamoEndpoint();
  const dynalite = external ? undefined : await startDynalite(undefined);
  const endpoint = external ?? (dynalite?.endpoint as string);
  const tableName = uniqueTableName();
  await ensureTable(endpoint, tableName);
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const doc = createDocumentClient(client);
  return {
    endpoint,
    tableName,
    client,
    doc,
    close: async () => {
      client.destroy();
      await dynalite?.close();
    },
  };
}

/**
 * Puts an experiment item as this build creates it (marked `run_index`: its runs carry order keys and
 * counters), or unmarked, as an earlier build left it: for store tests that write runs without the service.
 */
export async function putExperimentItem(
  table: Pick<TestTable, 'doc' | 'tableName'>,
  experimentId: string,
  options: { marked?: boolean } = {},
): Promise<void> {
  const item = toExperimentItem({
    experimentId,
    name: `experiment-${experimentId}`,
    artifactLocation: `mlflow-artifacts:/${experimentId}`,
    lifecycleStage: 'active',
    creationTime: 0,
    lastUpdateTime: 0,
    tags: {},
  });
  if (options.marked === false) delete item.run_index;
  await table.doc.send(new PutCommand({ TableName: table.tableName, Item: item }));
}

/**
 * Sets one of an experiment's layout marks as a build that set it so left it (`value_index` 1: before tag
 * entries), or removes it (no version: as a build from before that layout).
 */
export async function setExperimentMark(
  table: Pick<TestTable, 'doc' | 'tableName'>,
  experimentId: string,
  mark: 'run_index' | 'value_index' | 'run_summaries',
  version?: number,
): Promise<void> {
  await table.doc.send(
    new UpdateCommand({
      TableName: table.tableName,
      Key: keys.experiment(experimentId),
      UpdateExpression: version === undefined ? `REMOVE ${mark}` : `SET ${mark} = :version`,
      ...(version === undefined ? {} : { ExpressionAttributeValues: { ':version': version } }),
    }),
  );
}

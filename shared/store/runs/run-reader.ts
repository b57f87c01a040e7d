/**
 * Lean reads of one run's or one logged model's identity and state, for functions that only need to
 * authorize against them (the artifacts function; the registry resolving a `models:/m-<id>` source).
 * They avoid the document client and the metric codec that the full repositories pull in: the artifacts
 * function's cold start (design.md's init-time budget) should load no more than it uses.
 */
import {
  type AttributeValue,
  BatchGetItemCommand,
  type DynamoDBClient,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import type { LifecycleStage } from '../../domain/experiments/model.js';
import type { SealItem } from '../artifacts/seal-entity.js';
import { type ItemKey, loggedModelKey, runKey, SEAL_PREFIX, sealRange } from '../keys.js';
import type { LoggedModelItem } from '../logged-models/entity.js';
import type { RunItem } from './entity.js';

export interface RunIdentity {
  runId: string;
  experimentId: string;
  lifecycleStage: LifecycleStage;
  artifactUri: string;
}

/** What authorizing against a logged model, or registering it, needs (items of logged-models/entity.ts). */
export interface LoggedModelIdentity {
  modelId: string;
  experimentId: string;
  lifecycleStage: LifecycleStage;
  artifactUri: string;
  sourceRunId?: string;
  status?: string;
  /** Why the model's source run could not be verified (LoggedModel.unverified). */
  unverified?: string;
}

/**
 * A projection with every attribute behind a name placeholder: `status` and `path` are DynamoDB reserved
 * words, and placeholders for all keep the rule out of mind.
 */
function namedProjection(attributes: readonly string[]) {
  return {
    ProjectionExpression: attributes.map((_, index) => `#p${index}`).join(', '),
    ExpressionAttributeNames: Object.fromEntries(attributes.map((name, index) => [`#p${index}`, name])),
  };
}

/**
 * An owner's item and the paths of its seal items (seal-entity.ts), read with one strongly consistent
 * Query over the owner's partition (keys.ts `sealRange`): the write path's only DynamoDB call.
 */
async function readWithSeals(
  client: DynamoDBClient,
  tableName: string,
  key: ItemKey,
  attributes: readonly string[],
): Promise<{ owner: Record<string, string | undefined>; sealedPaths: string[] } | undefined> {
  const range = sealRange(key);
  let owner: Record<string, string | undefined> | undefined;
  const sealedPaths: string[] = [];
  let startKey: QueryCommand['input']['ExclusiveStartKey'];
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': { S: key.pk },
          ':from': { S: range.from },
          ':to': { S: range.to },
        },
        ...namedProjection(['sk', ...attributes, 'path' satisfies keyof SealItem]),
        ConsistentRead: true,
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      const sk = item.sk?.S;
      if (sk === key.sk) {
        owner = stringAttributes(item);
      } else if (sk?.startsWith(SEAL_PREFIX) && item.path?.S !== undefined) {
        sealedPaths.push(item.path.S);
      }
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return owner && { owner, sealedPaths };
}

/**
 * An item's attributes as strings. Every attribute these readers project is a string, so they are read
 * as such, not through `@aws-sdk/util-dynamodb`'s `unmarshall`: that is 1.7 KB of the artifacts bundle,
 * loaded at every cold start for nothing.
 */
function stringAttributes(item: Record<string, AttributeValue>): Record<string, string | undefined> {
  const strings: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(item)) strings[name] = value.S;
  return strings;
}

const RUN_ATTRIBUTES = [
  'run_id',
  'experiment_id',
  'lifecycle_stage',
  'artifact_uri',
] as const satisfies readonly (keyof RunItem)[];
const MODEL_ATTRIBUTES = [
  'model_id',
  'experiment_id',
  'lifecycle_stage',
  'artifact_uri',
  'source_run_id',
  'status',
  'unverified',
] as const satisfies readonly (keyof LoggedModelItem)[];

function runIdentity(run: Record<string, string | undefined>): RunIdentity {
  return {
    runId: run.run_id as string,
    experimentId: run.experiment_id as string,
    lifecycleStage: run.lifecycle_stage as LifecycleStage,
    artifactUri: run.artifact_uri as string,
  };
}

function modelIdentity(model: Record<string, string | undefined>): LoggedModelIdentity {
  return {
    modelId: model.model_id as string,
    experimentId: model.experiment_id as string,
    lifecycleStage: model.lifecycle_stage as LifecycleStage,
    artifactUri: model.artifact_uri as string,
    ...(model.source_run_id ? { sourceRunId: model.source_run_id } : {}),
    ...(model.status ? { status: model.status } : {}),
    ...(model.unverified ? { unverified: model.unverified } : {}),
  };
}

/**
 * One item's string attributes by key, strongly consistent, or undefined. BatchGet (of one) rather than
 * GetItem only to share DynamoDB Local and dynalite behaviour with the repositories; retried while
 * DynamoDB leaves the key unprocessed (throttling).
 */
export async function readOne(
  client: DynamoDBClient,
  tableName: string,
  key: ItemKey,
  attributes: readonly string[],
): Promise<Record<string, string | undefined> | undefined> {
  for (let attempt = 0; attempt < 8; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 2 ** attempt * 10));
    const result = await client.send(
      new BatchGetItemCommand({
        RequestItems: {
          [tableName]: {
            Keys: [{ pk: { S: key.pk }, sk: { S: key.sk } }],
            ConsistentRead: true,
            ...namedProjection(attributes),
          },
        },
      }),
    );
    const item = result.Responses?.[tableName]?.[0];
    if (item) return stringAttributes(item);
    if (!result.UnprocessedKeys?.[tableName]) return undefined;
  }
  throw new Error(`DynamoDB left ${key.pk} unprocessed after 8 attempts`);
}

export class DynamoRunReader {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async get(runId: string): Promise<RunIdentity | undefined> {
    const run = await readOne(this.client, this.tableName, runKey(runId), RUN_ATTRIBUTES);
    return run ? runIdentity(run) : undefined;
  }

  async getLoggedModel(modelId: string): Promise<LoggedModelIdentity | undefined> {
    const model = await readOne(this.client, this.tableName, loggedModelKey(modelId), MODEL_ATTRIBUTES);
    return model ? modelIdentity(model) : undefined;
  }

  async getRunForWrite(runId: string) {
    const read = await readWithSeals(this.client, this.tableName, runKey(runId), RUN_ATTRIBUTES);
    return read && { ...runIdentity(read.owner), sealedPaths: read.sealedPaths };
  }

  async getLoggedModelForWrite(modelId: string) {
    const key = loggedModelKey(modelId);
    const read = await readWithSeals(this.client, this.tableName, key, MODEL_ATTRIBUTES);
    return read && { ...modelIdentity(read.owner), sealedPaths: read.sealedPaths };
  }
}

/**
 * Lean reads of one run's or one logged model's identity and state, for functions that only need to
 * authorize against them (the artifacts function; the registry resolving a `models:/m-<id>` source).
 * They avoid the document client and the metric codec that the full repositories pull in: the artifacts
 * function's cold start (design.md's init-time budget) should load no more than it uses.
 */
import { BatchGetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LifecycleStage } from '../../domain/experiments/model.js';
import { projection } from '../items.js';
import { type ItemKey, loggedModelKey, runKey } from '../keys.js';
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
}

/**
 * One item's string attributes by key, strongly consistent, or undefined. BatchGet (of one) rather than
 * GetItem only to share DynamoDB Local and dynalite behaviour with the repositories; retried while
 * DynamoDB leaves the key unprocessed (throttling). Every attribute these readers project is a string,
 * so they are read as such, not through `@aws-sdk/util-dynamodb`'s `unmarshall`: that is 1.7 KB of the
 * artifacts bundle, loaded at every cold start for nothing.
 */
async function readOne(
  client: DynamoDBClient,
  tableName: string,
  key: ItemKey,
  projection: string,
): Promise<Record<string, string | undefined> | undefined> {
  for (let attempt = 0; attempt < 8; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 2 ** attempt * 10));
    const result = await client.send(
      new BatchGetItemCommand({
        RequestItems: {
          [tableName]: {
            Keys: [{ pk: { S: key.pk }, sk: { S: key.sk } }],
            ConsistentRead: true,
            ProjectionExpression: projection,
          },
        },
      }),
    );
    const item = result.Responses?.[tableName]?.[0];
    if (item) {
      const strings: Record<string, string | undefined> = {};
      for (const [name, value] of Object.entries(item)) strings[name] = value.S;
      return strings;
    }
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
    const run = await readOne(
      this.client,
      this.tableName,
      runKey(runId),
      projection<RunItem>('run_id', 'experiment_id', 'lifecycle_stage', 'artifact_uri'),
    );
    return run
      ? {
          runId: run.run_id as string,
          experimentId: run.experiment_id as string,
          lifecycleStage: run.lifecycle_stage as LifecycleStage,
          artifactUri: run.artifact_uri as string,
        }
      : undefined;
  }

  async getLoggedModel(modelId: string): Promise<LoggedModelIdentity | undefined> {
    const model = await readOne(
      this.client,
      this.tableName,
      loggedModelKey(modelId),
      projection<LoggedModelItem>(
        'model_id',
        'experiment_id',
        'lifecycle_stage',
        'artifact_uri',
        'source_run_id',
      ),
    );
    return model
      ? {
          modelId: model.model_id as string,
          experimentId: model.experiment_id as string,
          lifecycleStage: model.lifecycle_stage as LifecycleStage,
          artifactUri: model.artifact_uri as string,
          ...(model.source_run_id ? { sourceRunId: model.source_run_id as string } : {}),
        }
      : undefined;
  }
}

/**
 * A lean read of one run's identity and state, for functions that only need to authorize against a run
 * (the artifacts function). It avoids the document client and the metric codec that the full runs
 * repository pulls in: the artifacts bundle must stay under the 400 KB budget beside the S3 client.
 */
import { BatchGetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { LifecycleStage } from '../domain/model.js';
import { keys } from './keys.js';

export interface RunIdentity {
  runId: string;
  experimentId: string;
  lifecycleStage: LifecycleStage;
  artifactUri: string;
}

export class DynamoRunReader {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async get(runId: string): Promise<RunIdentity | undefined> {
    const key = keys.run(runId);
    // BatchGet (of one) rather than GetItem only to share DynamoDB Local and dynalite behaviour with the
    // repository; retried while DynamoDB leaves the key unprocessed (throttling).
    for (let attempt = 0; attempt < 8; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 2 ** attempt * 10));
      const result = await this.client.send(
        new BatchGetItemCommand({
          RequestItems: {
            [this.tableName]: {
              Keys: [{ pk: { S: key.pk }, sk: { S: key.sk } }],
              ConsistentRead: true,
              ProjectionExpression: 'run_id, experiment_id, lifecycle_stage, artifact_uri',
            },
          },
        }),
      );
      const item = result.Responses?.[this.tableName]?.[0];
      if (item) {
        const run = unmarshall(item);
        return {
          runId: run.run_id,
          experimentId: run.experiment_id,
          lifecycleStage: run.lifecycle_stage,
          artifactUri: run.artifact_uri,
        };
      }
      if (!result.UnprocessedKeys?.[this.tableName]) return undefined;
    }
    throw new Error(`DynamoDB left run ${runId} unprocessed after 8 attempts`);
  }
}

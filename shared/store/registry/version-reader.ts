/**
 * A model version's source, read by name and number for the artifacts function's
 * `model-versions/get-artifact`: the name claim, the model (the claim may be stale) and the version, one
 * item each through the lean reader (run-reader.ts), without the registry repository's document client.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { VersionSources } from '../../domain/artifacts/model.js';
import { keys } from '../keys.js';
import { readOne } from '../runs/run-reader.js';
import type { ModelItem, VersionItem } from './entity.js';

export class DynamoVersionSourceReader implements VersionSources {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async modelId(name: string): Promise<string | undefined> {
    const claim = await readOne(this.client, this.tableName, keys.registeredModelName(name), [
      'model_id' satisfies keyof ModelItem,
    ]);
    const modelId = claim?.model_id;
    if (!modelId) return undefined;
    // A claim left behind by an interrupted create, rename or delete does not name this model.
    const model = await readOne(this.client, this.tableName, keys.registeredModel(modelId), [
      'name' satisfies keyof ModelItem,
    ]);
    return model?.name === name ? modelId : undefined;
  }

  async source(modelId: string, version: number): Promise<string | undefined> {
    const item = await readOne(this.client, this.tableName, keys.modelVersion(modelId, version), [
      'source' satisfies keyof VersionItem,
      'storage_location' satisfies keyof VersionItem,
    ]);
    // A copied version's source is `models:/<name>/<n>`; its files are where storage_location says (as
    // MLflow's get-artifact handler reads them).
    return item?.storage_location ?? item?.source;
  }
}

/**
 * The model registry in DynamoDB, without transactions (design decision 5).
 *
 * A registered model is keyed by an immutable internal id (`MODEL#<id>`); its versions live in the same
 * partition (`V#<padded number>`), and its name is a *name claim* item (`MODELNAME#<name>` → id) written
 * with `attribute_not_exists`, as for experiments (experiments-repo.ts). A rename therefore writes three
 * items (claim the new name, move the model item's name under a condition, release the old claim) and
 * never touches a version. Tags and aliases are maps on the model item; version numbers come from an
 * atomic ADD on it, so concurrent creates get 1, 2, 3… without gaps or repeats.
 *
 * Half-done steps, and how readers cope:
 * - create: a claim whose model item is missing, or names another name → treated as absent, taken over
 *   after CLAIM_TAKEOVER_MS.
 * - delete model: versions first, then the model item, then the claim; a retry finishes the job, and a
 *   claim without its model reads as "no such model".
 * - delete version: the version first, then its aliases; readers hide aliases whose version is gone.
 */

import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  type QueryCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { newRegisteredModelId } from '../../domain/ids.js';
import type {
  ModelVersion,
  NewRegisteredModel,
  RegisteredModel,
  RegistryRepository,
  Stage,
  VersionChanges,
} from '../../domain/registry/model.js';
import { MlflowError, ResourceAlreadyExistsError } from '../../errors.js';
import { queryAll, updateIfCondition } from '../doc-commands.js';
import { fromStoredMap, isConditionFailure, storedKey, toStoredMap } from '../items.js';
import { keys } from '../keys.js';
import { NameClaims } from '../name-claims.js';

interface ModelItem {
  pk: string;
  sk: string;
  gsi1pk: string;
  gsi1sk: string;
  type: 'registered-model';
  model_id: string;
  name: string;
  description?: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id?: string;
  tags: Record<string, string>;
  aliases: Record<string, number>;
  version_counter?: number;
}

interface VersionItem {
  pk: string;
  sk: string;
  gsi2pk: string;
  gsi2sk: string;
  type: 'model-version';
  model_id: string;
  version: number;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id?: string;
  current_stage: Stage;
  description?: string;
  source: string;
  run_id?: string;
  run_link?: string;
  logged_model_id?: string;
  storage_location?: string;
  status: 'READY';
  tags: Record<string, string>;
}

function toModel(item: ModelItem): RegisteredModel {
  return {
    modelId: item.model_id,
    name: item.name,
    ...(item.description ? { description: item.description } : {}),
    creationTimestamp: item.creation_timestamp,
    lastUpdatedTimestamp: item.last_updated_timestamp,
    ...(item.user_id ? { userId: item.user_id } : {}),
    tags: fromStoredMap(item.tags),
    aliases: fromStoredMap(item.aliases),
  };
}

function toVersion(item: VersionItem): ModelVersion {
  return {
    modelId: item.model_id,
    version: item.version,
    creationTimestamp: item.creation_timestamp,
    lastUpdatedTimestamp: item.last_updated_timestamp,
    ...(item.user_id ? { userId: item.user_id } : {}),
    currentStage: item.current_stage,
    ...(item.description ? { description: item.description } : {}),
    source: item.source,
    ...(item.run_id ? { runId: item.run_id } : {}),
    ...(item.run_link ? { runLink: item.run_link } : {}),
    ...(item.logged_model_id ? { loggedModelId: item.logged_model_id } : {}),
    ...(item.storage_location ? { storageLocation: item.storage_location } : {}),
    status: item.status,
    tags: fromStoredMap(item.tags),
  };
}

export class DynamoRegistryRepository implements RegistryRepository {
  private readonly claims: NameClaims;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    readonly clock: () => number = Date.now,
  ) {
    this.claims = new NameClaims({
      doc,
      tableName,
      key: keys.registeredModelName,
      type: 'registered-model-name',
      idAttribute: 'model_id',
      ownerName: async (id) => (await this.getModel(id))?.name,
      alreadyExists: (name) =>
        new ResourceAlreadyExistsError(`Registered Model (name=${name}) already exists.`),
      clock,
    });
  }

  async getModelByName(name: string): Promise<RegisteredModel | undefined> {
    const claim = await this.claims.get(name);
    if (!claim) return undefined;
    const model = await this.getModel(claim.id);
    // A claim left behind by an interrupted create, rename or delete does not name this model.
    return model?.name === name ? model : undefined;
  }

  async createModel(input: NewRegisteredModel): Promise<RegisteredModel> {
    const modelId = newRegisteredModelId();
    await this.claims.claim(input.name, modelId);
    const item: ModelItem = {
      ...keys.registeredModel(modelId),
      ...keys.registeredModelListing(modelId),
      type: 'registered-model',
      model_id: modelId,
      name: input.name,
      ...(input.description ? { description: input.description } : {}),
      creation_timestamp: input.now,
      last_updated_timestamp: input.now,
      ...(input.userId ? { user_id: input.userId } : {}),
      tags: toStoredMap(input.tags),
      aliases: {},
    };
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      await this.claims.release(input.name, modelId).catch(() => undefined);
      throw error;
    }
    return toModel(item);
  }

  async renameModel(model: RegisteredModel, newName: string, now: number): Promise<void> {
    const oldName = model.name;
    if (newName === oldName) return;
    await this.claims.claim(newName, model.modelId);
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.registeredModel(model.modelId),
          UpdateExpression: 'SET #name = :new, last_updated_timestamp = :now',
          // Guards against a concurrent rename or delete between our read and this write.
          ConditionExpression: '#name = :old',
          ExpressionAttributeNames: { '#name': 'name' },
          ExpressionAttributeValues: { ':new': newName, ':old': oldName, ':now': now },
        }),
      );
    } catch (error) {
      await this.claims.release(newName, model.modelId).catch(() => undefined);
      if (isConditionFailure(error)) {
        throw new MlflowError(
          'RESOURCE_CONFLICT',
          `Registered model ${oldName} was changed by another request while being renamed; retry the rename.`,
        );
      }
      throw error;
    }
    await this.claims.release(oldName, model.modelId);
  }

  updateModel(modelId: string, description: string, now: number): Promise<boolean> {
    return this.conditionalUpdate({
      Key: keys.registeredModel(modelId),
      UpdateExpression: 'SET description = :description, last_updated_timestamp = :now',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':description': description, ':now': now },
    });
  }

  async deleteModel(model: RegisteredModel): Promise<void> {
    await this.deleteVersionItems(model.modelId);
    await this.doc.send(
      new DeleteCommand({ TableName: this.tableName, Key: keys.registeredModel(model.modelId) }),
    );
    // Once the model item is gone no version number can be allocated (nextVersion is conditional on
    // it), but a create that got its number just before may have put its version since the first sweep.
    // A version written after this second sweep is unreachable: its model id is never used again.
    await this.deleteVersionItems(model.modelId);
    await this.claims.release(model.name, model.modelId);
  }

  setModelTag(modelId: string, key: string, value: string): Promise<boolean> {
    return this.conditionalUpdate({
      Key: keys.registeredModel(modelId),
      UpdateExpression: 'SET tags.#key = :value',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: { '#key': storedKey(key) },
      ExpressionAttributeValues: { ':value': value },
    });
  }

  deleteModelTag(modelId: string, key: string): Promise<boolean> {
    return this.conditionalUpdate({
      Key: keys.registeredModel(modelId),
      UpdateExpression: 'REMOVE tags.#key',
      ConditionExpression: 'attribute_exists(tags.#key)',
      ExpressionAttributeNames: { '#key': storedKey(key) },
    });
  }

  async listModels(): Promise<RegisteredModel[]> {
    const items = await this.queryAll({
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.allRegisteredModelsPartition },
    });
    return items.map((item) => toModel(item as unknown as ModelItem));
  }

  async nextVersion(modelId: string, now: number): Promise<number | undefined> {
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.registeredModel(modelId),
          UpdateExpression: 'ADD version_counter :one SET last_updated_timestamp = :now',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':one': 1, ':now': now },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return Number(Attributes?.version_counter);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async putVersion(version: ModelVersion): Promise<void> {
    const item: VersionItem = {
      ...keys.modelVersion(version.modelId, version.version),
      ...keys.modelVersionListing(version.modelId, version.version),
      type: 'model-version',
      model_id: version.modelId,
      version: version.version,
      creation_timestamp: version.creationTimestamp,
      last_updated_timestamp: version.lastUpdatedTimestamp,
      ...(version.userId ? { user_id: version.userId } : {}),
      current_stage: version.currentStage,
      ...(version.description ? { description: version.description } : {}),
      source: version.source,
      ...(version.runId ? { run_id: version.runId } : {}),
      ...(version.runLink ? { run_link: version.runLink } : {}),
      ...(version.loggedModelId ? { logged_model_id: version.loggedModelId } : {}),
      ...(version.storageLocation ? { storage_location: version.storageLocation } : {}),
      status: version.status,
      tags: toStoredMap(version.tags),
    };
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: item,
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async getVersion(modelId: string, version: number): Promise<ModelVersion | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: keys.modelVersion(modelId, version),
        ConsistentRead: true,
      }),
    );
    return Item ? toVersion(Item as VersionItem) : undefined;
  }

  async listVersions(modelId: string): Promise<ModelVersion[]> {
    const items = await this.queryAll({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: {
        ':pk': keys.registeredModelPartition(modelId),
        ':prefix': keys.modelVersionPrefix,
      },
      ConsistentRead: true,
    });
    return items.map((item) => toVersion(item as unknown as VersionItem));
  }

  async listAllVersions(): Promise<ModelVersion[]> {
    const items = await this.queryAll({
      IndexName: 'gsi2',
      KeyConditionExpression: 'gsi2pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.allModelVersionsPartition },
    });
    return items.map((item) => toVersion(item as unknown as VersionItem));
  }

  updateVersion(modelId: string, version: number, changes: VersionChanges, now: number): Promise<boolean> {
    const sets = ['last_updated_timestamp = :now'];
    const values: Record<string, unknown> = { ':now': now };
    if (changes.description !== undefined) {
      sets.push('description = :description');
      values[':description'] = changes.description;
    }
    if (changes.stage !== undefined) {
      sets.push('current_stage = :stage');
      values[':stage'] = changes.stage;
    }
    return this.conditionalUpdate({
      Key: keys.modelVersion(modelId, version),
      UpdateExpression: `SET ${sets.join(', ')}`,
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: values,
    });
  }

  async deleteVersion(modelId: string, version: number): Promise<void> {
    await this.doc.send(
      new DeleteCommand({ TableName: this.tableName, Key: keys.modelVersion(modelId, version) }),
    );
  }

  setVersionTag(modelId: string, version: number, key: string, value: string): Promise<boolean> {
    return this.conditionalUpdate({
      Key: keys.modelVersion(modelId, version),
      UpdateExpression: 'SET tags.#key = :value',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: { '#key': storedKey(key) },
      ExpressionAttributeValues: { ':value': value },
    });
  }

  deleteVersionTag(modelId: string, version: number, key: string): Promise<boolean> {
    return this.conditionalUpdate({
      Key: keys.modelVersion(modelId, version),
      UpdateExpression: 'REMOVE tags.#key',
      ConditionExpression: 'attribute_exists(tags.#key)',
      ExpressionAttributeNames: { '#key': storedKey(key) },
    });
  }

  setAlias(modelId: string, alias: string, version: number, now: number): Promise<boolean> {
    return this.conditionalUpdate({
      Key: keys.registeredModel(modelId),
      UpdateExpression: 'SET aliases.#alias = :version, last_updated_timestamp = :now',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: { '#alias': storedKey(alias) },
      ExpressionAttributeValues: { ':version': version, ':now': now },
    });
  }

  deleteAlias(modelId: string, alias: string, onlyIfVersion?: number): Promise<boolean> {
    return this.conditionalUpdate({
      Key: keys.registeredModel(modelId),
      UpdateExpression: 'REMOVE aliases.#alias',
      ConditionExpression:
        onlyIfVersion === undefined ? 'attribute_exists(aliases.#alias)' : 'aliases.#alias = :version',
      ExpressionAttributeNames: { '#alias': storedKey(alias) },
      ...(onlyIfVersion === undefined ? {} : { ExpressionAttributeValues: { ':version': onlyIfVersion } }),
    });
  }

  private async deleteVersionItems(modelId: string): Promise<void> {
    const versions = await this.listVersions(modelId);
    for (let start = 0; start < versions.length; start += 25) {
      await Promise.all(
        versions.slice(start, start + 25).map((version) =>
          this.doc.send(
            new DeleteCommand({
              TableName: this.tableName,
              Key: keys.modelVersion(modelId, version.version),
            }),
          ),
        ),
      );
    }
  }

  /** The model with this id, strongly consistent (`cairn policy migrate` tells ids from names by it). */
  async getModel(modelId: string): Promise<RegisteredModel | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: keys.registeredModel(modelId), ConsistentRead: true }),
    );
    return Item ? toModel(Item as ModelItem) : undefined;
  }

  private queryAll(input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey'>) {
    return queryAll(this.doc, { TableName: this.tableName, ...input });
  }

  private conditionalUpdate(input: Omit<UpdateCommandInput, 'TableName'>): Promise<boolean> {
    return updateIfCondition(this.doc, { TableName: this.tableName, ...input });
  }
}

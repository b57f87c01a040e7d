/**
 * The model registry in DynamoDB, without transactions (design decision 5).
 *
 * A registered model is keyed by an immutable internal id (`MODEL#<id>`); its versions live in the same
 * partition (`V#<padded number>`), and its name is a *name claim* item (`MODELNAME#<name>` → id) written
 * with `attribute_not_exists`, as for experiments (store/experiments/repository.ts). A rename therefore writes three
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
  VersionChanges,
} from '../../domain/registry/model.js';
import { MlflowError, ResourceAlreadyExistsError } from '../../errors.js';
import { queryAll, updateIfCondition } from '../doc-commands.js';
import { isConditionFailure, storedKey } from '../items.js';
import { keyConditions, keys } from '../keys.js';
import { NameClaims } from '../name-claims.js';
import { modelEntity, versionEntity } from './entity.js';

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
    const model: RegisteredModel = {
      modelId,
      name: input.name,
      ...(input.description ? { description: input.description } : {}),
      creationTimestamp: input.now,
      lastUpdatedTimestamp: input.now,
      ...(input.userId ? { userId: input.userId } : {}),
      tags: input.tags,
      aliases: {},
    };
    try {
      await input.beforeVisible?.();
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: modelEntity.toItem(model),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      await this.claims.release(input.name, modelId).catch(() => undefined);
      throw error;
    }
    return model;
  }

  /**
   * A registered model copied from another server (`cairn import`): the source's name, times, tags and
   * aliases, and its version counter at the source's highest version, so that versions keep their
   * numbers (they are put after, with putVersion) and the next one created here follows them.
   */
  async createImported(
    model: Omit<RegisteredModel, 'modelId'>,
    highestVersion: number,
  ): Promise<RegisteredModel> {
    const modelId = newRegisteredModelId();
    await this.claims.claim(model.name, modelId);
    const created: RegisteredModel = { ...model, modelId };
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...modelEntity.toItem(created), version_counter: highestVersion },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      await this.claims.release(model.name, modelId).catch(() => undefined);
      throw error;
    }
    return created;
  }

  async renameModel(
    model: RegisteredModel,
    newName: string,
    now: number,
    beforeVisible?: () => Promise<void>,
  ): Promise<void> {
    const oldName = model.name;
    if (newName === oldName) return;
    await this.claims.claim(newName, model.modelId);
    try {
      await beforeVisible?.();
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: modelEntity.key(model.modelId),
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
      Key: modelEntity.key(modelId),
      UpdateExpression: 'SET description = :description, last_updated_timestamp = :now',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':description': description, ':now': now },
    });
  }

  touchModel(modelId: string, now: number): Promise<boolean> {
    return this.conditionalUpdate({
      Key: modelEntity.key(modelId),
      UpdateExpression: 'SET last_updated_timestamp = :now',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':now': now },
    });
  }

  async deleteModel(model: RegisteredModel): Promise<void> {
    await this.deleteVersionItems(model.modelId);
    await this.doc.send(
      new DeleteCommand({ TableName: this.tableName, Key: modelEntity.key(model.modelId) }),
    );
    // Once the model item is gone no version number can be allocated (nextVersion is conditional on
    // it), but a create that got its number just before may have put its version since the first sweep.
    // A version written after this second sweep is unreachable: its model id is never used again.
    await this.deleteVersionItems(model.modelId);
    await this.claims.release(model.name, model.modelId);
  }

  setModelTag(modelId: string, key: string, value: string): Promise<boolean> {
    return this.conditionalUpdate({
      Key: modelEntity.key(modelId),
      UpdateExpression: 'SET tags.#key = :value',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: { '#key': storedKey(key) },
      ExpressionAttributeValues: { ':value': value },
    });
  }

  deleteModelTag(modelId: string, key: string): Promise<boolean> {
    return this.conditionalUpdate({
      Key: modelEntity.key(modelId),
      UpdateExpression: 'REMOVE tags.#key',
      ConditionExpression: 'attribute_exists(tags.#key)',
      ExpressionAttributeNames: { '#key': storedKey(key) },
    });
  }

  async listModels(): Promise<RegisteredModel[]> {
    const items = await this.queryAll(
      keyConditions.indexPartition('gsi1', keys.allRegisteredModelsPartition),
    );
    return items.map(modelEntity.fromItem);
  }

  async nextVersion(modelId: string, now: number): Promise<number | undefined> {
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: modelEntity.key(modelId),
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
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: versionEntity.toItem(version),
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async getVersion(modelId: string, version: number): Promise<ModelVersion | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: versionEntity.key(modelId, version),
        ConsistentRead: true,
      }),
    );
    return Item ? versionEntity.fromItem(Item) : undefined;
  }

  async listVersions(modelId: string): Promise<ModelVersion[]> {
    const items = await this.queryAll({
      ...keyConditions.prefix(keys.registeredModelPartition(modelId), keys.modelVersionPrefix),
      ConsistentRead: true,
    });
    return items.map(versionEntity.fromItem);
  }

  async listAllVersions(): Promise<ModelVersion[]> {
    const items = await this.queryAll(keyConditions.indexPartition('gsi2', keys.allModelVersionsPartition));
    return items.map(versionEntity.fromItem);
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
      Key: versionEntity.key(modelId, version),
      UpdateExpression: `SET ${sets.join(', ')}`,
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: values,
    });
  }

  async deleteVersion(modelId: string, version: number, now?: number): Promise<void> {
    await this.doc.send(
      new DeleteCommand({ TableName: this.tableName, Key: versionEntity.key(modelId, version) }),
    );
    if (now === undefined) return;
    // After the delete: a model deleted meanwhile is not brought back (the condition), and a failure here
    // leaves only an older timestamp behind.
    await this.conditionalUpdate({
      Key: modelEntity.key(modelId),
      UpdateExpression: 'SET last_updated_timestamp = :now',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':now': now },
    });
  }

  setVersionTag(modelId: string, version: number, key: string, value: string): Promise<boolean> {
    return this.conditionalUpdate({
      Key: versionEntity.key(modelId, version),
      UpdateExpression: 'SET tags.#key = :value',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: { '#key': storedKey(key) },
      ExpressionAttributeValues: { ':value': value },
    });
  }

  deleteVersionTag(modelId: string, version: number, key: string): Promise<boolean> {
    return this.conditionalUpdate({
      Key: versionEntity.key(modelId, version),
      UpdateExpression: 'REMOVE tags.#key',
      ConditionExpression: 'attribute_exists(tags.#key)',
      ExpressionAttributeNames: { '#key': storedKey(key) },
    });
  }

  setAlias(modelId: string, alias: string, version: number, now: number): Promise<boolean> {
    return this.conditionalUpdate({
      Key: modelEntity.key(modelId),
      UpdateExpression: 'SET aliases.#alias = :version, last_updated_timestamp = :now',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: { '#alias': storedKey(alias) },
      ExpressionAttributeValues: { ':version': version, ':now': now },
    });
  }

  deleteAlias(modelId: string, alias: string, onlyIfVersion?: number): Promise<boolean> {
    return this.conditionalUpdate({
      Key: modelEntity.key(modelId),
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
              Key: versionEntity.key(modelId, version.version),
            }),
          ),
        ),
      );
    }
  }

  /** The model with this id, strongly consistent (`cairn policy migrate` tells ids from names by it). */
  async getModel(modelId: string): Promise<RegisteredModel | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: modelEntity.key(modelId), ConsistentRead: true }),
    );
    return Item ? modelEntity.fromItem(Item) : undefined;
  }

  private queryAll(input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey'>) {
    return queryAll(this.doc, { TableName: this.tableName, ...input });
  }

  private conditionalUpdate(input: Omit<UpdateCommandInput, 'TableName'>): Promise<boolean> {
    return updateIfCondition(this.doc, { TableName: this.tableName, ...input });
  }
}

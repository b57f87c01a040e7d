/**
 * Experiments in DynamoDB, without transactions (dynalite has none; design decision 5).
 *
 * Name uniqueness rests on a *name claim* item (`EXPNAME#<name>`) written with `attribute_not_exists`
 * before the experiment item. Creating is three single-item writes:
 *
 *   1. ADD 1 to the experiment counter            → id (a failed create leaves a gap; ids stay unique)
 *   2. put claim(name → id)   if absent            → the one writer that wins owns the name
 *   3. put experiment(id)     if absent
 *
 * Renaming claims the new name, moves the experiment item (conditional on its old name), then releases
 * the old claim. A crash between steps leaves a claim whose experiment is missing or carries another
 * name. Readers treat such a claim as absent (get-by-name checks the experiment's name), and a writer may
 * take it over once it is older than CLAIM_TAKEOVER_MS, which is longer than any request can run, so a
 * claim is never stolen from a create or rename still in flight.
 */

import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type {
  Experiment,
  ExperimentRepository,
  ExperimentRunStats,
  LifecycleStage,
  NewExperiment,
} from '../../domain/experiments/model.js';
import { DEFAULT_EXPERIMENT_ID } from '../../domain/ids.js';
import { MlflowError, ResourceAlreadyExistsError } from '../../errors.js';
import { queryAll, updateIfCondition } from '../doc-commands.js';
import { isConditionFailure, storedKey } from '../items.js';
import { keyConditions, keys } from '../keys.js';
import { NameClaims } from '../name-claims.js';
import { type ExperimentItem, toExperiment, toExperimentItem } from './entity.js';
import { readRunStats } from './run-stats.js';

export { CLAIM_TAKEOVER_MS } from '../name-claims.js';

const DEFAULT_EXPERIMENT_NAME = 'Default';

export class DynamoExperimentRepository implements ExperimentRepository {
  private readonly claims: NameClaims;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    readonly clock: () => number = Date.now,
  ) {
    this.claims = new NameClaims({
      doc,
      tableName,
      key: keys.experimentName,
      type: 'experiment-name',
      idAttribute: 'experiment_id',
      ownerName: async (id) => (await this.get(id))?.name,
      alreadyExists: (name) => new ResourceAlreadyExistsError(`Experiment(name=${name}) already exists.`),
      clock,
    });
  }

  async get(experimentId: string): Promise<Experiment | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: keys.experiment(experimentId), ConsistentRead: true }),
    );
    return Item ? toExperiment(Item as ExperimentItem) : undefined;
  }

  async getByName(name: string): Promise<Experiment | undefined> {
    const claim = await this.claims.get(name);
    if (!claim) return undefined;
    const experiment = await this.get(claim.id);
    // A claim left behind by an interrupted create or rename does not name this experiment.
    return experiment?.name === name ? experiment : undefined;
  }

  async create(input: NewExperiment): Promise<Experiment> {
    const experimentId = await this.nextExperimentId();
    await input.beforeVisible?.(experimentId);
    await this.claims.claim(input.name, experimentId);
    const experiment: Experiment = {
      experimentId,
      name: input.name,
      artifactLocation: input.artifactLocation(experimentId),
      lifecycleStage: 'active',
      creationTime: input.now,
      lastUpdateTime: input.now,
      tags: input.tags,
    };
    try {
      await this.putExperimentIfAbsent(experiment);
    } catch (error) {
      await this.claims.release(input.name, experimentId).catch(() => undefined);
      throw error;
    }
    return experiment;
  }

  /**
   * An experiment copied from another server (`cairn import`), with the source's name, times, stage and
   * tags: under `preferredId` when that id is free (the counter is raised to it first, so no later create
   * is handed it), else under a new id from the counter. Ids beyond 15 digits (MLflow's file store makes
   * 18-digit ones) are not kept: the counter is a JavaScript number here. The name must be free.
   */
  async createImported(
    experiment: Omit<Experiment, 'experimentId' | 'artifactLocation'>,
    preferredId: string,
    artifactLocation: (experimentId: string) => string,
  ): Promise<Experiment> {
    const keepable = /^[1-9]\d{0,14}$/.test(preferredId) && !(await this.get(preferredId));
    if (keepable) {
      await this.doc
        .send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: keys.experimentCounter(),
            UpdateExpression: 'SET #value = :id',
            ConditionExpression: 'attribute_not_exists(#value) OR #value < :id',
            ExpressionAttributeNames: { '#value': 'value' },
            ExpressionAttributeValues: { ':id': Number(preferredId) },
          }),
        )
        .catch((error: unknown) => {
          if (!isConditionFailure(error)) throw error;
        });
    }
    const experimentId = keepable ? preferredId : await this.nextExperimentId();
    await this.claims.claim(experiment.name, experimentId);
    const created: Experiment = {
      ...experiment,
      experimentId,
      artifactLocation: artifactLocation(experimentId),
    };
    try {
      await this.putExperimentIfAbsent(created);
    } catch (error) {
      await this.claims.release(experiment.name, experimentId).catch(() => undefined);
      throw error;
    }
    return created;
  }

  async ensureDefault(artifactLocation: string, now: number): Promise<void> {
    if (await this.get(DEFAULT_EXPERIMENT_ID)) return;
    try {
      await this.claims.claim(DEFAULT_EXPERIMENT_NAME, DEFAULT_EXPERIMENT_ID);
    } catch (error) {
      // Already claimed: by "0" itself after an interrupted first start (fine), or by someone else.
      if (!(error instanceof ResourceAlreadyExistsError)) throw error;
      const claim = await this.claims.get(DEFAULT_EXPERIMENT_NAME);
      if (claim?.id !== DEFAULT_EXPERIMENT_ID) return;
    }
    await this.putExperimentIfAbsent({
      experimentId: DEFAULT_EXPERIMENT_ID,
      name: DEFAULT_EXPERIMENT_NAME,
      artifactLocation,
      lifecycleStage: 'active',
      creationTime: now,
      lastUpdateTime: now,
      tags: {},
    }).catch((error: unknown) => {
      if (!isConditionFailure(error)) throw error;
    });
  }

  async rename(experiment: Experiment, newName: string, now: number): Promise<void> {
    const oldName = experiment.name;
    if (newName !== oldName) await this.claims.claim(newName, experiment.experimentId);
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.experiment(experiment.experimentId),
          UpdateExpression: 'SET #name = :new, last_update_time = :now',
          // Guards against a concurrent rename or delete between our read and this write.
          ConditionExpression: '#name = :old AND lifecycle_stage = :active',
          ExpressionAttributeNames: { '#name': 'name' },
          ExpressionAttributeValues: { ':new': newName, ':old': oldName, ':now': now, ':active': 'active' },
        }),
      );
    } catch (error) {
      if (newName !== oldName)
        await this.claims.release(newName, experiment.experimentId).catch(() => undefined);
      if (isConditionFailure(error)) {
        throw new MlflowError(
          'RESOURCE_CONFLICT',
          `Experiment ${experiment.experimentId} was changed by another request while being renamed; retry the rename.`,
        );
      }
      throw error;
    }
    if (newName !== oldName) await this.claims.release(oldName, experiment.experimentId);
  }

  async setLifecycle(
    experimentId: string,
    from: LifecycleStage,
    to: LifecycleStage,
    now: number,
  ): Promise<boolean> {
    return this.conditionalUpdate({
      Key: keys.experiment(experimentId),
      UpdateExpression: 'SET lifecycle_stage = :to, last_update_time = :now',
      // A purge marks the experiment before it deletes anything: restoring it then would lose runs.
      ConditionExpression: `lifecycle_stage = :from${to === 'active' ? ' AND attribute_not_exists(purging)' : ''}`,
      ExpressionAttributeValues: { ':to': to, ':from': from, ':now': now },
    });
  }

  async setTag(experimentId: string, key: string, value: string): Promise<boolean> {
    return this.conditionalUpdate({
      Key: keys.experiment(experimentId),
      UpdateExpression: 'SET tags.#key = :value',
      ConditionExpression: 'lifecycle_stage = :active',
      ExpressionAttributeNames: { '#key': storedKey(key) },
      ExpressionAttributeValues: { ':value': value, ':active': 'active' },
    });
  }

  async deleteTag(experimentId: string, key: string): Promise<boolean> {
    return this.conditionalUpdate({
      Key: keys.experiment(experimentId),
      UpdateExpression: 'REMOVE tags.#key',
      ConditionExpression: 'lifecycle_stage = :active AND attribute_exists(tags.#key)',
      ExpressionAttributeNames: { '#key': storedKey(key) },
      ExpressionAttributeValues: { ':active': 'active' },
    });
  }

  async listAll(): Promise<Experiment[]> {
    const items = await queryAll<ExperimentItem>(this.doc, {
      TableName: this.tableName,
      ...keyConditions.indexPartition('gsi1', keys.allExperimentsPartition),
    });
    return items.map(toExperiment);
  }

  readRunStats(experimentIds: readonly string[]): Promise<ExperimentRunStats[]> {
    return readRunStats(this.doc, this.tableName, experimentIds);
  }

  private conditionalUpdate(input: Omit<UpdateCommandInput, 'TableName'>): Promise<boolean> {
    return updateIfCondition(this.doc, { TableName: this.tableName, ...input });
  }

  private async nextExperimentId(): Promise<string> {
    const { Attributes } = await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.experimentCounter(),
        UpdateExpression: 'ADD #value :one',
        ExpressionAttributeNames: { '#value': 'value' },
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return String(Attributes?.value);
  }

  private async putExperimentIfAbsent(experiment: Experiment): Promise<void> {
    const item = toExperimentItem(experiment);
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: item,
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }
}

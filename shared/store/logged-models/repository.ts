/**
 * Logged models: one item per model (`LMODEL#<id>`), holding its info, tags, params and latest metrics,
 * with a version number `ver` for optimistic writes. Listed per experiment through gsi1
 * (`EXPMODELS#<experiment_id>`), so a search reads only the experiments it names. A model item stays
 * small (a few KB: `log_model` writes half a dozen tags), so a change rewrites the whole item: one read
 * and one conditional put, whatever changed.
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { LoggedModel } from '../../domain/logged-models/model.js';
import type { LoggedModelMutation, LoggedModelRepository } from '../../domain/logged-models/service.js';
import { InvalidParameterValueError } from '../../errors.js';
import { queryAll } from '../doc-commands.js';
import {
  approximateItemBytes,
  ConcurrentWritesError,
  contendedWriteBackoff,
  ITEM_BYTES_BUDGET,
  isConditionFailure,
} from '../items.js';
import { keyConditions, keys } from '../keys.js';
import { type LoggedModelItem, toItem, toModel } from './entity.js';

const MAX_ATTEMPTS = 20;

function checkSize(item: LoggedModelItem): void {
  const size = approximateItemBytes(item);
  if (size > ITEM_BYTES_BUDGET) {
    throw new InvalidParameterValueError(
      `Logged model ${item.model_id} cannot hold this: its tags, params and metrics would take about ${size} bytes, beyond the ${ITEM_BYTES_BUDGET}-byte storage limit of a logged model.`,
    );
  }
}

export class DynamoLoggedModelRepository implements LoggedModelRepository {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(model: LoggedModel): Promise<void> {
    const item = toItem(model, 1);
    checkSize(item);
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: item,
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async get(modelId: string): Promise<LoggedModel | undefined> {
    const item = await this.read(modelId);
    return item ? toModel(item) : undefined;
  }

  async mutate(modelId: string, mutation: LoggedModelMutation): Promise<LoggedModel | undefined> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      await contendedWriteBackoff(attempt);
      const item = await this.read(modelId);
      if (!item) return undefined;
      const current = toModel(item);
      const next = mutation(current);
      if (next === null) return current;
      const written = toItem(next, item.ver + 1);
      checkSize(written);
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: written,
            ConditionExpression: 'ver = :read',
            ExpressionAttributeValues: { ':read': item.ver },
          }),
        );
        return next;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    throw new ConcurrentWritesError(`logged model ${modelId}`);
  }

  assertFits(model: LoggedModel): void {
    checkSize(toItem(model, 0));
  }

  async listByExperiment(experimentId: string): Promise<LoggedModel[]> {
    const items = await queryAll<LoggedModelItem>(this.doc, {
      TableName: this.tableName,
      ...keyConditions.indexPartition('gsi1', keys.experimentLoggedModelsPartition(experimentId)),
    });
    return items.map(toModel);
  }

  private async read(modelId: string): Promise<LoggedModelItem | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: keys.loggedModel(modelId), ConsistentRead: true }),
    );
    return Item as LoggedModelItem | undefined;
  }
}

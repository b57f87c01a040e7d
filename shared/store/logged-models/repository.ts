/**
 * Logged models: one item per model (`LMODEL#<id>`), holding its info, tags, params and latest metrics,
 * with a version number `ver` for optimistic writes. Listed per experiment through gsi1
 * (`EXPMODELS#<experiment_id>`), so a search reads only the experiments it names. A model item stays
 * small (a few KB: `log_model` writes half a dozen tags), so a change rewrites the whole item: one read
 * and one conditional put, whatever changed.
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { LifecycleStage } from '../../domain/experiments/model.js';
import type { LoggedModel, LoggedModelMetric, LoggedModelStatus } from '../../domain/logged-models/model.js';
import type { LoggedModelMutation, LoggedModelRepository } from '../../domain/logged-models/service.js';
import { InvalidParameterValueError } from '../../errors.js';
import { queryAll } from '../doc-commands.js';
import {
  approximateItemBytes,
  ConcurrentWritesError,
  contendedWriteBackoff,
  fromStoredMap,
  ITEM_BYTES_BUDGET,
  isConditionFailure,
  toStoredMap,
} from '../items.js';
import { keys } from '../keys.js';

interface MetricItem {
  key: string;
  /** A string, so that NaN, ±Infinity and -0 survive (DynamoDB numbers cannot hold them). */
  value: string;
  timestamp: number;
  step: number;
  run_id?: string;
  dataset_name?: string;
  dataset_digest?: string;
}

interface LoggedModelItem {
  pk: string;
  sk: string;
  gsi1pk: string;
  gsi1sk: string;
  ver: number;
  model_id: string;
  experiment_id: string;
  name: string;
  artifact_uri: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  status: LoggedModelStatus;
  lifecycle_stage: LifecycleStage;
  model_type?: string;
  source_run_id?: string;
  status_message?: string;
  tags: Record<string, string>;
  params: Record<string, string>;
  metrics: MetricItem[];
}

const MAX_ATTEMPTS = 20;

const metricValue = (value: number): string => (Object.is(value, -0) ? '-0' : String(value));

function toItem(model: LoggedModel, ver: number): LoggedModelItem {
  return {
    ...keys.loggedModel(model.modelId),
    ...keys.loggedModelListing(model.experimentId, model.modelId),
    ver,
    model_id: model.modelId,
    experiment_id: model.experimentId,
    name: model.name,
    artifact_uri: model.artifactUri,
    creation_timestamp: model.creationTimestamp,
    last_updated_timestamp: model.lastUpdatedTimestamp,
    status: model.status,
    lifecycle_stage: model.lifecycleStage,
    ...(model.modelType ? { model_type: model.modelType } : {}),
    ...(model.sourceRunId ? { source_run_id: model.sourceRunId } : {}),
    ...(model.statusMessage ? { status_message: model.statusMessage } : {}),
    tags: toStoredMap(model.tags),
    params: toStoredMap(model.params),
    metrics: model.metrics.map(
      (metric): MetricItem => ({
        key: metric.key,
        value: metricValue(metric.value),
        timestamp: metric.timestamp,
        step: metric.step,
        ...(metric.runId ? { run_id: metric.runId } : {}),
        ...(metric.datasetName ? { dataset_name: metric.datasetName } : {}),
        ...(metric.datasetDigest ? { dataset_digest: metric.datasetDigest } : {}),
      }),
    ),
  };
}

function toModel(item: LoggedModelItem): LoggedModel {
  return {
    modelId: item.model_id,
    experimentId: item.experiment_id,
    name: item.name,
    artifactUri: item.artifact_uri,
    creationTimestamp: item.creation_timestamp,
    lastUpdatedTimestamp: item.last_updated_timestamp,
    status: item.status,
    lifecycleStage: item.lifecycle_stage,
    ...(item.model_type ? { modelType: item.model_type } : {}),
    ...(item.source_run_id ? { sourceRunId: item.source_run_id } : {}),
    ...(item.status_message ? { statusMessage: item.status_message } : {}),
    tags: fromStoredMap(item.tags),
    params: fromStoredMap(item.params),
    metrics: (item.metrics ?? []).map(
      (metric): LoggedModelMetric => ({
        key: metric.key,
        value: Number(metric.value),
        timestamp: metric.timestamp,
        step: metric.step,
        ...(metric.run_id ? { runId: metric.run_id } : {}),
        ...(metric.dataset_name ? { datasetName: metric.dataset_name } : {}),
        ...(metric.dataset_digest ? { datasetDigest: metric.dataset_digest } : {}),
      }),
    ),
  };
}

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
    const items = await queryAll(this.doc, {
      TableName: this.tableName,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.experimentLoggedModelsPartition(experimentId) },
    });
    return items.map((item) => toModel(item as unknown as LoggedModelItem));
  }

  private async read(modelId: string): Promise<LoggedModelItem | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: keys.loggedModel(modelId), ConsistentRead: true }),
    );
    return Item as LoggedModelItem | undefined;
  }
}

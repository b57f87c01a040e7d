/**
 * The logged-model item, stated once: its type, its keys (from keys.ts) and its item ↔ domain mappers.
 * One item per model holds its info, tags, params and latest metrics, with a version number `ver`.
 */
import type { LifecycleStage } from '../../domain/experiments/model.js';
import type { LoggedModel, LoggedModelMetric, LoggedModelStatus } from '../../domain/logged-models/model.js';
import { formatMetricValue, parseMetricValue } from '../../domain/runs/metrics.js';
import { fromStoredMap, toStoredMap } from '../items.js';
import { keys } from '../keys.js';

export interface MetricItem {
  key: string;
  /** A string, so that NaN, ±Infinity and -0 survive (DynamoDB numbers cannot hold them). */
  value: string;
  timestamp: number;
  step: number;
  run_id?: string;
  dataset_name?: string;
  dataset_digest?: string;
}

export interface LoggedModelItem {
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
  /** See LoggedModel.unverified. */
  unverified?: string;
  status_message?: string;
  tags: Record<string, string>;
  params: Record<string, string>;
  metrics: MetricItem[];
}

export function toItem(model: LoggedModel, ver: number): LoggedModelItem {
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
    ...(model.unverified ? { unverified: model.unverified } : {}),
    ...(model.statusMessage ? { status_message: model.statusMessage } : {}),
    tags: toStoredMap(model.tags),
    params: toStoredMap(model.params),
    metrics: model.metrics.map(
      (metric): MetricItem => ({
        key: metric.key,
        value: formatMetricValue(metric.value),
        timestamp: metric.timestamp,
        step: metric.step,
        ...(metric.runId ? { run_id: metric.runId } : {}),
        ...(metric.datasetName ? { dataset_name: metric.datasetName } : {}),
        ...(metric.datasetDigest ? { dataset_digest: metric.datasetDigest } : {}),
      }),
    ),
  };
}

export function toModel(item: LoggedModelItem): LoggedModel {
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
    ...(item.unverified ? { unverified: item.unverified } : {}),
    ...(item.status_message ? { statusMessage: item.status_message } : {}),
    tags: fromStoredMap(item.tags),
    params: fromStoredMap(item.params),
    metrics: (item.metrics ?? []).map(
      (metric): LoggedModelMetric => ({
        key: metric.key,
        value: parseMetricValue(metric.value),
        timestamp: metric.timestamp,
        step: metric.step,
        ...(metric.run_id ? { runId: metric.run_id } : {}),
        ...(metric.dataset_name ? { datasetName: metric.dataset_name } : {}),
        ...(metric.dataset_digest ? { datasetDigest: metric.dataset_digest } : {}),
      }),
    ),
  };
}

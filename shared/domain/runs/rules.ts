/**
 * The runs aggregate's rules and limits (MLflow's, contract 3.3), each stated once. Cross-aggregate ones
 * (keys, max_results) are in ../rules.ts.
 */
import { InvalidParameterValueError, ResourceDoesNotExistError } from '../../errors.js';
import { validateKey, validateMaxLength } from '../rules.js';
import type { DatasetInput, Run } from './model.js';

export const RUN_LIMITS = {
  paramValue: 6000,
  runTagValue: 8000,
  batchMetrics: 1000,
  batchParams: 100,
  batchTags: 100,
  batchEntities: 1000,
  historyPageMax: 25_000,
  datasetName: 500,
  datasetDigest: 36,
  datasetSource: 65_535,
  datasetSchema: 1_048_575,
  datasetProfile: 16_777_215,
  inputTagKey: 255,
  inputTagValue: 500,
  datasetsPerRequest: 1000,
  bulkIntervalRuns: 100,
  bulkIntervalMaxResults: 2500,
  bulkIntervalMaxPoints: 50_000,
} as const;

/** MLflow's `MAX_BATCH_LOG_REQUEST_SIZE`: a log-batch request body's bytes at most. */
export const LOG_BATCH_MAX_BODY_BYTES = 1_000_000;

/** A run's name is also its `mlflow.runName` tag. */
export const RUN_NAME_TAG = 'mlflow.runName';

export function runNotFound(runId: string): ResourceDoesNotExistError {
  return new ResourceDoesNotExistError(`Run with id=${runId} not found`);
}

export function requireActive<T extends Pick<Run, 'lifecycleStage'>>(run: T | undefined, runId: string): T {
  if (!run) throw runNotFound(runId);
  if (run.lifecycleStage !== 'active') {
    throw new InvalidParameterValueError(
      `The run ${runId} must be in the 'active' state. Current state is ${run.lifecycleStage}.`,
    );
  }
  return run;
}

/** Validates a param; `field` is the prefix naming where it sits in the request (`params[3].`), or ''. */
export function validateParam(field: string, key: string, value: string): void {
  validateKey(`${field}key`, key);
  validateMaxLength(`${field}value`, value, RUN_LIMITS.paramValue);
}

export function validateRunTag(field: string, key: string, value: string): void {
  validateKey(`${field}key`, key);
  validateMaxLength(`${field}value`, value, RUN_LIMITS.runTagValue);
}

export function validateLogBatchBodySize(bodyBytes: number): void {
  if (bodyBytes > LOG_BATCH_MAX_BODY_BYTES) {
    throw new InvalidParameterValueError(
      `Batched logging API requests must be at most ${LOG_BATCH_MAX_BODY_BYTES} bytes, got a request body of ${bodyBytes} bytes.`,
    );
  }
}

/** MLflow's per-request counts of a log-batch. */
export function validateBatchCounts(batch: { metrics: number; params: number; tags: number }): void {
  const limit = (what: string, count: number, max: number) => {
    if (count > max) {
      throw new InvalidParameterValueError(
        `A batch logging request can contain at most ${max} ${what}. Got ${count} ${what}. Please split up ${what} across multiple requests and try again.`,
      );
    }
  };
  limit('metrics', batch.metrics, RUN_LIMITS.batchMetrics);
  limit('params', batch.params, RUN_LIMITS.batchParams);
  limit('tags', batch.tags, RUN_LIMITS.batchTags);
  limit('total entities', batch.metrics + batch.params + batch.tags, RUN_LIMITS.batchEntities);
}

/** Dataset inputs of one log-inputs request: their count and MLflow's column sizes. */
export function validateDatasetInputs(datasets: readonly DatasetInput[]): void {
  if (datasets.length > RUN_LIMITS.datasetsPerRequest) {
    throw new InvalidParameterValueError(
      `A request can log at most ${RUN_LIMITS.datasetsPerRequest} dataset inputs. Got ${datasets.length}.`,
    );
  }
  for (const [index, dataset] of datasets.entries()) {
    const field = `datasets[${index}].dataset.`;
    validateMaxLength(`${field}name`, dataset.name, RUN_LIMITS.datasetName);
    validateMaxLength(`${field}digest`, dataset.digest, RUN_LIMITS.datasetDigest);
    validateMaxLength(`${field}source`, dataset.source, RUN_LIMITS.datasetSource);
    validateMaxLength(`${field}schema`, dataset.schema ?? '', RUN_LIMITS.datasetSchema);
    validateMaxLength(`${field}profile`, dataset.profile ?? '', RUN_LIMITS.datasetProfile);
    for (const [key, value] of Object.entries(dataset.tags)) {
      validateMaxLength(`datasets[${index}].tags.key`, key, RUN_LIMITS.inputTagKey);
      validateMaxLength(`datasets[${index}].tags.value`, value, RUN_LIMITS.inputTagValue);
    }
  }
}

/** A metric's dataset fields, within MLflow's dataset limits; `field` is where the metric sits (`metrics[3].`). */
export function validateMetricDataset(
  field: string,
  point: { datasetName?: string; datasetDigest?: string },
) {
  validateMaxLength(`${field}dataset_name`, point.datasetName ?? '', RUN_LIMITS.datasetName);
  validateMaxLength(`${field}dataset_digest`, point.datasetDigest ?? '', RUN_LIMITS.datasetDigest);
}

/** True when `key` already holds `value` (a no-op); throws when it holds another value (params are write-once). */
export function paramConflict(run: Run, runId: string, key: string, value: string): boolean {
  if (!Object.hasOwn(run.params, key)) return false;
  const existing = run.params[key];
  if (existing === value) return true;
  throw new InvalidParameterValueError(
    `Changing param values is not allowed. Param with key='${key}' was already logged with value='${existing}' for run ID='${runId}'. Attempted logging new value '${value}'.`,
  );
}

/** MLflow refuses negative metric timestamps (epoch milliseconds). */
export function validateTimestamp(field: string, timestamp: number): void {
  if (timestamp < 0) {
    throw new InvalidParameterValueError(
      `Invalid value ${timestamp} for parameter '${field}' supplied: a metric timestamp must not be negative.`,
    );
  }
}

/** Adapters for the runs, params, tags, metrics, inputs/outputs and run-search endpoints. */
import * as v from 'valibot';
import {
  int64,
  keyValue,
  METRIC_FIELDS,
  parseMessage,
  parseMetricList,
  protoEnum,
  repeatedString,
  requiredString,
  str,
  viewType,
} from '../../shared/api/schema.js';
import { requireReadableExperiments } from '../../shared/auth/search-visibility.js';
import type { Envelope } from '../../shared/domain/runs/envelope.js';
import { historyBulk } from '../../shared/domain/runs/history.js';
import { metricValueJson } from '../../shared/domain/runs/metrics.js';
import type { DatasetInput, MetricPoint, Run } from '../../shared/domain/runs/model.js';
import { validateLogBatchBodySize } from '../../shared/domain/runs/rules.js';
import type { RunService } from '../../shared/domain/runs/service.js';
import { InvalidParameterValueError } from '../../shared/errors.js';
import { jsonResponse, type Operations } from '../middleware/http-handler.js';
import { NO_TELEMETRY, type Telemetry } from '../middleware/observability.js';
import { requireLevel } from '../middleware/permission-check.js';
import { searchAnswer, searchSerializer } from './search-answer.js';

const RUN_STATUSES = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'] as const;

/** Old run endpoints send both `run_id` and `run_uuid`; either may carry the id. */
const runRef = { run_id: v.optional(str), run_uuid: v.optional(str) };

function runIdOf(message: { run_id?: string; run_uuid?: string }): string {
  const runId = message.run_id || message.run_uuid;
  if (!runId) {
    throw new InvalidParameterValueError(
      "Missing value for required parameter 'run_id'. See the API docs for more information about request parameters.",
    );
  }
  return runId;
}

const CreateRun = v.object({
  experiment_id: v.optional(str),
  user_id: v.optional(str),
  run_name: v.optional(str),
  start_time: v.optional(int64),
  tags: v.optional(v.array(keyValue), []),
});
const RunById = v.object(runRef);
const UpdateRun = v.object({
  ...runRef,
  status: v.optional(protoEnum(RUN_STATUSES)),
  end_time: v.optional(int64),
  run_name: v.optional(str),
});
const LogMetric = v.object({ ...runRef, ...METRIC_FIELDS });
const LogParam = v.object({ ...runRef, key: requiredString, value: v.optional(str, '') });
const SetTag = v.object({ ...runRef, key: requiredString, value: v.optional(str, '') });
const DeleteTag = v.object({ run_id: requiredString, key: requiredString });
const LogBatch = v.object({
  run_id: requiredString,
  // Parsed by parseMetricList: the hot path (see its comment).
  metrics: v.optional(v.unknown()),
  params: v.optional(v.array(v.object({ key: requiredString, value: v.optional(str, '') })), []),
  tags: v.optional(v.array(keyValue), []),
});
const GetHistory = v.object({
  ...runRef,
  metric_key: requiredString,
  page_token: v.optional(str),
  max_results: v.optional(int64),
});
const SearchRuns = v.object({
  experiment_ids: v.optional(repeatedString, []),
  filter: v.optional(str),
  run_view_type: v.optional(viewType, 'ACTIVE_ONLY'),
  max_results: v.optional(int64),
  order_by: v.optional(repeatedString, []),
  page_token: v.optional(str),
});
const BulkInterval = v.object({
  run_ids: v.optional(repeatedString, []),
  metric_key: requiredString,
  start_step: v.optional(int64),
  end_step: v.optional(int64),
  max_results: v.optional(int64),
});
const HistoryBulk = v.object({
  run_id: v.optional(repeatedString, []),
  metric_key: v.optional(str),
  max_results: v.optional(int64),
});
const SearchDatasets = v.object({ experiment_ids: v.optional(repeatedString, []) });

/** MLflow's `search_datasets_impl` limits: experiments per request, and summaries in an answer (its SQL store's). */
const SEARCH_DATASETS_LIMITS = { experiments: 20, summaries: 1000 } as const;
/**
 * Runs read for one search-datasets answer at most: datasets are kept on their runs, so the answer is
 * gathered from a run search; past this many runs the summaries found so far are the answer.
 */
const SEARCH_DATASETS_MAX_RUNS = 10_000;
const DATASET_CONTEXT_TAG = 'mlflow.data.context';

const EnvelopeRequest = v.object({
  run_id: v.optional(repeatedString, []),
  run_ids: v.optional(repeatedString, []),
  metric_key: requiredString,
  buckets: v.optional(int64),
  start_step: v.optional(int64),
  end_step: v.optional(int64),
});
const LogInputs = v.object({
  run_id: requiredString,
  models: v.optional(v.array(v.object({ model_id: requiredString })), []),
  datasets: v.optional(
    v.array(
      v.object({
        tags: v.optional(v.array(keyValue), []),
        dataset: v.object({
          name: requiredString,
          digest: requiredString,
          source_type: requiredString,
          source: requiredString,
          schema: v.optional(str),
          profile: v.optional(str),
        }),
      }),
    ),
    [],
  ),
});
const LogOutputs = v.object({
  run_id: requiredString,
  models: v.array(v.object({ model_id: requiredString, step: v.optional(int64, 0) })),
});

const list = <T>(items: T[]) => (items.length > 0 ? items : undefined);

/** MLflow's Run JSON: info, data (latest metric values only), inputs, outputs; empty lists omitted. */
export function runJson(run: Run) {
  const metrics = Object.values(run.metrics).map((metric) => ({
    key: metric.key,
    value: metricValueJson(metric.value),
    timestamp: metric.timestamp,
    step: metric.step,
  }));
  const pairs = (record: Record<string, string>) =>
    Object.entries(record).map(([key, value]) => ({ key, value }));
  return {
    info: runInfoJson(run),
    data: {
      metrics: list(metrics),
      params: list(pairs(run.params)),
      tags: list(pairs(run.tags)),
    },
    inputs: {
      dataset_inputs: list(
        run.datasets.map((dataset) => ({
          tags: list(pairs(dataset.tags)),
          dataset: {
            name: dataset.name,
            digest: dataset.digest,
            source_type: dataset.sourceType,
            source: dataset.source,
            ...(dataset.schema ? { schema: dataset.schema } : {}),
            ...(dataset.profile ? { profile: dataset.profile } : {}),
          },
        })),
      ),
      model_inputs: list(run.modelInputs.map((modelId) => ({ model_id: modelId }))),
    },
    outputs: {
      model_outputs: list(
        run.modelOutputs.map((output) => ({ model_id: output.modelId, step: output.step })),
      ),
    },
  };
}

function runInfoJson(run: Run) {
  return {
    run_id: run.runId,
    run_uuid: run.runId,
    run_name: run.runName,
    experiment_id: run.experimentId,
    user_id: run.userId,
    status: run.status,
    start_time: run.startTime,
    ...(run.endTime === undefined ? {} : { end_time: run.endTime }),
    artifact_uri: run.artifactUri,
    lifecycle_stage: run.lifecycleStage,
  };
}

function metricJson(key: string, point: MetricPoint) {
  return { key, value: metricValueJson(point.value), timestamp: point.timestamp, step: point.step };
}

const EMPTY = {};

export function runOperations(runs: RunService, telemetry: Telemetry = NO_TELEMETRY): Operations {
  return {
    async createRun({ fields }) {
      const message = parseMessage(CreateRun, fields);
      const run = await runs.create({
        experimentId: message.experiment_id,
        userId: message.user_id,
        runName: message.run_name,
        startTime: message.start_time,
        tags: message.tags,
      });
      return jsonResponse({ run: runJson(run) });
    },

    async getRun({ fields }) {
      return jsonResponse({ run: runJson(await runs.get(runIdOf(parseMessage(RunById, fields)))) });
    },

    async updateRun({ fields }) {
      const message = parseMessage(UpdateRun, fields);
      const run = await runs.update(runIdOf(message), {
        status: message.status,
        endTime: message.end_time,
        runName: message.run_name || undefined,
      });
      return jsonResponse({ run_info: runInfoJson(run) });
    },

    async deleteRun({ fields }) {
      await runs.setLifecycle(runIdOf(parseMessage(RunById, fields)), 'deleted');
      return jsonResponse(EMPTY);
    },

    async restoreRun({ fields }) {
      await runs.setLifecycle(runIdOf(parseMessage(RunById, fields)), 'active');
      return jsonResponse(EMPTY);
    },

    async logMetric({ fields }) {
      const message = parseMessage(LogMetric, fields);
      await runs.logMetric(runIdOf(message), {
        key: message.key,
        value: message.value,
        timestamp: message.timestamp,
        step: message.step,
        ...(message.model_id ? { modelId: message.model_id } : {}),
        ...(message.dataset_name ? { datasetName: message.dataset_name } : {}),
        ...(message.dataset_digest ? { datasetDigest: message.dataset_digest } : {}),
      });
      telemetry.metricPointsIngested(1);
      return jsonResponse(EMPTY);
    },

    async logParam({ fields }) {
      const message = parseMessage(LogParam, fields);
      await runs.logParam(runIdOf(message), message.key, message.value);
      return jsonResponse(EMPTY);
    },

    async setTag({ fields }) {
      const message = parseMessage(SetTag, fields);
      await runs.setTag(runIdOf(message), message.key, message.value);
      return jsonResponse(EMPTY);
    },

    async deleteTag({ fields }) {
      const message = parseMessage(DeleteTag, fields);
      await runs.deleteTag(message.run_id, message.key);
      return jsonResponse(EMPTY);
    },

    async logBatch({ fields, bodyBytes }) {
      // Before parsing, as MLflow does: an oversized body is refused whatever it holds.
      validateLogBatchBodySize(bodyBytes);
      const message = parseMessage(LogBatch, fields);
      const metrics = parseMetricList('metrics', message.metrics);
      await runs.logBatch(message.run_id, { metrics, params: message.params, tags: message.tags });
      telemetry.metricPointsIngested(metrics.length);
      return jsonResponse(EMPTY);
    },

    async getMetricHistory({ fields }) {
      const message = parseMessage(GetHistory, fields);
      const page = await runs.history(
        runIdOf(message),
        message.metric_key,
        message.max_results,
        message.page_token || undefined,
      );
      return {
        statusCode: 200,
        headers: { 'content-type': 'application/json' },
        body: metricHistoryBody(message.metric_key, page.points, page.nextPageToken),
      };
    },

    async getMetricHistoryBulkInterval({ fields }) {
      const message = parseMessage(BulkInterval, fields);
      const rows = await runs.historyBulkInterval({
        runIds: message.run_ids,
        key: message.metric_key,
        startStep: message.start_step,
        endStep: message.end_step,
        maxResults: message.max_results,
      });
      return jsonResponse({
        metrics: list(
          rows.map(({ runId, point }) => ({ ...metricJson(message.metric_key, point), run_id: runId })),
        ),
      });
    },

    async getMetricHistoryBulk({ fields }) {
      const message = parseMessage(HistoryBulk, fields);
      const rows = await historyBulk(
        (runId, key, maxResults, pageToken) => runs.history(runId, key, maxResults, pageToken),
        { runIds: message.run_id, key: message.metric_key, maxResults: message.max_results },
      );
      // MLflow answers `metrics` even when empty (a plain dict, not a protobuf message).
      return jsonResponse({
        metrics: rows.map(({ runId, point }) => ({
          ...metricJson(message.metric_key ?? '', point),
          run_id: runId,
        })),
      });
    },

    async searchDatasets({ fields }) {
      const message = parseMessage(SearchDatasets, fields);
      const experimentIds = message.experiment_ids;
      if (experimentIds.length === 0) {
        throw new InvalidParameterValueError(
          'SearchDatasets request must specify at least one experiment_id.',
        );
      }
      if (experimentIds.length > SEARCH_DATASETS_LIMITS.experiments) {
        throw new InvalidParameterValueError(
          `SearchDatasets request cannot specify more than ${SEARCH_DATASETS_LIMITS.experiments} experiment_ids. Received ${experimentIds.length} experiment_ids.`,
        );
      }
      const summaries = new Map<string, Record<string, string>>();
      let pageToken: string | undefined;
      let read = 0;
      do {
        const page = await runs.search({
          experimentIds,
          orderBy: [],
          viewType: 'ALL',
          maxResults: 1000,
          ...(pageToken ? { pageToken } : {}),
        });
        for (const run of page.runs) {
          for (const dataset of run.datasets) {
            const context = dataset.tags[DATASET_CONTEXT_TAG];
            const summary = {
              experiment_id: run.experimentId,
              name: dataset.name,
              digest: dataset.digest,
              ...(context ? { context } : {}),
            };
            const identity = JSON.stringify([
              run.experimentId,
              dataset.name,
              dataset.digest,
              context ?? null,
            ]);
            if (summaries.size < SEARCH_DATASETS_LIMITS.summaries) summaries.set(identity, summary);
          }
        }
        read += page.runs.length;
        pageToken = page.nextPageToken;
      } while (
        pageToken &&
        read < SEARCH_DATASETS_MAX_RUNS &&
        summaries.size < SEARCH_DATASETS_LIMITS.summaries
      );
      return jsonResponse({ dataset_summaries: list([...summaries.values()]) });
    },

    async getMetricEnvelope({ fields }) {
      const message = parseMessage(EnvelopeRequest, fields);
      const envelopes = await runs.envelopes({
        runIds: [...message.run_id, ...message.run_ids],
        key: message.metric_key,
        buckets: message.buckets,
        startStep: message.start_step,
        endStep: message.end_step,
      });
      return jsonResponse({ envelopes: envelopes.map(envelopeJson) });
    },

    async searchRuns({ fields, caller }) {
      const message = parseMessage(SearchRuns, fields);
      requireReadableExperiments(caller, message.experiment_ids);
      const serializer = searchSerializer(runJson, 1);
      const page = await runs.search({
        experimentIds: message.experiment_ids,
        filter: message.filter,
        orderBy: message.order_by,
        viewType: message.run_view_type,
        maxResults: message.max_results,
        pageToken: message.page_token || undefined,
        // A Lambda response is at most 6 MB: a page that would not fit ends early with a token (MLflow's
        // clients follow tokens and accept pages shorter than max_results).
        byteBudget: SEARCH_RESPONSE_BUDGET_BYTES,
        sizeOf: serializer.sizeOf,
      });
      return searchAnswer('runs', page.runs.map(serializer.json), page.nextPageToken);
    },

    async logInputs(request) {
      const message = parseMessage(LogInputs, request.fields);
      const datasets: DatasetInput[] = message.datasets.map(({ tags, dataset }) => ({
        name: dataset.name,
        digest: dataset.digest,
        sourceType: dataset.source_type,
        source: dataset.source,
        ...(dataset.schema ? { schema: dataset.schema } : {}),
        ...(dataset.profile ? { profile: dataset.profile } : {}),
        tags: Object.fromEntries(tags.map((tag) => [tag.key, tag.value])),
      }));
      await runs.logInputs(
        message.run_id,
        datasets,
        message.models.map((model) => model.model_id),
        (kind, resource) => requireLevel(request, kind, resource, 'READ'),
      );
      return jsonResponse(EMPTY);
    },

    async logOutputs(request) {
      const message = parseMessage(LogOutputs, request.fields);
      await runs.logOutputs(
        message.run_id,
        message.models.map((model) => ({ modelId: model.model_id, step: model.step })),
        (kind, resource) => requireLevel(request, kind, resource, 'READ'),
      );
      return jsonResponse(EMPTY);
    },
  };
}

/** An envelope as JSON: snake_case, non-finite values as MLflow's strings ("NaN", "Infinity"). */
function envelopeJson(envelope: Envelope) {
  return {
    run_id: envelope.runId,
    metric_key: envelope.key,
    start_step: envelope.startStep,
    end_step: envelope.endStep,
    total_points: envelope.totalPoints,
    exact: envelope.exact,
    buckets: envelope.buckets.map((bucket) => ({
      start_step: bucket.startStep,
      end_step: bucket.endStep,
      min: metricValueJson(bucket.min),
      max: metricValueJson(bucket.max),
      last: metricValueJson(bucket.last.value),
      last_step: bucket.last.step,
      last_timestamp: bucket.last.timestamp,
      count: bucket.count,
    })),
  };
}

/**
 * The get-history response body. Plain object literals through JSON.stringify: measured here on 25,000
 * points at 12 ms, against 22 ms for assembling the JSON text by hand (V8's serializer formats numbers
 * faster than String() and concatenation do), within design.md's 20 ms for decode + encode of a page.
 */
export function metricHistoryBody(
  key: string,
  points: readonly MetricPoint[],
  nextPageToken?: string,
): string {
  // The fast path (a 25,000-point page has a 20 ms budget with its decoding, and formatting the numbers
  // is most of it): serialize the points as they are, one native pass, then give each object its key.
  // Only numbers are inside, so `{"step":` occurs once per point. Non-finite values need MLflow's
  // strings ("NaN", "Infinity"), which JSON.stringify would turn into null: those pages take the slow path.
  if (points.length > 0 && points.every((point) => Number.isFinite(point.value))) {
    // `$` is special in a replacement string ($&, $1 …): doubled, it stands for itself.
    const prefix = `{"key":${JSON.stringify(key)},"step":`.replaceAll('$', '$$$$');
    const metrics = JSON.stringify(points).replaceAll('{"step":', prefix);
    const token = nextPageToken ? `,"next_page_token":${JSON.stringify(nextPageToken)}` : '';
    return `{"metrics":${metrics}${token}}`;
  }
  const metrics: { key: string; value: number | string; timestamp: number; step: number }[] = new Array(
    points.length,
  );
  for (let i = 0; i < points.length; i++) {
    const { value, timestamp, step } = points[i] as MetricPoint;
    metrics[i] = { key, value: Number.isFinite(value) ? value : metricValueJson(value), timestamp, step };
  }
  return JSON.stringify({
    ...(metrics.length > 0 ? { metrics } : {}),
    ...(nextPageToken ? { next_page_token: nextPageToken } : {}),
  });
}

/** Room for run JSON in one search answer: under Lambda's 6 MB response limit with headroom. */
export const SEARCH_RESPONSE_BUDGET_BYTES = 5 * 1024 * 1024;

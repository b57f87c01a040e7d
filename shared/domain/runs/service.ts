/**
 * The runs service: a run's lifecycle, its params, tags, inputs and outputs, metric logging (with the
 * logged models a metric or input names), and the entry points of history reads and run search.
 */

import { mapWithLimit } from '../../concurrency.js';
import { InvalidParameterValueError, ResourceDoesNotExistError } from '../../errors.js';
import type { LifecycleStage } from '../experiments/model.js';
import type { ExperimentService } from '../experiments/service.js';
import { newRunId, parseExperimentId, validateRunId } from '../ids.js';
import {
  LIMITS,
  validateKey,
  validateMaxLength,
  validateMaxResults,
  validateSearchExperimentIds,
} from '../rules.js';
import type { ViewType } from '../search/pipeline.js';
import { type Envelope, type EnvelopeRequest, metricEnvelopes } from './envelope.js';
import { type HistoryPage, historyBulkInterval, historyPage } from './history.js';
import type {
  DatasetInput,
  LinkedMetric,
  LinkedModels,
  LoggedMetric,
  MetricPoint,
  Run,
  RunRepository,
  RunStatus,
} from './model.js';
import {
  paramConflict,
  RUN_LIMITS,
  RUN_NAME_TAG,
  requireActive,
  runNotFound,
  validateBatchCounts,
  validateDatasetInputs,
  validateMetricDataset,
  validateParam,
  validateRunTag,
  validateTimestamp,
} from './rules.js';
import { generateRunName } from './run-names.js';
import { planRunListing, type RunPage, searchRuns } from './search.js';

export type { HistoryPage };

/** Throws to refuse a caller who may not read `resource` (issue 16's requireLevel); unset without auth. */
export type MayRead = (kind: 'experiment', resource: string) => void;

export interface CreateRunInput {
  experimentId?: string;
  userId?: string;
  runName?: string;
  startTime?: number;
  tags: { key: string; value: string }[];
}

export interface BatchInput {
  metrics: LoggedMetric[];
  params: { key: string; value: string }[];
  tags: { key: string; value: string }[];
}

export class RunService {
  constructor(
    private readonly repo: RunRepository,
    private readonly experiments: ExperimentService,
    /** Logged models that metrics, inputs and outputs may name; without them, such links are not checked. */
    private readonly linkedModels?: LinkedModels,
  ) {}

  async create(input: CreateRunInput): Promise<Run> {
    const tags = new Map<string, string>();
    for (const [index, tag] of input.tags.entries()) {
      validateRunTag(`tags[${index}].`, tag.key, tag.value);
      tags.set(tag.key, tag.value);
    }
    const tagName = tags.get(RUN_NAME_TAG);
    if (input.runName && tagName !== undefined && tagName !== input.runName) {
      throw new InvalidParameterValueError(
        `Both 'run_name' and '${RUN_NAME_TAG}' tag are specified, but with different values (run_name='${input.runName}', ${RUN_NAME_TAG}='${tagName}').`,
      );
    }
    if (input.runName) validateMaxLength('run_name', input.runName, RUN_LIMITS.runTagValue);
    const runName = input.runName || tagName || generateRunName();
    tags.set(RUN_NAME_TAG, runName);
    const experiment = await this.experiments.get(input.experimentId || '0');
    if (experiment.lifecycleStage !== 'active') {
      throw new InvalidParameterValueError(
        `Could not create run under non-active experiment with ID ${experiment.experimentId}.`,
      );
    }
    const runId = newRunId();
    const run: Run = {
      runId,
      experimentId: experiment.experimentId,
      runName,
      userId: input.userId ?? '',
      status: 'RUNNING',
      startTime: input.startTime ?? 0,
      artifactUri: `${experiment.artifactLocation}/${runId}/artifacts`,
      lifecycleStage: 'active',
      params: {},
      tags: Object.fromEntries(tags),
      metrics: {},
      datasets: [],
      modelOutputs: [],
      modelInputs: [],
    };
    await this.repo.create(run);
    return run;
  }

  async get(runId: string): Promise<Run> {
    validateRunId(runId);
    const run = await this.repo.get(runId);
    if (!run) throw runNotFound(runId);
    return run;
  }

  async update(
    runId: string,
    change: { status?: RunStatus; endTime?: number; runName?: string },
  ): Promise<Run> {
    validateRunId(runId);
    // The name is also stored as the mlflow.runName tag, so it obeys the run tag value limit.
    if (change.runName) validateMaxLength('run_name', change.runName, RUN_LIMITS.runTagValue);
    const before = await this.repo.mutate(runId, (run) => {
      requireActive(run, runId);
      return {
        ...(change.status ? { status: change.status } : {}),
        ...(change.endTime !== undefined ? { endTime: change.endTime } : {}),
        ...(change.runName ? { runName: change.runName, tags: { [RUN_NAME_TAG]: change.runName } } : {}),
      };
    });
    if (!before) throw runNotFound(runId);
    return {
      ...before,
      ...(change.status ? { status: change.status } : {}),
      ...(change.endTime !== undefined ? { endTime: change.endTime } : {}),
      ...(change.runName ? { runName: change.runName } : {}),
    };
  }

  /** Soft delete / restore. Idempotent, as MLflow's: deleting a deleted run is a no-op. */
  async setLifecycle(runId: string, to: LifecycleStage): Promise<void> {
    validateRunId(runId);
    const from: LifecycleStage = to === 'deleted' ? 'active' : 'deleted';
    if (await this.repo.setLifecycle(runId, from, to)) return;
    if (!(await this.repo.get(runId))) throw runNotFound(runId);
  }

  /** Cascades an experiment's delete or restore to its runs (MLflow: restore revives every run). */
  async setLifecycleForExperiment(
    experimentId: string,
    from: LifecycleStage,
    to: LifecycleStage,
  ): Promise<void> {
    // The index may be a moment stale: try every run; the conditional write only moves runs in `from`.
    const queue = await this.repo.listByExperiment(experimentId);
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let run = queue.pop(); run; run = queue.pop()) await this.repo.setLifecycle(run.runId, from, to);
      }),
    );
  }

  async logParam(runId: string, key: string, value: string): Promise<void> {
    validateRunId(runId);
    validateParam('', key, value);
    await this.mutateActive(runId, (run) =>
      paramConflict(run, runId, key, value) ? null : { params: { [key]: value } },
    );
  }

  async setTag(runId: string, key: string, value: string): Promise<void> {
    validateRunId(runId);
    validateRunTag('', key, value);
    await this.mutateActive(runId, () => ({
      tags: { [key]: value },
      ...(key === RUN_NAME_TAG ? { runName: value } : {}),
    }));
  }

  async deleteTag(runId: string, key: string): Promise<void> {
    validateRunId(runId);
    await this.mutateActive(runId, (run) => {
      if (!Object.hasOwn(run.tags, key)) {
        throw new ResourceDoesNotExistError(`No tag with name: ${key} in run with id ${runId}`);
      }
      return { deleteTags: [key] };
    });
  }

  /** One point; logged against a model (MLflow 3's `model_id`), it also becomes that model's metric. */
  async logMetric(runId: string, metric: LoggedMetric): Promise<void> {
    const { modelId, datasetName, datasetDigest, ...point } = metric;
    const linked: LinkedMetric[] = modelId
      ? [
          {
            ...point,
            modelId,
            ...(datasetName ? { datasetName } : {}),
            ...(datasetDigest ? { datasetDigest } : {}),
          },
        ]
      : [];
    for (const entry of linked) validateMetricDataset('', entry);
    await this.withLinkedMetrics(runId, linked, async () => {
      validateRunId(runId);
      validateKey('key', point.key);
      validateTimestamp('timestamp', point.timestamp);
      await this.repo.appendMetrics(runId, [point], (run) => requireActive(run, runId));
    });
  }

  /**
   * The one place a run's metric write and its logged models' meet: the model side is checked before
   * anything is written, and gets its metrics after the run does (a failed run write records nothing).
   */
  private async withLinkedMetrics(
    runId: string,
    linked: readonly LinkedMetric[],
    writeRun: () => Promise<void>,
  ): Promise<void> {
    if (linked.length > 0) await this.linkedModels?.checkMetrics(runId, linked);
    await writeRun();
    if (linked.length > 0) await this.linkedModels?.recordMetrics(runId, linked);
  }

  /** log-batch: metrics (some perhaps logged against models), params and tags of one run. */
  async logBatch(runId: string, batch: BatchInput): Promise<void> {
    const linked: LinkedMetric[] = [];
    for (const [index, metric] of batch.metrics.entries()) {
      if (metric.modelId === undefined) continue;
      validateMetricDataset(`metrics[${index}].`, metric);
      linked.push(metric as LinkedMetric);
    }
    await this.withLinkedMetrics(runId, linked, () => this.writeBatch(runId, batch));
  }

  private async writeBatch(runId: string, batch: BatchInput): Promise<void> {
    validateRunId(runId);
    validateBatchCounts({
      metrics: batch.metrics.length,
      params: batch.params.length,
      tags: batch.tags.length,
    });
    // A batch repeats a handful of keys hundreds of times: check each distinct key once.
    const checkedKeys = new Set<string>();
    for (const [index, metric] of batch.metrics.entries()) {
      validateTimestamp(`metrics[${index}].timestamp`, metric.timestamp);
      if (checkedKeys.has(metric.key)) continue;
      validateKey(`metrics[${index}].key`, metric.key);
      checkedKeys.add(metric.key);
    }
    const params = new Map<string, string>();
    for (const [index, param] of batch.params.entries()) {
      validateParam(`params[${index}].`, param.key, param.value);
      if (params.has(param.key)) {
        throw new InvalidParameterValueError(
          `Duplicate parameter keys have been submitted: ['${param.key}']. Please ensure the request contains only one param value per param key.`,
        );
      }
      params.set(param.key, param.value);
    }
    const tags = new Map<string, string>();
    for (const [index, tag] of batch.tags.entries()) {
      validateRunTag(`tags[${index}].`, tag.key, tag.value);
      tags.set(tag.key, tag.value);
    }
    if (params.size > 0 || tags.size > 0) {
      await this.mutateActive(runId, (run) => {
        const newParams: Record<string, string> = {};
        for (const [key, value] of params) {
          if (!paramConflict(run, runId, key, value)) newParams[key] = value;
        }
        const runName = tags.get(RUN_NAME_TAG);
        return {
          params: newParams,
          tags: Object.fromEntries(tags),
          ...(runName !== undefined ? { runName } : {}),
        };
      });
    }
    if (batch.metrics.length > 0) {
      await this.repo.appendMetrics(runId, batch.metrics, (run) => requireActive(run, runId));
    } else if (params.size === 0 && tags.size === 0) {
      requireActive(await this.repo.get(runId), runId);
    }
  }

  /** Dataset inputs, and logged models the run used (which must exist). */
  async logInputs(
    runId: string,
    datasets: DatasetInput[],
    modelIds: readonly string[] = [],
    mayRead?: MayRead,
  ): Promise<void> {
    if (modelIds.length > 0) {
      for (const experiment of (await this.linkedModels?.requireModels(modelIds)) ?? [])
        mayRead?.('experiment', experiment);
    }
    validateRunId(runId);
    validateDatasetInputs(datasets);
    await this.mutateActive(runId, (run) => {
      // A dataset input is identified by (name, digest, context), as MLflow's input tables do.
      const identity = (d: DatasetInput) =>
        JSON.stringify([d.name, d.digest, d.tags['mlflow.data.context'] ?? '']);
      const known = new Set(run.datasets.map(identity));
      const added: DatasetInput[] = [];
      for (const dataset of datasets) {
        if (known.has(identity(dataset))) continue;
        known.add(identity(dataset));
        added.push(dataset);
      }
      const models = [...new Set(modelIds)].filter((modelId) => !run.modelInputs.includes(modelId));
      if (added.length === 0 && models.length === 0) return null;
      return {
        ...(added.length > 0 ? { datasets: [...run.datasets, ...added] } : {}),
        ...(models.length > 0 ? { modelInputs: [...run.modelInputs, ...models] } : {}),
      };
    });
  }

  /** Logged models the run produced: they must exist, the link is what `models:/` lookups and the UI follow. */
  async logOutputs(
    runId: string,
    outputs: { modelId: string; step: number }[],
    mayRead?: MayRead,
  ): Promise<void> {
    // The route checks the run; each logged model is another resource, which the caller must see.
    const experiments = await this.linkedModels?.requireModels(outputs.map((output) => output.modelId));
    for (const experiment of experiments ?? []) mayRead?.('experiment', experiment);
    validateRunId(runId);
    await this.mutateActive(runId, (run) => {
      const known = new Set(run.modelOutputs.map((output) => `${output.modelId}@${output.step}`));
      const added = outputs.filter((output) => !known.has(`${output.modelId}@${output.step}`));
      return added.length === 0 ? null : { modelOutputs: [...run.modelOutputs, ...added] };
    });
  }

  /** One page of a key's history (get-history). */
  history(
    runId: string,
    key: string,
    maxResults: number | undefined,
    pageToken?: string,
  ): Promise<HistoryPage> {
    return historyPage(this.repo, runId, key, maxResults, pageToken);
  }

  /** Cairn's metric envelopes (min/max/last buckets over a step range); see envelope.ts. */
  envelopes(request: EnvelopeRequest): Promise<Envelope[]> {
    return metricEnvelopes(this.repo, request);
  }

  /** MLflow's get-history-bulk-interval; see history.ts. */
  historyBulkInterval(
    request: Parameters<typeof historyBulkInterval>[1],
  ): Promise<{ runId: string; point: MetricPoint }[]> {
    return historyBulkInterval(this.repo, request);
  }

  async search(search: {
    experimentIds: string[];
    filter?: string;
    orderBy: string[];
    viewType: ViewType;
    maxResults?: number;
    pageToken?: string;
    /** The caller's response budget and its measure of a run in the response (see searchRuns). */
    byteBudget?: number;
    sizeOf?: (run: Run) => number;
  }): Promise<RunPage> {
    const maxResults = search.maxResults ?? LIMITS.defaultMaxResults;
    validateMaxResults(maxResults, LIMITS.maxResultsCap);
    validateSearchExperimentIds(search.experimentIds);
    const experimentIds = [
      ...new Set(search.experimentIds.map((id) => parseExperimentId('experiment_ids', id))),
    ];
    const query = { ...search, maxResults, experimentIds, scope: experimentIds };
    // Parse the filter, order and token before any read: a bad request costs nothing.
    searchRuns([], query);
    const plan = planRunListing(query);
    const candidates = plan ? await this.repo.listIndexed(experimentIds, plan) : undefined;
    if (candidates) return searchRuns(candidates, query);
    const runs = (
      await mapWithLimit(experimentIds, LIMITS.searchExperimentsInFlight, (id) =>
        this.repo.listByExperiment(id),
      )
    ).flat();
    return searchRuns(runs, query);
  }

  private async mutateActive(
    runId: string,
    decide: (run: Run) => ReturnType<Parameters<RunRepository['mutate']>[1]>,
  ) {
    const before = await this.repo.mutate(runId, (run) => decide(requireActive(run, runId)));
    if (!before) throw runNotFound(runId);
  }
}

import { mapWithLimit } from '../../concurrency.js';
import { InvalidParameterValueError, MlflowError, ResourceDoesNotExistError } from '../../errors.js';
import type { Experiment } from '../experiments/model.js';
import { isLoggedModelId, newLoggedModelId, parseExperimentId, validateRunId } from '../ids.js';
import {
  canonicalNewName,
  LIMITS,
  validateKey,
  validateMaxLength,
  validateMaxResults,
  validateSearchExperimentIds,
} from '../rules.js';
import { RUN_LIMITS } from '../runs/rules.js';
import { generateRunName } from '../runs/run-names.js';
import {
  LOGGED_MODEL_STATUSES,
  type LoggedModel,
  type LoggedModelMetric,
  type LoggedModelStatus,
} from './model.js';
import {
  type DatasetScope,
  type LoggedModelOrder,
  type LoggedModelPage,
  searchLoggedModels,
} from './search.js';

export const LOGGED_MODEL_LIMITS = {
  /** MLflow's column sizes (logged_models.name, model_type, status_message). */
  name: 500,
  modelType: 500,
  /** Params are checked as run params are (MLflow's param limits). */
  paramValue: RUN_LIMITS.paramValue,
  /** As registry tags: `mlflow.modelVersions` grows with every registration. */
  tagValue: 100_000,
  /** Tags or params in one request. */
  perRequest: 1000,
  /** The proto's default; `max_results: 0` means the store's default (100), as MLflow's `or None` has it. */
  searchDefaultMaxResults: 50,
  searchZeroMaxResults: 100,
  searchMaxResultsCap: 1000,
  /** Distinct logged models one request may name (runs/outputs, log-inputs, metrics): each is a read. */
  modelsPerRequest: 100,
  /** A search page stops early past this estimate of its JSON, under Lambda's 6 MB response limit. */
  searchResponseBytes: 5 * 1024 * 1024,
} as const;

const NAME_FORBIDDEN = ['/', ':', '.', '%', '"', "'"] as const;

/** What changes in one write; decided from the model as read (see LoggedModelRepository.mutate). */
export type LoggedModelMutation = (model: LoggedModel) => LoggedModel | null;

export interface LoggedModelRepository {
  /** Writes a new model; its id is fresh, so this never overwrites. */
  create(model: LoggedModel): Promise<void>;
  get(modelId: string): Promise<LoggedModel | undefined>;
  /**
   * Reads the model, applies `mutation` and writes the result unless another write came in between (then
   * reads and applies again). The mutation throws to refuse and returns null for "nothing to do".
   * Resolves to the model as written (or as read, for null), undefined when there is no such model.
   */
  mutate(modelId: string, mutation: LoggedModelMutation): Promise<LoggedModel | undefined>;
  /** Every model of one experiment, any lifecycle stage. */
  listByExperiment(experimentId: string): Promise<LoggedModel[]>;
  /** Throws 400 when `model` would not fit in storage (DynamoDB's item limit). */
  assertFits(model: LoggedModel): void;
}

export interface CreateLoggedModelInput {
  experimentId: string;
  name?: string;
  modelType?: string;
  sourceRunId?: string;
  params: { key: string; value: string }[];
  tags: { key: string; value: string }[];
}

export function loggedModelNotFound(modelId: string): ResourceDoesNotExistError {
  return new ResourceDoesNotExistError(`Logged model with ID '${modelId}' not found.`);
}

export function validateLoggedModelName(field: string, name: string): void {
  if (name === '' || NAME_FORBIDDEN.some((char) => name.includes(char))) {
    throw new InvalidParameterValueError(
      `Invalid model name ('${name}') provided for '${field}'. Model name must be a non-empty string and cannot contain the following characters: ${NAME_FORBIDDEN.join(' ')}`,
    );
  }
  validateMaxLength(field, name, LOGGED_MODEL_LIMITS.name);
}

/** Accepts the enum's name or its number (proto JSON allows both), with or without the prefix. */
export function parseLoggedModelStatus(field: string, raw: string | number): LoggedModelStatus {
  const byNumber =
    typeof raw === 'number' || /^\d+$/.test(raw) ? LOGGED_MODEL_STATUSES[Number(raw)] : undefined;
  const text = String(raw).trim().toUpperCase();
  const byName = LOGGED_MODEL_STATUSES.find((status) => status === text || status === `LOGGED_MODEL_${text}`);
  const status = byNumber ?? byName;
  if (!status || status === 'LOGGED_MODEL_STATUS_UNSPECIFIED') {
    throw new InvalidParameterValueError(
      `Invalid value ${JSON.stringify(raw)} for parameter '${field}': expected one of LOGGED_MODEL_PENDING, LOGGED_MODEL_READY, LOGGED_MODEL_UPLOAD_FAILED.`,
    );
  }
  return status;
}

function entryMap(
  field: string,
  entries: readonly { key: string; value: string }[],
  valueLimit: number,
): Map<string, string> {
  if (entries.length > LOGGED_MODEL_LIMITS.perRequest) {
    throw new InvalidParameterValueError(
      `'${field}' lists ${entries.length} entries; at most ${LOGGED_MODEL_LIMITS.perRequest} are allowed in one request.`,
    );
  }
  const map = new Map<string, string>();
  for (const [index, entry] of entries.entries()) {
    validateKey(`${field}[${index}].key`, entry.key);
    validateMaxLength(`${field}[${index}].value`, entry.value, valueLimit);
    map.set(entry.key, entry.value);
  }
  return map;
}

/** Params are write-once, as a run's: the same value again is a no-op, another value is refused. */
function mergeParams(model: LoggedModel, params: Map<string, string>): Record<string, string> | null {
  let changed = false;
  for (const [key, value] of params) {
    const current = model.params[key];
    if (current === undefined) {
      changed = true;
      continue;
    }
    if (current !== value) {
      throw new InvalidParameterValueError(
        `Changing param values is not allowed. Param with key='${key}' was already logged with value='${current}' for logged model ID='${model.modelId}'. Attempted logging new value '${value}'.`,
      );
    }
  }
  return changed ? { ...model.params, ...Object.fromEntries(params) } : null;
}

/** A metric point as logged against a model. */
export interface LoggedModelMetricPoint {
  key: string;
  value: number;
  timestamp: number;
  step: number;
  datasetName?: string;
  datasetDigest?: string;
}

/** A metric point logged against a model. */
export type LinkedMetricPoint = LoggedModelMetricPoint & { modelId: string };

const metricSlot = (metric: { key: string; datasetName?: string; datasetDigest?: string }) =>
  JSON.stringify([metric.key, metric.datasetName ?? null, metric.datasetDigest ?? null]);

/** The model's metrics with `points` merged in (newer wins per slot), or null when nothing changes. */
export function mergeLatestMetrics(
  current: readonly LoggedModelMetric[],
  points: readonly LoggedModelMetricPoint[],
  runId: string,
): LoggedModelMetric[] | null {
  const slots = new Map(current.map((metric) => [metricSlot(metric), metric]));
  let changed = false;
  for (const point of points) {
    const slot = metricSlot(point);
    const existing = slots.get(slot);
    if (
      existing &&
      (existing.timestamp > point.timestamp ||
        (existing.timestamp === point.timestamp && existing.step >= point.step))
    )
      continue;
    slots.set(slot, {
      key: point.key,
      value: point.value,
      timestamp: point.timestamp,
      step: point.step,
      runId,
      ...(point.datasetName ? { datasetName: point.datasetName } : {}),
      ...(point.datasetDigest ? { datasetDigest: point.datasetDigest } : {}),
    });
    changed = true;
  }
  return changed ? [...slots.values()] : null;
}

export interface LoggedModelDeps {
  /** The experiment a model is created in: throws 404 (or 400 for a malformed id) when there is none. */
  getExperiment(experimentId: string): Promise<Experiment | undefined>;
  /** Whether a run exists (a model's source run must). */
  runExists(runId: string): Promise<boolean>;
}

export class LoggedModelService {
  constructor(
    private readonly repo: LoggedModelRepository,
    private readonly deps: LoggedModelDeps,
    private readonly clock: () => number = Date.now,
    private readonly newId: () => string = newLoggedModelId,
  ) {}

  async create(input: CreateLoggedModelInput): Promise<LoggedModel> {
    const name = input.name === undefined ? undefined : canonicalNewName('name', input.name);
    if (name !== undefined) validateLoggedModelName('name', name);
    if (input.modelType !== undefined)
      validateMaxLength('model_type', input.modelType, LOGGED_MODEL_LIMITS.modelType);
    if (input.sourceRunId !== undefined) validateRunId(input.sourceRunId);
    const params = entryMap('params', input.params, LOGGED_MODEL_LIMITS.paramValue);
    const tags = entryMap('tags', input.tags, LOGGED_MODEL_LIMITS.tagValue);
    const experiment = await this.deps.getExperiment(input.experimentId);
    if (!experiment) {
      throw new ResourceDoesNotExistError(`No Experiment with id=${input.experimentId} exists`);
    }
    if (experiment.lifecycleStage !== 'active') {
      throw new InvalidParameterValueError(
        `The experiment ${experiment.experimentId} must be in the 'active' state. Current state is ${experiment.lifecycleStage}.`,
      );
    }
    // MLflow stores a source_run_id it cannot find; so does Cairn, marked, so that no promotion policy
    // judges a version of this model by a run that did not produce it.
    const unverified =
      input.sourceRunId !== undefined && !(await this.deps.runExists(input.sourceRunId))
        ? `names source run ${input.sourceRunId}, which did not exist when the model was created`
        : undefined;
    const modelId = this.newId();
    const now = this.clock();
    const model: LoggedModel = {
      modelId,
      experimentId: experiment.experimentId,
      name: name ?? generateRunName(),
      artifactUri: `${experiment.artifactLocation}/models/${modelId}/artifacts`,
      creationTimestamp: now,
      lastUpdatedTimestamp: now,
      status: 'LOGGED_MODEL_PENDING',
      lifecycleStage: 'active',
      ...(input.modelType ? { modelType: input.modelType } : {}),
      ...(input.sourceRunId ? { sourceRunId: input.sourceRunId } : {}),
      ...(unverified ? { unverified } : {}),
      tags: Object.fromEntries(tags),
      params: Object.fromEntries(params),
      metrics: [],
    };
    await this.repo.create(model);
    return model;
  }

  /** The model; a deleted one only with `allowDeleted` (MLflow's `allow_deleted`). */
  async get(modelId: string, allowDeleted = false): Promise<LoggedModel> {
    const model = isLoggedModelId(modelId) ? await this.repo.get(modelId) : undefined;
    if (!model || (model.lifecycleStage !== 'active' && !allowDeleted)) throw loggedModelNotFound(modelId);
    return model;
  }

  /** Throws 404 for the first of `modelIds` that is not an active logged model; else their experiments. */
  async requireModels(modelIds: readonly string[]): Promise<string[]> {
    return [...new Set((await this.activeModels(modelIds)).map((model) => model.experimentId))];
  }

  /**
   * Checks metrics about to be logged against models, before the run is written: the models exist and are
   * active, and each model can hold its new metrics (runs/rules.ts validateMetricDataset checks their fields). A request that passes can still fail afterwards only through a concurrent change (the
   * model deleted, or filled, in between).
   */
  async checkMetrics(runId: string, points: readonly LinkedMetricPoint[]): Promise<void> {
    const models = await this.activeModels(points.map((point) => point.modelId));
    for (const model of models) {
      const metrics = mergeLatestMetrics(
        model.metrics,
        points.filter((point) => point.modelId === model.modelId),
        runId,
      );
      if (metrics) this.repo.assertFits({ ...model, metrics });
    }
  }

  private async activeModels(modelIds: readonly string[]): Promise<LoggedModel[]> {
    const distinct = [...new Set(modelIds)];
    if (distinct.length > LOGGED_MODEL_LIMITS.modelsPerRequest) {
      throw new InvalidParameterValueError(
        `A request may name at most ${LOGGED_MODEL_LIMITS.modelsPerRequest} distinct logged models; this one names ${distinct.length}.`,
      );
    }
    return Promise.all(distinct.map((modelId) => this.get(modelId)));
  }

  /**
   * Keeps the latest value per (metric, dataset) of each model the points name, by (timestamp, step) as
   * MLflow ranks them. The models must exist (see requireModels); the run's own history holds every point.
   */
  async recordMetrics(runId: string, points: readonly LinkedMetricPoint[]): Promise<void> {
    const byModel = new Map<string, LoggedModelMetricPoint[]>();
    for (const point of points) {
      const list = byModel.get(point.modelId) ?? [];
      list.push(point);
      byModel.set(point.modelId, list);
    }
    await Promise.all(
      [...byModel].map(([modelId, modelPoints]) =>
        this.mutateActive(modelId, (model) => {
          const metrics = mergeLatestMetrics(model.metrics, modelPoints, runId);
          return metrics ? { ...model, metrics } : null;
        }),
      ),
    );
  }

  /**
   * Sets the status. READY is final: its files are sealed (issue 11, item 5), and moving it back to
   * PENDING or FAILED would unseal them, so that is a 409. The stock client finalizes once, after upload.
   */
  async finalize(modelId: string, status: LoggedModelStatus): Promise<LoggedModel> {
    return this.mutateActive(modelId, (model) => {
      if (model.status === status) return null;
      if (model.status === 'LOGGED_MODEL_READY') {
        throw new MlflowError(
          'RESOURCE_CONFLICT',
          `Logged model ${modelId} is LOGGED_MODEL_READY and cannot become ${status}: a finalized model's files are immutable. Log a new model instead.`,
        );
      }
      return { ...model, status, lastUpdatedTimestamp: this.clock() };
    });
  }

  /** Soft delete, as MLflow's: hidden from get (without allow_deleted) and search. Idempotent. */
  async delete(modelId: string): Promise<void> {
    if (!isLoggedModelId(modelId)) throw loggedModelNotFound(modelId);
    const result = await this.repo.mutate(modelId, (model) =>
      model.lifecycleStage === 'deleted'
        ? null
        : { ...model, lifecycleStage: 'deleted', lastUpdatedTimestamp: this.clock() },
    );
    if (!result) throw loggedModelNotFound(modelId);
  }

  async setTags(modelId: string, entries: { key: string; value: string }[]): Promise<LoggedModel> {
    const tags = entryMap('tags', entries, LOGGED_MODEL_LIMITS.tagValue);
    return this.mutateActive(modelId, (model) =>
      tags.size === 0
        ? null
        : {
            ...model,
            tags: { ...model.tags, ...Object.fromEntries(tags) },
            lastUpdatedTimestamp: this.clock(),
          },
    );
  }

  async deleteTag(modelId: string, key: string): Promise<void> {
    validateKey('tag_key', key);
    await this.mutateActive(modelId, (model) => {
      if (!Object.hasOwn(model.tags, key)) {
        throw new ResourceDoesNotExistError(`No tag with key '${key}' found for model with ID '${modelId}'.`);
      }
      const tags = { ...model.tags };
      delete tags[key];
      return { ...model, tags, lastUpdatedTimestamp: this.clock() };
    });
  }

  async logParams(modelId: string, entries: { key: string; value: string }[]): Promise<void> {
    const params = entryMap('params', entries, LOGGED_MODEL_LIMITS.paramValue);
    await this.mutateActive(modelId, (model) => {
      const merged = mergeParams(model, params);
      return merged ? { ...model, params: merged, lastUpdatedTimestamp: this.clock() } : null;
    });
  }

  async search(input: {
    experimentIds: readonly string[];
    filter?: string;
    datasets: readonly DatasetScope[];
    orderBy: readonly LoggedModelOrder[];
    maxResults?: number;
    pageToken?: string;
    sizeOf?: (model: LoggedModel) => number;
  }): Promise<LoggedModelPage> {
    if (input.experimentIds.length === 0) {
      throw new InvalidParameterValueError("Missing value for required parameter 'experiment_ids'.");
    }
    validateSearchExperimentIds(input.experimentIds);
    const experimentIds = [
      ...new Set(input.experimentIds.map((id, index) => parseExperimentId(`experiment_ids[${index}]`, id))),
    ];
    const maxResults =
      input.maxResults === undefined
        ? LOGGED_MODEL_LIMITS.searchDefaultMaxResults
        : input.maxResults === 0
          ? LOGGED_MODEL_LIMITS.searchZeroMaxResults
          : input.maxResults;
    validateMaxResults(maxResults, LOGGED_MODEL_LIMITS.searchMaxResultsCap);
    const search = {
      ...input,
      experimentIds,
      maxResults,
      byteBudget: LOGGED_MODEL_LIMITS.searchResponseBytes,
    };
    searchLoggedModels([], search); // a bad filter, order or token costs no read
    const models = await mapWithLimit(experimentIds, LIMITS.searchExperimentsInFlight, (id) =>
      this.repo.listByExperiment(id),
    );
    return searchLoggedModels(models.flat(), search);
  }

  private async mutateActive(modelId: string, mutation: LoggedModelMutation): Promise<LoggedModel> {
    if (!isLoggedModelId(modelId)) throw loggedModelNotFound(modelId);
    const result = await this.repo.mutate(modelId, (model) => {
      if (model.lifecycleStage !== 'active') throw loggedModelNotFound(modelId);
      return mutation(model);
    });
    if (!result) throw loggedModelNotFound(modelId);
    return result;
  }
}

import type { ViewType } from '../../api/schema.js';
import { InvalidParameterValueError, ResourceDoesNotExistError } from '../../errors.js';
import type { LifecycleStage } from '../experiments/model.js';
import type { ExperimentService } from '../experiments/service.js';
import { newRunId, parseExperimentId, validateRunId } from '../ids.js';
import { LIMITS, validateKey, validateMaxLength, validateMaxResults } from '../rules.js';
import { decodePageToken, encodePageToken, queryFingerprint } from '../search/page-token.js';
import { formatMetricValue, parseMetricValue } from './metrics.js';
import type {
  DatasetInput,
  HistoryCursor,
  KeyedPoint,
  MetricPoint,
  Run,
  RunRepository,
  RunStatus,
  StepInterval,
} from './model.js';
import { generateRunName } from './run-names.js';
import { type RunPage, searchRuns } from './search.js';

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

const RUN_NAME_TAG = 'mlflow.runName';

function runNotFound(runId: string): ResourceDoesNotExistError {
  return new ResourceDoesNotExistError(`Run with id=${runId} not found`);
}

function requireActive(run: Run | undefined, runId: string): Run {
  if (!run) throw runNotFound(runId);
  if (run.lifecycleStage !== 'active') {
    throw new InvalidParameterValueError(
      `The run ${runId} must be in the 'active' state. Current state is ${run.lifecycleStage}.`,
    );
  }
  return run;
}

/** Validates a param; `field` is the prefix naming where it sits in the request (`params[3].`), or ''. */
function validateParam(field: string, key: string, value: string): void {
  validateKey(`${field}key`, key);
  validateMaxLength(`${field}value`, value, RUN_LIMITS.paramValue);
}

function validateRunTag(field: string, key: string, value: string): void {
  validateKey(`${field}key`, key);
  validateMaxLength(`${field}value`, value, RUN_LIMITS.runTagValue);
}

export interface CreateRunInput {
  experimentId?: string;
  userId?: string;
  runName?: string;
  startTime?: number;
  tags: { key: string; value: string }[];
}

export interface BatchInput {
  metrics: KeyedPoint[];
  params: { key: string; value: string }[];
  tags: { key: string; value: string }[];
}

export interface HistoryPage {
  points: MetricPoint[];
  nextPageToken?: string;
}

export class RunService {
  constructor(
    private readonly repo: RunRepository,
    private readonly experiments: ExperimentService,
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

  async logMetric(runId: string, point: KeyedPoint): Promise<void> {
    validateRunId(runId);
    validateKey('key', point.key);
    validateTimestamp('timestamp', point.timestamp);
    await this.repo.appendMetrics(runId, [point], (run) => requireActive(run, runId));
  }

  async logBatch(runId: string, batch: BatchInput): Promise<void> {
    validateRunId(runId);
    const limit = (what: string, count: number, max: number) => {
      if (count > max) {
        throw new InvalidParameterValueError(
          `A batch logging request can contain at most ${max} ${what}. Got ${count} ${what}. Please split up ${what} across multiple requests and try again.`,
        );
      }
    };
    limit('metrics', batch.metrics.length, RUN_LIMITS.batchMetrics);
    limit('params', batch.params.length, RUN_LIMITS.batchParams);
    limit('tags', batch.tags.length, RUN_LIMITS.batchTags);
    limit(
      'total entities',
      batch.metrics.length + batch.params.length + batch.tags.length,
      RUN_LIMITS.batchEntities,
    );
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

  async logInputs(runId: string, datasets: DatasetInput[], modelIds: readonly string[] = []): Promise<void> {
    validateRunId(runId);
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

  async logOutputs(runId: string, outputs: { modelId: string; step: number }[]): Promise<void> {
    validateRunId(runId);
    await this.mutateActive(runId, (run) => {
      const known = new Set(run.modelOutputs.map((output) => `${output.modelId}@${output.step}`));
      const added = outputs.filter((output) => !known.has(`${output.modelId}@${output.step}`));
      return added.length === 0 ? null : { modelOutputs: [...run.modelOutputs, ...added] };
    });
  }

  async history(
    runId: string,
    key: string,
    maxResults: number | undefined,
    pageToken?: string,
  ): Promise<HistoryPage> {
    validateRunId(runId);
    validateKey('metric_key', key);
    const pageSize = maxResults ?? RUN_LIMITS.historyPageMax;
    if (pageSize < 1) {
      throw new InvalidParameterValueError(
        `Invalid value ${pageSize} for parameter 'max_results' supplied. It must be a positive integer`,
      );
    }
    const fingerprint = queryFingerprint({ r: runId, k: key });
    const cursor = pageToken ? decodeHistoryToken(pageToken, fingerprint) : undefined;
    // A page never exceeds what fits a Lambda response, whatever max_results asks for.
    const limit = Math.min(pageSize, RUN_LIMITS.historyPageMax);
    const page = await this.repo.readHistoryPage(runId, key, cursor, limit);
    if (!page) throw runNotFound(runId);
    return {
      points: page.points,
      ...(page.next ? { nextPageToken: encodeHistoryToken(fingerprint, page.next) } : {}),
    };
  }

  /**
   * MLflow's get-history-bulk-interval: the steps of all runs pooled and sampled to `maxResults` evenly
   * spaced steps (the first and last in range always kept, and each run's own first and last step), then
   * every point of each run at those steps, runs in request order.
   */
  async historyBulkInterval(request: {
    runIds: string[];
    key: string;
    startStep?: number;
    endStep?: number;
    maxResults?: number;
  }): Promise<{ runId: string; point: MetricPoint }[]> {
    const { runIds, key } = request;
    if (runIds.length === 0) {
      throw new InvalidParameterValueError(
        "Missing value for required parameter 'run_ids'. See the API docs for more information about request parameters.",
      );
    }
    if (runIds.length > RUN_LIMITS.bulkIntervalRuns) {
      throw new InvalidParameterValueError(
        `GetMetricHistoryBulkInterval request must specify at most ${RUN_LIMITS.bulkIntervalRuns} run_ids. Received ${runIds.length} run_ids.`,
      );
    }
    const maxResults = request.maxResults ?? RUN_LIMITS.bulkIntervalMaxResults;
    if (maxResults < 1 || maxResults > RUN_LIMITS.bulkIntervalMaxResults) {
      throw new InvalidParameterValueError(
        `max_results must be between 1 and ${RUN_LIMITS.bulkIntervalMaxResults}.`,
      );
    }
    if ((request.startStep === undefined) !== (request.endStep === undefined)) {
      throw new InvalidParameterValueError(
        'If either start step or end step are specified, both must be specified.',
      );
    }
    if (
      request.startStep !== undefined &&
      request.endStep !== undefined &&
      request.startStep > request.endStep
    ) {
      throw new InvalidParameterValueError(
        `end_step must be greater than start_step. Found start_step=${request.startStep} and end_step=${request.endStep}.`,
      );
    }
    for (const runId of runIds) validateRunId(runId);
    validateKey('metric_key', key);
    // MLflow's default range starts at step 0 (negative steps are left out) and ends at the last step.
    const start = request.startStep ?? 0;
    const budget = Math.max(
      BULK_INTERVAL_MIN_BYTES,
      Math.min(maxResults * BULK_INTERVAL_BYTES_PER_POINT, BULK_INTERVAL_TOTAL_BYTES / runIds.length),
    );
    const heads = await Promise.all(
      runIds.map((runId) => this.repo.readHistoryHead(runId, key, start, request.endStep, budget)),
    );
    const found = heads.map((head, index) => {
      if (!head) throw runNotFound(runIds[index] as string);
      return head;
    });
    let selected: MetricPoint[][];
    if (found.every((head) => head.complete)) {
      // Every series in range was read whole: sample exactly as MLflow does.
      const series = found.map((head) => head.points);
      const steps = sampleSteps(series, maxResults, request.startStep, request.endStep);
      selected = series.map((points) => points.filter((point) => steps.has(point.step)));
    } else {
      // A long series: the same step intervals for every run, the first logged step of each, read
      // without reading the whole series (see shared/store/history-sample.ts).
      const end =
        request.endStep ??
        Math.max(...found.flatMap((head) => [head.latestStep ?? start, head.points.at(-1)?.step ?? start]));
      const partial = found.filter((head) => !head.complete).length;
      const perRun = Math.max(1, Math.floor(BULK_INTERVAL_MAX_QUERIES / (2 * partial)));
      const intervals = stepIntervals(start, end, Math.min(maxResults, perRun));
      const series = await Promise.all(
        found.map((head, index) =>
          head.complete
            ? head.points
            : this.repo.readHistoryIntervals(runIds[index] as string, key, head, intervals, start, end),
        ),
      );
      selected = series.map((points) => sampleByIntervals(points, intervals));
    }
    const rows = selected.reduce((count, points) => count + points.length, 0);
    // One answer must fit a Lambda response (6 MB): about 60,000 points of JSON with run ids.
    if (rows > RUN_LIMITS.bulkIntervalMaxPoints) {
      throw new InvalidParameterValueError(
        `The request selects ${rows} points, more than ${RUN_LIMITS.bulkIntervalMaxPoints} in one answer; request fewer run_ids or a lower max_results.`,
      );
    }
    return selected.flatMap((points, index) =>
      points.slice(0, RUN_LIMITS.historyPageMax).map((point) => ({ runId: runIds[index] as string, point })),
    );
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
    const experimentIds = [
      ...new Set(search.experimentIds.map((id) => parseExperimentId('experiment_ids', id))),
    ];
    const query = { ...search, maxResults, experimentIds, scope: experimentIds };
    // Parse the filter, order and token before any read: a bad request costs nothing.
    searchRuns([], query);
    const runs = (await Promise.all(experimentIds.map((id) => this.repo.listByExperiment(id)))).flat();
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

/** True when `key` already holds `value` (a no-op); throws when it holds another value (params are write-once). */
function paramConflict(run: Run, runId: string, key: string, value: string): boolean {
  if (!Object.hasOwn(run.params, key)) return false;
  const existing = run.params[key];
  if (existing === value) return true;
  throw new InvalidParameterValueError(
    `Changing param values is not allowed. Param with key='${key}' was already logged with value='${existing}' for run ID='${runId}'. Attempted logging new value '${value}'.`,
  );
}

function encodeHistoryToken(fingerprint: string, cursor: HistoryCursor): string {
  const { step, timestamp, value } = cursor.after;
  return encodePageToken(fingerprint, [
    step,
    timestamp,
    formatMetricValue(value),
    JSON.stringify(cursor.resume),
  ]);
}

function decodeHistoryToken(token: string, fingerprint: string): HistoryCursor {
  const [step, timestamp, value, resume] = decodePageToken(token, fingerprint);
  let positions: unknown;
  try {
    positions = typeof resume === 'string' ? JSON.parse(resume) : undefined;
  } catch {
    positions = undefined;
  }
  if (
    typeof step !== 'number' ||
    typeof timestamp !== 'number' ||
    typeof value !== 'string' ||
    typeof positions !== 'object' ||
    positions === null ||
    !Object.values(positions).every((position) => typeof position === 'string')
  ) {
    throw new InvalidParameterValueError('Invalid page token: it is not a token this server issued.');
  }
  return {
    after: { step, timestamp, value: parseMetricValue(value) },
    resume: positions as Record<string, string>,
  };
}

/**
 * get-history-bulk-interval's read budget: bytes of chunk data read whole per run before switching to
 * interval reads. Each interval read costs at least half a read unit (one item up to 4 KB), which reads
 * 4 KB of a whole series: reading ~2 KB per requested point first keeps series up to ~100,000 points
 * exact at a cost no more than the interval reads that follow for longer ones.
 */
const BULK_INTERVAL_BYTES_PER_POINT = 2 * 1024;
const BULK_INTERVAL_MIN_BYTES = 64 * 1024;
/** All runs of one request together: bounds the function's memory (about 1M decoded points). */
const BULK_INTERVAL_TOTAL_BYTES = 8 * 1024 * 1024;
/** Interval queries per request: at ~24 in flight, about a second of DynamoDB round trips. */
const BULK_INTERVAL_MAX_QUERIES = 4000;

/**
 * [start, end] cut into `count` (at most one per step) contiguous intervals of near-equal width. For a
 * series logged at every step, the first step of each is the step MLflow's sampling picks: interval i
 * starts at start + ⌊i · (width / count)⌋, in floating point as MLflow computes it.
 */
export function stepIntervals(start: number, end: number, count: number): StepInterval[] {
  if (end < start) return [];
  const width = end - start + 1;
  const n = Math.min(count, width);
  const starts: number[] = [];
  if (width * n <= Number.MAX_SAFE_INTEGER) {
    const interval = width / n;
    for (let i = 0; i < n; i++) starts.push(start + Math.floor(i * interval));
  } else {
    // Steps near ±2^53: only BigInt is exact here (MLflow's floats would not be either).
    const wide = BigInt(end) - BigInt(start) + 1n;
    for (let i = 0n; i < BigInt(n); i++) starts.push(Number(BigInt(start) + (i * wide) / BigInt(n)));
  }
  const intervals: StepInterval[] = [];
  for (let i = 0; i < starts.length; i++) {
    const from = starts[i] as number;
    const to = i + 1 < starts.length ? (starts[i + 1] as number) - 1 : end;
    // Rounding can make two starts meet; an empty interval is dropped.
    if (to >= from) intervals.push({ from, to });
  }
  return intervals;
}

/**
 * The points at the first logged step of each interval, and at the last logged step of all (MLflow
 * always returns the first and the last step). `points` must be sorted; intervals sorted and disjoint.
 */
export function sampleByIntervals(
  points: readonly MetricPoint[],
  intervals: readonly StepInterval[],
): MetricPoint[] {
  const steps = new Set<number>();
  let at = 0;
  for (const { from, to } of intervals) {
    while (at < points.length && (points[at] as MetricPoint).step < from) at++;
    const point = points[at];
    if (point && point.step <= to) steps.add(point.step);
  }
  const lastInRange = intervals.length
    ? points.findLast((point) => point.step <= (intervals.at(-1) as StepInterval).to)
    : undefined;
  if (lastInRange && lastInRange.step >= (intervals[0] as StepInterval).from) steps.add(lastInRange.step);
  return points.filter((point) => steps.has(point.step));
}

/** The steps get-history-bulk-interval returns; see RunService.historyBulkInterval. */
export function sampleSteps(
  series: readonly (readonly MetricPoint[])[],
  maxResults: number,
  startStep?: number,
  endStep?: number,
): Set<number> {
  const all = [...new Set(series.flatMap((points) => points.map((point) => point.step)))].sort(
    (a, b) => a - b,
  );
  const start = startStep ?? 0;
  const end = endStep ?? all.at(-1) ?? 0;
  const inRange = all.filter((step) => step >= start && step <= end);
  const sampled = new Set<number>();
  if (inRange.length <= maxResults) {
    for (const step of inRange) sampled.add(step);
  } else {
    const interval = inRange.length / maxResults;
    for (let i = 0; i < maxResults; i++) sampled.add(inRange[Math.floor(i * interval)] as number);
    sampled.add(inRange.at(-1) as number);
  }
  for (const points of series) {
    for (const edge of [points[0], points.at(-1)]) {
      if (edge && edge.step >= start && edge.step <= end) sampled.add(edge.step);
    }
  }
  return sampled;
}

/** MLflow refuses negative metric timestamps (epoch milliseconds). */
function validateTimestamp(field: string, timestamp: number): void {
  if (timestamp < 0) {
    throw new InvalidParameterValueError(
      `Invalid value ${timestamp} for parameter '${field}' supplied: a metric timestamp must not be negative.`,
    );
  }
}

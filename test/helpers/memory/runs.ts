/**
 * Runs in memory, behind the same interface as the DynamoDB repository. History is kept as a plain list
 * per key (no chunks or tail): the store's own packing is tested against DynamoDB in
 * test/integration/store; these serve service rules.
 */
import type { LifecycleStage } from '../../../shared/domain/experiments/model.js';
import type { EnvelopeSources } from '../../../shared/domain/runs/envelope.js';
import { comparePoints, sortAndDedupe } from '../../../shared/domain/runs/metric-codec.js';
import { latestChanges } from '../../../shared/domain/runs/metrics.js';
import type {
  HistoryCursor,
  HistoryHead,
  KeyedPoint,
  MetricPoint,
  Run,
  RunListingPlan,
  RunMutation,
  RunRepository,
  StepInterval,
} from '../../../shared/domain/runs/model.js';

export class MemoryRunRepository implements RunRepository {
  readonly runs = new Map<string, Run>();
  readonly history = new Map<string, Map<string, MetricPoint[]>>();

  async create(run: Run): Promise<void> {
    if (this.runs.has(run.runId)) throw new Error(`run ${run.runId} exists`);
    this.runs.set(run.runId, structuredClone(run));
    this.history.set(run.runId, new Map());
  }

  async get(runId: string): Promise<Run | undefined> {
    const run = this.runs.get(runId);
    return run ? structuredClone(run) : undefined;
  }

  async mutate(runId: string, mutate: RunMutation): Promise<Run | undefined> {
    const stored = this.runs.get(runId);
    if (!stored) return undefined;
    const before = structuredClone(stored);
    const change = mutate(structuredClone(stored));
    if (change === null) return before;
    Object.assign(stored.params, change.params);
    Object.assign(stored.tags, change.tags);
    for (const key of change.deleteTags ?? []) delete stored.tags[key];
    if (change.runName !== undefined) stored.runName = change.runName;
    if (change.status !== undefined) stored.status = change.status;
    if (change.endTime !== undefined) stored.endTime = change.endTime;
    if (change.datasets) stored.datasets = structuredClone(change.datasets);
    if (change.modelOutputs) stored.modelOutputs = structuredClone(change.modelOutputs);
    if (change.modelInputs) stored.modelInputs = [...change.modelInputs];
    return before;
  }

  async setLifecycle(runId: string, from: LifecycleStage, to: LifecycleStage): Promise<boolean> {
    const stored = this.runs.get(runId);
    if (stored?.lifecycleStage !== from) return false;
    stored.lifecycleStage = to;
    return true;
  }

  async appendMetrics(
    runId: string,
    points: readonly KeyedPoint[],
    check: (run: Run | undefined) => Run,
  ): Promise<void> {
    check(await this.get(runId));
    const stored = this.runs.get(runId) as Run;
    const series = this.history.get(runId) as Map<string, MetricPoint[]>;
    for (const { key, ...point } of points) series.set(key, [...(series.get(key) ?? []), point]);
    for (const [key, point] of Object.entries(latestChanges(stored.metrics, points))) {
      stored.metrics[key] = { key, ...point };
    }
  }

  async readHistory(runId: string, key: string, upToStep?: number): Promise<MetricPoint[] | undefined> {
    const series = this.history.get(runId);
    if (!series) return undefined;
    const sorted = sortAndDedupe([...(series.get(key) ?? [])]);
    return upToStep === undefined ? sorted : sorted.filter((point) => point.step <= upToStep);
  }

  /** Always the whole range: the service then samples exactly, as for short series. */
  async readHistoryHead(
    runId: string,
    key: string,
    start: number,
    end: number | undefined,
  ): Promise<HistoryHead | undefined> {
    const points = await this.readHistory(runId, key);
    if (!points) return undefined;
    return {
      points: points.filter((point) => point.step >= start && (end === undefined || point.step <= end)),
      complete: true,
      ...(points.length > 0 ? { latestStep: (points.at(-1) as MetricPoint).step } : {}),
      frontier: {},
    };
  }

  async readHistoryIntervals(
    _runId: string,
    _key: string,
    head: HistoryHead,
    _intervals: readonly StepInterval[],
  ): Promise<MetricPoint[]> {
    return head.points;
  }

  async readHistoryPage(
    runId: string,
    key: string,
    cursor: HistoryCursor | undefined,
    limit: number,
  ): Promise<{ points: MetricPoint[]; next?: HistoryCursor } | undefined> {
    const points = await this.readHistory(runId, key);
    if (!points) return undefined;
    const after = cursor ? points.filter((point) => comparePoints(point, cursor.after) > 0) : points;
    const page = after.slice(0, limit);
    return after.length > limit
      ? { points: page, next: { after: page.at(-1) as MetricPoint, resume: {} } }
      : { points: page };
  }

  /** Every point raw, no summaries: the bucketing over summaries is unit-tested on its own. */
  async readEnvelopeSources(runId: string, key: string): Promise<EnvelopeSources | undefined> {
    const points = await this.readHistory(runId, key);
    return points ? { chunks: [], points } : undefined;
  }

  async readEnvelopeChunks(): Promise<MetricPoint[]> {
    return [];
  }

  /** In memory every order is a sort: the candidates a store's index walk would stop at. */
  async listIndexed(experimentIds: readonly string[], plan: RunListingPlan): Promise<Run[]> {
    const ordered = [...this.runs.values()]
      .filter(
        (run) => experimentIds.includes(run.experimentId) && plan.lifecycles.includes(run.lifecycleStage),
      )
      .map((run) => structuredClone(run))
      .sort(plan.compare);
    return ordered.filter((run) => plan.accept(run)).slice(0, plan.wanted);
  }

  async listByExperiment(experimentId: string): Promise<Run[]> {
    return [...this.runs.values()]
      .filter((run) => run.experimentId === experimentId)
      .map((run) => structuredClone(run));
  }
}

/** Domain entities and the store interfaces the domain needs. No AWS imports here (design decision 4). */

import type { LifecycleStage } from '../experiments/model.js';
import type { SortCell } from '../search/order.js';

export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';

/** One logged metric point. `value` may be NaN, ±Infinity or -0; steps and timestamps are safe integers. */
export interface MetricPoint {
  step: number;
  timestamp: number;
  value: number;
}

/** The latest point of one metric key, by MLflow's rule: greatest (step, timestamp, value). */
export interface LatestMetric extends MetricPoint {
  key: string;
}

export interface DatasetInput {
  name: string;
  digest: string;
  sourceType: string;
  source: string;
  schema?: string;
  profile?: string;
  tags: Record<string, string>;
}

export interface Run {
  runId: string;
  experimentId: string;
  runName: string;
  userId: string;
  status: RunStatus;
  startTime: number;
  endTime?: number;
  artifactUri: string;
  lifecycleStage: LifecycleStage;
  params: Record<string, string>;
  tags: Record<string, string>;
  /** Latest value per metric key. */
  metrics: Record<string, LatestMetric>;
  datasets: DatasetInput[];
  /** Logged models this run produced (`runs/outputs`). */
  modelOutputs: { modelId: string; step: number }[];
  /** Logged models this run used, e.g. evaluated (`runs/log-inputs` with `models`). */
  modelInputs: string[];
}

/** A metric point with its key, as logged. */
export interface KeyedPoint extends MetricPoint {
  key: string;
}

/** A metric point as a request logs it: MLflow 3 may log it against a logged model (and dataset) too. */
export interface LoggedMetric extends KeyedPoint {
  /** The logged model the point is about; absent for plain run metrics. */
  modelId?: string;
  datasetName?: string;
  datasetDigest?: string;
}

/** A point logged against a model. */
export type LinkedMetric = LoggedMetric & { modelId: string };

/**
 * What run logging needs from logged models (implemented by the logged-models service): runs may only name
 * models that exist, and a metric logged against a model also becomes that model's metric.
 */
export interface LinkedModels {
  /** Throws 404 for the first model that is not an active logged model; else the models' experiments. */
  requireModels(modelIds: readonly string[]): Promise<string[]>;
  /** Everything that could refuse the model side, checked before the run is written. */
  checkMetrics(runId: string, metrics: readonly LinkedMetric[]): Promise<void>;
  /** Records the points as the models' latest metrics, after the run has them. */
  recordMetrics(runId: string, metrics: readonly LinkedMetric[]): Promise<void>;
}

/** Where a history page ends: the last point served and the store's opaque resume positions. */
export interface HistoryCursor {
  after: MetricPoint;
  resume: Record<string, string>;
}

/** A change to a run, decided from the run as read; see RunRepository.mutate. */
export interface RunChange {
  params?: Record<string, string>;
  tags?: Record<string, string>;
  deleteTags?: string[];
  runName?: string;
  status?: RunStatus;
  endTime?: number;
  datasets?: DatasetInput[];
  modelOutputs?: { modelId: string; step: number }[];
  modelInputs?: string[];
}

/** Decides a change from the current run: throw to refuse, return null for "nothing to do". */
export type RunMutation = (run: Run) => RunChange | null;

/** Steps `from` to `to`, both included. */
export interface StepInterval {
  from: number;
  to: number;
}

/** What get-history-bulk-interval's first read of one run found; see shared/store/history-sample.ts. */
export interface HistoryHead {
  /** Points read with steps in the requested range, sorted and deduplicated. */
  points: MetricPoint[];
  /** True when `points` are all the points in the range. */
  complete: boolean;
  /** The key's highest logged step, when it has any point. */
  latestStep?: number;
  /** Per chunk family, the first step of the last chunk read, when reading stopped before the range's end. */
  frontier: { own?: number; mixed?: number };
}

/** What a metric write checks of its run: which it is, where it lists, its lifecycle, and whether it has ended. */
export type RunState = Pick<Run, 'runId' | 'experimentId' | 'lifecycleStage' | 'endTime'>;

/** What the runs domain needs from storage. */
/** Metric envelopes' reads are the repository's too (see envelope.ts). */
export interface RunRepository extends EnvelopeReader {
  create(run: Run): Promise<void>;
  get(runId: string): Promise<Run | undefined>;
  /** Applies `mutate` atomically with respect to other mutations; undefined when the run is missing. */
  mutate(runId: string, mutate: RunMutation): Promise<Run | undefined>;
  /** Moves a run from `from` to `to`; false when it is missing or in another stage. */
  setLifecycle(runId: string, from: LifecycleStage, to: LifecycleStage): Promise<boolean>;
  /**
   * Appends points; `check` validates the run's state (and may throw) before anything is written. The
   * state may be as of this process's last write to the run, but a write never lands on a lifecycle it
   * did not check.
   */
  appendMetrics(
    runId: string,
    points: readonly KeyedPoint[],
    check: (run: RunState | undefined) => RunState,
  ): Promise<void>;
  /** Every point of one key, sorted by (step, timestamp, value) and deduplicated. */
  readHistory(runId: string, key: string, upToStep?: number): Promise<MetricPoint[] | undefined>;
  /** get-history-bulk-interval, phase one: the range's points up to a byte budget; undefined for no run. */
  readHistoryHead(
    runId: string,
    key: string,
    start: number,
    end: number | undefined,
    byteBudget: number,
  ): Promise<HistoryHead | undefined>;
  /** Phase two: the head's points plus the first chunk starting in each interval above its frontier. */
  readHistoryIntervals(
    runId: string,
    key: string,
    head: HistoryHead,
    intervals: readonly StepInterval[],
    start: number,
    end: number,
  ): Promise<MetricPoint[]>;
  /** One page of at most `limit` points after `cursor`, in order, reading only what the page needs. */
  readHistoryPage(
    runId: string,
    key: string,
    cursor: HistoryCursor | undefined,
    limit: number,
  ): Promise<{ points: MetricPoint[]; next?: HistoryCursor } | undefined>;
  /** Every run of an experiment, any lifecycle stage, with latest metrics. */
  listByExperiment(experimentId: string): Promise<Run[]>;
  /**
   * A search page's candidates read in an order the store keeps (see RunListingPlan), with latest metrics;
   * undefined when the store cannot list these experiments that way (the search then reads every run).
   */
  listIndexed(experimentIds: readonly string[], plan: RunListingPlan): Promise<Run[] | undefined>;
}

// ---- Metric envelopes: what a repository reads for them (the bucketing is envelope.ts). ----

/** What a set of points comes to, NaN aware: min and max leave NaN out (NaN when every value is NaN). */
export interface PointSummary {
  count: number;
  min: number;
  max: number;
  /** The greatest point by comparePoints: the largest step, the latest timestamp on ties. */
  last: MetricPoint;
}

/** A sealed chunk's summary: its points' summary and its smallest step. */
export interface EnvelopeChunkSummary extends PointSummary {
  firstStep: number;
}

/** A chunk known by its summary; `id` names it to the store when its points must be read after all. */
export interface SummarizedChunk {
  id: string;
  /** Its position among the sources' chunks, when the store can read neighbours together. */
  seq?: number;
  summary: EnvelopeChunkSummary;
}

/** What the store found of one run's key near a step range: summarized chunks and points to read raw. */
export interface EnvelopeSources {
  /** In the store's order (by first step); the same chunk is never also in `points`. */
  chunks: SummarizedChunk[];
  /** Points of unsummarized chunks and the unsealed tail; may reach outside the range, may repeat. */
  points: MetricPoint[];
}

/** The reads an envelope needs; the DynamoDB repository and the in-memory one implement it. */
export interface EnvelopeReader {
  /** Undefined when the run does not exist. `start`/`end` undefined: no bound on that side. */
  readEnvelopeSources(
    runId: string,
    key: string,
    start: number | undefined,
    end: number | undefined,
  ): Promise<EnvelopeSources | undefined>;
  /** Every point of these chunks (those the summaries cannot stand for), in any order. */
  readEnvelopeChunks(runId: string, key: string, chunks: readonly SummarizedChunk[]): Promise<MetricPoint[]>;
}

/** The orders a store keeps runs in (keys.ts): a listing in one of them reads from the page's position. */
export type RunListingOrder = 'start_time' | 'end_time' | 'run_name';

/**
 * What a plan's order is to a store: an index order, a metric's value (`metricKey`: its value entries),
 * or any other order, which only a filter's value entries can narrow (the runs they name, read by key).
 */
export type RunSearchOrder = RunListingOrder | 'metric' | 'other';

/**
 * A filter clause a store's value entries can answer (keys.ts: metric values of ended runs, param values):
 * the runs it holds for are among the entries in the clause's key ranges, and `matches` tells them apart
 * where a range holds more (a param value past the key's prefix, a LIKE pattern past its literal prefix).
 * Entries only narrow: every run is checked against the whole filter once read.
 */
export type ValueClause =
  | {
      entity: 'metric';
      key: string;
      comparator: '=' | '<' | '<=' | '>' | '>=';
      value: number;
      matches(value: number): boolean;
    }
  | {
      entity: 'param' | 'tag';
      key: string;
      /** Values read exactly (`=`), or a literal prefix every matching value starts with (LIKE). */
      range: { exact: string } | { prefix: string };
      matches(value: string): boolean;
    };

/**
 * What a store needs to read one page of a run search in index order instead of every run: which order and
 * stages to read, where the page starts, and how to tell the runs it wants. A store reads runs in `order`
 * (and, among runs without an end time, by start time `thenStartAscending` when that is the next term),
 * keeps the runs it reads that pass `accept` as candidates, and stops once it has `wanted` (or none are
 * left); searchRuns over the candidates then makes the same page as over every run.
 */
export interface RunListingPlan {
  order: RunSearchOrder;
  /** The metric of a `metric` order. */
  metricKey?: string;
  ascending: boolean;
  thenStartAscending?: boolean;
  lifecycles: readonly LifecycleStage[];
  /** The cursor's values of the order and of start time; undefined for a first page. */
  after?: { value: SortCell; start?: SortCell };
  /** The search's full order (a store sorts runs that tie in its key by it). */
  compare(left: Run, right: Run): number;
  /**
   * In the view, matching the filter, after the cursor. Latest metrics are needed only when `needsMetrics`
   * (the filter or the order reads metrics); else a store may read them for the accepted runs alone.
   */
  accept(run: Run): boolean;
  needsMetrics: boolean;
  /** The filter's clauses that value entries can answer (none when no clause can use them). */
  valueClauses: readonly ValueClause[];
  wanted: number;
  /** Whether the filter has any clause (an unfiltered listing in an index order reads only its page). */
  filtered: boolean;
  /**
   * Whether run summaries (a run's attributes, params, tags and dataset inputs; store/runs/run-summaries.ts)
   * can answer: no clause or order term reads metrics. With the param and tag keys the filter and the order
   * read, and those the order reads alone.
   */
  summary: { usable: boolean; reads: KeysRead; orderReads: KeysRead };
}

/** Param, tag, attribute and dataset keys a search reads (attributes by their names, not aliases). */
export interface KeysRead {
  params: readonly string[];
  tags: readonly string[];
  attributes: readonly string[];
  datasets: readonly string[];
}

/**
 * The runs aggregate's items, stated once: their types, their keys (from keys.ts) and the item ↔ domain
 * mappers. These item kinds share the run's partition `RUN#<run_id>`:
 *
 * - RUN: info, params, tags and dataset/model inputs and outputs, with a version number `ver`.
 * - LATEST: the latest value per metric key and the unsealed tail, with its own version number.
 * - latest groups (`LG#…`): a wide run's latest values, once they outgrow LATEST (latest-groups.ts).
 * - metric chunks (`MC#…` one key, `MX#…` many keys): sealed history, encoded by the metric codec.
 * - value entries (`MV#<key>` for an ended run's latest metric values, `PV#<key>` for every param, `TV#<key>`
 *   for every tag): one small item per value, indexed by experiment, key and value (keys.runMetricValueListing,
 *   runParamValueListing, runTagValueListing),
 *   so a filtered or metric-ordered search reads a key range instead of every run (value-entries.ts).
 */
import type { LifecycleStage } from '../../domain/experiments/model.js';
import { formatMetricValue, parseMetricValue } from '../../domain/runs/metrics.js';
import type {
  DatasetInput,
  LatestMetric,
  MetricPoint,
  Run,
  RunState,
  RunStatus,
} from '../../domain/runs/model.js';
import { fromStoredMap, projection, projectionWithKey, storedKey, toStoredMap } from '../items.js';
import { type ItemKey, keys, NAME_KEY_BYTES, type ValueEntryFields } from '../keys.js';

export interface RunItem {
  pk: string;
  sk: string;
  gsi1pk: string;
  gsi1sk: string;
  type: 'run';
  ver: number;
  run_id: string;
  experiment_id: string;
  run_name: string;
  user_id: string;
  status: RunStatus;
  start_time: number;
  end_time?: number;
  artifact_uri: string;
  lifecycle_stage: LifecycleStage;
  /** Epoch ms of the delete that moved it to `deleted` (absent on runs deleted before it was kept). */
  deleted_time?: number;
  params: Record<string, string>;
  tags: Record<string, string>;
  datasets?: DatasetInput[];
  model_outputs?: { modelId: string; step: number }[];
  model_inputs?: string[];
}

/** [step, timestamp, value as text]: the latest point of one key. */
export type StoredLatest = [number, number, string];

export interface LatestItem {
  pk: string;
  sk: string;
  gsi2pk: string;
  gsi2sk: string;
  type: 'run-latest';
  ver: number;
  run_id: string;
  /** The latest point per stored key, while the run is narrow; empty once it has spilled (`lg`). */
  m: Record<string, StoredLatest>;
  /**
   * Set once the run's latest points outgrew `m` (latest-groups.ts): they live in this many group items
   * (`keys.runLatestGroup`), and every reader completes LATEST with them (withLatestGroups).
   */
  lg?: number;
  /** Tail points per key, each an encoded chunk. */
  tail: Record<string, Uint8Array>;
  /**
   * Chunk items written so far. A history page token remembers it: when chunks appeared since (a sealed
   * tail can sort before where the next page would resume), the next page starts its chunk streams over.
   */
  ch?: number;
  /**
   * Set on runs created since chunk summaries exist: every own chunk of SUMMARY_MIN_POINTS or more has
   * one, so an envelope may trust them (older runs are read raw).
   */
  es?: 1;
  /**
   * Per stored key, what envelope reads need to find every own chunk near a range: [reach] or
   * [reach, lo, hi]. reach = the widest own chunk's last step − first step (a chunk overlapping step s
   * starts at or after s − reach); [lo, hi] = the steps spanned by its own chunks without a summary.
   */
  ev?: Record<string, number[]>;
  /** The widest mixed chunk's last step − first step, over all keys. */
  mr?: number;
}

/**
 * A share of a wide run's latest points (`LG#<groups>#<group>`): the keys that hash to `group`, under a
 * version of its own. No index keys: an index copy would cost its whole size on every write.
 */
export interface LatestGroupItem extends ItemKey {
  type: 'run-latest-group';
  ver: number;
  m: Record<string, StoredLatest>;
}

/**
 * A run's place in name and end-time order (keys.runOrderListing), with the values it was keyed from, so
 * that a listing can tell an entry a cut-short write left behind (run-index.ts).
 */
export interface RunOrderItem {
  pk: string;
  sk: string;
  gsi1pk: string;
  gsi1sk: string;
  gsi2pk: string;
  gsi2sk: string;
  type: 'run-order';
  /** The RUN item's version it was keyed from: a put never replaces an entry of a later version. */
  ver: number;
  run_id: string;
  run_name: string;
  lifecycle_stage: LifecycleStage;
  end_time?: number;
}

/**
 * One metric's latest value of an ended run, or one param's value, in the run's partition and indexed by
 * value (gsi1). `value` is text as LATEST stores it (formatMetricValue: NaN, ±Infinity and -0 survive) or
 * the param's value; `ver` the LATEST (metric) or RUN (param) version it was written from.
 */
export interface ValueEntryItem {
  pk: string;
  sk: string;
  gsi1pk: string;
  gsi1sk: string;
  type: 'metric-value' | 'param-value' | 'tag-value';
  run_id: string;
  key: string;
  /** Left out of a tag's entry whose value its key does not hold whole (TAG_ENTRY_VALUE_BYTES). */
  value?: string;
  ver: number;
  /** The write that put it before its RUN update (value-entries.ts entriesOfWriter), and when. */
  w?: string;
  at?: number;
}

/** An ended run's value entry for one metric's latest value (`stage` is the run's lifecycle stage). */
export function metricValueEntry(
  run: { runId: string; experimentId: string; lifecycleStage: string },
  key: string,
  value: string,
  ver: number,
): ValueEntryItem {
  return {
    ...keys.runMetricValue(run.runId, key),
    ...keys.runMetricValueListing(run, key, parseMetricValue(value)),
    type: 'metric-value',
    run_id: run.runId,
    key,
    value,
    ver,
  };
}

/** A run's value entry for one param. */
export function paramValueEntry(
  run: ValueEntryFields,
  key: string,
  value: string,
  ver: number,
): ValueEntryItem {
  return textValueEntry('param', run, key, value, ver);
}

/**
 * The longest tag value (UTF-8 bytes) a tag's entry carries: one its key holds whole (NAME_KEY_BYTES). A
 * longer one (`mlflow.log-model.history`, notes) would make every entry write several units for values no
 * filter names in full; its entry names the run as a candidate and the search checks the run as read.
 */
export const TAG_ENTRY_VALUE_BYTES = NAME_KEY_BYTES - 1;

/** A run's value entry for one tag (`ver` the RUN version it was written from). */
export function tagValueEntry(
  run: ValueEntryFields,
  key: string,
  value: string,
  ver: number,
): ValueEntryItem {
  return textValueEntry('tag', run, key, value, ver);
}

function textValueEntry(
  kind: 'param' | 'tag',
  run: ValueEntryFields,
  key: string,
  value: string,
  ver: number,
): ValueEntryItem {
  const whole = kind === 'param' || Buffer.byteLength(value, 'utf8') <= TAG_ENTRY_VALUE_BYTES;
  return {
    ...keys.runTextValue(kind, run.runId, key),
    ...keys.runTextValueListing(kind, run, key, value),
    type: kind === 'param' ? 'param-value' : 'tag-value',
    run_id: run.runId,
    key,
    ...(whole ? { value } : {}),
    ver,
  };
}

/**
 * The latest value per metric key of a LATEST item, as stored (`[step, timestamp, value as text]`). Every
 * value-entry write reads a LATEST item's metrics through here, so a LATEST whose metrics live elsewhere
 * too needs only this changed.
 */
export function latestOf(item: Pick<LatestItem, 'm'>): Record<string, StoredLatest> {
  return fromStoredMap(item.m);
}

/** Whether a LATEST item is keyed as an open run's (`EXPOPEN#…`), from its own keys. */
export function isOpenLatest(item: Pick<LatestItem, 'gsi2pk' | 'gsi2sk'>, experimentId: string): boolean {
  return item.gsi2pk === keys.runLatestListing(experimentId, item.gsi2sk, true).gsi2pk;
}

/** A sealed chunk of one key's points (`MC#<key>#…`), or of several keys' (`MX#…`, `d` by stored key). */
export interface ChunkItem<Data extends Uint8Array | Record<string, Uint8Array>> extends ItemKey {
  /** The encoded points (metric-codec). */
  d: Data;
  /** The last point's step and timestamp: with the key's first, a chunk's range is known unread. */
  hi: number;
  ht: number;
}
export type MetricChunkItem = ChunkItem<Uint8Array>;
/** A large own chunk's summary (`MS#<key>#…`, the chunk's sk suffix): domain/runs/envelope.ts encodes `s`. */
export interface MetricSummaryItem extends ItemKey {
  s: Uint8Array;
}
export type MixedChunkItem = ChunkItem<Record<string, Uint8Array>>;

/** A new run's RUN item (version 0). */
function newRunItem(run: Run): RunItem {
  return {
    ...keys.run(run.runId),
    ...keys.runListing(run),
    type: 'run',
    ver: 0,
    run_id: run.runId,
    experiment_id: run.experimentId,
    run_name: run.runName,
    user_id: run.userId,
    status: run.status,
    start_time: run.startTime,
    ...(run.endTime === undefined ? {} : { end_time: run.endTime }),
    artifact_uri: run.artifactUri,
    lifecycle_stage: run.lifecycleStage,
    params: toStoredMap(run.params),
    tags: toStoredMap(run.tags),
  };
}

/** The start-time key a RUN item should carry as it stands (after a move between stages). */
export function runIndexKeys(
  item: Pick<RunItem, 'run_id' | 'experiment_id' | 'lifecycle_stage' | 'start_time'>,
) {
  return keys.runListing({
    runId: item.run_id,
    experimentId: item.experiment_id,
    lifecycleStage: item.lifecycle_stage,
    startTime: item.start_time,
  });
}

/** The ORDER item of a run as it stands at version `ver` of its RUN item. */
export function runOrderItem(
  run: Pick<Run, 'runId' | 'experimentId' | 'runName' | 'lifecycleStage' | 'startTime' | 'endTime'>,
  ver: number,
): RunOrderItem {
  return {
    ...keys.runOrder(run.runId),
    ...keys.runOrderListing(run),
    type: 'run-order',
    ver,
    run_id: run.runId,
    run_name: run.runName,
    lifecycle_stage: run.lifecycleStage,
    ...(run.endTime === undefined ? {} : { end_time: run.endTime }),
  };
}

/** A new run's LATEST item: no metrics yet, version 0. */
function newLatestItem(run: Run): LatestItem {
  return {
    ...keys.runLatest(run.runId),
    // An open run's LATEST is in its experiment's open partition; a run created ended (imports, benchmarks) is
    // laid out as ended from the start.
    ...keys.runLatestListing(run.experimentId, run.runId, run.endTime === undefined),
    type: 'run-latest',
    ver: 0,
    run_id: run.runId,
    m: {},
    tail: {},
    es: 1,
  };
}

/**
 * Every item a new run is stored as, in the order `create` writes them (LATEST, ORDER and value entries before
 * RUN). Its latest metrics go into LATEST's `m`, so that benchmarks and imports can write a run with values in
 * one pass: `values` holds its param and tag entries and, for a run created with an end time, its metric entries.
 */
export function itemsOfNewRun(run: Run): {
  latest: LatestItem;
  order: RunOrderItem;
  run: RunItem;
  values: ValueEntryItem[];
} {
  const latest = newLatestItem(run);
  for (const [key, metric] of Object.entries(run.metrics)) latest.m[storedKey(key)] = storedLatest(metric);
  const values = [
    ...Object.entries(run.params).map(([key, value]) => paramValueEntry(run, key, value, 0)),
    ...Object.entries(run.tags).map(([key, value]) => tagValueEntry(run, key, value, 0)),
  ];
  if (run.endTime !== undefined) {
    for (const [key, [, , value]] of Object.entries(latestOf(latest))) {
      values.push(metricValueEntry(run, key, value, latest.ver));
    }
  }
  return { latest, order: runOrderItem(run, 0), run: newRunItem(run), values };
}

/** Every item of itemsOfNewRun in one list, for bulk seeders' BatchWrites. */
export function allItemsOfNewRun(run: Run): Record<string, unknown>[] {
  const { latest, order, run: item, values } = itemsOfNewRun(run);
  return [latest, order, ...values, item] as unknown as Record<string, unknown>[];
}

/** The latest point per metric key, as stored in a LATEST item's `m`. */
export function latestMetrics(m: LatestItem['m'] | undefined): Record<string, LatestMetric> {
  return Object.fromEntries(
    Object.entries(fromStoredMap(m)).map(([key, [step, timestamp, value]]) => [
      key,
      { key, step, timestamp, value: parseMetricValue(value) },
    ]),
  );
}

/** One key's latest point as a LATEST item stores it. */
export function storedLatest(point: MetricPoint): StoredLatest {
  return [point.step, point.timestamp, formatMetricValue(point.value)];
}

/** What a metric write checks of a run (RunState), without decoding its params and tags. */
export function runState(item: RunItem): RunState {
  return {
    runId: item.run_id,
    experimentId: item.experiment_id,
    lifecycleStage: item.lifecycle_stage,
    ...(item.end_time === undefined ? {} : { endTime: item.end_time }),
  };
}

/** The run of a RUN item, with the latest metrics of its LATEST item (none when it is not read). */
export function toRun(item: RunItem, latest: Pick<LatestItem, 'm'> | undefined): Run {
  return {
    runId: item.run_id,
    experimentId: item.experiment_id,
    runName: item.run_name,
    userId: item.user_id,
    status: item.status,
    startTime: item.start_time,
    ...(item.end_time === undefined ? {} : { endTime: item.end_time }),
    artifactUri: item.artifact_uri,
    lifecycleStage: item.lifecycle_stage,
    params: fromStoredMap(item.params),
    tags: fromStoredMap(item.tags),
    metrics: latestMetrics(latest?.m),
    datasets: item.datasets ?? [],
    modelOutputs: item.model_outputs ?? [],
    modelInputs: item.model_inputs ?? [],
  };
}

/** What a run listing reads of LATEST items: enough to join them to their runs and find their groups. */
export const LATEST_LISTING_PROJECTION = projection<LatestItem>('run_id', 'm', 'lg');

/** One key's tail and the chunk count of a LATEST item (a history page). */
export const latestTailProjection = (key: string) =>
  projectionWithKey<LatestItem>(['pk', 'ch'], ['tail'], key);

/** One key's tail and latest point of a LATEST item, and where a spilled run keeps it (a bulk-interval sample). */
export const latestHeadProjection = (key: string) =>
  projectionWithKey<LatestItem>(['pk', 'lg'], ['tail', 'm'], key);

/** One key's latest point in a group item. */
export const latestGroupKeyProjection = (key: string) => projectionWithKey<LatestGroupItem>([], ['m'], key);

/** What an envelope read needs of a LATEST item: one key's tail and marks, and the run's mixed reach. */
export const latestEnvelopeProjection = (key: string) =>
  projectionWithKey<LatestItem>(['pk', 'es', 'mr'], ['tail', 'ev'], key);

/** One key's part of mixed chunks. */
export const mixedChunkProjection = (key: string) => projectionWithKey<MixedChunkItem>(['sk'], ['d'], key);

/** One key's part of mixed chunks, with their last (step, timestamp) (a history page). */
export const mixedChunkRangeProjection = (key: string) =>
  projectionWithKey<MixedChunkItem>(['sk', 'hi', 'ht'], ['d'], key);

/** Which of a run partition's items this is, by its sort key as keys.ts builds it. */
export function isRunItem(item: Record<string, unknown>, runId: string): boolean {
  return item.sk === keys.run(runId).sk;
}
export function isLatestItem(item: Record<string, unknown>, runId: string): boolean {
  return item.sk === keys.runLatest(runId).sk;
}

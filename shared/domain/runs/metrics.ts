/**
 * Metric rules that do not depend on storage: MLflow's "latest value" rule, how values travel as text
 * (NaN and ±Infinity are JSON strings), and how one write is split between sealed chunks and the run's
 * small unsealed tail (design decision 6: many points per item, never one item per point, never an item
 * that grows without bound).
 */
import { comparePoints } from './metric-codec.js';
import type { KeyedPoint, MetricPoint } from './model.js';

export type { KeyedPoint };

/**
 * A key with at least this many points in one request gets a chunk of its own; smaller groups go to
 * the tail. 16 points are ~170 bytes encoded: below that, an item of their own would mostly be key
 * overhead and one write unit each.
 */
export const OWN_CHUNK_MIN_POINTS = 16;
/**
 * The tail is sealed into a mixed chunk once it would exceed this many points. It lives in the run's
 * LATEST item, which every metric write rewrites: 48 points keep that item near 1 KB (one write unit).
 */
export const TAIL_MAX_POINTS = 48;
/** Points per chunk item at most: 10,000 × at most 24 bytes each stays below DynamoDB's 400 KB item limit. */
export const CHUNK_MAX_POINTS = 10_000;

/** MLflow's latest-value rule: the greatest (step, timestamp, value). */
export function isLater(candidate: MetricPoint, current: MetricPoint | undefined): boolean {
  return current === undefined || comparePoints(candidate, current) > 0;
}

/** The latest point per key after adding `points`; returns only the keys that changed. */
export function latestChanges(
  current: Readonly<Record<string, MetricPoint>>,
  points: readonly KeyedPoint[],
): Record<string, MetricPoint> {
  const best = new Map<string, MetricPoint>();
  for (const point of points) {
    const known = best.get(point.key) ?? (Object.hasOwn(current, point.key) ? current[point.key] : undefined);
    if (isLater(point, known)) best.set(point.key, point);
  }
  const changed: Record<string, MetricPoint> = {};
  for (const [key, point] of best) {
    const previous = Object.hasOwn(current, key) ? current[key] : undefined;
    if (previous !== undefined && !isLater(point, previous)) continue;
    // defineProperty: a metric key such as `__proto__` stays an ordinary key.
    Object.defineProperty(changed, key, {
      value: { step: point.step, timestamp: point.timestamp, value: point.value },
      enumerable: true,
    });
  }
  return changed;
}

/** A metric value as text: shortest round-trip decimal, or NaN / Infinity / -Infinity / -0. */
export function formatMetricValue(value: number): string {
  return Object.is(value, -0) ? '-0' : String(value);
}

export function parseMetricValue(text: string): number {
  return Number(text);
}

/** A value as MLflow's JSON carries it: a number, or the strings protobuf uses for non-finite doubles. */
export function metricValueJson(value: number): number | string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return 'Infinity';
  if (value === Number.NEGATIVE_INFINITY) return '-Infinity';
  return value;
}

export function groupByKey(points: readonly KeyedPoint[]): Map<string, MetricPoint[]> {
  const groups = new Map<string, MetricPoint[]>();
  for (const { key, step, timestamp, value } of points) {
    let group = groups.get(key);
    if (!group) {
      group = [];
      groups.set(key, group);
    }
    group.push({ step, timestamp, value });
  }
  return groups;
}

export interface MetricWritePlan {
  /** Keys whose points in this request are many enough for chunks of their own (split at CHUNK_MAX_POINTS). */
  keyChunks: { key: string; points: MetricPoint[] }[];
  /** The old tail plus the small groups, when that grows past TAIL_MAX_POINTS: sealed as one mixed chunk. */
  mixedChunk?: Map<string, MetricPoint[]>;
  /** What the tail holds after this write. */
  tail: KeyedPoint[];
}

/**
 * Splits one write. Chunks are written before the LATEST item that holds the tail; a crash in between
 * leaves points both sealed and in the tail, which history reads dedupe (MLflow's own rule), so a
 * crash can duplicate storage but never lose or duplicate a point in what clients read.
 */
export function planMetricWrite(points: readonly KeyedPoint[], tail: readonly KeyedPoint[]): MetricWritePlan {
  const keyChunks: MetricWritePlan['keyChunks'] = [];
  const small: KeyedPoint[] = [];
  for (const [key, group] of groupByKey(points)) {
    if (group.length >= OWN_CHUNK_MIN_POINTS) {
      for (let start = 0; start < group.length; start += CHUNK_MAX_POINTS) {
        keyChunks.push({ key, points: group.slice(start, start + CHUNK_MAX_POINTS) });
      }
    } else {
      for (const point of group) small.push({ key, ...point });
    }
  }
  const nextTail = [...tail, ...small];
  if (nextTail.length <= TAIL_MAX_POINTS) return { keyChunks, tail: nextTail };
  return { keyChunks, mixedChunk: groupByKey(nextTail), tail: [] };
}

/**
 * Envelopes of several runs → the column arrays uPlot draws. uPlot wants one shared, ascending x array, so
 * the runs' x values are merged and each run's columns are null-filled where it has no bucket. Per run three
 * columns: the line (through `last`, optionally EMA-smoothed), and the band's max and min (never smoothed, so
 * the band shows the true extent). NaN is skipped, ±Infinity clipped to the finite range, and on a log axis
 * non-positive values are kept off the plot. Pure: unit-tested in test/unit/ui/charts-plot-data.test.ts.
 */
import type { Bucket } from './envelope.js';

export type XAxisMode = 'step' | 'wall' | 'relative';

export interface ChartSettings {
  xAxis: XAxisMode;
  logY: boolean;
  /** EMA weight 0..0.99; 0 is raw. */
  smoothing: number;
}

export const DEFAULT_SETTINGS: ChartSettings = { xAxis: 'step', logY: false, smoothing: 0 };

export interface RunBuckets {
  runId: string;
  buckets: readonly Bucket[];
  /** Relative time is measured from this (ms); default: the run's first bucket's timestamp. */
  timeBase?: number;
}

export interface PlotData {
  /** Shared x: step, or seconds (wall clock since the epoch, or since the run's start). */
  x: number[];
  /** Per run, in input order. */
  lines: (number | null)[][];
  maxs: (number | null)[][];
  mins: (number | null)[][];
  /** Values that were ±Infinity and drawn at the edge of the finite range. */
  clippedInfinite: number;
  /** Values kept off a log axis because they are ≤ 0. */
  hiddenNonPositive: number;
  /** NaN values (or buckets of only NaN) left out. */
  skippedNaN: number;
  /** Runs that have at least one bucket. */
  runsWithData: number;
}

/** The x of a bucket: where its last value sits. */
export function bucketX(bucket: Bucket, mode: XAxisMode, timeBase: number): number {
  if (mode === 'step') return bucket.lastStep;
  if (mode === 'wall') return bucket.lastTimestamp / 1000;
  return (bucket.lastTimestamp - timeBase) / 1000;
}

export function timeBaseOf(buckets: readonly Bucket[]): number {
  let base = Number.POSITIVE_INFINITY;
  for (const bucket of buckets) if (bucket.lastTimestamp < base) base = bucket.lastTimestamp;
  return Number.isFinite(base) ? base : 0;
}

/**
 * Exponential moving average with TensorBoard's debiasing (the first points are not pulled towards 0);
 * nulls stay null and do not reset the average. weight 0 returns the values unchanged.
 */
export function emaSmooth(values: readonly (number | null)[], weight: number): (number | null)[] {
  const w = Math.min(0.99, Math.max(0, Number.isFinite(weight) ? weight : 0));
  if (w === 0) return values.slice();
  const out: (number | null)[] = new Array(values.length);
  let average = 0;
  let seen = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined || !Number.isFinite(v)) {
      out[i] = v ?? null;
      continue;
    }
    average = average * w + (1 - w) * v;
    seen += 1;
    out[i] = average / (1 - w ** seen);
  }
  return out;
}

/** Sorted distinct union of several ascending-or-not x lists. */
export function unionX(lists: readonly (readonly number[])[]): number[] {
  const all: number[] = [];
  for (const list of lists) for (const x of list) if (Number.isFinite(x)) all.push(x);
  all.sort((a, b) => a - b);
  const out: number[] = [];
  for (const x of all) if (out.length === 0 || out[out.length - 1] !== x) out.push(x);
  return out;
}

/** Index of each x in the shared array, built once per chart and reused for every column. */
export function indexOfX(x: readonly number[]): Map<number, number> {
  const index = new Map<number, number>();
  for (let i = 0; i < x.length; i++) index.set(x[i]!, i);
  return index;
}

/** Places `values` (at `xs`) onto the shared x array, null elsewhere; a later duplicate x wins. */
export function alignTo(
  x: readonly number[] | Map<number, number>,
  xs: readonly number[],
  values: readonly (number | null)[],
): (number | null)[] {
  const index = x instanceof Map ? x : indexOfX(x);
  const out: (number | null)[] = new Array(index.size).fill(null);
  for (let i = 0; i < xs.length; i++) {
    const at = index.get(xs[i]!);
    if (at !== undefined) out[at] = values[i] ?? null;
  }
  return out;
}

export function buildPlotData(runs: readonly RunBuckets[], settings: ChartSettings): PlotData {
  let finiteMin = Number.POSITIVE_INFINITY;
  let finiteMax = Number.NEGATIVE_INFINITY;
  let smallestPositive = Number.POSITIVE_INFINITY;
  for (const run of runs) {
    for (const b of run.buckets) {
      for (const v of [b.min, b.max, b.last]) {
        if (!Number.isFinite(v)) continue;
        if (v < finiteMin) finiteMin = v;
        if (v > finiteMax) finiteMax = v;
        if (v > 0 && v < smallestPositive) smallestPositive = v;
      }
    }
  }
  const counters = { clippedInfinite: 0, hiddenNonPositive: 0, skippedNaN: 0 };
  // Counted on the line only: a bucket's min, max and last are often the same point, which the note
  // would otherwise count up to three times.
  const clip = (v: number, count = false): number | null => {
    if (Number.isNaN(v)) {
      if (count) counters.skippedNaN += 1;
      return null;
    }
    if (v === Number.POSITIVE_INFINITY || v === Number.NEGATIVE_INFINITY) {
      if (!Number.isFinite(finiteMax)) return null;
      if (count) counters.clippedInfinite += 1;
      return v > 0 ? finiteMax : finiteMin;
    }
    return v;
  };
  // On a log axis a line point ≤ 0 has no place; a band edge ≤ 0 is drawn at the smallest positive value so
  // the band still reaches the bottom of the plot instead of vanishing.
  const guardLine = (v: number | null): number | null => {
    if (!settings.logY || v === null || v > 0) return v;
    counters.hiddenNonPositive += 1;
    return null;
  };
  const guardEdge = (v: number | null): number | null => {
    if (!settings.logY || v === null || v > 0) return v;
    return Number.isFinite(smallestPositive) ? smallestPositive : null;
  };

  const perRun = runs.map((run) => {
    const base = run.timeBase ?? timeBaseOf(run.buckets);
    const xs = run.buckets.map((b) => bucketX(b, settings.xAxis, base));
    const rawLine = run.buckets.map((b) => clip(b.last, true));
    const line = emaSmooth(rawLine, settings.smoothing).map(guardLine);
    const maxs = run.buckets.map((b) => guardEdge(Number.isNaN(b.max) ? null : clip(b.max)));
    const mins = run.buckets.map((b) => guardEdge(Number.isNaN(b.min) ? null : clip(b.min)));
    return { xs, line, maxs, mins };
  });
  const x = unionX(perRun.map((r) => r.xs));
  const index = indexOfX(x);
  return {
    x,
    lines: perRun.map((r) => alignTo(index, r.xs, r.line)),
    maxs: perRun.map((r) => alignTo(index, r.xs, r.maxs)),
    mins: perRun.map((r) => alignTo(index, r.xs, r.mins)),
    ...counters,
    runsWithData: runs.filter((r) => r.buckets.length > 0).length,
  };
}

/**
 * The step range to ask the server for after a drag-select over [x0, x1] in the chart's x units: on the step
 * axis the selected steps; in time modes the span of the buckets drawn inside the selection (a time maps
 * back to steps only through them).
 */
export function stepRangeForX(
  runs: readonly RunBuckets[],
  mode: XAxisMode,
  x0: number,
  x1: number,
): { start: number; end: number } | null {
  const lo = Math.min(x0, x1);
  const hi = Math.max(x0, x1);
  if (mode === 'step') {
    const start = Math.ceil(lo);
    const end = Math.floor(hi);
    return end >= start ? { start, end } : null;
  }
  let start = Number.POSITIVE_INFINITY;
  let end = Number.NEGATIVE_INFINITY;
  for (const run of runs) {
    const base = run.timeBase ?? timeBaseOf(run.buckets);
    for (const b of run.buckets) {
      const x = bucketX(b, mode, base);
      if (x < lo || x > hi) continue;
      if (b.startStep < start) start = b.startStep;
      if (b.endStep > end) end = b.endStep;
    }
  }
  return Number.isFinite(start) && Number.isFinite(end) ? { start, end } : null;
}

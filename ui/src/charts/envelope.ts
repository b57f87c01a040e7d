/**
 * Metric envelopes: a series cut into step buckets, each keeping min, max and the last value, so a chart of
 * any length draws a line through `last` and a min–max band that never loses a one-step spike. The server's
 * endpoint answers this shape; `bucketSeries` builds the same from raw history when the server is older.
 * Pure: no DOM, unit-tested in test/unit/ui/charts-envelope.test.ts.
 */

/** A number as Cairn's JSON carries it: int64 may be a string, and NaN/±Infinity are strings. */
export type WireNumber = number | string;

export interface WireBucket {
  start_step: WireNumber;
  end_step: WireNumber;
  min: WireNumber;
  max: WireNumber;
  last: WireNumber;
  last_step: WireNumber;
  last_timestamp: WireNumber;
  count: WireNumber;
}

export interface WireEnvelope {
  run_id: string;
  metric_key: string;
  start_step?: WireNumber;
  end_step?: WireNumber;
  total_points?: WireNumber;
  buckets?: WireBucket[];
}

export interface Bucket {
  startStep: number;
  endStep: number;
  min: number;
  max: number;
  last: number;
  lastStep: number;
  lastTimestamp: number;
  count: number;
}

export interface Envelope {
  runId: string;
  metricKey: string;
  totalPoints: number;
  buckets: Bucket[];
}

/** `"NaN"`, `"Infinity"`, `"-Infinity"` and int64 strings to numbers; anything unreadable is NaN. */
export function wireNumber(value: WireNumber | undefined | null): number {
  if (value === undefined || value === null) return Number.NaN;
  if (typeof value === 'number') return value;
  if (value === 'Infinity' || value === '+Infinity') return Number.POSITIVE_INFINITY;
  if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
  const trimmed = value.trim();
  return trimmed === '' ? Number.NaN : Number(trimmed);
}

export function parseEnvelope(wire: WireEnvelope): Envelope {
  const buckets = (wire.buckets ?? []).map((b) => ({
    startStep: wireNumber(b.start_step),
    endStep: wireNumber(b.end_step),
    min: wireNumber(b.min),
    max: wireNumber(b.max),
    last: wireNumber(b.last),
    lastStep: wireNumber(b.last_step),
    lastTimestamp: wireNumber(b.last_timestamp),
    count: wireNumber(b.count),
  }));
  buckets.sort((a, b) => a.startStep - b.startStep);
  const total = wireNumber(wire.total_points);
  return {
    runId: wire.run_id,
    metricKey: wire.metric_key,
    totalPoints: Number.isFinite(total) ? total : buckets.reduce((sum, b) => sum + b.count, 0),
    buckets,
  };
}

/** A raw metric history in columns (typed arrays keep 100k-point series cheap to hold and scan). */
export interface Series {
  steps: Float64Array;
  values: Float64Array;
  timestamps: Float64Array;
}

export function seriesOf(
  points: readonly { step: WireNumber; value: WireNumber; timestamp: WireNumber }[],
): Series {
  const n = points.length;
  const series: Series = {
    steps: new Float64Array(n),
    values: new Float64Array(n),
    timestamps: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    const point = points[i]!;
    series.steps[i] = wireNumber(point.step);
    series.values[i] = wireNumber(point.value);
    series.timestamps[i] = wireNumber(point.timestamp);
  }
  return series;
}

export function concatSeries(parts: readonly Series[]): Series {
  if (parts.length === 1) return parts[0]!;
  const n = parts.reduce((sum, part) => sum + part.steps.length, 0);
  const out: Series = {
    steps: new Float64Array(n),
    values: new Float64Array(n),
    timestamps: new Float64Array(n),
  };
  let at = 0;
  for (const part of parts) {
    out.steps.set(part.steps, at);
    out.values.set(part.values, at);
    out.timestamps.set(part.timestamps, at);
    at += part.steps.length;
  }
  return out;
}

/**
 * Buckets `series` over the inclusive step range [start, end] (default: the whole series) into at most
 * `buckets` equal step spans; empty spans are left out. Bucket i holds the steps s with
 * floor((s - start) * n / span) = i. min/max ignore NaN (a bucket of only NaN has NaN for both); `last` is
 * the point with the greatest step, then the latest timestamp, then the one logged last — MLflow's
 * "latest value" rule.
 */
export function bucketSeries(
  series: Series,
  buckets: number,
  range?: { start?: number; end?: number },
): { buckets: Bucket[]; totalPoints: number } {
  const { steps, values, timestamps } = series;
  const n = steps.length;
  let start = range?.start;
  let end = range?.end;
  if (start === undefined || end === undefined) {
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const s = steps[i]!;
      if (s < lo) lo = s;
      if (s > hi) hi = s;
    }
    start ??= lo;
    end ??= hi;
  }
  if (n === 0 || !(end >= start)) return { buckets: [], totalPoints: 0 };
  const span = end - start + 1;
  const count = Math.max(1, Math.min(Math.floor(buckets), span));
  const mins = new Float64Array(count).fill(Number.NaN);
  const maxs = new Float64Array(count).fill(Number.NaN);
  const counts = new Uint32Array(count);
  const lastIndex = new Int32Array(count).fill(-1);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const s = steps[i]!;
    if (s < start || s > end) continue;
    const b = Math.min(count - 1, Math.floor(((s - start) * count) / span));
    total += 1;
    counts[b]! += 1;
    const v = values[i]!;
    if (!Number.isNaN(v)) {
      if (!(mins[b]! <= v)) mins[b] = v;
      if (!(maxs[b]! >= v)) maxs[b] = v;
    }
    const previous = lastIndex[b]!;
    if (
      previous < 0 ||
      s > steps[previous]! ||
      (s === steps[previous]! && timestamps[i]! >= timestamps[previous]!)
    ) {
      lastIndex[b] = i;
    }
  }
  const out: Bucket[] = [];
  for (let b = 0; b < count; b++) {
    if (counts[b] === 0) continue;
    const last = lastIndex[b]!;
    out.push({
      startStep: start + Math.ceil((b * span) / count),
      endStep: start + Math.ceil(((b + 1) * span) / count) - 1,
      min: mins[b]!,
      max: maxs[b]!,
      last: values[last]!,
      lastStep: steps[last]!,
      lastTimestamp: timestamps[last]!,
      count: counts[b]!,
    });
  }
  return { buckets: out, totalPoints: total };
}

/** How many buckets a chart of `widthPx` asks for: about one per pixel, in steps of 100, capped at 1000. */
export function bucketsForWidth(widthPx: number): number {
  if (!Number.isFinite(widthPx) || widthPx <= 0) return 500;
  return Math.max(100, Math.min(1000, Math.ceil(widthPx / 100) * 100));
}

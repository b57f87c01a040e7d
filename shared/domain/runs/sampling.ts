/**
 * get-history-bulk-interval's sampling, pure: which steps MLflow returns for a set of series, and the step
 * intervals that let a long series be sampled without reading it whole.
 */
import type { MetricPoint, StepInterval } from './model.js';

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

/** The steps get-history-bulk-interval returns; see history.ts, historyBulkInterval. */
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

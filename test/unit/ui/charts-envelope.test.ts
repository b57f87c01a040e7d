import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Bucket,
  bucketSeries,
  bucketsForWidth,
  concatSeries,
  parseEnvelope,
  type Series,
  seriesOf,
  wireNumber,
} from '../../../ui/src/charts/envelope.js';

interface Point {
  step: number;
  value: number;
  timestamp: number;
}

const pointArb = fc.record({
  step: fc.integer({ min: 0, max: 500 }),
  value: fc.oneof(
    { weight: 8, arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }).map((v) => (v === 0 ? 0 : v)) },
    { weight: 1, arbitrary: fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY) },
  ),
  timestamp: fc.integer({ min: 0, max: 1000 }),
});

/** The obvious definition, point by point: what the fast path must equal. */
function bruteForce(points: readonly Point[], buckets: number, start: number, end: number): Bucket[] {
  const span = end - start + 1;
  const n = Math.max(1, Math.min(buckets, span));
  const out: Bucket[] = [];
  for (let b = 0; b < n; b++) {
    const lo = start + Math.ceil((b * span) / n);
    const hi = start + Math.ceil(((b + 1) * span) / n) - 1;
    const inside = points.map((p, i) => ({ ...p, i })).filter((p) => p.step >= lo && p.step <= hi);
    if (inside.length === 0) continue;
    const numbers = inside.map((p) => p.value).filter((v) => !Number.isNaN(v));
    const last = inside.reduce((best, p) =>
      p.step > best.step || (p.step === best.step && p.timestamp >= best.timestamp) ? p : best,
    );
    out.push({
      startStep: lo,
      endStep: hi,
      min: numbers.length ? Math.min(...numbers) : Number.NaN,
      max: numbers.length ? Math.max(...numbers) : Number.NaN,
      last: last.value,
      lastStep: last.step,
      lastTimestamp: last.timestamp,
      count: inside.length,
    });
  }
  return out;
}

describe('client-side bucketing', () => {
  it('equals the point-by-point definition (min, max, last, count, bounds)', () => {
    fc.assert(
      fc.property(
        fc.array(pointArb, { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 1, max: 120 }),
        (points, buckets) => {
          const steps = points.map((p) => p.step);
          const start = Math.min(...steps);
          const end = Math.max(...steps);
          const got = bucketSeries(seriesOf(points), buckets);
          expect(got.buckets).toEqual(bruteForce(points, buckets, start, end));
          expect(got.totalPoints).toBe(points.length);
        },
      ),
    );
  });

  it('honours an explicit step range and counts only the points inside it', () => {
    fc.assert(
      fc.property(
        fc.array(pointArb, { minLength: 1, maxLength: 200 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 0, max: 500 }),
        fc.integer({ min: 0, max: 500 }),
        (points, buckets, a, b) => {
          const start = Math.min(a, b);
          const end = Math.max(a, b);
          const got = bucketSeries(seriesOf(points), buckets, { start, end });
          expect(got.buckets).toEqual(bruteForce(points, buckets, start, end));
          expect(got.totalPoints).toBe(points.filter((p) => p.step >= start && p.step <= end).length);
        },
      ),
    );
  });

  it('keeps a one-step spike in some bucket at any bucket count and any range holding it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 10, max: 5000 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (length, buckets, where, zoom) => {
          const spikeAt = Math.floor(where * (length - 1));
          const points = Array.from({ length }, (_, step) => ({
            step,
            value: step === spikeAt ? 1000 : Math.sin(step),
            timestamp: step,
          }));
          const start = Math.floor(spikeAt * zoom);
          const end = spikeAt + Math.floor((length - 1 - spikeAt) * zoom);
          const { buckets: out } = bucketSeries(seriesOf(points), buckets, { start, end });
          expect(out.length).toBeLessThanOrEqual(buckets);
          expect(Math.max(...out.map((bucket) => bucket.max))).toBe(1000);
        },
      ),
    );
  });

  it('takes the latest timestamp among points logged at the same step as last', () => {
    const series = seriesOf([
      { step: 5, value: 1, timestamp: 20 },
      { step: 5, value: 2, timestamp: 10 },
      { step: 4, value: 3, timestamp: 30 },
    ]);
    const [bucket] = bucketSeries(series, 1).buckets;
    expect(bucket).toMatchObject({ last: 1, lastStep: 5, lastTimestamp: 20, min: 1, max: 3, count: 3 });
  });

  it('answers nothing for an empty series or a range that holds no step', () => {
    const empty: Series = seriesOf([]);
    expect(bucketSeries(empty, 10)).toEqual({ buckets: [], totalPoints: 0 });
    const series = seriesOf([{ step: 1, value: 1, timestamp: 1 }]);
    expect(bucketSeries(series, 10, { start: 5, end: 9 }).buckets).toEqual([]);
  });
});

describe('wire numbers and envelopes', () => {
  it("reads MLflow's NaN/Infinity strings and int64 strings", () => {
    expect(wireNumber('NaN')).toBeNaN();
    expect(wireNumber('Infinity')).toBe(Number.POSITIVE_INFINITY);
    expect(wireNumber('-Infinity')).toBe(Number.NEGATIVE_INFINITY);
    expect(wireNumber('1700000000123')).toBe(1700000000123);
    expect(wireNumber(3.5)).toBe(3.5);
    expect(wireNumber('')).toBeNaN();
    expect(wireNumber(undefined)).toBeNaN();
  });

  it("parses the endpoint's envelope and orders buckets by step", () => {
    const envelope = parseEnvelope({
      run_id: 'r',
      metric_key: 'loss',
      total_points: '7',
      buckets: [
        {
          start_step: '10',
          end_step: 19,
          min: 'NaN',
          max: 'Infinity',
          last: 1,
          last_step: 19,
          last_timestamp: '99',
          count: 3,
        },
        {
          start_step: 0,
          end_step: 9,
          min: -1,
          max: 2,
          last: 2,
          last_step: '9',
          last_timestamp: 50,
          count: '4',
        },
      ],
    });
    expect(envelope.totalPoints).toBe(7);
    expect(envelope.buckets.map((b) => b.startStep)).toEqual([0, 10]);
    expect(envelope.buckets[1]).toMatchObject({ max: Number.POSITIVE_INFINITY, lastTimestamp: 99, count: 3 });
    expect(envelope.buckets[1]!.min).toBeNaN();
  });

  it('asks for about one bucket per pixel, 100 to 1000', () => {
    expect(bucketsForWidth(0)).toBe(500);
    expect(bucketsForWidth(37)).toBe(100);
    expect(bucketsForWidth(640)).toBe(700);
    expect(bucketsForWidth(5000)).toBe(1000);
  });
});

describe('history pages', () => {
  it('concatenates paged series in order, as one series', () => {
    const a = seriesOf([{ step: 0, value: 1, timestamp: 5 }]);
    const b = seriesOf([
      { step: 1, value: 'NaN', timestamp: '6' },
      { step: '2', value: 'Infinity', timestamp: 7 },
    ]);
    const joined = concatSeries([a, b]);
    expect([...joined.steps]).toEqual([0, 1, 2]);
    expect([...joined.values]).toEqual([1, Number.NaN, Number.POSITIVE_INFINITY]);
    expect([...joined.timestamps]).toEqual([5, 6, 7]);
    expect(concatSeries([])).toMatchObject({ steps: new Float64Array(0) });
  });
});

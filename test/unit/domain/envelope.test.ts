import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bucketize,
  bucketOf,
  decodeSummary,
  type EnvelopeBucket,
  encodeSummary,
  envelopeIntervals,
  metricEnvelopes,
  planEnvelope,
  type SummarizedChunk,
  summarize,
} from '../../../shared/domain/runs/envelope.js';
import { comparePoints, sortAndDedupe } from '../../../shared/domain/runs/metric-codec.js';
import type { MetricPoint, StepInterval } from '../../../shared/domain/runs/model.js';
import { InvalidParameterValueError, ResourceDoesNotExistError } from '../../../shared/errors.js';
import { MemoryRunRepository } from '../../helpers/memory/runs.js';

const RUN = 'a'.repeat(32);

/** Every bucket computed from every point, the way a reader with all the time in the world would. */
function bruteForce(intervals: readonly StepInterval[], points: readonly MetricPoint[]) {
  return intervals.flatMap((interval) => {
    const inside = sortAndDedupe(points).filter((p) => p.step >= interval.from && p.step <= interval.to);
    if (inside.length === 0) return [];
    const numbers = inside.map((p) => p.value).filter((value) => !Number.isNaN(value));
    // −0 below +0, as the envelope orders them.
    const key = (x: number) => (Object.is(x, -0) ? [0, 0] : x === 0 ? [0, 1] : [x, 0]) as [number, number];
    const less = (a: number, b: number) =>
      key(a)[0] < key(b)[0] || (key(a)[0] === key(b)[0] && key(a)[1] < key(b)[1]);
    const min = numbers.reduce((a, b) => (less(b, a) ? b : a), Number.NaN);
    const max = numbers.reduce((a, b) => (less(a, b) ? b : a), Number.NaN);
    return [
      {
        startStep: interval.from,
        endStep: interval.to,
        count: inside.length,
        min: numbers.length ? numbers.reduce((a, b) => (less(b, a) ? b : a)) : min,
        max: numbers.length ? numbers.reduce((a, b) => (less(a, b) ? b : a)) : max,
        last: inside.reduce((a, b) => (comparePoints(b, a) > 0 ? b : a)),
      },
    ];
  });
}

/** What the store would do: chunks summarized, the rest read raw; and where each chunk was counted. */
function viaSummaries(intervals: readonly StepInterval[], chunks: MetricPoint[][], tail: MetricPoint[]) {
  const summarized: SummarizedChunk[] = chunks.map((points, index) => {
    const stored = sortAndDedupe(points);
    const first = stored[0] as MetricPoint;
    // Through the stored form, as a reader sees it.
    return {
      id: String(index),
      summary: decodeSummary(encodeSummary(summarize(stored), first.timestamp), first),
    };
  });
  const plan = planEnvelope(intervals, summarized);
  const raw = [...tail, ...plan.raw.flatMap((chunk) => chunks[Number(chunk.id)] as MetricPoint[])];
  return {
    buckets: bucketize(intervals, plan.summarized, raw),
    raw: plan.raw.length,
    exact: !plan.summarized.some((placement) => placement.crosses),
    placedIn: new Map(plan.summarized.map(({ chunk, bucket }) => [Number(chunk.id), bucket])),
  };
}

describe('metric envelope bucketing', () => {
  it('keeps a single spike in its bucket and takes last by step, then timestamp', () => {
    const points: MetricPoint[] = Array.from({ length: 1000 }, (_, step) => ({
      step,
      timestamp: 1000 + step,
      value: step === 517 ? 1e6 : 1,
    }));
    points.push({ step: 999, timestamp: 5, value: 42 });
    const intervals = envelopeIntervals(0, 999, 10);
    const buckets = bucketize(intervals, [], points);
    expect(buckets).toHaveLength(10);
    expect(buckets[5]).toMatchObject({ startStep: 500, endStep: 599, max: 1e6, min: 1, count: 100 });
    expect(buckets[9]?.last).toEqual({ step: 999, timestamp: 1999, value: 1 });
    expect(buckets[9]?.count).toBe(101);
  });

  it('leaves NaN out of min and max but counts it; a NaN-only bucket has NaN bounds', () => {
    const intervals = envelopeIntervals(0, 3, 2);
    const buckets = bucketize(
      intervals,
      [],
      [
        { step: 0, timestamp: 0, value: Number.NaN },
        { step: 1, timestamp: 0, value: Number.NEGATIVE_INFINITY },
        { step: 2, timestamp: 0, value: Number.NaN },
      ],
    );
    expect(buckets[0]).toMatchObject({
      count: 2,
      min: Number.NEGATIVE_INFINITY,
      max: Number.NEGATIVE_INFINITY,
    });
    expect(buckets[1]?.count).toBe(1);
    expect(buckets[1]?.min).toBeNaN();
    expect(buckets[1]?.last.value).toBeNaN();
  });

  it('cuts a range into equal buckets, fewer when the range has fewer steps, exact near 2^53', () => {
    expect(envelopeIntervals(0, 9, 3)).toEqual([
      { from: 0, to: 2 },
      { from: 3, to: 5 },
      { from: 6, to: 9 },
    ]);
    expect(envelopeIntervals(5, 7, 100)).toHaveLength(3);
    const big = envelopeIntervals(-(2 ** 53) + 1, 2 ** 53 - 1, 2000);
    expect(big).toHaveLength(2000);
    expect(big[0]?.from).toBe(-(2 ** 53) + 1);
    expect(big.at(-1)?.to).toBe(2 ** 53 - 1);
  });

  it('places a chunk no wider than two buckets whole in the bucket of its last step, reads the rest', () => {
    const intervals = envelopeIntervals(0, 99, 10);
    const chunk = (from: number, to: number): SummarizedChunk => ({
      id: `${from}-${to}`,
      summary: summarize([
        { step: from, timestamp: 0, value: 1 },
        { step: to, timestamp: 0, value: 2 },
      ]),
    });
    const plan = planEnvelope(intervals, [
      chunk(0, 9), // one bucket
      chunk(5, 15), // out of the first bucket: read, so that it stays exact
      chunk(15, 25), // crosses an edge, 10 steps wide
      chunk(30, 50), // 20 steps: two buckets wide, still placed
      chunk(60, 81), // 21 steps: wider than two buckets
      chunk(95, 120), // across the range's end
      chunk(-5, 3), // across the range's start
      chunk(200, 300), // outside
    ]);
    expect(plan.summarized.map(({ chunk: c, bucket, crosses }) => [c.id, bucket, crosses])).toEqual([
      ['0-9', 0, false],
      ['15-25', 2, true],
      ['30-50', 5, true],
    ]);
    expect(plan.raw.map((c) => c.id)).toEqual(['5-15', '60-81', '95-120', '-5-3']);
  });

  it('stores a summary in a few bytes and reads it back exactly', () => {
    const summary = summarize([
      { step: 10, timestamp: 1_795_000_000_000, value: Math.fround(0.25) },
      { step: 11, timestamp: 1_795_000_000_037, value: -0 },
      { step: 900, timestamp: 1_794_999_999_000, value: 0.1 },
    ]);
    const bytes = encodeSummary(summary, 1_795_000_000_000);
    expect(bytes.length).toBeLessThanOrEqual(24);
    expect(decodeSummary(bytes, { step: 10, timestamp: 1_795_000_000_000 })).toEqual(summary);
  });

  it('against a brute force: every point within its bucket, range totals exact, all exact when it says so', () => {
    const value = fc.oneof(
      { weight: 8, arbitrary: fc.double() },
      { weight: 2, arbitrary: fc.integer({ min: -5, max: 5 }) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(Number.NaN, -0, 0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
      },
    );
    const point = (from: number, span: number) =>
      fc.record({
        step: fc.integer({ min: from, max: from + span }),
        timestamp: fc.integer({ min: 0, max: 5 }),
        value,
      });
    // Chunks as writes make them: narrow (a log-batch's steps) or anywhere (out-of-order logging),
    // overlapping sometimes, with a tail on the side.
    const chunk = fc
      .record({
        from: fc.integer({ min: -50, max: 400 }),
        span: fc.oneof(
          { weight: 3, arbitrary: fc.integer({ min: 0, max: 40 }) },
          fc.integer({ min: 0, max: 450 }),
        ),
      })
      .chain(({ from, span }) => fc.array(point(from, span), { minLength: 1, maxLength: 40 }));
    let inexact = 0;
    fc.assert(
      fc.property(
        fc.array(chunk, { maxLength: 12 }),
        fc.array(point(-50, 450), { maxLength: 10 }),
        fc.integer({ min: -60, max: 410 }),
        fc.integer({ min: 0, max: 500 }),
        fc.integer({ min: 1, max: 60 }),
        (chunks, tail, start, width, buckets) => {
          const all = [...chunks.flat(), ...tail];
          // Chunks never share a point here (the store's points are distinct but for replays).
          fc.pre(sortAndDedupe(all).length === all.length);
          const intervals = envelopeIntervals(start, start + width, buckets);
          const expected = bruteForce(intervals, all);
          const { buckets: actual, exact, placedIn } = viaSummaries(intervals, chunks, tail);
          if (exact) {
            expect(actual.map(normalize)).toEqual(expected.map(normalize));
            return;
          }
          inexact++;
          const byStart = new Map(actual.map((bucket) => [bucket.startStep, bucket]));
          const inRange = all.filter((p) => p.step >= start && p.step <= start + width);
          expect(actual.reduce((n, bucket) => n + bucket.count, 0)).toBe(inRange.length);
          const placed = [
            ...chunks.flatMap((points, c) => points.map((p) => ({ p, bucket: placedIn.get(c) }))),
            ...tail.map((p) => ({ p, bucket: undefined })),
          ];
          for (const { p, bucket } of placed) {
            const index = bucket ?? bucketOf(intervals, p.step);
            if (index < 0) continue;
            const own = bucketOf(intervals, p.step);
            // Never counted in a later bucket than its own, nor more than two before.
            expect(index).toBeGreaterThanOrEqual(own);
            expect(index - own).toBeLessThanOrEqual(2);
            const counted = byStart.get((intervals[index] as StepInterval).from);
            expect(counted).toBeDefined();
            if (!Number.isNaN(p.value)) {
              expect(p.value >= (counted?.min as number) && p.value <= (counted?.max as number)).toBe(true);
            }
          }
          // The first bucket is exact (a chart's line starts there).
          if (expected[0]?.startStep === intervals[0]?.from) {
            expect(normalize(actual[0] as EnvelopeBucket)).toEqual(normalize(expected[0] as EnvelopeBucket));
          }
          // The range's extremes and last point are in the answer, exactly.
          expect(text(bruteExtreme('max', actual))).toBe(text(bruteExtreme('max', expected)));
          expect(text(bruteExtreme('min', actual))).toBe(text(bruteExtreme('min', expected)));
          expect(normalize(actual.at(-1) as EnvelopeBucket).last).toEqual(
            normalize(expected.at(-1) as EnvelopeBucket).last,
          );
        },
      ),
      { numRuns: 1000 },
    );
    // The inexact path was exercised, not only the exact one.
    expect(inexact).toBeGreaterThan(50);
  });

  it('reads O(buckets) chunks whatever the length, and keeps the spike', () => {
    const chunks = Array.from({ length: 100 }, (_, c) =>
      Array.from({ length: 100 }, (_, i) => ({
        step: c * 100 + i,
        timestamp: 0,
        value: c * 100 + i === 4321 ? 1e6 : Math.sin(c * 100 + i),
      })),
    );
    const spiked = (buckets: EnvelopeBucket[]) => buckets.filter((b) => b.max === 1e6);
    // 10 buckets of 1,000 steps: edges fall between chunks, nothing is read raw, all exact.
    const aligned = viaSummaries(envelopeIntervals(0, 9999, 10), chunks, []);
    expect(aligned).toMatchObject({ raw: 0, exact: true });
    // Edges inside every chunk (buckets as wide as chunks): only the two across the range's ends and the
    // one reaching out of the first bucket are read.
    const inside = viaSummaries(envelopeIntervals(50, 9949, 100), chunks, []);
    expect(inside).toMatchObject({ raw: 3, exact: false });
    const fromZero = viaSummaries(envelopeIntervals(0, 9999, 101), chunks, []);
    expect(fromZero).toMatchObject({ raw: 1, exact: false });
    expect(fromZero.buckets[0]).toMatchObject({ startStep: 0, endStep: 98, count: 99 });
    // The spike survives, in a bucket at most one chunk span after its own.
    const [spike] = spiked(inside.buckets);
    expect(spiked(inside.buckets)).toHaveLength(1);
    expect(spike?.endStep).toBeGreaterThanOrEqual(4321);
    expect(spike?.startStep).toBeLessThanOrEqual(4321 + 99);
    // Buckets narrower than half a chunk (a deep zoom): chunks are read, at most one per two buckets.
    for (const buckets of [7, 99, 201, 1000]) {
      const zoom = viaSummaries(envelopeIntervals(1234, 5678, buckets), chunks, []);
      expect(zoom.raw).toBeLessThanOrEqual(Math.ceil(buckets / 2) + 3);
      expect(spiked(zoom.buckets)).toHaveLength(1);
    }
  });
});

/** The least or greatest min/max over buckets, ordered as the envelope orders (NaN left out, −0 below +0). */
function bruteExtreme(pick: 'min' | 'max', buckets: readonly { min: number; max: number }[]): number {
  let best = Number.NaN;
  for (const bucket of buckets) {
    const x = bucket[pick];
    if (Number.isNaN(x)) continue;
    const less = x < best || (x === 0 && best === 0 && Object.is(x, -0));
    const more = x > best || (x === 0 && best === 0 && Object.is(best, -0) && !Object.is(x, -0));
    if (Number.isNaN(best) || (pick === 'min' ? less : more)) best = x;
  }
  return best;
}

/** A value as text: NaN equals NaN, −0 stays −0. */
const text = (x: number | undefined) => (x === undefined ? 'undefined' : Object.is(x, -0) ? '-0' : String(x));

/** Object.is-free comparison: NaN equals NaN, -0 stays -0. */
function normalize<B extends { min?: number; max?: number; last: MetricPoint }>(bucket: B) {
  return {
    ...bucket,
    min: text(bucket.min),
    max: text(bucket.max),
    last: { ...bucket.last, value: text(bucket.last.value) },
  };
}

describe('metricEnvelopes (service rules)', () => {
  const repo = new MemoryRunRepository();
  const run = {
    runId: RUN,
    experimentId: '0',
    runName: 'r',
    userId: 'u',
    status: 'RUNNING' as const,
    startTime: 0,
    artifactUri: 'x',
    lifecycleStage: 'active' as const,
    params: {},
    tags: {},
    metrics: {},
    datasets: [],
    modelOutputs: [],
    modelInputs: [],
  };

  it('refuses bad input naming the field, and unknown runs', async () => {
    await repo.create(run).catch(() => undefined);
    const ask = (request: Partial<Parameters<typeof metricEnvelopes>[1]>) =>
      metricEnvelopes(repo, { runIds: [RUN], key: 'loss', ...request });
    await expect(ask({ buckets: 0 })).rejects.toThrow(/'buckets'/);
    await expect(ask({ buckets: 2001 })).rejects.toThrow(InvalidParameterValueError);
    await expect(ask({ startStep: 5, endStep: 4 })).rejects.toThrow(/'start_step'/);
    await expect(ask({ runIds: [] })).rejects.toThrow(/'run_id'/);
    await expect(ask({ runIds: Array(101).fill(RUN) })).rejects.toThrow(/'run_id'/);
    await expect(ask({ runIds: ['b'.repeat(32)] })).rejects.toThrow(ResourceDoesNotExistError);
  });

  it('answers an empty envelope for a run without the key', async () => {
    await repo.create(run).catch(() => undefined);
    const [envelope] = await metricEnvelopes(repo, { runIds: [RUN], key: 'missing' });
    expect(envelope).toMatchObject({ runId: RUN, totalPoints: 0, buckets: [] });
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bucketize,
  decodeSummary,
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

/** What the store would do: chunks summarized, straddling ones read raw. */
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
  const { inside, straddling } = planEnvelope(intervals, summarized);
  const raw = [...tail, ...straddling.flatMap((chunk) => chunks[Number(chunk.id)] as MetricPoint[])];
  return { buckets: bucketize(intervals, inside, raw), straddling: straddling.length };
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

  it('uses a summary only when its chunk lies in one bucket', () => {
    const intervals = envelopeIntervals(0, 99, 10);
    const chunk = (from: number, to: number): SummarizedChunk => ({
      id: `${from}`,
      summary: summarize([
        { step: from, timestamp: 0, value: 1 },
        { step: to, timestamp: 0, value: 2 },
      ]),
    });
    const plan = planEnvelope(intervals, [chunk(0, 9), chunk(5, 15), chunk(95, 120), chunk(200, 300)]);
    expect(plan.inside.map(({ chunk: c, bucket }) => [c.id, bucket])).toEqual([['0', 0]]);
    expect(plan.straddling.map((c) => c.id)).toEqual(['5', '95']);
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

  it('equals a brute force over all points, for random series, chunkings and ranges', () => {
    const value = fc.oneof(
      { weight: 8, arbitrary: fc.double() },
      { weight: 2, arbitrary: fc.integer({ min: -5, max: 5 }) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(Number.NaN, -0, 0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
      },
    );
    const point = fc.record({
      step: fc.integer({ min: -50, max: 400 }),
      timestamp: fc.integer({ min: 0, max: 5 }),
      value,
    });
    fc.assert(
      fc.property(
        // Chunks as writes make them: in order mostly, overlapping sometimes, with a tail on the side.
        fc.array(fc.array(point, { minLength: 1, maxLength: 40 }), { maxLength: 12 }),
        fc.array(point, { maxLength: 10 }),
        fc.integer({ min: -60, max: 410 }),
        fc.integer({ min: 0, max: 500 }),
        fc.integer({ min: 1, max: 60 }),
        (chunks, tail, start, width, buckets) => {
          const intervals = envelopeIntervals(start, start + width, buckets);
          const all = [...chunks.flat(), ...tail];
          const expected = bruteForce(intervals, all);
          const { buckets: actual } = viaSummaries(intervals, chunks, tail);
          // Chunks never share a point here (the store's points are distinct but for replays).
          fc.pre(sortAndDedupe(all).length === all.length);
          expect(actual.map(normalize)).toEqual(expected.map(normalize));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('reads only chunks that straddle an edge when chunks are in order', () => {
    const chunks = Array.from({ length: 100 }, (_, c) =>
      Array.from({ length: 100 }, (_, i) => ({
        step: c * 100 + i,
        timestamp: 0,
        value: Math.sin(c * 100 + i),
      })),
    );
    // 10 buckets of 1,000 steps: edges fall between chunks, nothing is read raw.
    expect(viaSummaries(envelopeIntervals(0, 9999, 10), chunks, []).straddling).toBe(0);
    // 7 buckets: at most one chunk per inner edge.
    expect(viaSummaries(envelopeIntervals(0, 9999, 7), chunks, []).straddling).toBeLessThanOrEqual(6);
  });
});

/** Object.is-free comparison: NaN equals NaN, -0 stays -0. */
function normalize<B extends { min?: number; max?: number; last: MetricPoint }>(bucket: B) {
  const text = (x: number | undefined) =>
    x === undefined ? 'undefined' : Object.is(x, -0) ? '-0' : String(x);
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

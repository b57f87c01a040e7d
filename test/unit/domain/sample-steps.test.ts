import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MetricPoint } from '../../../shared/domain/runs/model.js';
import { sampleByIntervals, sampleSteps, stepIntervals } from '../../../shared/domain/runs/sampling.js';

const series = (...steps: number[]): MetricPoint[] => steps.map((step) => ({ step, timestamp: 0, value: 0 }));

describe('sampleSteps', () => {
  it('keeps every step when there are no more than max_results', () => {
    expect([...sampleSteps([series(0, 1, 2), series(2, 5)], 10)].sort((a, b) => a - b)).toEqual([0, 1, 2, 5]);
  });

  it('samples evenly, keeping the first and last step in range', () => {
    const steps = [...sampleSteps([series(...Array.from({ length: 100 }, (_, i) => i))], 10)].sort(
      (a, b) => a - b,
    );
    expect(steps).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 99]);
  });

  it("adds each run's own first and last step, within the range only", () => {
    const long = series(...Array.from({ length: 100 }, (_, i) => i));
    const short = series(33, 67);
    const steps = sampleSteps([long, short], 4, 10, 60);
    expect(steps.has(33)).toBe(true);
    expect(steps.has(67)).toBe(false);
    expect(steps.has(10)).toBe(true);
    expect(steps.has(60)).toBe(true);
    expect([...steps].every((step) => step >= 10 && step <= 60)).toBe(true);
  });

  it('defaults to the range from 0 to the last step, leaving out negative steps', () => {
    expect([...sampleSteps([series(-3, -1, 0, 4)], 10)].sort((a, b) => a - b)).toEqual([0, 4]);
  });

  it('returns at most max_results + 1 + 2 per run steps, all logged and in range (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uniqueArray(fc.integer({ min: 0, max: 500 }), { maxLength: 80 }), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.integer({ min: 1, max: 50 }),
        (runs, maxResults) => {
          const all = runs.map((steps) => series(...[...steps].sort((a, b) => a - b)));
          const steps = sampleSteps(all, maxResults);
          const logged = new Set(runs.flat());
          expect(steps.size).toBeLessThanOrEqual(maxResults + 1 + 2 * runs.length);
          for (const step of steps) expect(logged.has(step)).toBe(true);
          if (logged.size > 0) expect(steps.has(Math.max(...logged))).toBe(true);
        },
      ),
    );
  });
});

describe('stepIntervals', () => {
  it('cuts [start, end] into min(count, width) contiguous intervals of near-equal width (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -1_000_000, max: 1_000_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 1, max: 2500 }),
        (start, span, count) => {
          const end = start + span;
          const intervals = stepIntervals(start, end, count);
          expect(intervals).toHaveLength(Math.min(count, span + 1));
          expect(intervals[0]?.from).toBe(start);
          expect(intervals.at(-1)?.to).toBe(end);
          const widths = intervals.map((interval) => interval.to - interval.from + 1);
          expect(Math.min(...widths)).toBeGreaterThanOrEqual(1);
          expect(Math.max(...widths) - Math.min(...widths)).toBeLessThanOrEqual(1);
          for (let i = 1; i < intervals.length; i++) {
            expect(intervals[i]?.from).toBe((intervals[i - 1]?.to ?? 0) + 1);
          }
        },
      ),
    );
  });

  it('stays exact near the ends of the safe integer range', () => {
    const max = Number.MAX_SAFE_INTEGER;
    const intervals = stepIntervals(-max, max, 3);
    // The width, 2^54 − 1, is 3 × 6,004,799,503,160,661: three equal thirds.
    expect(intervals.map((interval) => [interval.from, interval.to])).toEqual([
      [-max, -3002399751580331],
      [-3002399751580330, 3002399751580330],
      [3002399751580331, max],
    ]);
  });
});

describe('sampleByIntervals', () => {
  it('picks the steps MLflow picks for a series logged at every step (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3000 }),
        fc.integer({ min: 1, max: 400 }),
        (length, maxResults) => {
          const points = series(...Array.from({ length }, (_, i) => i));
          const picked = sampleByIntervals(points, stepIntervals(0, length - 1, maxResults));
          const expected = [...sampleSteps([points], maxResults)].sort((a, b) => a - b);
          expect(picked.map((point) => point.step)).toEqual(expected);
        },
      ),
    );
  });

  it('picks the first logged step of each interval and the last step, with every point at them', () => {
    const points = [
      { step: 2, timestamp: 1, value: 1 },
      { step: 2, timestamp: 2, value: 2 },
      { step: 7, timestamp: 0, value: 3 },
      { step: 30, timestamp: 0, value: 4 },
      { step: 31, timestamp: 0, value: 5 },
    ];
    const picked = sampleByIntervals(points, stepIntervals(0, 39, 4));
    expect(picked.map((point) => point.value)).toEqual([1, 2, 4, 5]);
    expect(sampleByIntervals(points, [])).toEqual([]);
  });
});

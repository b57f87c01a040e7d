import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MetricPoint } from '../../../shared/domain/model.js';
import { sampleSteps } from '../../../shared/domain/runs.js';

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

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Bucket } from '../../../ui/src/charts/envelope.js';
import { colorOf, dashOf, PALETTE } from '../../../ui/src/charts/palette.js';
import {
  alignTo,
  buildPlotData,
  type ChartSettings,
  emaSmooth,
  stepRangeForX,
  unionX,
} from '../../../ui/src/charts/plot-data.js';

const STEP: ChartSettings = { xAxis: 'step', logY: false, smoothing: 0 };

/** One-step buckets: step s has value values[i], timestamp 1000 + 10 s (ms). */
function buckets(steps: readonly number[], values: readonly number[]): Bucket[] {
  return steps.map((step, i) => ({
    startStep: step,
    endStep: step,
    min: values[i]!,
    max: values[i]!,
    last: values[i]!,
    lastStep: step,
    lastTimestamp: 1000 + 10 * step,
    count: 1,
  }));
}

describe('envelopes to uPlot columns', () => {
  it('aligns runs with different steps on the union of their x values, null-filled', () => {
    const data = buildPlotData(
      [
        { runId: 'a', buckets: buckets([0, 2, 4], [1, 2, 3]) },
        { runId: 'b', buckets: buckets([1, 2, 5], [10, 20, 30]) },
      ],
      STEP,
    );
    expect(data.x).toEqual([0, 1, 2, 4, 5]);
    expect(data.lines).toEqual([
      [1, null, 2, 3, null],
      [null, 10, 20, null, 30],
    ]);
    expect(data.maxs[1]).toEqual([null, 10, 20, null, 30]);
    expect(data.runsWithData).toBe(2);
  });

  it('keeps every column as long as x, whatever the runs (property)', () => {
    const run = fc.uniqueArray(fc.integer({ min: 0, max: 200 }), { maxLength: 40 }).map((steps) => {
      const sorted = [...steps].sort((p, q) => p - q);
      return buckets(
        sorted,
        sorted.map((s) => s * 2),
      );
    });
    fc.assert(
      fc.property(fc.array(run, { maxLength: 6 }), (runs) => {
        const data = buildPlotData(
          runs.map((b, i) => ({ runId: String(i), buckets: b })),
          STEP,
        );
        for (let i = 1; i < data.x.length; i++) expect(data.x[i]!).toBeGreaterThan(data.x[i - 1]!);
        runs.forEach((b, i) => {
          expect(data.lines[i]).toHaveLength(data.x.length);
          // Every bucket's value is at its own x; nothing else is filled.
          expect(data.lines[i]!.filter((v) => v !== null)).toHaveLength(b.length);
          for (const bucket of b) expect(data.lines[i]![data.x.indexOf(bucket.lastStep)]).toBe(bucket.last);
        });
      }),
    );
  });

  it('puts wall time in seconds and relative time from the run start', () => {
    const run = { runId: 'a', buckets: buckets([0, 1], [1, 2]) };
    expect(buildPlotData([run], { ...STEP, xAxis: 'wall' }).x).toEqual([1, 1.01]);
    expect(buildPlotData([run], { ...STEP, xAxis: 'relative' }).x).toEqual([0, 0.01]);
    expect(buildPlotData([{ ...run, timeBase: 0 }], { ...STEP, xAxis: 'relative' }).x).toEqual([1, 1.01]);
  });

  it('skips NaN and clips ±Infinity to the finite range, counting both', () => {
    const data = buildPlotData(
      [{ runId: 'a', buckets: buckets([0, 1, 2, 3], [1, Number.NaN, Number.POSITIVE_INFINITY, -2]) }],
      STEP,
    );
    expect(data.lines[0]).toEqual([1, null, 1, -2]);
    expect(data.clippedInfinite).toBeGreaterThan(0);
    expect(data.skippedNaN).toBeGreaterThan(0);
    const negative = buildPlotData(
      [{ runId: 'a', buckets: buckets([0, 1], [Number.NEGATIVE_INFINITY, 5]) }],
      STEP,
    );
    expect(negative.lines[0]).toEqual([5, 5]);
  });

  it('keeps non-positive values off a log axis, but lets the band reach the bottom', () => {
    const spanning: Bucket = { ...buckets([1], [3])[0]!, min: -1, max: 3 };
    const data = buildPlotData(
      [{ runId: 'a', buckets: [...buckets([0], [0.5]), spanning, ...buckets([2], [0])] }],
      { ...STEP, logY: true },
    );
    expect(data.lines[0]).toEqual([0.5, 3, null]);
    expect(data.hiddenNonPositive).toBe(1);
    expect(data.mins[0]).toEqual([0.5, 0.5, 0.5]);
    for (const column of [...data.lines, ...data.mins, ...data.maxs]) {
      for (const v of column) if (v !== null) expect(v).toBeGreaterThan(0);
    }
  });

  it('smooths the line but never the band', () => {
    const data = buildPlotData([{ runId: 'a', buckets: buckets([0, 1, 2], [0, 10, 0]) }], {
      ...STEP,
      smoothing: 0.9,
    });
    expect(data.maxs[0]).toEqual([0, 10, 0]);
    expect(data.lines[0]![1]).toBeLessThan(10);
    expect(data.lines[0]![1]).toBeGreaterThan(0);
  });

  it('marks a run without buckets as having no data', () => {
    const data = buildPlotData([{ runId: 'a', buckets: [] }], STEP);
    expect(data).toMatchObject({ x: [], lines: [[]], runsWithData: 0 });
  });
});

describe('EMA smoothing', () => {
  it('returns the values unchanged at weight 0', () => {
    expect(emaSmooth([1, null, 3], 0)).toEqual([1, null, 3]);
  });

  it('is debiased: a constant series stays constant, nulls stay in place', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -1e6, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 0.99, noNaN: true }),
        fc.array(fc.boolean(), { maxLength: 50 }),
        (c, w, gaps) => {
          const values = gaps.map((gap) => (gap ? null : c));
          const out = emaSmooth(values, w);
          out.forEach((v, i) => {
            if (values[i] === null) expect(v).toBeNull();
            else expect(v).toBeCloseTo(c, 6);
          });
        },
      ),
    );
  });

  it('stays within the range of the values seen so far', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: 1, maxLength: 80 }),
        fc.double({ min: 0, max: 0.99, noNaN: true }),
        (values, w) => {
          const out = emaSmooth(values, w);
          let lo = Number.POSITIVE_INFINITY;
          let hi = Number.NEGATIVE_INFINITY;
          values.forEach((v, i) => {
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
            expect(out[i]!).toBeGreaterThanOrEqual(lo - 1e-9);
            expect(out[i]!).toBeLessThanOrEqual(hi + 1e-9);
          });
        },
      ),
    );
  });

  it('clamps the weight to 0..0.99', () => {
    expect(emaSmooth([1, 2], -5)).toEqual([1, 2]);
    expect(emaSmooth([0, 100], 5)[1]).toBeCloseTo((0.99 * 0.01 * 0 + 0.01 * 100) / (1 - 0.99 ** 2), 6);
  });
});

describe('alignment helpers and zoom', () => {
  it('unions and sorts x values, dropping duplicates and non-finite ones', () => {
    expect(unionX([[3, 1], [2, 3, Number.NaN], []])).toEqual([1, 2, 3]);
    expect(alignTo([1, 2, 3], [3, 1], [30, 10])).toEqual([10, null, 30]);
  });

  it('maps a drag on the step axis to the selected steps', () => {
    expect(stepRangeForX([], 'step', 10.2, 3.7)).toEqual({ start: 4, end: 10 });
    expect(stepRangeForX([], 'step', 4.2, 4.7)).toBeNull();
  });

  it('maps a drag on a time axis to the steps of the buckets under it', () => {
    const wide: Bucket[] = [
      { startStep: 0, endStep: 99, min: 0, max: 1, last: 1, lastStep: 99, lastTimestamp: 10_000, count: 100 },
      {
        startStep: 100,
        endStep: 199,
        min: 0,
        max: 1,
        last: 1,
        lastStep: 199,
        lastTimestamp: 20_000,
        count: 100,
      },
      {
        startStep: 200,
        endStep: 299,
        min: 0,
        max: 1,
        last: 1,
        lastStep: 299,
        lastTimestamp: 30_000,
        count: 100,
      },
    ];
    const runs = [{ runId: 'a', buckets: wide, timeBase: 10_000 }];
    expect(stepRangeForX(runs, 'relative', 5, 12)).toEqual({ start: 100, end: 199 });
    expect(stepRangeForX(runs, 'wall', 9, 31)).toEqual({ start: 0, end: 299 });
    expect(stepRangeForX(runs, 'wall', 11, 12)).toBeNull();
  });
});

describe('series colours', () => {
  it('gives the first runs distinct colours and repeats them with a dash pattern', () => {
    expect(new Set(PALETTE.map((_, i) => colorOf(i))).size).toBe(PALETTE.length);
    expect(colorOf(PALETTE.length)).toBe(colorOf(0));
    expect(dashOf(0)).toEqual([]);
    expect(dashOf(PALETTE.length)).not.toEqual([]);
    expect(dashOf(0)).not.toBe(dashOf(0));
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseFilter } from '../../../shared/domain/search/filter.js';
import {
  buildDiff,
  type CompareRun,
  defaultMetricKeys,
  metricKeyChoices,
  onlyDiffering,
  runIdFilter,
} from '../../../ui/src/compare/diff.js';

const run = (
  runId: string,
  params: Record<string, string>,
  metrics: Record<string, number | string>,
): CompareRun => ({
  runId,
  name: runId,
  params: Object.entries(params).map(([key, value]) => ({ key, value })),
  metrics: Object.entries(metrics).map(([key, value]) => ({ key, value })),
});

describe('compare diff model', () => {
  const runs = [
    run('a', { lr: '0.1', depth: '3' }, { loss: 0.5, acc: 0.9 }),
    run('b', { lr: '0.1', depth: '4' }, { loss: 0.2, acc: 0.9 }),
    run('c', { lr: '0.1' }, { loss: 'NaN', acc: 0.95, f1: 0.7 }),
  ];

  it('puts keys in rows and runs in columns, flags differing rows', () => {
    const diff = buildDiff(runs);
    expect(diff.params).toEqual([
      { key: 'depth', values: ['3', '4', undefined], differs: true, minRuns: [], maxRuns: [] },
      { key: 'lr', values: ['0.1', '0.1', '0.1'], differs: false, minRuns: [], maxRuns: [] },
    ]);
    expect(onlyDiffering(diff.params, true).map((row) => row.key)).toEqual(['depth']);
    expect(onlyDiffering(diff.params, false)).toHaveLength(2);
  });

  it('marks the lowest and highest metric value, ignoring NaN and missing ones', () => {
    const diff = buildDiff(runs);
    const loss = diff.metrics.find((row) => row.key === 'loss')!;
    expect(loss).toMatchObject({ differs: true, minRuns: [1], maxRuns: [0] });
    const acc = diff.metrics.find((row) => row.key === 'acc')!;
    expect(acc).toMatchObject({ minRuns: [0, 1], maxRuns: [2] });
    // One number alone has nothing to be compared with.
    expect(diff.metrics.find((row) => row.key === 'f1')).toMatchObject({ minRuns: [], maxRuns: [] });
  });

  it('offers every metric key and defaults to the first six common to all runs', () => {
    expect(metricKeyChoices(runs)).toEqual({ all: ['acc', 'f1', 'loss'], common: ['acc', 'loss'] });
    expect(defaultMetricKeys(runs)).toEqual(['acc', 'loss']);
    const many = [run('x', {}, Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`m${i}`, i])))];
    expect(defaultMetricKeys(many)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
    // Nothing in common: fall back to the first keys of any run.
    expect(defaultMetricKeys([run('p', {}, { a: 1 }), run('q', {}, { b: 1 })])).toEqual(['a', 'b']);
  });

  it('handles 100 runs × 50 params × 20 metrics with every row accounted for', () => {
    const big = Array.from({ length: 100 }, (_, r) =>
      run(
        `r${r}`,
        Object.fromEntries(Array.from({ length: 50 }, (_, p) => [`p${p}`, p % 2 ? String(r) : 'same'])),
        Object.fromEntries(Array.from({ length: 20 }, (_, m) => [`m${m}`, (r * 7 + m) % 100])),
      ),
    );
    const diff = buildDiff(big);
    expect(diff.params).toHaveLength(50);
    expect(diff.params.filter((row) => row.differs)).toHaveLength(25);
    expect(diff.metrics).toHaveLength(20);
    for (const row of diff.metrics) {
      expect(row.values).toHaveLength(100);
      expect(row.minRuns.length).toBeGreaterThan(0);
      expect(row.maxRuns.length).toBeGreaterThan(0);
    }
  });
});

describe('run id filter', () => {
  it("builds MLflow's IN filter and escapes quotes", () => {
    expect(runIdFilter(['a1', 'b2'])).toBe("attributes.run_id IN ('a1', 'b2')");
    // The server's filter grammar doubles a quote inside a quoted string (SQL style); a backslash is literal.
    expect(runIdFilter(["x'y", 'a\\b'])).toBe("attributes.run_id IN ('x''y', 'a\\b')");
  });

  it("reads back through the server's filter parser as exactly the ids given", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 5 }), (ids) => {
        const [clause] = parseFilter(runIdFilter(ids));
        expect(clause?.value).toEqual(ids);
      }),
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, formatNumber } from '../../../ui/src/lib/format.js';
import { formatHash, parseHash, type Route } from '../../../ui/src/lib/route.js';

describe('hash routes', () => {
  it('opens the links the MLflow client prints', () => {
    expect(parseHash('#/experiments/1/runs/abc123')).toEqual({
      page: 'run',
      experimentId: '1',
      runId: 'abc123',
      tab: 'overview',
    });
    expect(parseHash('#/experiments/7')).toEqual({ page: 'experiment', experimentId: '7', tab: 'runs' });
    expect(parseHash('#/models/my%20model/versions/3')).toEqual({
      page: 'version',
      name: 'my model',
      version: '3',
    });
    expect(parseHash('#/models/fraud')).toEqual({ page: 'model', name: 'fraud' });
    expect(parseHash('')).toEqual({ page: 'experiments' });
    expect(parseHash('#/')).toEqual({ page: 'experiments' });
  });

  it("reads MLflow's compare URL with JSON arrays, and comma lists", () => {
    expect(parseHash('#/compare-runs?runs=["a","b"]&experiments=["1"]')).toEqual({
      page: 'compare',
      runIds: ['a', 'b'],
      experimentIds: ['1'],
      metricKeys: [],
    });
    expect(parseHash('#/compare-runs?runs=a,b')).toMatchObject({ runIds: ['a', 'b'] });
    expect(parseHash('#/compare-runs?runs=[broken')).toMatchObject({ runIds: [] });
  });

  it('keeps an artifact path below the artifacts tab', () => {
    expect(parseHash('#/experiments/1/runs/r/artifacts/model/MLmodel')).toEqual({
      page: 'run',
      experimentId: '1',
      runId: 'r',
      tab: 'artifacts',
      artifactPath: 'model/MLmodel',
    });
  });

  it("opens MLflow 3's link to a logged model, and keeps the experiment's Logged models tab", () => {
    expect(parseHash('#/experiments/1/models/m-0123abc')).toEqual({
      page: 'logged-model',
      experimentId: '1',
      modelId: 'm-0123abc',
    });
    expect(parseHash('#/experiments/1/models')).toEqual({
      page: 'experiment',
      experimentId: '1',
      tab: 'models',
    });
    expect(parseHash('#/experiments/1/models/m-1/extra').page).toBe('not-found');
  });

  it('keeps the traces tab with its filter, and a trace page with its selected span', () => {
    expect(parseHash('#/experiments/1/traces')).toEqual({
      page: 'experiment',
      experimentId: '1',
      tab: 'traces',
    });
    const filter = "trace.status = 'ERROR' AND tags.team = 'a&b?'";
    const filtered: Route = { page: 'experiment', experimentId: '1', tab: 'traces', filter };
    expect(parseHash(formatHash(filtered))).toEqual(filtered);
    expect(parseHash('#/experiments/1/traces?filter=')).toEqual({
      page: 'experiment',
      experimentId: '1',
      tab: 'traces',
    });
    expect(parseHash('#/experiments/1/traces/tr-0a?span=00ff')).toEqual({
      page: 'trace',
      experimentId: '1',
      traceId: 'tr-0a',
      spanId: '00ff',
    });
    expect(parseHash('#/experiments/1/traces/tr-0a/x').page).toBe('not-found');
    // MLflow's own trace links: the traces tab with the trace selected.
    for (const name of ['selectedTraceId', 'selectedEvaluationId']) {
      expect(parseHash(`#/experiments/4/traces?${name}=tr-0b`)).toEqual({
        page: 'trace',
        experimentId: '4',
        traceId: 'tr-0b',
      });
    }
  });

  it('says not-found for anything else, never throws on bad escapes', () => {
    expect(parseHash('#/nowhere/at/all').page).toBe('not-found');
    expect(parseHash('#/models/%E0%A4%A/versions/1')).toMatchObject({ page: 'version', name: '%E0%A4%A' });
  });

  const segment = fc
    .string({ minLength: 1, maxLength: 12 })
    .filter((s) => s.trim() !== '' && s !== '.' && s !== '..');
  const route: fc.Arbitrary<Route> = fc.oneof(
    fc.constant<Route>({ page: 'experiments' }),
    fc.record({
      page: fc.constant('experiment' as const),
      experimentId: segment,
      tab: fc.constantFrom('runs' as const, 'models' as const),
    }),
    fc.record({
      page: fc.constant('run' as const),
      experimentId: segment,
      runId: segment,
      tab: fc.constantFrom('overview' as const, 'metrics' as const),
    }),
    fc.record({
      page: fc.constant('run' as const),
      experimentId: segment,
      runId: segment,
      tab: fc.constant('artifacts' as const),
      // A path's segments never hold '/' themselves: it is what separates them.
      artifactPath: fc
        .array(
          segment.filter((s) => !s.includes('/')),
          { minLength: 1, maxLength: 3 },
        )
        .map((parts) => parts.join('/')),
    }),
    fc.record({ page: fc.constant('logged-model' as const), experimentId: segment, modelId: segment }),
    fc.record(
      {
        page: fc.constant('experiment' as const),
        experimentId: segment,
        tab: fc.constant('traces' as const),
        filter: fc.string({ minLength: 1, maxLength: 40 }),
      },
      { requiredKeys: ['page', 'experimentId', 'tab'] },
    ),
    fc.record(
      {
        page: fc.constant('trace' as const),
        experimentId: segment,
        traceId: segment,
        spanId: fc.string({ minLength: 1, maxLength: 16 }),
      },
      { requiredKeys: ['page', 'experimentId', 'traceId'] },
    ),
    fc.record({
      page: fc.constant('compare' as const),
      experimentIds: fc.array(segment, { maxLength: 3 }),
      runIds: fc.array(segment, { maxLength: 5 }),
      metricKeys: fc.array(segment, { maxLength: 3 }),
    }),
    fc.constant<Route>({ page: 'models' }),
    fc.record({ page: fc.constant('model' as const), name: segment }),
    fc.record({ page: fc.constant('version' as const), name: segment, version: segment }),
  );

  it('parseHash(formatHash(route)) gives the route back, for any names', () => {
    fc.assert(
      fc.property(route, (value) => {
        expect(parseHash(formatHash(value))).toEqual(value);
      }),
    );
  });
});

describe('formatting', () => {
  it('formats durations across units', () => {
    expect(formatDuration(1000, 1850)).toBe('850ms');
    expect(formatDuration(0, 5000)).toBe('');
    expect(formatDuration(1000, 13_300)).toBe('12.3s');
    expect(formatDuration(1000, 1000 + 245_000)).toBe('4m 05s');
    expect(formatDuration(1000, 1000 + 7_380_000)).toBe('2h 03m');
    expect(formatDuration(2000, 1000)).toBe('');
  });

  it("formats metric values, including MLflow's NaN and Infinity", () => {
    expect(formatNumber(0.123456789)).toBe('0.123457');
    expect(formatNumber('NaN')).toBe('NaN');
    expect(formatNumber('Infinity')).toBe('Infinity');
    expect(formatNumber(-Infinity)).toBe('-Infinity');
    expect(formatNumber(12345678)).toBe('1.2346e+7');
    expect(formatNumber(0.00001)).toBe('1e-5');
    expect(formatNumber(42)).toBe('42');
  });

  it('formats sizes', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(6.9 * 1024 * 1024)).toBe('6.9 MB');
  });
});

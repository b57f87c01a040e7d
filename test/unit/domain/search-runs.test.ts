import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { statusOf } from '../../../shared/api/http.js';
import type { DatasetInput, LatestMetric, Run } from '../../../shared/domain/runs/model.js';
import { compileRunFilter, parseRunOrderBy, searchRuns } from '../../../shared/domain/runs/search.js';
import { MlflowError } from '../../../shared/errors.js';
import { testRun } from '../../helpers/runs.js';

const runId = (n: number) => `r${String(n).padStart(4, '0')}`;

function run(n: number, overrides: Partial<Run> = {}): Run {
  return testRun(runId(n), {
    runName: `run-${n}`,
    userId: 'alice',
    status: 'FINISHED',
    startTime: 1000 + n,
    endTime: 2000 + n,
    ...overrides,
  });
}

function metrics(values: Record<string, number>): Record<string, LatestMetric> {
  return Object.fromEntries(
    Object.entries(values).map(([key, value]) => [key, { key, value, step: 0, timestamp: 0 }]),
  );
}

function dataset(name: string, digest: string, context?: string): DatasetInput {
  return {
    name,
    digest,
    sourceType: 'local',
    source: '{}',
    tags: context === undefined ? {} : { 'mlflow.data.context': context },
  };
}

const search = (all: Run[], options: Partial<Parameters<typeof searchRuns>[1]> = {}) =>
  searchRuns(all, { orderBy: [], viewType: 'ACTIVE_ONLY', maxResults: 1000, ...options });

const ids = (page: { runs: Run[] }) => page.runs.map((r) => r.runId);

/** The ids (as numbers) of the runs in `all` that `filter` selects, in ascending id order. */
const matching = (all: Run[], filter: string) =>
  all
    .filter(compileRunFilter(filter))
    .map((r) => Number(r.runId.slice(1)))
    .sort((a, b) => a - b);

function caught(action: () => unknown): MlflowError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(MlflowError);
    expect(statusOf(error as MlflowError)).toBe(400);
    expect((error as MlflowError).errorCode).toBe('INVALID_PARAMETER_VALUE');
    return error as MlflowError;
  }
  throw new Error('expected a 400 MlflowError, nothing was thrown');
}

describe('compileRunFilter: metrics', () => {
  const all = [
    run(1, { metrics: metrics({ loss: 0.1 }) }),
    run(2, { metrics: metrics({ loss: 0.5 }) }),
    run(3, { metrics: metrics({ loss: 0.9 }) }),
    run(4, { metrics: metrics({ acc: 1 }) }),
  ];

  it.each([
    ['metrics.loss = 0.5', [2]],
    ['metrics.loss != 0.5', [1, 3]],
    ['metrics.loss > 0.5', [3]],
    ['metrics.loss >= 0.5', [2, 3]],
    ['metrics.loss < 0.5', [1]],
    ['metrics.loss <= 0.5', [1, 2]],
    ['metric.loss <> 0.1', [2, 3]],
    ['metrics.`loss` >= 1e-1 AND metrics."loss" < 9e-1', [1, 2]],
  ])('%s compares the latest value', (filter, expected) => {
    expect(matching(all, filter)).toEqual(expected);
  });

  it('never matches a run without the metric, not even with !=', () => {
    expect(matching(all, 'metrics.loss != 123')).toEqual([1, 2, 3]);
    expect(matching(all, 'metrics.missing != 0')).toEqual([]);
  });

  it('compares NaN as Python does: only != holds', () => {
    const nan = [run(1, { metrics: metrics({ m: Number.NaN }) })];
    for (const filter of [
      'metrics.m = 0',
      'metrics.m < 1',
      'metrics.m <= 1',
      'metrics.m > -1',
      'metrics.m >= -1',
    ]) {
      expect(matching(nan, filter), filter).toEqual([]);
    }
    expect(matching(nan, 'metrics.m != 0')).toEqual([1]);
  });

  it('compares ±Infinity as numbers', () => {
    const inf = [
      run(1, { metrics: metrics({ m: Number.POSITIVE_INFINITY }) }),
      run(2, { metrics: metrics({ m: Number.NEGATIVE_INFINITY }) }),
      run(3, { metrics: metrics({ m: -0 }) }),
    ];
    expect(matching(inf, 'metrics.m > 1e308')).toEqual([1]);
    expect(matching(inf, 'metrics.m < -1e308')).toEqual([2]);
    expect(matching(inf, 'metrics.m = 0')).toEqual([3]);
  });
});

describe('compileRunFilter: params and tags', () => {
  const all = [
    run(1, { params: { lr: '0.01' }, tags: { team: 'Vision' } }),
    run(2, { params: { lr: '0.1' }, tags: { team: 'vision-x' } }),
    run(3, { params: { lr: '1' }, tags: { 'mlflow.user': 'bob' } }),
    run(4),
  ];

  it.each([
    ["params.lr = '0.1'", [2]],
    ["params.lr != '0.1'", [1, 3]],
    ["params.lr LIKE '0.%'", [1, 2]],
    ["params.lr LIKE '0._'", [2]],
    ["params.lr ILIKE '0.0%'", [1]],
    ['params.lr IS NULL', [4]],
    ['param.lr IS NOT NULL', [1, 2, 3]],
    ["tags.team = 'Vision'", [1]],
    ["tags.team != 'Vision'", [2]],
    ["tags.team LIKE 'vision%'", [2]],
    ["tags.team ILIKE 'vision%'", [1, 2]],
    ["tags.team ILIKE 'VISION'", [1]],
    ['tags.team IS NULL', [3, 4]],
    ['tags.team IS NOT NULL', [1, 2]],
    ["tags.mlflow.user = 'bob'", [3]],
    ['tag.`mlflow.user` = "bob"', [3]],
    ["parameters.lr = '1' AND tags.team IS NULL", [3]],
  ])('%s', (filter, expected) => {
    expect(matching(all, filter)).toEqual(expected);
  });

  it('keeps LIKE case-sensitive and treats regexp characters literally', () => {
    const odd = [run(1, { params: { p: 'a.b(c)*' } }), run(2, { params: { p: 'aXb(c)*' } })];
    expect(matching(odd, "params.p LIKE 'a.b(c)*'")).toEqual([1]);
    expect(matching(odd, "params.p LIKE 'A%'")).toEqual([]);
    expect(matching(odd, "params.p ILIKE 'A%'")).toEqual([1, 2]);
  });
});

describe('compileRunFilter: attributes', () => {
  const all = [
    run(1, { runName: 'alpha', status: 'RUNNING', userId: 'alice', endTime: undefined }),
    run(2, { runName: 'beta', status: 'FINISHED', userId: 'bob', artifactUri: 's3://bucket/2' }),
    run(3, { runName: 'Alpha-2', status: 'FAILED', userId: 'carol' }),
  ];

  it.each([
    ["run_id = 'r0002'", [2]],
    ["attributes.run_id != 'r0002'", [1, 3]],
    ["run_id LIKE 'r000%'", [1, 2, 3]],
    ["run_id IN ('r0001', 'r0003', 'nope')", [1, 3]],
    ["run.run_id NOT IN ('r0001')", [2, 3]],
    ["run_name = 'alpha'", [1]],
    ["run_name ILIKE 'alpha%'", [1, 3]],
    ['"run name" = \'beta\'', [2]],
    ["`Run name` LIKE 'Alpha%'", [3]],
    ["attributes.`Run Name` != 'beta'", [1, 3]],
    ["status = 'FINISHED'", [2]],
    ["attr.status != 'RUNNING'", [2, 3]],
    ["status LIKE '%ED'", [2, 3]],
    ["user_id = 'bob'", [2]],
    ["user_id ILIKE 'A%'", [1]],
    ["artifact_uri LIKE 's3://%'", [2]],
    ["artifact_uri != 's3://bucket/2'", [1, 3]],
  ])('%s', (filter, expected) => {
    expect(matching(all, filter)).toEqual(expected);
  });

  it.each([
    ['start_time = 1002', [2]],
    ['start_time != 1002', [1, 3]],
    ['start_time > 1001', [2, 3]],
    ['start_time >= 1002', [2, 3]],
    ['attributes.start_time < 1002', [1]],
    ['start_time <= 1002', [1, 2]],
    ['created >= 1002', [2, 3]],
    ['Created < 1003.5', [1, 2, 3]],
    ['end_time > 0', [2, 3]],
    ['end_time = 2003', [3]],
  ])('%s', (filter, expected) => {
    expect(matching(all, filter)).toEqual(expected);
  });

  it('never matches a run without end_time, not even with !=', () => {
    expect(matching(all, 'end_time != 0')).toEqual([2, 3]);
    expect(matching(all, 'end_time < 99999999')).toEqual([2, 3]);
  });
});

describe('compileRunFilter: datasets', () => {
  const all = [
    run(1, { datasets: [dataset('train', 'd1', 'training'), dataset('eval', 'd2', 'evaluation')] }),
    run(2, { datasets: [dataset('train', 'd3')] }),
    run(3),
    run(4, { datasets: [dataset('Holdout', 'd4', 'testing')] }),
  ];

  it.each([
    ["datasets.name = 'eval'", [1]],
    ["datasets.name = 'train'", [1, 2]],
    // Any dataset input: run 1 has 'eval', which is not 'train'.
    ["datasets.name != 'train'", [1, 4]],
    ["dataset.name LIKE 'hold%'", []],
    ["datasets.name ILIKE 'hold%'", [4]],
    ["datasets.name IN ('eval', 'Holdout')", [1, 4]],
    ["datasets.name NOT IN ('train')", [1, 4]],
    ["datasets.digest = 'd3'", [2]],
    ["datasets.digest IN ('d2', 'd4')", [1, 4]],
    ["datasets.digest != 'd1'", [1, 2, 4]],
    ["datasets.context = 'training'", [1]],
    ["datasets.context LIKE '%ing'", [1, 4]],
    ["datasets.context IN ('evaluation', 'testing')", [1, 4]],
    // Only inputs that carry a context tag take part: run 2's input has none.
    ["datasets.context != 'training'", [1, 4]],
    ["datasets.context NOT IN ('training', 'evaluation')", [4]],
    ["datasets.name = 'train' AND datasets.context = 'evaluation'", [1]],
  ])('%s', (filter, expected) => {
    expect(matching(all, filter)).toEqual(expected);
  });

  it('never matches a run without dataset inputs', () => {
    expect(matching([run(1)], "datasets.name NOT IN ('x')")).toEqual([]);
  });
});

describe('compileRunFilter: errors', () => {
  it.each([
    ["metrics.loss = '0.5'", 'loss', 'numeric value'],
    ["metrics.loss LIKE '0.5'", 'loss', 'invalid comparator'],
    ['metrics.loss IS NULL', 'loss', 'only supported for tags and params'],
    ["metrics.loss IN ('1')", 'loss', 'invalid comparator'],
    ['params.lr = 0.1', 'lr', 'quoted string'],
    ["params.lr > '0.1'", 'lr', 'invalid comparator'],
    ["tags.team IN ('a')", 'team', 'invalid comparator'],
    ["tags.team < 'a'", 'team', 'invalid comparator'],
    ["run_name IN ('a')", 'run_name', "only the 'run_id' attribute"],
    ["status NOT IN ('FAILED')", 'status', "only the 'run_id' attribute"],
    ["status > 'A'", 'status', 'invalid comparator'],
    ['status = 1', 'status', 'quoted string'],
    ['run_id IS NULL', 'run_id', 'only supported for tags and params'],
    ["start_time = '1'", 'start_time', 'numeric value'],
    ["created LIKE '1%'", 'created', 'invalid comparator'],
    ['end_time IS NOT NULL', 'end_time', 'only supported for tags and params'],
    ["start_time IN ('1')", 'start_time', 'invalid comparator'],
    ["lifecycle_stage = 'deleted'", 'lifecycle_stage', 'run_view_type'],
    ["experiment_id = '1'", 'experiment_id', 'invalid attribute key'],
    ["bogus = 'x'", 'bogus', 'invalid attribute key'],
    ["datasets.source = 'x'", 'source', 'invalid dataset key'],
    ["datasets.name > 'a'", 'name', 'invalid comparator'],
    ['datasets.name IS NULL', 'name', 'only supported for tags and params'],
    ['datasets.digest = 1', 'digest', 'quoted string'],
  ])('refuses %s with a 400 naming %s', (filter, key, problem) => {
    const error = caught(() => compileRunFilter(filter));
    expect(error.message).toContain(`'${key}'`);
    expect(error.message).toContain(problem);
    expect(error.message).toMatch(/at position \d+/);
  });

  it('names the right clause in a conjunction', () => {
    const error = caught(() => compileRunFilter("params.a = 'x' AND metrics.b = 'y'"));
    expect(error.message).toContain("metric 'b'");
    expect(error.message).toContain('at position 19');
  });

  it('also refuses through searchRuns, before touching any run', () => {
    caught(() => search([], { filter: "params.p = 'x' OR params.q = 'y'" }));
  });
});

describe('searchRuns: view types', () => {
  const all = [run(1), run(2, { lifecycleStage: 'deleted' }), run(3)];
  it.each([
    ['ACTIVE_ONLY', ['r0003', 'r0001']],
    ['DELETED_ONLY', ['r0002']],
    ['ALL', ['r0003', 'r0002', 'r0001']],
  ] as const)('%s', (viewType, expected) => {
    expect(ids(search(all, { viewType }))).toEqual(expected);
  });
});

describe('searchRuns: ordering', () => {
  it('orders by start_time DESC then run_id ASC by default', () => {
    const all = [run(1, { startTime: 5 }), run(2, { startTime: 9 }), run(3, { startTime: 5 })];
    expect(ids(search(all))).toEqual(['r0002', 'r0001', 'r0003']);
  });

  const withNaN = [
    run(1, { metrics: metrics({ m: 2 }) }),
    run(2, { metrics: metrics({ m: Number.NaN }) }),
    run(3),
    run(4, { metrics: metrics({ m: -1 }) }),
    run(5, { metrics: metrics({ m: Number.POSITIVE_INFINITY }) }),
    run(6, { metrics: metrics({ m: Number.NEGATIVE_INFINITY }) }),
  ];

  it('puts NaN and then missing metrics last, ascending', () => {
    expect(ids(search(withNaN, { orderBy: ['metrics.m'] }))).toEqual([
      'r0006',
      'r0004',
      'r0001',
      'r0005',
      'r0002',
      'r0003',
    ]);
  });

  it('puts NaN and then missing metrics last, descending too', () => {
    expect(ids(search(withNaN, { orderBy: ['metrics.m DESC'] }))).toEqual([
      'r0005',
      'r0001',
      'r0004',
      'r0006',
      'r0002',
      'r0003',
    ]);
  });

  it('puts runs without the param, tag or end_time last in both directions', () => {
    const all = [
      run(1, { params: { p: 'b' }, tags: { t: 'y' } }),
      run(2, { endTime: undefined }),
      run(3, { params: { p: 'a' }, tags: { t: 'z' } }),
    ];
    expect(ids(search(all, { orderBy: ['params.p'] }))).toEqual(['r0003', 'r0001', 'r0002']);
    expect(ids(search(all, { orderBy: ['params.p DESC'] }))).toEqual(['r0001', 'r0003', 'r0002']);
    expect(ids(search(all, { orderBy: ['tags.t DESC'] }))).toEqual(['r0003', 'r0001', 'r0002']);
    expect(ids(search(all, { orderBy: ['end_time ASC'] }))).toEqual(['r0001', 'r0003', 'r0002']);
    expect(ids(search(all, { orderBy: ['end_time DESC'] }))).toEqual(['r0003', 'r0001', 'r0002']);
  });

  it('breaks ties with start_time DESC, then run_id ASC', () => {
    const all = [
      run(1, { startTime: 10, metrics: metrics({ m: 1 }) }),
      run(2, { startTime: 20, metrics: metrics({ m: 1 }) }),
      run(3, { startTime: 10, metrics: metrics({ m: 1 }) }),
      run(4, { startTime: 5 }),
      run(5, { startTime: 50 }),
    ];
    expect(ids(search(all, { orderBy: ['metrics.m'] }))).toEqual([
      'r0002',
      'r0001',
      'r0003',
      'r0005',
      'r0004',
    ]);
    expect(parseRunOrderBy(['metrics.m'])).toEqual([
      { entity: 'metric', key: 'm', ascending: true },
      { entity: 'attribute', key: 'start_time', ascending: false },
      { entity: 'attribute', key: 'run_id', ascending: true },
    ]);
  });

  it('adds no start_time DESC when start_time (or created) is ordered on', () => {
    expect(parseRunOrderBy(['created'])).toEqual([
      { entity: 'attribute', key: 'start_time', ascending: true },
      { entity: 'attribute', key: 'run_id', ascending: true },
    ]);
    const all = [run(1, { startTime: 7 }), run(2, { startTime: 3 }), run(3, { startTime: 3 })];
    expect(ids(search(all, { orderBy: ['start_time ASC'] }))).toEqual(['r0002', 'r0003', 'r0001']);
    expect(ids(search(all, { orderBy: ['run_id DESC'] }))).toEqual(['r0003', 'r0002', 'r0001']);
  });

  it('orders by several keys and every attribute', () => {
    const all = [
      run(1, { status: 'FINISHED', userId: 'b', runName: 'x', params: { p: '1' } }),
      run(2, { status: 'FAILED', userId: 'a', runName: 'y', params: { p: '2' } }),
      run(3, { status: 'FINISHED', userId: 'a', runName: 'z', params: { p: '3' } }),
    ];
    expect(ids(search(all, { orderBy: ['status DESC', 'user_id'] }))).toEqual(['r0003', 'r0001', 'r0002']);
    expect(ids(search(all, { orderBy: ['attributes.run_name DESC'] }))).toEqual(['r0003', 'r0002', 'r0001']);
    expect(ids(search(all, { orderBy: ['user_id', 'params.p DESC'] }))).toEqual(['r0003', 'r0002', 'r0001']);
    expect(ids(search(all, { orderBy: ['artifact_uri DESC'] }))).toEqual(['r0003', 'r0002', 'r0001']);
    expect(ids(search(all, { orderBy: ['end_time DESC'] }))).toEqual(['r0003', 'r0002', 'r0001']);
    expect(ids(search(all, { orderBy: ['Created'] }))).toEqual(['r0001', 'r0002', 'r0003']);
  });

  it('compares strings by code point, as Python does', () => {
    const all = [run(1, { params: { p: '\u{1F600}' } }), run(2, { params: { p: '\uFF01' } })];
    expect(ids(search(all, { orderBy: ['params.p'] }))).toEqual(['r0002', 'r0001']);
  });

  it.each([
    [['metrics.a', 'metric.a DESC'], 'more than once'],
    [['created', 'start_time DESC'], 'more than once'],
    [['tags.x', 'tags.x'], 'more than once'],
    [['params.lr ASC', 'param.lr DESC'], "order_by lists 'params.lr' more than once"],
    [['datasets.name'], "order_by entity 'dataset'"],
    [['lifecycle_stage'], "'lifecycle_stage'"],
    [['`run name`'], "'run name'"],
    [['bogus DESC'], "'bogus'"],
    [['start_time SIDEWAYS'], 'ASC or DESC'],
  ])('refuses order_by %j with a 400', (orderBy, fragment) => {
    expect(caught(() => search([], { orderBy })).message).toContain(fragment);
  });

  it('allows the same key under different entities', () => {
    expect(() => parseRunOrderBy(['tags.x', 'params.x', 'metrics.x'])).not.toThrow();
  });
});

describe('searchRuns: page tokens', () => {
  const all = [
    run(1, { metrics: metrics({ m: Number.POSITIVE_INFINITY }) }),
    run(2, { metrics: metrics({ m: Number.NaN }) }),
    run(3),
    run(4, { metrics: metrics({ m: Number.NEGATIVE_INFINITY }) }),
    run(5, { metrics: metrics({ m: 0 }) }),
  ];

  it('pages one run at a time across ±Infinity, NaN and missing values', () => {
    for (const orderBy of [['metrics.m'], ['metrics.m DESC']]) {
      const whole = ids(search(all, { orderBy }));
      const paged: string[] = [];
      let token: string | undefined;
      do {
        const page = search(all, { orderBy, maxResults: 1, pageToken: token });
        paged.push(...ids(page));
        token = page.nextPageToken;
      } while (token);
      expect(paged).toEqual(whole);
    }
  });

  it('rejects a page token issued for another query', () => {
    const first = search(all, { maxResults: 1, orderBy: ['metrics.m'] });
    expect(first.nextPageToken).toBeDefined();
    const other = { maxResults: 1, pageToken: first.nextPageToken };
    expect(caught(() => search(all, { ...other, orderBy: ['metrics.m DESC'] })).message).toContain(
      'different filter, order, view type or experiments',
    );
    caught(() => search(all, { ...other, orderBy: ['metrics.m'], filter: 'metrics.m > 0' }));
    caught(() => search(all, { ...other, orderBy: ['metrics.m'], viewType: 'ALL' }));
  });

  it('rejects garbage and tampered tokens with a 400', () => {
    caught(() => search(all, { pageToken: 'not-a-token' }));
    const token = search(all, { maxResults: 1, orderBy: ['metrics.m'] }).nextPageToken as string;
    const body = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    for (const after of [[], [0, 'x', 0, 1, 0, 'r0001'], [7, null, 0, 1, 0, 'r0001'], [0, 1, 0, 1, 0, 2]]) {
      const forged = Buffer.from(JSON.stringify({ ...body, after })).toString('base64url');
      expect(
        caught(() => search(all, { maxResults: 1, orderBy: ['metrics.m'], pageToken: forged })).message,
      ).toContain('Invalid page token');
    }
  });

  it('returns no token on the last page', () => {
    expect(search(all, { maxResults: 5 }).nextPageToken).toBeUndefined();
    expect(search(all, { maxResults: 4 }).nextPageToken).toBeDefined();
  });
});

describe('searchRuns: properties', () => {
  const metricValue = fc.constantFrom<number | undefined>(
    undefined,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    -0,
    0,
    1,
    2.5,
  );
  const text = fc.constantFrom<string | undefined>(undefined, 'a', 'b', 'B', '');
  const runsArb = fc
    .uniqueArray(fc.integer({ min: 0, max: 500 }), { minLength: 0, maxLength: 30 })
    .chain((idList) =>
      fc.tuple(
        ...idList.map((id) =>
          fc
            .record({
              startTime: fc.integer({ min: 0, max: 4 }),
              ended: fc.boolean(),
              m: metricValue,
              n: metricValue,
              p: text,
              t: text,
              status: fc.constantFrom('RUNNING' as const, 'FINISHED' as const, 'FAILED' as const),
              deleted: fc.boolean(),
            })
            .map((f) =>
              run(id, {
                startTime: f.startTime,
                endTime: f.ended ? f.startTime + 1 : undefined,
                metrics: metrics(
                  Object.fromEntries(
                    Object.entries({ m: f.m, n: f.n }).filter(
                      (entry): entry is [string, number] => entry[1] !== undefined,
                    ),
                  ),
                ),
                params: f.p === undefined ? {} : { p: f.p },
                tags: f.t === undefined ? {} : { t: f.t },
                status: f.status,
                lifecycleStage: f.deleted ? 'deleted' : 'active',
              }),
            ),
        ),
      ),
    );
  const orderArb = fc.subarray(
    ['metrics.m', 'metrics.n DESC', 'params.p DESC', 'tags.t', 'status', 'end_time DESC', 'start_time'],
    { maxLength: 3 },
  );
  const shuffledOrderArb = orderArb.chain((terms) => fc.shuffledSubarray(terms, { minLength: terms.length }));
  const filterArb = fc.constantFrom(undefined, 'metrics.m >= 0', "params.p != 'a'", 'tags.t IS NULL');

  it('pages through exactly the unpaged result, in order, for any page size (property)', () => {
    fc.assert(
      fc.property(
        runsArb,
        shuffledOrderArb,
        filterArb,
        fc.integer({ min: 1, max: 7 }),
        (all, orderBy, filter, pageSize) => {
          const whole = ids(search(all, { orderBy, filter, viewType: 'ALL' }));
          const paged: string[] = [];
          let token: string | undefined;
          do {
            const page = search(all, {
              orderBy,
              filter,
              viewType: 'ALL',
              maxResults: pageSize,
              pageToken: token,
            });
            expect(page.runs.length).toBeLessThanOrEqual(pageSize);
            paged.push(...ids(page));
            token = page.nextPageToken;
          } while (token);
          expect(paged).toEqual(whole);
        },
      ),
    );
  });

  it('never skips or repeats a surviving run when runs are added between pages (property)', () => {
    fc.assert(
      fc.property(runsArb, runsArb, shuffledOrderArb, (initial, added, orderBy) => {
        const extra = added.map((r) => ({ ...r, runId: `x${r.runId}` }));
        const first = search(initial, { orderBy, viewType: 'ALL', maxResults: 3 });
        const rest: string[] = [];
        let token = first.nextPageToken;
        const grown = [...initial, ...extra];
        while (token) {
          const page = search(grown, { orderBy, viewType: 'ALL', maxResults: 3, pageToken: token });
          rest.push(...ids(page));
          token = page.nextPageToken;
        }
        const seen = [...ids(first), ...rest];
        expect(new Set(seen).size).toBe(seen.length);
        for (const original of initial) expect(seen).toContain(original.runId);
      }),
    );
  });

  /**
   * MLflow's SearchUtils.sort, transcribed: a stable sort by (-start_time, run_id), then one stable
   * pass per order_by clause, last clause first, keyed by `_get_value_for_sort`'s (flag, value) pair.
   */
  function referenceSort(runs: Run[], orderBy: string[]): string[] {
    type Key = [boolean, string | number];
    const compareKeys = (a: Key, b: Key) =>
      a[0] !== b[0] ? (a[0] ? 1 : -1) : a[1] === b[1] ? 0 : a[1] < b[1] ? -1 : 1;
    let sorted = [...runs].sort(
      (a, b) => b.startTime - a.startTime || (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0),
    );
    for (const clause of [...orderBy].reverse()) {
      const [identifier, direction] = clause.split(' ') as [string, string | undefined];
      const ascending = direction !== 'DESC';
      const [entity, key] = identifier.includes('.')
        ? (identifier.split('.') as [string, string])
        : ['', identifier];
      const lookup = (r: Run): string | number | undefined => {
        if (entity === 'metrics') return r.metrics[key]?.value;
        if (entity === 'params') return r.params[key];
        if (entity === 'tags') return r.tags[key];
        const attributes: Record<string, string | number | undefined> = {
          status: r.status,
          end_time: r.endTime,
          start_time: r.startTime,
        };
        return attributes[key];
      };
      const sortKey = (r: Run): Key => {
        let value = lookup(r);
        const isNone = value === undefined;
        const isNan = typeof value === 'number' && Number.isNaN(value);
        const fill = (ascending ? 1 : -1) * Number.POSITIVE_INFINITY;
        if (isNone) value = fill;
        else if (isNan) value = -fill;
        return ascending
          ? [isNone || isNan, value as string | number]
          : [!(isNone || isNan), value as string | number];
      };
      sorted = [...sorted].sort((a, b) => (ascending ? 1 : -1) * compareKeys(sortKey(a), sortKey(b)));
    }
    return sorted.map((r) => r.runId);
  }

  it("orders exactly as MLflow's SearchUtils.sort (property)", () => {
    fc.assert(
      fc.property(runsArb, shuffledOrderArb, (all, orderBy) => {
        expect(ids(search(all, { orderBy, viewType: 'ALL' }))).toEqual(referenceSort(all, orderBy));
      }),
    );
  });

  const pieces = [
    'metrics.m',
    'params.p',
    'tags.t',
    'attributes.run_id',
    'run_id',
    'run_name',
    '"run name"',
    'start_time',
    'end_time',
    'created',
    'lifecycle_stage',
    'datasets.name',
    'datasets.context',
    'datasets.source',
    'constructor.x',
    'bogus',
    '=',
    '!=',
    '<',
    '>=',
    'LIKE',
    'ILIKE',
    'IN',
    'NOT IN',
    'IS NULL',
    'IS NOT NULL',
    "'a%'",
    '"x"',
    '`y`',
    '1',
    '-2.5e400',
    "('a', 'b')",
    'AND',
    'OR',
    '(',
    ')',
  ];
  const filterSoup = fc.oneof(
    fc.string({ maxLength: 60 }),
    fc.string({ maxLength: 30, unit: 'binary' }),
    fc.array(fc.constantFrom(...pieces), { maxLength: 12 }).map((tokens) => tokens.join(' ')),
  );

  it('never throws anything but a 400 MlflowError on arbitrary filters and order_by (property)', () => {
    const sample = [
      run(1, { metrics: metrics({ m: Number.NaN }), params: { p: 'a' }, datasets: [dataset('a', 'd', 'x')] }),
      run(2, { endTime: undefined, tags: { t: 'b' } }),
    ];
    fc.assert(
      fc.property(filterSoup, filterSoup, (filter, orderBy) => {
        for (const action of [
          () => search(sample, { filter }),
          () => search(sample, { orderBy: [orderBy] }),
        ]) {
          try {
            action();
          } catch (error) {
            expect(error).toBeInstanceOf(MlflowError);
            expect(statusOf(error as MlflowError)).toBe(400);
          }
        }
      }),
    );
  });
});

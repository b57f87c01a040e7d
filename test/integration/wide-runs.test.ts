/**
 * Wide runs (issue 13 item 5) over real HTTP: runs of thousands of metric keys, whose latest values spill
 * from LATEST into group items (store/runs/latest-groups.ts). Every answer is checked against a model of
 * what was logged, kept by MLflow's latest-value rule.
 */

import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../shared/store/keys.js';
import type { LatestItem } from '../../shared/store/runs/entity.js';
import { Api } from '../helpers/http.js';
import { serverTable, startTestServer, type TestServer } from '../helpers/server.js';

interface MetricJson {
  key: string;
  value: number | string;
  timestamp: number;
  step: number;
}
interface RunJson {
  info: { run_id: string };
  data: { metrics?: MetricJson[] };
}

let server: TestServer;
let api: Api;
let experimentId: string;

beforeAll(async () => {
  server = await startTestServer();
  api = new Api(server.url);
  const created = await api.post<{ experiment_id: string }>('experiments/create', { name: 'wide-runs' });
  experimentId = created.body.experiment_id;
});
afterAll(async () => {
  await server?.close();
});

async function createRun(experiment = experimentId): Promise<string> {
  const response = await api.post<{ run: RunJson }>('runs/create', { experiment_id: experiment });
  expect(response.status, response.text).toBe(200);
  return response.body.run.info.run_id;
}

/** What was logged, per run and key: the latest point by (step, timestamp, value), as MLflow keeps it. */
class Model {
  readonly latest = new Map<string, Map<string, MetricJson>>();
  readonly points = new Map<string, Map<string, MetricJson[]>>();

  add(runId: string, metrics: readonly MetricJson[]): void {
    const latest = this.latest.get(runId) ?? new Map<string, MetricJson>();
    const points = this.points.get(runId) ?? new Map<string, MetricJson[]>();
    this.latest.set(runId, latest);
    this.points.set(runId, points);
    for (const metric of metrics) {
      const known = latest.get(metric.key);
      if (!known || later(metric, known)) latest.set(metric.key, metric);
      const series = points.get(metric.key) ?? [];
      if (!series.some((point) => same(point, metric))) series.push(metric);
      points.set(metric.key, series);
    }
  }
}

const later = (a: MetricJson, b: MetricJson) =>
  a.step !== b.step
    ? a.step > b.step
    : a.timestamp !== b.timestamp
      ? a.timestamp > b.timestamp
      : Number(a.value) > Number(b.value);
const same = (a: MetricJson, b: MetricJson) =>
  a.step === b.step && a.timestamp === b.timestamp && a.value === b.value && a.key === b.key;

const model = new Model();

async function logBatch(runId: string, metrics: MetricJson[], client = api): Promise<void> {
  const response = await client.post('runs/log-batch', { run_id: runId, metrics });
  expect(response.status, response.text).toBe(200);
  model.add(runId, metrics);
}

async function logMetric(runId: string, metric: MetricJson): Promise<void> {
  const response = await api.post('runs/log-metric', { run_id: runId, ...metric });
  expect(response.status, response.text).toBe(200);
  model.add(runId, [metric]);
}

/** `count` keys from `first`, one point each at `step`, values distinct per key and step. */
const wideStep = (first: number, count: number, step: number, timestamp = 1000 + step): MetricJson[] =>
  Array.from({ length: count }, (_, i) => ({
    key: `k${first + i}`,
    value: (((first + i) * 7919 + step * 104729) % 100_003) / 1000,
    timestamp,
    step,
  }));

async function metricsOf(runId: string): Promise<Map<string, MetricJson>> {
  const response = await api.get<{ run: RunJson }>('runs/get', { run_id: runId });
  expect(response.status, response.text).toBe(200);
  return new Map((response.body.run.data.metrics ?? []).map((metric) => [metric.key, metric]));
}

async function expectLatestAsLogged(runId: string): Promise<void> {
  const got = await metricsOf(runId);
  const wanted = model.latest.get(runId) ?? new Map();
  expect(got.size).toBe(wanted.size);
  // One comparison of the whole map: a failure shows which keys differ.
  expect(Object.fromEntries(got)).toEqual(Object.fromEntries(wanted));
}

/** The run's LATEST item as stored, read beside the server. */
async function latestItem(runId: string): Promise<LatestItem> {
  const table = serverTable(server);
  try {
    const { Item } = await table.doc.send(
      new GetCommand({ TableName: table.tableName, Key: keys.runLatest(runId), ConsistentRead: true }),
    );
    return Item as LatestItem;
  } finally {
    table.destroy();
  }
}

async function history(runId: string, key: string): Promise<Omit<MetricJson, 'key'>[]> {
  const response = await api.get<{ metrics?: MetricJson[] }>('metrics/get-history', {
    run_id: runId,
    metric_key: key,
  });
  expect(response.status, response.text).toBe(200);
  return (response.body.metrics ?? []).map(({ value, timestamp, step }) => ({ value, timestamp, step }));
}

const sortedSeries = (series: readonly MetricJson[]) =>
  [...series]
    .sort((a, b) => (later(a, b) ? 1 : later(b, a) ? -1 : 0))
    .map(({ value, timestamp, step }) => ({ value, timestamp, step }));

describe('a run of 2,000 metric keys', () => {
  let runId: string;

  beforeAll(async () => {
    runId = await createRun();
    // log-batch takes 1,000 metrics per request: two requests a step, then single keys.
    for (const step of [0, 1]) {
      await logBatch(runId, wideStep(0, 1000, step));
      await logBatch(runId, wideStep(1000, 1000, step));
    }
    for (const key of [0, 999, 1000, 1999]) await logMetric(runId, wideStep(key, 1, 2)[0] as MetricJson);
  });

  it('get_run returns every latest value exactly', async () => {
    await expectLatestAsLogged(runId);
    expect((await metricsOf(runId)).size).toBe(2000);
  });

  it('has spilled: LATEST keeps no latest values of its own', async () => {
    const latest = await latestItem(runId);
    expect(latest.lg).toBeGreaterThan(1);
    expect(latest.m).toEqual({});
  });

  it('serves the whole history of a spilled key', async () => {
    for (const key of ['k0', 'k1500', 'k1999']) {
      expect(await history(runId, key)).toEqual(sortedSeries(model.points.get(runId)?.get(key) ?? []));
    }
    expect((await history(runId, 'k1999')).length).toBe(3);
  });

  it('changes nothing when a batch is replayed', async () => {
    const batch = wideStep(0, 1000, 3);
    await logBatch(runId, batch);
    const before = await metricsOf(runId);
    const historyBefore = await history(runId, 'k10');
    await logBatch(runId, batch);
    expect(await metricsOf(runId)).toEqual(before);
    expect(await history(runId, 'k10')).toEqual(historyBefore);
    await expectLatestAsLogged(runId);
  });

  it('keeps the later point when an older one arrives after it', async () => {
    await logMetric(runId, { key: 'k5', value: -1, timestamp: 1, step: 0 });
    await logMetric(runId, { key: 'k1005', value: 99, timestamp: 5000, step: 3 });
    await expectLatestAsLogged(runId);
  });
});

describe('a long series in a wide run', () => {
  it('is sampled by get-history-bulk-interval over all its steps, as in a narrow run', async () => {
    const runId = await createRun();
    await logBatch(runId, wideStep(0, 1000, 0));
    // 40,000 steps of one key in 1,000-point requests: too long to read whole for max_results 5.
    for (let first = 0; first < 40_000; first += 1000) {
      const response = await api.post('runs/log-batch', {
        run_id: runId,
        metrics: Array.from({ length: 1000 }, (_, i) => ({
          key: 'loss',
          value: first + i,
          timestamp: 1_700_000_000_000 + first + i,
          step: first + i,
        })),
      });
      expect(response.status, response.text).toBe(200);
    }
    expect((await latestItem(runId)).lg).toBeGreaterThan(1);
    const response = await api.get<{ metrics: { step: number }[] }>('metrics/get-history-bulk-interval', {
      run_ids: [runId],
      metric_key: 'loss',
      max_results: 5,
    });
    expect(response.status, response.text).toBe(200);
    // MLflow over steps 0…39,999 with max_results 5 picks 0, 8,000, 16,000, 24,000, 32,000 and the last.
    expect(response.body.metrics.map((row) => row.step)).toEqual([0, 8000, 16_000, 24_000, 32_000, 39_999]);
  });
});

describe('a run that was narrow, then spills', () => {
  it('keeps every key it had before and after', async () => {
    const runId = await createRun();
    const names = ['loss', 'accuracy', 'lr', '__proto__', 'constructor', 'a.b/c d'];
    for (const step of [0, 1, 2]) {
      await logBatch(
        runId,
        names.map((key, i) => ({ key, value: step * 10 + i, timestamp: 100 + step, step })),
      );
    }
    await expectLatestAsLogged(runId);
    expect((await latestItem(runId)).lg).toBeUndefined();
    await logBatch(runId, wideStep(0, 1000, 5));
    expect((await latestItem(runId)).lg).toBeGreaterThan(1);
    await expectLatestAsLogged(runId);
    // A key kept from the narrow days moves on in its group, another keeps its old value.
    await logMetric(runId, { key: 'loss', value: 0.01, timestamp: 200, step: 9 });
    await logBatch(runId, wideStep(1000, 1000, 5));
    await expectLatestAsLogged(runId);
    expect((await metricsOf(runId)).size).toBe(2000 + names.length);
    expect(await history(runId, '__proto__')).toEqual(
      sortedSeries(model.points.get(runId)?.get('__proto__') ?? []),
    );
  });
});

describe('concurrent writers to one wide run', () => {
  it('lose nothing, on different keys and on the same keys', async () => {
    const runId = await createRun();
    await logBatch(runId, wideStep(0, 1000, 0));
    const other = new Api(server.url);
    // Two clients: one on k0..k999, one on k500..k1499 (half the keys shared), interleaved, with different
    // timestamps so that the shared keys' latest point depends on both.
    await Promise.all([
      (async () => {
        for (let step = 1; step <= 4; step++) await logBatch(runId, wideStep(0, 1000, step, 5000 + step));
      })(),
      (async () => {
        for (let step = 1; step <= 4; step++) {
          await logBatch(runId, wideStep(500, 1000, step, 5000 - step), other);
        }
      })(),
      (async () => {
        for (let step = 1; step <= 20; step++)
          await logMetric(runId, wideStep(700, 1, step + 4)[0] as MetricJson);
      })(),
    ]);
    await expectLatestAsLogged(runId);
    for (const key of ['k0', 'k700', 'k1499']) {
      expect(await history(runId, key)).toEqual(sortedSeries(model.points.get(runId)?.get(key) ?? []));
    }
  });
});

describe('search over wide runs', () => {
  it('filters and orders by spilled keys as a brute force over get_run does', async () => {
    const created = await api.post<{ experiment_id: string }>('experiments/create', { name: 'wide-search' });
    const experiment = created.body.experiment_id;
    const runIds: string[] = [];
    // 20 runs (enough for paged listings by start time): 3 wide, the rest narrow with the same keys.
    for (let i = 0; i < 20; i++) {
      const runId = await createRun(experiment);
      runIds.push(runId);
      const values = (key: string) => ({ key, value: ((i * 37) % 20) / 4, timestamp: 10, step: 1 });
      if (i % 7 === 0) {
        await logBatch(runId, wideStep(0, 1000, 0));
        await logBatch(runId, [...wideStep(1000, 998, 0), values('k1998'), values('k1999')]);
        await logMetric(runId, { ...values('k1500'), value: i });
      } else {
        await logBatch(runId, [values('k1500'), values('k1999')]);
      }
    }
    const snapshot = new Map<string, Map<string, MetricJson>>();
    for (const runId of runIds) snapshot.set(runId, await metricsOf(runId));
    const value = (runId: string, key: string) => Number(snapshot.get(runId)?.get(key)?.value);
    const search = async (body: Record<string, unknown>) => {
      const found: string[] = [];
      let token: string | undefined;
      do {
        const response = await api.post<{ runs?: RunJson[]; next_page_token?: string }>('runs/search', {
          experiment_ids: [experiment],
          max_results: 7,
          ...body,
          ...(token ? { page_token: token } : {}),
        });
        expect(response.status, response.text).toBe(200);
        for (const run of response.body.runs ?? []) {
          found.push(run.info.run_id);
          // Each answer's runs carry all their latest metrics.
          expect(run.data.metrics?.length).toBe(snapshot.get(run.info.run_id)?.size);
        }
        token = response.body.next_page_token;
      } while (token);
      return found;
    };

    const filtered = await search({ filter: 'metrics.k1999 > 2' });
    expect(filtered.sort()).toEqual(runIds.filter((runId) => value(runId, 'k1999') > 2).sort());
    const ordered = await search({ filter: 'metrics.k1999 > 1', order_by: ['metrics.k1500 DESC'] });
    const wanted = runIds
      .filter((runId) => value(runId, 'k1999') > 1)
      .sort((a, b) => value(b, 'k1500') - value(a, 'k1500') || (a < b ? -1 : 1));
    expect(ordered.map((runId) => value(runId, 'k1500'))).toEqual(
      wanted.map((runId) => value(runId, 'k1500')),
    );
    expect([...ordered].sort()).toEqual([...wanted].sort());
    expect(wanted.length).toBeGreaterThan(3);

    // Ended runs answer from their value entries: a wide run's come from its groups, one per key.
    for (const [i, runId] of runIds.entries()) {
      if (i % 2 === 1) continue;
      const ended = await api.post('runs/update', { run_id: runId, status: 'FINISHED', end_time: 2_000 + i });
      expect(ended.status, ended.text).toBe(200);
    }
    expect((await search({ filter: 'metrics.k1999 > 2' })).sort()).toEqual(filtered.sort());
    expect((await search({ filter: 'metrics.k1998 >= 0' })).sort()).toEqual(
      runIds.filter((runId) => snapshot.get(runId)?.has('k1998')).sort(),
    );
    const reordered = await search({ filter: 'metrics.k1999 > 1', order_by: ['metrics.k1500 DESC'] });
    expect(reordered.map((runId) => value(runId, 'k1500'))).toEqual(
      wanted.map((runId) => value(runId, 'k1500')),
    );
  });
});

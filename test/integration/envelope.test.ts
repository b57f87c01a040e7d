/** GET /api/2.0/cairn/metrics/get-envelope over real HTTP against the local server. */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../shared/store/keys.js';
import { Api } from '../helpers/http.js';
import { serverTable, startTestServer, type TestServer } from '../helpers/server.js';

interface Bucket {
  start_step: number;
  end_step: number;
  min: number | string;
  max: number | string;
  last: number | string;
  last_step: number;
  last_timestamp: number;
  count: number;
}
interface Envelope {
  run_id: string;
  metric_key: string;
  start_step: number;
  end_step: number;
  total_points: number;
  exact: boolean;
  buckets: Bucket[];
}
interface Point {
  step: number;
  timestamp: number;
  value: number | string;
}

let server: TestServer;
let api: Api;
let experimentId: string;

beforeAll(async () => {
  server = await startTestServer();
  api = new Api(server.url);
  const created = await api.post<{ experiment_id: string }>('experiments/create', { name: 'envelope-test' });
  experimentId = created.body.experiment_id;
});
afterAll(async () => {
  await server?.close();
});

async function createRun(): Promise<string> {
  const response = await api.post<{ run: { info: { run_id: string } } }>('runs/create', {
    experiment_id: experimentId,
  });
  expect(response.status, response.text).toBe(200);
  return response.body.run.info.run_id;
}

const SPIKE_STEP = 4321;
const value = (step: number) => (step === SPIKE_STEP ? 1000 : 1 / (1 + step / 100));

/** `steps` points of `loss` through log-batch, `perBatch` per call (several chunks), a spike at SPIKE_STEP. */
async function logSeries(runId: string, from: number, to: number, perBatch: number): Promise<void> {
  for (let start = from; start < to; start += perBatch) {
    const metrics = [];
    for (let step = start; step < Math.min(to, start + perBatch); step++) {
      metrics.push({ key: 'loss', value: value(step), timestamp: 1_700_000_000_000 + step, step });
    }
    const response = await api.post('runs/log-batch', { run_id: runId, metrics });
    expect(response.status, response.text).toBe(200);
  }
}

function envelopes(query: Record<string, string | number | string[]>) {
  const params = new URLSearchParams();
  for (const [key, raw] of Object.entries(query)) {
    for (const item of Array.isArray(raw) ? raw : [raw]) params.append(key, String(item));
  }
  return api.request<{ envelopes: Envelope[] }>('GET', `/api/2.0/cairn/metrics/get-envelope?${params}`);
}

async function history(runId: string): Promise<Point[]> {
  const points: Point[] = [];
  let token: string | undefined;
  do {
    const page = await api.get<{ metrics?: Point[]; next_page_token?: string }>('metrics/get-history', {
      run_id: runId,
      metric_key: 'loss',
      max_results: 25_000,
      ...(token ? { page_token: token } : {}),
    });
    points.push(...(page.body.metrics ?? []));
    token = page.body.next_page_token;
  } while (token);
  return points;
}

/** The same buckets from every point get-history serves. */
function expectedBuckets(points: Point[], edges: { start_step: number; end_step: number }[]) {
  const numeric = (v: number | string) => (typeof v === 'number' ? v : Number(v));
  return edges.flatMap(({ start_step, end_step }) => {
    const inside = points.filter((p) => p.step >= start_step && p.step <= end_step);
    if (inside.length === 0) return [];
    const values = inside.map((p) => numeric(p.value)).filter((v) => !Number.isNaN(v));
    const last = inside.reduce((a, b) =>
      b.step > a.step || (b.step === a.step && b.timestamp >= a.timestamp) ? b : a,
    );
    return [
      {
        start_step,
        end_step,
        min: Math.min(...values),
        max: Math.max(...values),
        last: last.value,
        last_step: last.step,
        last_timestamp: last.timestamp,
        count: inside.length,
      },
    ];
  });
}

describe('get-envelope', () => {
  let runId: string;
  beforeAll(async () => {
    runId = await createRun();
    // Large batches (summarized chunks), then small ones (chunks read whole), then single points (tail).
    await logSeries(runId, 0, 8000, 1000);
    await logSeries(runId, 8000, 9000, 100);
    for (let step = 9000; step < 9010; step++) {
      const response = await api.post('runs/log-metric', {
        run_id: runId,
        key: 'loss',
        value: value(step),
        timestamp: 1_700_000_000_000 + step,
        step,
      });
      expect(response.status).toBe(200);
    }
  });

  it('keeps the spike in max over 10 buckets, reading summaries across edges, and says it is not exact', async () => {
    const response = await envelopes({ run_id: runId, metric_key: 'loss', buckets: 10 });
    expect(response.status, response.text).toBe(200);
    const [envelope] = response.body.envelopes;
    expect(envelope).toMatchObject({ run_id: runId, metric_key: 'loss', start_step: 0, end_step: 9009 });
    expect(envelope?.total_points).toBe(9010);
    const buckets = envelope?.buckets ?? [];
    // Buckets of 901 steps over 1,000-step chunks: chunks across an edge are counted from their summaries.
    expect(envelope?.exact).toBe(false);
    expect(buckets.map((b) => [b.start_step, b.end_step])).toEqual(
      Array.from({ length: 10 }, (_, i) => [i * 901, i === 9 ? 9009 : i * 901 + 900]),
    );
    // The first bucket is exact: the chunk reaching out of it is read (a chart's line starts there).
    const points = await history(runId);
    expect(buckets[0]).toEqual(expectedBuckets(points, [{ start_step: 0, end_step: 900 }])[0]);
    // The spike survives, at most one chunk (1,000 steps) after its own bucket.
    const spiked = buckets.filter((b) => b.max === 1000);
    expect(spiked).toHaveLength(1);
    expect(spiked[0]?.end_step).toBeGreaterThanOrEqual(SPIKE_STEP);
    expect(spiked[0]?.start_step).toBeLessThanOrEqual(SPIKE_STEP + 1000);
    // What stays exact: the range's count, extremes and last point.
    const exact = expectedBuckets(points, [{ start_step: 0, end_step: 9009 }])[0];
    expect(buckets.reduce((n, b) => n + b.count, 0)).toBe(exact?.count);
    expect(Math.max(...buckets.map((b) => Number(b.max)))).toBe(exact?.max);
    expect(Math.min(...buckets.map((b) => Number(b.min)))).toBe(exact?.min);
    expect(buckets.at(-1)).toMatchObject({
      last: exact?.last,
      last_step: exact?.last_step,
      last_timestamp: exact?.last_timestamp,
    });
  });

  it('is exact, and equals a brute force over the history, when bucket edges fall on chunk bounds', async () => {
    const response = await envelopes({ run_id: runId, metric_key: 'loss', buckets: 8, end_step: 7999 });
    expect(response.status, response.text).toBe(200);
    const [envelope] = response.body.envelopes;
    expect(envelope).toMatchObject({ start_step: 0, end_step: 7999, total_points: 8000, exact: true });
    expect(envelope?.buckets.find((b) => b.max === 1000)).toMatchObject({ start_step: 4000, end_step: 4999 });
    expect(envelope?.buckets).toEqual(expectedBuckets(await history(runId), envelope?.buckets ?? []));
  });

  it('zooms into a range with fine buckets', async () => {
    const response = await envelopes({
      run_id: runId,
      metric_key: 'loss',
      buckets: 7,
      start_step: SPIKE_STEP - 50,
      end_step: SPIKE_STEP + 19,
    });
    expect(response.status, response.text).toBe(200);
    const [envelope] = response.body.envelopes;
    expect(envelope).toMatchObject({
      start_step: SPIKE_STEP - 50,
      end_step: SPIKE_STEP + 19,
      total_points: 70,
      // Chunks far wider than these buckets are read whole.
      exact: true,
    });
    expect(envelope?.buckets.map((b) => b.end_step - b.start_step + 1)).toEqual([10, 10, 10, 10, 10, 10, 10]);
    expect(envelope?.buckets[5]).toMatchObject({ max: 1000, count: 10 });
    expect(envelope?.buckets).toEqual(expectedBuckets(await history(runId), envelope?.buckets ?? []));
  });

  it('starts the default range at the first logged step, not at 0', async () => {
    const late = await createRun();
    await logSeries(late, 1_000_000, 1_003_000, 1000);
    const response = await envelopes({ run_id: late, metric_key: 'loss', buckets: 30 });
    expect(response.status, response.text).toBe(200);
    const [envelope] = response.body.envelopes;
    expect(envelope).toMatchObject({ start_step: 1_000_000, end_step: 1_002_999, total_points: 3000 });
    expect(envelope?.buckets.length).toBeGreaterThan(1);
    expect(envelope?.buckets.reduce((total, bucket) => total + bucket.count, 0)).toBe(3000);
    // Only an end step: the range still starts where the points do.
    const until = await envelopes({ run_id: late, metric_key: 'loss', buckets: 10, end_step: 1_001_499 });
    expect(until.body.envelopes[0]).toMatchObject({
      start_step: 1_000_000,
      end_step: 1_001_499,
      total_points: 1500,
    });
  });

  it('answers several runs on one shared range, a run without the key empty', async () => {
    const other = await createRun();
    await logSeries(other, 5000, 12000, 1000);
    const bare = await createRun();
    const response = await envelopes({ run_ids: [runId, other, bare], metric_key: 'loss', buckets: 12 });
    expect(response.status, response.text).toBe(200);
    const [a, b, c] = response.body.envelopes;
    expect([a?.run_id, b?.run_id, c?.run_id]).toEqual([runId, other, bare]);
    for (const envelope of [a, b, c]) expect(envelope).toMatchObject({ start_step: 0, end_step: 11999 });
    expect(b).toMatchObject({ total_points: 7000, exact: true });
    expect(b?.buckets).toEqual(expectedBuckets(await history(other), b?.buckets ?? []));
    expect(c).toMatchObject({ total_points: 0, buckets: [] });
    // run_id may be repeated too.
    const repeated = await envelopes({ run_id: [runId, other], metric_key: 'loss', buckets: 12 });
    expect(repeated.body.envelopes.map((e) => e.run_id)).toEqual([runId, other]);
  });

  it('encodes NaN and infinities as MLflow does, leaving NaN out of min and max', async () => {
    const run = await createRun();
    const metrics = [
      { key: 'odd', value: 'NaN', timestamp: 1, step: 0 },
      { key: 'odd', value: 'Infinity', timestamp: 1, step: 1 },
      { key: 'odd', value: 'NaN', timestamp: 1, step: 2 },
    ];
    expect((await api.post('runs/log-batch', { run_id: run, metrics })).status).toBe(200);
    const response = await envelopes({ run_id: run, metric_key: 'odd', buckets: 3 });
    expect(response.body.envelopes[0]?.buckets).toEqual([
      {
        start_step: 0,
        end_step: 0,
        min: 'NaN',
        max: 'NaN',
        last: 'NaN',
        last_step: 0,
        last_timestamp: 1,
        count: 1,
      },
      {
        start_step: 1,
        end_step: 1,
        min: 'Infinity',
        max: 'Infinity',
        last: 'Infinity',
        last_step: 1,
        last_timestamp: 1,
        count: 1,
      },
      {
        start_step: 2,
        end_step: 2,
        min: 'NaN',
        max: 'NaN',
        last: 'NaN',
        last_step: 2,
        last_timestamp: 1,
        count: 1,
      },
    ]);
  });

  it('reads a run written before summaries existed from its chunks', async () => {
    const old = await createRun();
    const table = serverTable(server);
    try {
      // What a run created before this change looks like: no summary marker on LATEST.
      await table.doc.send(
        new UpdateCommand({
          TableName: table.tableName,
          Key: keys.runLatest(old),
          UpdateExpression: 'REMOVE es',
        }),
      );
    } finally {
      table.destroy();
    }
    await logSeries(old, 0, 3000, 1000);
    const response = await envelopes({ run_id: old, metric_key: 'loss', buckets: 9 });
    expect(response.status, response.text).toBe(200);
    const [envelope] = response.body.envelopes;
    expect(envelope).toMatchObject({ total_points: 3000, exact: true });
    expect(envelope?.buckets).toEqual(expectedBuckets(await history(old), envelope?.buckets ?? []));
  });

  it('refuses bad input naming the field, and unknown runs with 404', async () => {
    const bad = async (query: Record<string, string | number | string[]>, field: string) => {
      const response = await envelopes(query);
      expect(response.status, response.text).toBe(400);
      expect(response.body).toMatchObject({ error_code: 'INVALID_PARAMETER_VALUE' });
      expect(response.text).toContain(field);
    };
    await bad({ run_id: runId }, 'metric_key');
    await bad({ run_id: runId, metric_key: 'loss', buckets: 0 }, 'buckets');
    await bad({ run_id: runId, metric_key: 'loss', buckets: 2001 }, 'buckets');
    await bad({ run_id: runId, metric_key: 'loss', buckets: 'many' }, 'buckets');
    await bad({ run_id: runId, metric_key: 'loss', start_step: 10, end_step: 5 }, 'start_step');
    await bad({ metric_key: 'loss' }, 'run_id');
    const missing = await envelopes({ run_id: 'f'.repeat(32), metric_key: 'loss' });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error_code: 'RESOURCE_DOES_NOT_EXIST' });
  });
});

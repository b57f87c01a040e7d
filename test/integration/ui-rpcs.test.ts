/**
 * MLflow's UI-only RPCs under /ajax-api over HTTP against the local server: get-history-bulk (limits,
 * order, max_results) and experiments/search-datasets; and MLflow's wording for a null required field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let api: Api;

const BULK = '/ajax-api/2.0/mlflow/metrics/get-history-bulk';
const DATASETS = '/ajax-api/2.0/mlflow/experiments/search-datasets';

beforeAll(async () => {
  server = await startTestServer();
  api = new Api(server.url);
});
afterAll(async () => {
  await server?.close();
});

async function experiment(name: string): Promise<string> {
  return (await api.post<{ experiment_id: string }>('experiments/create', { name })).body.experiment_id;
}

async function run(experimentId: string): Promise<string> {
  const response = await api.post<{ run: { info: { run_id: string } } }>('runs/create', {
    experiment_id: experimentId,
  });
  return response.body.run.info.run_id;
}

function bulk(query: Record<string, string | string[] | number>) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    for (const item of Array.isArray(value) ? value : [value]) params.append(key, String(item));
  }
  return api.request<{ metrics?: Record<string, unknown>[] }>('GET', `${BULK}?${params}`);
}

describe('GET /ajax-api/2.0/mlflow/metrics/get-history-bulk', () => {
  it("refuses what MLflow's handler refuses, with its words", async () => {
    const cases: [Record<string, string | string[]>, string][] = [
      [{ metric_key: 'key' }, 'GetMetricHistoryBulk request must specify at least one run_id'],
      [
        { run_id: Array.from({ length: 101 }, (_, i) => `id_${i}`), metric_key: 'key' },
        'GetMetricHistoryBulk request cannot specify more than 100 run_ids. Received 101 run_ids.',
      ],
      [{ run_id: ['123'] }, 'GetMetricHistoryBulk request must specify a metric_key'],
    ];
    for (const [query, message] of cases) {
      const response = await bulk(query);
      expect(response.status, message).toBe(400);
      expect(response.body).toMatchObject({ error_code: 'INVALID_PARAMETER_VALUE' });
      expect(response.text).toContain(message);
    }
    // MLflow serves it to its UI only.
    expect((await api.get('metrics/get-history-bulk', { run_id: '1', metric_key: 'k' })).status).toBe(404);
  });

  it('answers runs by id and each run by timestamp, step and value, up to max_results in all', async () => {
    const experimentId = await experiment('bulk');
    const [first, second, third] = await Promise.all([
      run(experimentId),
      run(experimentId),
      run(experimentId),
    ]);
    const history = [
      { key: 'm', timestamp: 1, step: 2, value: 10 },
      { key: 'm', timestamp: 1, step: 3, value: 11 },
      { key: 'm', timestamp: 1, step: 3, value: 12 },
      { key: 'm', timestamp: 2, step: 3, value: 12 },
      // Logged at a lower step but later: by timestamp it comes last.
      { key: 'm', timestamp: 9, step: 0, value: -1 },
    ];
    for (const metric of history) {
      await api.post('runs/log-metric', { run_id: first, ...metric });
      await api.post('runs/log-metric', { run_id: second, ...metric, value: metric.value + 1 });
    }
    const one = await bulk({ run_id: [first as string], metric_key: 'm' });
    expect(one.status, one.text).toBe(200);
    expect(one.body.metrics).toEqual(history.map((metric) => ({ ...metric, run_id: first })));

    const all = await bulk({ run_id: [third, second, first] as string[], metric_key: 'm' });
    const expected = [
      ...history.map((metric) => ({ ...metric, run_id: first })),
      ...history.map((metric) => ({ ...metric, value: metric.value + 1, run_id: second })),
    ].sort((a, b) => (a.run_id < b.run_id ? -1 : a.run_id > b.run_id ? 1 : 0));
    expect(all.body.metrics).toEqual(expected);

    const limited = await bulk({ run_id: [first, second] as string[], metric_key: 'm', max_results: 7 });
    expect(limited.body.metrics).toEqual(expected.slice(0, 7));
    const none = await bulk({ run_id: [third as string], metric_key: 'm' });
    expect(none.body).toEqual({ metrics: [] });
  });
});

describe('POST /ajax-api/2.0/mlflow/experiments/search-datasets', () => {
  it("refuses what MLflow's handler refuses, with its words", async () => {
    const cases: [unknown, string][] = [
      [{}, 'SearchDatasets request must specify at least one experiment_id.'],
      [{ experiment_ids: [] }, 'SearchDatasets request must specify at least one experiment_id.'],
      [
        { experiment_ids: Array.from({ length: 21 }, (_, i) => String(i)) },
        'SearchDatasets request cannot specify more than 20 experiment_ids. Received 21 experiment_ids.',
      ],
    ];
    for (const [json, message] of cases) {
      const response = await api.request('POST', DATASETS, { json });
      expect(response.status).toBe(400);
      expect(response.body.error_code).toBe('INVALID_PARAMETER_VALUE');
      expect(String(response.body.message)).toContain(message);
    }
  });

  it("summarises the datasets of the experiments' runs once each, with their context", async () => {
    const experimentId = await experiment('datasets');
    const other = await experiment('datasets-other');
    const dataset = (name: string) => ({ name, digest: `d-${name}`, source_type: 'local', source: 's' });
    const [a, b, c] = await Promise.all([run(experimentId), run(experimentId), run(other)]);
    const context = (value: string) => [{ key: 'mlflow.data.context', value }];
    await api.post('runs/log-inputs', {
      run_id: a,
      datasets: [
        { dataset: dataset('train'), tags: context('training') },
        { dataset: dataset('eval'), tags: [] },
      ],
    });
    await api.post('runs/log-inputs', {
      run_id: b,
      datasets: [{ dataset: dataset('train'), tags: context('training') }],
    });
    await api.post('runs/log-inputs', { run_id: c, datasets: [{ dataset: dataset('x'), tags: [] }] });

    const response = await api.request<{ dataset_summaries: Record<string, string>[] }>('POST', DATASETS, {
      json: { experiment_ids: [experimentId] },
    });
    expect(response.status, response.text).toBe(200);
    const byName = (left: { name?: string }, right: { name?: string }) =>
      String(left.name).localeCompare(String(right.name));
    expect(response.body.dataset_summaries.sort(byName)).toEqual([
      { experiment_id: experimentId, name: 'eval', digest: 'd-eval' },
      { experiment_id: experimentId, name: 'train', digest: 'd-train', context: 'training' },
    ]);
    const both = await api.request<{ dataset_summaries: unknown[] }>('POST', DATASETS, {
      json: { experiment_ids: [experimentId, other] },
    });
    expect(both.body.dataset_summaries).toHaveLength(3);
    const empty = await api.request('POST', DATASETS, {
      json: { experiment_ids: [await experiment('none')] },
    });
    expect(empty.body).toEqual({});
  });
});

describe("MLflow's words for a null required field", () => {
  it('says a null run_id or key is missing', async () => {
    const runId = await run(await experiment('nulls'));
    const cases: [Record<string, unknown>, string][] = [
      [
        { run_id: null, key: 'foo', value: 31, timestamp: 59, step: 41 },
        "Missing value for required parameter 'run_id'",
      ],
      [
        { run_id: runId, key: null, value: 31, timestamp: 59, step: 41 },
        "Missing value for required parameter 'key'",
      ],
    ];
    for (const [json, message] of cases) {
      const response = await api.post('runs/log-metric', json);
      expect(response.status).toBe(400);
      expect(response.text).toContain(message);
    }
    // A null optional field is unset, as protobuf reads it.
    const stepless = await api.post('runs/log-metric', {
      run_id: runId,
      key: 'k',
      value: 1,
      timestamp: 2,
      step: null,
    });
    expect(stepless.status, stepless.text).toBe(200);
  });
});

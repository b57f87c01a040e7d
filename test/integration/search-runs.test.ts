/** runs/search over real HTTP: grammar, ordering, view types, several experiments, paging under writes. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

interface RunJson {
  info: { run_id: string; run_name: string; status: string; start_time: number; lifecycle_stage: string };
}

let server: TestServer;
let api: Api;
let first: string;
let second: string;
const ids = new Map<string, string>();

beforeAll(async () => {
  server = await startTestServer();
  api = new Api(server.url);
  first = (await api.post<{ experiment_id: string }>('experiments/create', { name: 'search-a' })).body
    .experiment_id;
  second = (await api.post<{ experiment_id: string }>('experiments/create', { name: 'search-b' })).body
    .experiment_id;
  // run-0 … run-9 in the first experiment, run-10 … run-11 in the second.
  for (let i = 0; i < 12; i++) {
    const created = await api.post<{ run: RunJson }>('runs/create', {
      experiment_id: i < 10 ? first : second,
      run_name: `run-${i}`,
      start_time: 1000 + i,
      tags: [{ key: 'parity', value: i % 2 === 0 ? 'even' : 'odd' }],
    });
    const runId = created.body.run.info.run_id;
    ids.set(`run-${i}`, runId);
    await api.post('runs/log-batch', {
      run_id: runId,
      params: [{ key: 'lr', value: i < 5 ? '0.01' : '0.1' }],
      // run-9 never logs `loss`; run-8 logs NaN.
      metrics: i === 9 ? [] : [{ key: 'loss', value: i === 8 ? 'NaN' : i / 10, timestamp: 1, step: 0 }],
    });
    if (i % 3 === 0) await api.post('runs/update', { run_id: runId, status: 'FINISHED', end_time: 5000 + i });
  }
  await api.post('runs/log-inputs', {
    run_id: ids.get('run-1'),
    datasets: [
      {
        tags: [{ key: 'mlflow.data.context', value: 'training' }],
        dataset: { name: 'digits', digest: 'd1', source_type: 'code', source: '{}' },
      },
    ],
  });
  await api.post('runs/delete', { run_id: ids.get('run-7') });
});
afterAll(async () => {
  await server?.close();
});

async function search(body: Record<string, unknown>) {
  const response = await api.post<{ runs?: RunJson[]; next_page_token?: string }>('runs/search', {
    experiment_ids: [first],
    ...body,
  });
  expect(response.status, response.text).toBe(200);
  return response.body;
}

const names = (body: { runs?: RunJson[] }) => (body.runs ?? []).map((run) => run.info.run_name);
const sorted = (values: string[]) => [...values].sort();

describe('runs/search', () => {
  it('answers the stock client query of the recorded traffic', async () => {
    const body = await search({
      run_view_type: 'ACTIVE_ONLY',
      filter: "params.lr = '0.01' and metrics.loss < 0.3",
      max_results: 10000,
      order_by: ['attributes.start_time DESC'],
    });
    expect(names(body)).toEqual(['run-2', 'run-1', 'run-0']);
  });

  it('filters on each entity', async () => {
    expect(
      sorted(names(await search({ filter: "tags.parity = 'odd' AND attributes.status = 'FINISHED'" }))),
    ).toEqual(['run-3', 'run-9']);
    expect(
      sorted(names(await search({ filter: "attributes.run_name LIKE 'run-_'", run_view_type: 'ALL' }))),
    ).toHaveLength(10);
    expect(
      names(
        await search({
          filter: `attributes.run_id IN ('${ids.get('run-4')}', '${ids.get('run-5')}')`,
          order_by: ['run_name'],
        }),
      ),
    ).toEqual(['run-4', 'run-5']);
    expect(
      names(await search({ filter: "datasets.name = 'digits' AND datasets.context = 'training'" })),
    ).toEqual(['run-1']);
    expect(sorted(names(await search({ filter: 'metrics.loss >= 0.6' })))).toEqual(['run-6']);
    expect(sorted(names(await search({ filter: 'attributes.end_time > 5005' })))).toEqual(['run-6', 'run-9']);
    expect(sorted(names(await search({ filter: 'created < 1002' })))).toEqual(['run-0', 'run-1']);
    expect(
      sorted(names(await search({ filter: 'params.missing IS NULL AND tags.parity IS NOT NULL' }))),
    ).toHaveLength(9);
  });

  it('orders with values first, then NaN, then missing, in both directions, with start_time DESC as tie-break', async () => {
    const ascending = names(await search({ order_by: ['metrics.loss ASC'] }));
    expect(ascending).toEqual([
      'run-0',
      'run-1',
      'run-2',
      'run-3',
      'run-4',
      'run-5',
      'run-6',
      'run-8',
      'run-9',
    ]);
    const descending = names(await search({ order_by: ['metrics.loss DESC'] }));
    expect(descending).toEqual([
      'run-6',
      'run-5',
      'run-4',
      'run-3',
      'run-2',
      'run-1',
      'run-0',
      'run-8',
      'run-9',
    ]);
    expect(names(await search({ order_by: ['params.lr'] }))).toEqual([
      'run-4',
      'run-3',
      'run-2',
      'run-1',
      'run-0',
      'run-9',
      'run-8',
      'run-6',
      'run-5',
    ]);
  });

  it('honours view types and several experiment ids', async () => {
    expect(names(await search({ run_view_type: 'DELETED_ONLY' }))).toEqual(['run-7']);
    expect(names(await search({ run_view_type: 'ALL' }))).toHaveLength(10);
    const both = await search({ experiment_ids: [first, second], run_view_type: 'ALL' });
    expect(names(both)).toHaveLength(12);
    expect(names(both).slice(0, 2)).toEqual(['run-11', 'run-10']);
  });

  it('pages without skipping or repeating while runs are created between pages', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    let page = 0;
    do {
      const body = await search({
        max_results: 3,
        order_by: ['metrics.loss DESC'],
        ...(token ? { page_token: token } : {}),
      });
      seen.push(...names(body));
      token = body.next_page_token;
      if (page++ === 0) {
        const extra = await api.post<{ run: RunJson }>('runs/create', {
          experiment_id: first,
          run_name: 'late',
          start_time: 1,
        });
        await api.post('runs/log-metric', {
          run_id: extra.body.run.info.run_id,
          key: 'loss',
          value: 0.99,
          timestamp: 1,
        });
      }
    } while (token);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(
      expect.arrayContaining([
        'run-0',
        'run-1',
        'run-2',
        'run-3',
        'run-4',
        'run-5',
        'run-6',
        'run-8',
        'run-9',
      ]),
    );
  });

  it('refuses invalid searches with 400 saying what and where', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ filter: 'metrics.loss < 0.5 OR params.lr = 1' }, 'position'],
      [{ filter: "metrics.loss = 'low'" }, 'loss'],
      [{ filter: 'params.lr > 3' }, 'lr'],
      [{ order_by: ['metrics.loss', 'metric.loss DESC'] }, 'loss'],
      [{ max_results: 50001 }, 'at most 50000'],
      [{ experiment_ids: ['x!'] }, 'experiment'],
    ];
    for (const [body, fragment] of cases) {
      const response = await api.post('runs/search', { experiment_ids: [first], ...body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error_code).toBe('INVALID_PARAMETER_VALUE');
      expect(String(response.body.message)).toContain(fragment);
    }
  });
});

describe('runs/search answers that would not fit a Lambda response', () => {
  it('ends a page early with a token and still serves every run exactly once', async () => {
    const experiment = await api.post<{ experiment_id: string }>('experiments/create', { name: 'big-runs' });
    const id = experiment.body.experiment_id;
    const created: string[] = [];
    // 700 runs carrying 8,000-character tags: ~5.7 MB of run JSON, more than one answer may hold.
    for (let start = 0; start < 700; start += 50) {
      const batch = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          api.post<{ run: RunJson }>('runs/create', {
            experiment_id: id,
            run_name: `big-${start + i}`,
            tags: [{ key: 'notes', value: String(start + i).padEnd(8000, '.') }],
          }),
        ),
      );
      created.push(...batch.map((response) => response.body.run.info.run_id));
    }
    const response = await api.post<{ runs: RunJson[]; next_page_token?: string }>('runs/search', {
      experiment_ids: [id],
      max_results: 1000,
    });
    expect(response.status).toBe(200);
    expect(response.text.length).toBeLessThan(6 * 1024 * 1024);
    expect(response.body.runs.length).toBeLessThan(700);
    expect(response.body.next_page_token).toBeDefined();
    const seen = response.body.runs.map((run) => run.info.run_id);
    let token = response.body.next_page_token;
    while (token) {
      const next = await api.post<{ runs: RunJson[]; next_page_token?: string }>('runs/search', {
        experiment_ids: [id],
        max_results: 1000,
        page_token: token,
      });
      seen.push(...next.body.runs.map((run) => run.info.run_id));
      token = next.body.next_page_token;
    }
    expect(seen.sort()).toEqual([...created].sort());
  });

  it('refuses a page token issued for other experiments', async () => {
    const body = await search({ max_results: 1 });
    const other = await api.post('runs/search', {
      experiment_ids: [second],
      max_results: 1,
      page_token: body.next_page_token,
    });
    expect(other.status).toBe(400);
    expect(String(other.body.message)).toContain('page token');
  });
});

/**
 * Index-order searches over HTTP with runs of extreme times and odd names, in every index order and view,
 * one run per page and all at once: never a 5xx, and paging serves exactly the runs of the full page, in
 * its order, also across many experiments.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let api: Api;

beforeAll(async () => {
  server = await startTestServer();
  api = new Api(server.url);
});
afterAll(async () => {
  await server?.close();
});

interface RunJson {
  info: { run_id: string; run_name: string; start_time: number; end_time?: number };
}

async function createExperiment(name: string): Promise<string> {
  const response = await api.post<{ experiment_id: string }>('experiments/create', { name });
  expect(response.status, response.text).toBe(200);
  return response.body.experiment_id;
}

async function createRun(experimentId: string, runName: string, startTime: number): Promise<string> {
  const response = await api.post<{ run: RunJson }>('runs/create', {
    experiment_id: experimentId,
    run_name: runName,
    start_time: startTime,
  });
  expect(response.status, response.text).toBe(200);
  return response.body.run.info.run_id;
}

async function search(body: Record<string, unknown>) {
  const response = await api.post<{ runs?: RunJson[]; next_page_token?: string }>('runs/search', body);
  expect(response.status, `${JSON.stringify(body)} -> ${response.text}`).toBeLessThan(500);
  return response;
}

async function walk(body: Record<string, unknown>, pageSize: number): Promise<string[]> {
  const served: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const response = await search({
      ...body,
      max_results: pageSize,
      ...(token === undefined ? {} : { page_token: token }),
    });
    expect(response.status, response.text).toBe(200);
    served.push(...(response.body.runs ?? []).map((run) => run.info.run_id));
    token = response.body.next_page_token;
    pages++;
  } while (token && pages < 200);
  return served;
}

const ORDERS = [
  [],
  ['attributes.start_time ASC'],
  ['attributes.run_name'],
  ['attributes.run_name DESC'],
  ['attributes.end_time'],
  ['attributes.end_time DESC', 'attributes.start_time ASC'],
];

describe('runs/search in index order over HTTP, at the edges', () => {
  it('extreme times and odd names: no 5xx, paging equals the full page', async () => {
    const experimentId = await createExperiment('review-extremes');
    const names = [
      '',
      '~',
      '~~',
      '#',
      'a#b',
      'a.b',
      '\u0000',
      '\uffff',
      '😀',
      'é',
      'E',
      'x'.repeat(600),
      `${'y'.repeat(450)}1`,
      `${'y'.repeat(450)}0`,
    ];
    const starts = [0, 0, 1, -1, 2 ** 53 - 1, 1.5, 9_007_199_254_740_000, -(2 ** 53 - 1)];
    const runIds: string[] = [];
    for (let i = 0; i < names.length; i++) {
      const response = await api.post<{ run: RunJson }>('runs/create', {
        experiment_id: experimentId,
        run_name: names[i],
        start_time: starts[i % starts.length],
      });
      expect(response.status, response.text).toBeLessThan(500);
      if (response.status === 200) runIds.push(response.body.run.info.run_id);
    }
    // End times at the extremes too.
    const ends = [0, 2 ** 53 - 1, -5, 1.25];
    for (let i = 0; i < runIds.length; i += 3) {
      const response = await api.post('runs/update', {
        run_id: runIds[i],
        status: 'FINISHED',
        end_time: ends[(i / 3) % ends.length],
      });
      expect(response.status, response.text).toBeLessThan(500);
    }
    for (const order_by of ORDERS) {
      for (const run_view_type of ['ACTIVE_ONLY', 'ALL']) {
        const body = { experiment_ids: [experimentId], order_by, run_view_type };
        const all = await walk(body, 1000);
        expect(new Set(all).size, JSON.stringify(body)).toBe(all.length);
        expect(await walk(body, 1), JSON.stringify(body)).toEqual(all);
        expect(await walk(body, 3), JSON.stringify(body)).toEqual(all);
      }
    }
  });

  it('extreme filter values and cursors never 5xx', async () => {
    const experimentId = await createExperiment('review-filters');
    await createRun(experimentId, 'a', 5);
    for (const filter of [
      'attributes.start_time > 1e308',
      'attributes.start_time < -1e308',
      'attributes.end_time > 99999999999999999999',
      "attributes.run_name = '~'",
      "attributes.run_name LIKE '%'",
      'attributes.start_time > 0.5',
    ]) {
      for (const order_by of ORDERS) {
        await search({ experiment_ids: [experimentId], filter, order_by, max_results: 1 });
      }
    }
  });

  it('twelve experiments in one search page the same as all at once', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const experimentId = await createExperiment(`review-many-${i}`);
      ids.push(experimentId);
      for (let j = 0; j < 3; j++) await createRun(experimentId, `r${(i * 7 + j) % 5}`, (i + j) % 4);
    }
    for (const order_by of ORDERS) {
      const body = { experiment_ids: ids, order_by, run_view_type: 'ALL' };
      const all = await walk(body, 1000);
      expect(all.length).toBe(36);
      expect(await walk(body, 5), JSON.stringify(order_by)).toEqual(all);
    }
    // Each page of twelve experiments' full listing makes 12 × 12 Queries (LATEST items in open and ended
    // partitions): ~27 s on a loaded two-core machine, near the 30 s default.
  }, 90_000);
});

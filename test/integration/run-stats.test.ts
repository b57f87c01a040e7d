/**
 * GET /api/2.0/cairn/experiments/run-stats over real HTTP against the local server: counters follow run
 * creates, deletes, restores, terminations and an experiment's cascade, and bad input is a 400.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

interface Stats {
  experiment_id: string;
  active_runs: number;
  deleted_runs: number;
  last_activity?: number;
}

let server: TestServer;
let api: Api;

beforeAll(async () => {
  server = await startTestServer();
  api = new Api(server.url);
});
afterAll(async () => {
  await server?.close();
});

function runStats(ids: readonly string[]) {
  const params = new URLSearchParams();
  for (const id of ids) params.append('experiment_ids', id);
  return api.request<{ stats: Stats[] }>('GET', `/api/2.0/cairn/experiments/run-stats?${params}`);
}

async function statsOf(...ids: string[]): Promise<Stats[]> {
  const response = await runStats(ids);
  expect(response.status, response.text).toBe(200);
  return response.body.stats;
}

async function createExperiment(name: string): Promise<string> {
  const response = await api.post<{ experiment_id: string }>('experiments/create', { name });
  expect(response.status, response.text).toBe(200);
  return response.body.experiment_id;
}

async function createRun(experimentId: string, startTime: number): Promise<string> {
  const response = await api.post<{ run: { info: { run_id: string } } }>('runs/create', {
    experiment_id: experimentId,
    start_time: startTime,
  });
  expect(response.status, response.text).toBe(200);
  return response.body.run.info.run_id;
}

async function ok(endpoint: string, body: unknown): Promise<void> {
  const response = await api.post(endpoint, body);
  expect(response.status, response.text).toBe(200);
}

describe('experiment run counters', () => {
  it('count created, deleted and restored runs, and keep the latest activity', async () => {
    const experimentId = await createExperiment('run-stats-counts');
    const [a, b] = [
      await createRun(experimentId, 1_700_000_001_000),
      await createRun(experimentId, 1_700_000_003_000),
      // An imported run with an old start time must not move last activity back.
      await createRun(experimentId, 1_600_000_000_000),
    ];
    expect(await statsOf(experimentId)).toEqual([
      { experiment_id: experimentId, active_runs: 3, deleted_runs: 0, last_activity: 1_700_000_003_000 },
    ]);

    const beforeDelete = Date.now();
    await ok('runs/delete', { run_id: a });
    // A repeated delete is a no-op in MLflow, and must not count again.
    await ok('runs/delete', { run_id: a });
    const [afterDelete] = await statsOf(experimentId);
    expect(afterDelete).toMatchObject({ active_runs: 2, deleted_runs: 1 });
    expect(afterDelete?.last_activity).toBeGreaterThanOrEqual(beforeDelete);

    await ok('runs/restore', { run_id: a });
    await ok('runs/restore', { run_id: a });
    expect(await statsOf(experimentId)).toMatchObject([{ active_runs: 3, deleted_runs: 0 }]);

    // Terminating is not counted as activity: it would cost every run a second counter write.
    const [beforeEnd] = await statsOf(experimentId);
    await ok('runs/update', { run_id: b, status: 'FINISHED', end_time: Date.now() + 3_600_000 });
    expect(await statsOf(experimentId)).toEqual([beforeEnd]);
  });

  it("follow an experiment's delete and restore to its runs", async () => {
    const experimentId = await createExperiment('run-stats-cascade');
    for (let i = 0; i < 5; i++) await createRun(experimentId, 1_700_000_000_000 + i);
    await ok('experiments/delete', { experiment_id: experimentId });
    expect(await statsOf(experimentId)).toMatchObject([{ active_runs: 0, deleted_runs: 5 }]);
    await ok('experiments/restore', { experiment_id: experimentId });
    expect(await statsOf(experimentId)).toMatchObject([{ active_runs: 5, deleted_runs: 0 }]);
  });

  it('answer several experiments in the order asked, once each, zeros for those without runs', async () => {
    const busy = await createExperiment('run-stats-busy');
    const idle = await createExperiment('run-stats-idle');
    await createRun(busy, 1_700_000_000_000);
    await createRun(busy, 1_700_000_000_000);
    expect(await statsOf(idle, busy, ` ${busy}`, '987654321')).toEqual([
      { experiment_id: idle, active_runs: 0, deleted_runs: 0 },
      { experiment_id: busy, active_runs: 2, deleted_runs: 0, last_activity: 1_700_000_000_000 },
      // No such experiment: nothing counted (as for one from before counters, until `cairn migrate`).
      { experiment_id: '987654321' },
    ]);
  });

  it('answer 100 experiments in one request', async () => {
    const ids = Array.from({ length: 100 }, (_, i) => String(5_000 + i));
    const stats = await statsOf(...ids);
    expect(stats.map((row) => row.experiment_id)).toEqual(ids);
  });

  it('refuse bad input with 400 naming experiment_ids', async () => {
    for (const ids of [[], ['abc'], ['1', '1.5'], Array.from({ length: 101 }, (_, i) => String(i))]) {
      const response = await runStats(ids);
      expect(response.status, response.text).toBe(400);
      expect(response.body).toMatchObject({ error_code: 'INVALID_PARAMETER_VALUE' });
      expect(response.text).toContain('experiment_ids');
    }
  });
});

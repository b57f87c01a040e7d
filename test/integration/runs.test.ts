/** Runs, params, tags, metrics, inputs and outputs over real HTTP against the local server. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, type ApiResponse } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

interface RunJson {
  info: {
    run_id: string;
    run_uuid: string;
    run_name: string;
    experiment_id: string;
    user_id: string;
    status: string;
    start_time: number;
    end_time?: number;
    artifact_uri: string;
    lifecycle_stage: string;
  };
  data: {
    metrics?: { key: string; value: number | string; timestamp: number; step: number }[];
    params?: { key: string; value: string }[];
    tags?: { key: string; value: string }[];
  };
  inputs: {
    dataset_inputs?: { tags?: { key: string; value: string }[]; dataset: Record<string, string> }[];
    model_inputs?: { model_id: string }[];
  };
  outputs: { model_outputs?: { model_id: string; step: number }[] };
}

let server: TestServer;
let api: Api;
let experimentId: string;

beforeAll(async () => {
  server = await startTestServer();
  api = new Api(server.url);
  const created = await api.post<{ experiment_id: string }>('experiments/create', { name: 'runs-test' });
  experimentId = created.body.experiment_id;
});
afterAll(async () => {
  await server?.close();
});

async function createRun(body: Record<string, unknown> = {}): Promise<RunJson> {
  const response = await api.post<{ run: RunJson }>('runs/create', { experiment_id: experimentId, ...body });
  expect(response.status, response.text).toBe(200);
  return response.body.run;
}

async function getRun(runId: string): Promise<RunJson> {
  const response = await api.get<{ run: RunJson }>('runs/get', { run_id: runId });
  expect(response.status, response.text).toBe(200);
  return response.body.run;
}

function expectError(
  response: { status: number; body: Record<string, unknown> },
  status: number,
  code: string,
) {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  expect(response.body.error_code).toBe(code);
}

const tagsOf = (run: RunJson) => Object.fromEntries((run.data.tags ?? []).map((tag) => [tag.key, tag.value]));
const paramsOf = (run: RunJson) => Object.fromEntries((run.data.params ?? []).map((p) => [p.key, p.value]));
const metricsOf = (run: RunJson) => Object.fromEntries((run.data.metrics ?? []).map((m) => [m.key, m]));

async function history(runId: string, key: string, extra: Record<string, string | number> = {}) {
  const points: { value: number | string; timestamp: number; step: number }[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const response = await api.get<{ metrics?: typeof points; next_page_token?: string }>(
      'metrics/get-history',
      {
        run_id: runId,
        metric_key: key,
        max_results: 25000,
        ...extra,
        ...(token ? { page_token: token } : {}),
      },
    );
    expect(response.status, response.text).toBe(200);
    points.push(...(response.body.metrics ?? []));
    token = response.body.next_page_token;
    pages++;
  } while (token);
  return { points, pages };
}

describe('create and get', () => {
  it('creates a RUNNING run with a generated name, the runName tag and an artifact URI under the experiment', async () => {
    const run = await createRun({ user_id: 'alice', start_time: 1234, tags: [{ key: 'team', value: 'ml' }] });
    expect(run.info).toMatchObject({
      run_uuid: run.info.run_id,
      experiment_id: experimentId,
      user_id: 'alice',
      status: 'RUNNING',
      start_time: 1234,
      lifecycle_stage: 'active',
      artifact_uri: `mlflow-artifacts:/${experimentId}/${run.info.run_id}/artifacts`,
    });
    expect(run.info.run_id).toMatch(/^[0-9a-f]{32}$/);
    expect(run.info.run_name).toMatch(/^[a-z]+-[a-z]+-\d{1,3}$/);
    expect(tagsOf(run)).toEqual({ team: 'ml', 'mlflow.runName': run.info.run_name });
    expect(await getRun(run.info.run_id)).toEqual(run);
  });

  it('uses run_name or the mlflow.runName tag, and refuses the two when they differ', async () => {
    expect((await createRun({ run_name: 'named' })).info.run_name).toBe('named');
    expect((await createRun({ tags: [{ key: 'mlflow.runName', value: 'tagged' }] })).info.run_name).toBe(
      'tagged',
    );
    const both = await api.post('runs/create', {
      experiment_id: experimentId,
      run_name: 'a',
      tags: [{ key: 'mlflow.runName', value: 'b' }],
    });
    expectError(both, 400, 'INVALID_PARAMETER_VALUE');
  });

  it('defaults to the Default experiment, refuses unknown and deleted experiments', async () => {
    const response = await api.post<{ run: RunJson }>('runs/create', {});
    expect(response.body.run.info.experiment_id).toBe('0');
    expectError(await api.post('runs/create', { experiment_id: '999999' }), 404, 'RESOURCE_DOES_NOT_EXIST');
    const gone = await api.post<{ experiment_id: string }>('experiments/create', { name: 'gone' });
    await api.post('experiments/delete', { experiment_id: gone.body.experiment_id });
    const refused = await api.post('runs/create', { experiment_id: gone.body.experiment_id });
    expectError(refused, 400, 'INVALID_PARAMETER_VALUE');
  });

  it('answers 404 for an unknown run, 400 for a malformed id, and accepts run_uuid', async () => {
    const missing = await api.get('runs/get', { run_id: 'a'.repeat(32) });
    expectError(missing, 404, 'RESOURCE_DOES_NOT_EXIST');
    expect(missing.body.message).toBe(`Run with id=${'a'.repeat(32)} not found`);
    expectError(await api.get('runs/get', { run_id: '../etc' }), 400, 'INVALID_PARAMETER_VALUE');
    expectError(await api.get('runs/get', {}), 400, 'INVALID_PARAMETER_VALUE');
    const run = await createRun();
    expect((await api.get<{ run: RunJson }>('runs/get', { run_uuid: run.info.run_id })).status).toBe(200);
  });
});

describe('update, delete, restore', () => {
  it('updates status, end time and name (keeping the runName tag in step)', async () => {
    const run = await createRun();
    const response = await api.post<{ run_info: RunJson['info'] }>('runs/update', {
      run_id: run.info.run_id,
      run_uuid: run.info.run_id,
      status: 'FINISHED',
      end_time: 99,
      run_name: 'renamed',
    });
    expect(response.status).toBe(200);
    expect(response.body.run_info).toMatchObject({ status: 'FINISHED', end_time: 99, run_name: 'renamed' });
    const after = await getRun(run.info.run_id);
    expect(after.info).toMatchObject({ status: 'FINISHED', end_time: 99, run_name: 'renamed' });
    expect(tagsOf(after)['mlflow.runName']).toBe('renamed');
    expectError(
      await api.post('runs/update', { run_id: run.info.run_id, status: 'DONE' }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
  });

  it('soft-deletes and restores idempotently; writes to a deleted run are refused', async () => {
    const run = await createRun();
    const id = run.info.run_id;
    expect((await api.post('runs/delete', { run_id: id })).status).toBe(200);
    expect((await api.post('runs/delete', { run_id: id })).status).toBe(200);
    expect((await getRun(id)).info.lifecycle_stage).toBe('deleted');
    for (const [endpoint, body] of [
      ['runs/log-parameter', { run_id: id, key: 'p', value: '1' }],
      ['runs/set-tag', { run_id: id, key: 't', value: '1' }],
      ['runs/log-metric', { run_id: id, key: 'm', value: 1, timestamp: 1 }],
      ['runs/log-batch', { run_id: id, metrics: [{ key: 'm', value: 1, timestamp: 1 }] }],
      ['runs/update', { run_id: id, status: 'FAILED' }],
    ] as const) {
      const response = await api.post(endpoint, body);
      expectError(response, 400, 'INVALID_PARAMETER_VALUE');
      expect(response.body.message).toBe(
        `The run ${id} must be in the 'active' state. Current state is deleted.`,
      );
    }
    expect((await api.post('runs/restore', { run_id: id })).status).toBe(200);
    expect((await getRun(id)).info.lifecycle_stage).toBe('active');
    expectError(await api.post('runs/delete', { run_id: 'b'.repeat(32) }), 404, 'RESOURCE_DOES_NOT_EXIST');
  });

  it("follows its experiment's delete and restore", async () => {
    const experiment = await api.post<{ experiment_id: string }>('experiments/create', { name: 'cascade' });
    const id = experiment.body.experiment_id;
    const runs = await Promise.all([1, 2, 3].map(() => createRun({ experiment_id: id })));
    await api.post('runs/delete', { run_id: runs[0]?.info.run_id });
    await api.post('experiments/delete', { experiment_id: id });
    for (const run of runs) expect((await getRun(run.info.run_id)).info.lifecycle_stage).toBe('deleted');
    await api.post('experiments/restore', { experiment_id: id });
    // MLflow's restore revives every run of the experiment, also one deleted on its own before.
    for (const run of runs) expect((await getRun(run.info.run_id)).info.lifecycle_stage).toBe('active');
  });
});

describe('params and tags', () => {
  it('treats params as write-once: the same value again is a no-op, another value a 400', async () => {
    const id = (await createRun()).info.run_id;
    expect((await api.post('runs/log-parameter', { run_id: id, key: 'lr', value: '0.1' })).status).toBe(200);
    expect((await api.post('runs/log-parameter', { run_id: id, key: 'lr', value: '0.1' })).status).toBe(200);
    const changed = await api.post('runs/log-parameter', { run_id: id, key: 'lr', value: '0.2' });
    expectError(changed, 400, 'INVALID_PARAMETER_VALUE');
    expect(changed.body.message).toBe(
      `Changing param values is not allowed. Param with key='lr' was already logged with value='0.1' for run ID='${id}'. Attempted logging new value '0.2'.`,
    );
    expect(paramsOf(await getRun(id))).toEqual({ lr: '0.1' });
  });

  it('enforces key and value limits at the boundary', async () => {
    const id = (await createRun()).info.run_id;
    const cases: [string, Record<string, unknown>, number][] = [
      ['runs/log-parameter', { key: 'p'.repeat(250), value: 'v'.repeat(6000) }, 200],
      ['runs/log-parameter', { key: 'p'.repeat(251), value: 'v' }, 400],
      ['runs/log-parameter', { key: 'q', value: 'v'.repeat(6001) }, 400],
      ['runs/log-parameter', { key: 'a/../b', value: 'v' }, 400],
      ['runs/set-tag', { key: 't', value: 'v'.repeat(8000) }, 200],
      ['runs/set-tag', { key: 'u', value: 'v'.repeat(8001) }, 400],
      ['runs/set-tag', { key: 'bad;key', value: 'v' }, 400],
      ['runs/log-metric', { key: 'm'.repeat(251), value: 1, timestamp: 1 }, 400],
    ];
    for (const [endpoint, body, status] of cases) {
      const response = await api.post(endpoint, { run_id: id, ...body });
      expect(response.status, `${endpoint} ${JSON.stringify(body).slice(0, 60)}`).toBe(status);
      if (status === 400) expect(response.body.message).toMatch(/'(key|value)'/);
    }
    const run = await getRun(id);
    expect(Object.keys(paramsOf(run))).toEqual(['p'.repeat(250)]);
    expect(tagsOf(run).u).toBeUndefined();
  });

  it('upserts tags, renames the run through mlflow.runName, and 404s deleting a missing tag', async () => {
    const id = (await createRun()).info.run_id;
    await api.post('runs/set-tag', { run_id: id, key: 'stage', value: 'a' });
    await api.post('runs/set-tag', { run_id: id, key: 'stage', value: 'b' });
    await api.post('runs/set-tag', { run_id: id, key: 'mlflow.runName', value: 'via-tag' });
    const run = await getRun(id);
    expect(tagsOf(run).stage).toBe('b');
    expect(run.info.run_name).toBe('via-tag');
    expect((await api.post('runs/delete-tag', { run_id: id, key: 'stage' })).status).toBe(200);
    const missing = await api.post('runs/delete-tag', { run_id: id, key: 'stage' });
    expectError(missing, 404, 'RESOURCE_DOES_NOT_EXIST');
    expect(missing.body.message).toBe(`No tag with name: stage in run with id ${id}`);
  });
});

describe('metrics', () => {
  it('round-trips NaN and ±Infinity as strings, defaults step to 0, and keeps the latest by (step, timestamp, value)', async () => {
    const id = (await createRun()).info.run_id;
    await api.post('runs/log-metric', { run_id: id, key: 'm', value: 'NaN', timestamp: 10 });
    await api.post('runs/log-batch', {
      run_id: id,
      metrics: [
        { key: 'm', value: 'Infinity', timestamp: 11, step: 1 },
        { key: 'm', value: '-Infinity', timestamp: 12, step: 2 },
        { key: 'm', value: 5, timestamp: 99, step: 1 },
        { key: 'n', value: -0.5, timestamp: 1 },
      ],
    });
    const { points } = await history(id, 'm');
    expect(points).toEqual([
      { key: 'm', value: 'NaN', timestamp: 10, step: 0 },
      { key: 'm', value: 'Infinity', timestamp: 11, step: 1 },
      { key: 'm', value: 5, timestamp: 99, step: 1 },
      { key: 'm', value: '-Infinity', timestamp: 12, step: 2 },
    ]);
    const latest = metricsOf(await getRun(id));
    expect(latest.m).toEqual({ key: 'm', value: '-Infinity', timestamp: 12, step: 2 });
    expect(latest.n).toEqual({ key: 'n', value: -0.5, timestamp: 1, step: 0 });
  });

  it('refuses values that are not numbers, and missing timestamps', async () => {
    const id = (await createRun()).info.run_id;
    for (const body of [
      { key: 'm', value: true, timestamp: 1 },
      { key: 'm', value: 'high', timestamp: 1 },
      { key: 'm', value: 1 },
      { key: 'm', value: 1, timestamp: 1.5 },
    ]) {
      expectError(await api.post('runs/log-metric', { run_id: id, ...body }), 400, 'INVALID_PARAMETER_VALUE');
    }
    expect((await history(id, 'm')).points).toEqual([]);
  });

  it('keeps history exactly as one call would when a log-batch is replayed', async () => {
    const id = (await createRun()).info.run_id;
    const batch = {
      run_id: id,
      metrics: Array.from({ length: 300 }, (_, i) => ({
        key: `k${i % 3}`,
        value: i / 7,
        timestamp: 1000 + i,
        step: i,
      })),
    };
    for (let attempt = 0; attempt < 3; attempt++) {
      expect((await api.post('runs/log-batch', batch)).status).toBe(200);
    }
    for (let i = 0; i < 3; i++) expect((await history(id, `k${i}`)).points).toHaveLength(100);
    const single = { run_id: id, key: 'single', value: 1.5, timestamp: 5, step: 0 };
    for (let attempt = 0; attempt < 3; attempt++) await api.post('runs/log-metric', single);
    expect((await history(id, 'single')).points).toHaveLength(1);
  });

  it('loses and duplicates nothing with 20 concurrent writers on one run', async () => {
    const id = (await createRun()).info.run_id;
    // As the stock client does: a 503 (writes to one run contended past the server's retries, likely on
    // a loaded machine) is retried with backoff. Every write must end in 200; anything else fails here.
    const post = async (endpoint: string, body: unknown) => {
      for (let attempt = 0; ; attempt++) {
        const response = await api.post(endpoint, body);
        if (response.status !== 503 || attempt >= 5) {
          expect(response.status, JSON.stringify(response.body)).toBe(200);
          return response;
        }
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
      }
    };
    await Promise.all(
      Array.from({ length: 20 }, (_, writer) =>
        writer % 2 === 0
          ? post('runs/log-batch', {
              run_id: id,
              metrics: Array.from({ length: 50 }, (_, i) => ({
                key: 'shared',
                value: writer,
                timestamp: i,
                step: writer * 100 + i,
              })),
              params: [{ key: `p${writer}`, value: String(writer) }],
            })
          : Promise.all(
              Array.from({ length: 5 }, (_, i) =>
                post('runs/log-metric', {
                  run_id: id,
                  key: 'shared',
                  value: writer,
                  timestamp: i,
                  step: writer * 100 + i,
                }),
              ),
            ),
      ),
    );
    const { points } = await history(id, 'shared');
    expect(points).toHaveLength(10 * 50 + 10 * 5);
    expect(new Set(points.map((point) => point.step)).size).toBe(points.length);
    expect(Object.keys(paramsOf(await getRun(id)))).toHaveLength(10);
    expect(metricsOf(await getRun(id)).shared?.step).toBe(19 * 100 + 4);
  });

  it('pages 30,000 points of history in (step, timestamp) order, 25,000 at most per page', async () => {
    const id = (await createRun()).info.run_id;
    for (let start = 0; start < 30_000; start += 1000) {
      const response = await api.post('runs/log-batch', {
        run_id: id,
        // Logged out of order on purpose: history comes back sorted.
        metrics: Array.from({ length: 1000 }, (_, i) => {
          const step = 29_999 - (start + i);
          return { key: 'long', value: step * 0.5, timestamp: 1_700_000_000_000 + step, step };
        }),
      });
      expect(response.status).toBe(200);
    }
    const { points, pages } = await history(id, 'long');
    expect(pages).toBe(2);
    expect(points).toHaveLength(30_000);
    expect(points.every((point, index) => point.step === index && point.value === index * 0.5)).toBe(true);
    const small = await history(id, 'long', { max_results: 7000 });
    expect(small.pages).toBe(5);
    expect(small.points.map((point) => point.step)).toEqual(points.map((point) => point.step));
    expectError(
      await api.get('metrics/get-history', { run_id: id, metric_key: 'long', page_token: 'x' }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
  });
});

describe('log-batch limits', () => {
  it('accepts the limits and refuses one more of each, writing nothing', async () => {
    const id = (await createRun()).info.run_id;
    const metric = (i: number) => ({ key: `m${i}`, value: i, timestamp: 1, step: 0 });
    const param = (i: number) => ({ key: `p${i}`, value: 'v' });
    const tag = (i: number) => ({ key: `t${i}`, value: 'v' });
    const range = (n: number) => Array.from({ length: n }, (_, i) => i);
    const refused: [string, Record<string, unknown>][] = [
      ['1001 metrics', { metrics: range(1001).map(metric) }],
      ['101 params', { params: range(101).map(param) }],
      ['101 tags', { tags: range(101).map(tag) }],
      ['1001 entities', { metrics: range(901).map(metric), params: range(100).map(param) }],
      ['duplicate params', { params: [param(1), param(1)] }],
      ['over 1 MB', { tags: [{ key: 'big', value: 'x'.repeat(8000) }], pad: 'y'.repeat(1_000_000) }],
    ];
    for (const [what, body] of refused) {
      const response = await api.post('runs/log-batch', { run_id: id, ...body });
      expectError(response, 400, 'INVALID_PARAMETER_VALUE');
      expect(response.body.message, what).toMatch(/at most|Duplicate/);
    }
    const run = await getRun(id);
    expect(run.data.metrics).toBeUndefined();
    expect(run.data.params).toBeUndefined();
    const ok = await api.post('runs/log-batch', {
      run_id: id,
      metrics: range(800).map(metric),
      params: range(100).map(param),
      tags: range(100).map(tag),
    });
    expect(ok.status).toBe(200);
    expect(Object.keys(metricsOf(await getRun(id)))).toHaveLength(800);
  });

  it('applies nothing when one param conflicts', async () => {
    const id = (await createRun()).info.run_id;
    await api.post('runs/log-parameter', { run_id: id, key: 'fixed', value: '1' });
    const response = await api.post('runs/log-batch', {
      run_id: id,
      params: [
        { key: 'fresh', value: 'x' },
        { key: 'fixed', value: '2' },
      ],
      tags: [{ key: 'tag', value: 'y' }],
      metrics: [{ key: 'm', value: 1, timestamp: 1 }],
    });
    expectError(response, 400, 'INVALID_PARAMETER_VALUE');
    const run = await getRun(id);
    expect(paramsOf(run)).toEqual({ fixed: '1' });
    expect(tagsOf(run).tag).toBeUndefined();
    expect(run.data.metrics).toBeUndefined();
  });
});

describe('inputs and outputs', () => {
  it('records dataset inputs once per (name, digest, context) and model outputs', async () => {
    const id = (await createRun()).info.run_id;
    const datasets = [
      {
        tags: [{ key: 'mlflow.data.context', value: 'training' }],
        dataset: { name: 'tiny', digest: 'abc123', source_type: 'code', source: '{}', schema: '{"x":1}' },
      },
    ];
    expect((await api.post('runs/log-inputs', { run_id: id, datasets })).status).toBe(200);
    expect((await api.post('runs/log-inputs', { run_id: id, datasets })).status).toBe(200);
    const created = await api.post<{ model: { info: { model_id: string } } }>('logged-models', {
      experiment_id: (await getRun(id)).info.experiment_id,
      name: 'out',
    });
    const modelId = created.body.model.info.model_id;
    expect(
      (await api.post('runs/outputs', { run_id: id, models: [{ model_id: modelId, step: 3 }] })).status,
    ).toBe(200);
    // An output must name a logged model that exists; the refused request links nothing.
    expectError(
      await api.post('runs/outputs', {
        run_id: id,
        models: [
          { model_id: modelId, step: 4 },
          { model_id: `m-${'0'.repeat(32)}`, step: 5 },
        ],
      }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    const run = await getRun(id);
    expect(run.inputs.dataset_inputs).toEqual([
      {
        tags: [{ key: 'mlflow.data.context', value: 'training' }],
        dataset: { name: 'tiny', digest: 'abc123', source_type: 'code', source: '{}', schema: '{"x":1}' },
      },
    ]);
    expect(run.outputs.model_outputs).toEqual([{ model_id: modelId, step: 3 }]);
    // Models a run used (MLflow 3 logs them when a metric names a model the run neither made nor used).
    expect((await api.post('runs/log-inputs', { run_id: id, models: [{ model_id: modelId }] })).status).toBe(
      200,
    );
    expect((await api.post('runs/log-inputs', { run_id: id, models: [{ model_id: modelId }] })).status).toBe(
      200,
    );
    expectError(
      await api.post('runs/log-inputs', { run_id: id, models: [{ model_id: `m-${'6'.repeat(32)}` }] }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    expect((await getRun(id)).inputs.model_inputs).toEqual([{ model_id: modelId }]);
    const tooLong = await api.post('runs/log-inputs', {
      run_id: id,
      datasets: [{ dataset: { name: 'n', digest: 'd'.repeat(37), source_type: 's', source: 's' } }],
    });
    expectError(tooLong, 400, 'INVALID_PARAMETER_VALUE');
  });
});

describe('get-history-bulk-interval', () => {
  it('samples the pooled steps of several runs and returns each run’s points at them, in request order', async () => {
    const a = (await createRun()).info.run_id;
    const b = (await createRun()).info.run_id;
    await api.post('runs/log-batch', {
      run_id: a,
      metrics: Array.from({ length: 100 }, (_, step) => ({
        key: 'loss',
        value: step,
        timestamp: step,
        step,
      })),
    });
    await api.post('runs/log-batch', {
      run_id: b,
      metrics: [5, 55].map((step) => ({ key: 'loss', value: -step, timestamp: step, step })),
    });
    const response = await api.get<{
      metrics: { run_id: string; step: number; value: number; key: string }[];
    }>('metrics/get-history-bulk-interval', { run_ids: [b, a], metric_key: 'loss', max_results: 10 });
    expect(response.status, response.text).toBe(200);
    const rows = response.body.metrics;
    expect(rows.filter((row) => row.run_id === b).map((row) => row.step)).toEqual([5, 55]);
    const aSteps = rows.filter((row) => row.run_id === a).map((row) => row.step);
    expect(aSteps[0]).toBe(0);
    expect(aSteps.at(-1)).toBe(99);
    expect(aSteps).toEqual(expect.arrayContaining([5, 55]));
    expect(aSteps.length).toBeLessThanOrEqual(13);
    expect(rows.findIndex((row) => row.run_id === a)).toBeGreaterThan(
      rows.findIndex((row) => row.run_id === b),
    );
    expect(rows[0]).toEqual({ key: 'loss', value: -5, timestamp: 5, step: 5, run_id: b });

    const ranged = await api.get<{ metrics: { step: number }[] }>('metrics/get-history-bulk-interval', {
      run_ids: [a],
      metric_key: 'loss',
      start_step: 20,
      end_step: 29,
    });
    expect(ranged.body.metrics.map((row) => row.step)).toEqual(Array.from({ length: 10 }, (_, i) => 20 + i));
  });

  it('samples a series too long to read whole at the steps MLflow picks, and a short one beside it exactly', async () => {
    // 40,000 steps in 1,000-point chunks (~4.5 KB each): past the 64 KB a max_results of 5 reads whole,
    // so the long run is sampled through interval reads (shared/store/history-sample.ts).
    const long = (await createRun()).info.run_id;
    for (let first = 0; first < 40_000; first += 1000) {
      const response = await api.post('runs/log-batch', {
        run_id: long,
        metrics: Array.from({ length: 1000 }, (_, i) => ({
          key: 'loss',
          value: Math.fround(1 / (first + i + 1)),
          timestamp: 1_700_000_000_000 + first + i,
          step: first + i,
        })),
      });
      expect(response.status, response.text).toBe(200);
    }
    const short = (await createRun()).info.run_id;
    await api.post('runs/log-batch', {
      run_id: short,
      metrics: [3, 20_000, 20_001].map((step) => ({ key: 'loss', value: step, timestamp: step, step })),
    });
    type Row = { run_id: string; step: number; value: number; timestamp: number };
    const response = await api.get<{ metrics: Row[] }>('metrics/get-history-bulk-interval', {
      run_ids: [long, short],
      metric_key: 'loss',
      max_results: 5,
    });
    expect(response.status, response.text).toBe(200);
    const longRows = response.body.metrics.filter((row) => row.run_id === long);
    // MLflow over steps 0…39,999 with max_results 5 picks 0, 8,000, 16,000, 24,000, 32,000 and the last.
    expect(longRows.map((row) => row.step)).toEqual([0, 8000, 16_000, 24_000, 32_000, 39_999]);
    for (const row of longRows) {
      expect(row.value).toBe(Math.fround(1 / (row.step + 1)));
      expect(row.timestamp).toBe(1_700_000_000_000 + row.step);
    }
    // The short run: its first logged step in each interval, and its last.
    expect(response.body.metrics.filter((row) => row.run_id === short).map((row) => row.step)).toEqual([
      3, 20_000, 20_001,
    ]);

    // A range inside the long series is read by its own chunks: every step when it fits max_results.
    const ranged = await api.get<{ metrics: Row[] }>('metrics/get-history-bulk-interval', {
      run_ids: [long],
      metric_key: 'loss',
      start_step: 25_990,
      end_step: 26_009,
      max_results: 20,
    });
    expect(ranged.body.metrics.map((row) => row.step)).toEqual(
      Array.from({ length: 20 }, (_, i) => 25_990 + i),
    );
  });

  it('refuses bad requests with MLflow messages', async () => {
    const id = (await createRun()).info.run_id;
    const cases: [Record<string, string | number | string[]>, string][] = [
      [{ metric_key: 'loss' }, "'run_ids'"],
      [
        { run_ids: Array.from({ length: 101 }, (_, i) => String(i).padStart(32, 'a')), metric_key: 'loss' },
        'at most 100',
      ],
      [{ run_ids: [id], metric_key: 'loss', max_results: 2501 }, 'between 1 and 2500'],
      [{ run_ids: [id], metric_key: 'loss', start_step: 3 }, 'both must be specified'],
      [{ run_ids: [id], metric_key: 'loss', start_step: 3, end_step: 1 }, 'greater than start_step'],
      [{ run_ids: [id] }, "'metric_key'"],
    ];
    for (const [query, fragment] of cases) {
      const response = await api.get('metrics/get-history-bulk-interval', query);
      expectError(response, 400, 'INVALID_PARAMETER_VALUE');
      expect(response.body.message).toContain(fragment);
    }
    expectError(
      await api.get('metrics/get-history-bulk-interval', { run_ids: ['c'.repeat(32)], metric_key: 'loss' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
  });
});

describe('storage limits and odd input (found in review)', () => {
  it('refuses what would overflow a run item with a 400, storing nothing', async () => {
    const id = (await createRun()).info.run_id;
    const params = Array.from({ length: 100 }, (_, i) => ({ key: `p${i}`, value: 'v'.repeat(6000) }));
    const response = await api.post('runs/log-batch', { run_id: id, params });
    expectError(response, 400, 'INVALID_PARAMETER_VALUE');
    expect(response.body.message).toContain('storage limit');
    expect((await getRun(id)).data.params).toBeUndefined();
  });

  it('refuses more distinct metric keys than a run can keep latest values for, storing nothing', async () => {
    const id = (await createRun()).info.run_id;
    const key = (i: number) => `${'k'.repeat(240)}${i}`;
    const batch = (offset: number) => ({
      run_id: id,
      metrics: Array.from({ length: 1000 }, (_, i) => ({ key: key(offset + i), value: i, timestamp: 1 })),
    });
    // ~260 bytes of latest value per key: a run keeps ~2.5 MB of them (latest-groups.ts MAX_LATEST_BYTES).
    let accepted = 0;
    let refused: ApiResponse | undefined;
    while (!refused && accepted < 20_000) {
      const response = await api.post('runs/log-batch', batch(accepted));
      if (response.status === 200) accepted += 1000;
      else refused = response;
    }
    expect(accepted).toBeGreaterThanOrEqual(5000);
    if (!refused) throw new Error(`${accepted} keys of 250 bytes were all accepted`);
    expectError(refused, 400, 'INVALID_PARAMETER_VALUE');
    expect(refused.body.message).toContain('distinct metric keys');
    expect(refused.body.message).toContain('latest values');
    expect((await history(id, key(accepted + 500))).points).toEqual([]);
    expect(Object.keys(metricsOf(await getRun(id))).length).toBe(accepted);
  });

  it('stores a wide batch of long multi-byte keys across several mixed chunks', async () => {
    const id = (await createRun()).info.run_id;
    const key = (i: number) => `${'度'.repeat(60)}${i}`;
    const metrics = Array.from({ length: 1000 }, (_, i) => ({
      key: key(i),
      value: i,
      timestamp: 1,
      step: 0,
    }));
    expect((await api.post('runs/log-batch', { run_id: id, metrics })).status).toBe(200);
    expect((await history(id, key(999))).points).toEqual([
      { key: key(999), value: 999, timestamp: 1, step: 0 },
    ]);
  });

  it('refuses negative timestamps, over-long run names and metric keys in history reads', async () => {
    const id = (await createRun()).info.run_id;
    expectError(
      await api.post('runs/log-metric', { run_id: id, key: 'm', value: 1, timestamp: -5 }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
    expectError(
      await api.post('runs/log-batch', { run_id: id, metrics: [{ key: 'm', value: 1, timestamp: -1 }] }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
    expectError(
      await api.post('runs/update', { run_id: id, run_name: 'n'.repeat(8001) }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
    expectError(
      await api.post('runs/create', { experiment_id: experimentId, run_name: 'n'.repeat(8001) }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
    expectError(
      await api.get('metrics/get-history', { run_id: id, metric_key: 'm'.repeat(1100) }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
  });

  it('stores a dataset given twice in one request once', async () => {
    const id = (await createRun()).info.run_id;
    const input = { dataset: { name: 'twice', digest: 'd', source_type: 'code', source: '{}' } };
    await api.post('runs/log-inputs', { run_id: id, datasets: [input, input] });
    expect((await getRun(id)).inputs.dataset_inputs).toHaveLength(1);
  });
});

/** MLflow 3 logged models end to end: real HTTP → local front → tracking handler → dynalite (or DynamoDB Local). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, type ApiResponse } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

interface KeyValue {
  key: string;
  value: string;
}
interface LoggedModelJson {
  info: {
    model_id: string;
    experiment_id: string;
    name: string;
    creation_timestamp_ms: number;
    last_updated_timestamp_ms: number;
    artifact_uri: string;
    status: string;
    model_type?: string;
    source_run_id?: string;
    tags?: KeyValue[];
  };
  data: { params?: KeyValue[] };
}
interface SearchJson {
  models?: LoggedModelJson[];
  next_page_token?: string;
}

let server: TestServer;
let api: Api;
let experimentId: string;
let runId: string;

const path = (suffix = '') => `/api/2.0/mlflow/logged-models${suffix}`;
const send = <T = Record<string, unknown>>(method: string, suffix: string, json?: unknown) =>
  api.request<T>(method, path(suffix), json === undefined ? {} : { json });

function expectError(response: ApiResponse<object>, status: number, code: string, mentions?: string): void {
  const body = response.body as { error_code?: string; message?: string };
  expect(response.status, response.text).toBe(status);
  expect(body.error_code).toBe(code);
  if (mentions) expect(String(body.message)).toContain(mentions);
}

async function createExperiment(name: string): Promise<string> {
  const response = await api.post<{ experiment_id: string }>('experiments/create', { name });
  expect(response.status, response.text).toBe(200);
  return response.body.experiment_id;
}

async function createLoggedModel(body: Record<string, unknown> = {}): Promise<LoggedModelJson> {
  const response = await send<{ model: LoggedModelJson }>('POST', '', {
    experiment_id: experimentId,
    ...body,
  });
  expect(response.status, response.text).toBe(200);
  return response.body.model;
}

async function getLoggedModel(modelId: string, query = ''): Promise<ApiResponse<{ model: LoggedModelJson }>> {
  return send<{ model: LoggedModelJson }>('GET', `/${modelId}${query}`);
}

async function search(body: Record<string, unknown>): Promise<ApiResponse<SearchJson>> {
  return send<SearchJson>('POST', '/search', body);
}

beforeAll(async () => {
  server = await startTestServer();
  api = new Api(server.url);
  experimentId = await createExperiment('logged-models');
  const run = await api.post<{ run: { info: { run_id: string } } }>('runs/create', {
    experiment_id: experimentId,
  });
  runId = run.body.run.info.run_id;
});
afterAll(async () => {
  await server?.close();
});

describe('create and get', () => {
  it('creates a pending model with an m- id, its artifact root, tags and params, and gets it back', async () => {
    const model = await createLoggedModel({
      name: 'm',
      model_type: 'agent',
      source_run_id: runId,
      tags: [{ key: 'mlflow.user', value: 'root' }],
      params: [{ key: 'alpha', value: '0.5' }],
    });
    expect(model.info.model_id).toMatch(/^m-[0-9a-f]{32}$/);
    expect(model.info).toMatchObject({
      experiment_id: experimentId,
      name: 'm',
      model_type: 'agent',
      source_run_id: runId,
      status: 'LOGGED_MODEL_PENDING',
      artifact_uri: `mlflow-artifacts:/${experimentId}/models/${model.info.model_id}/artifacts`,
      tags: [{ key: 'mlflow.user', value: 'root' }],
    });
    expect(model.data.params).toEqual([{ key: 'alpha', value: '0.5' }]);
    expect(model.info.creation_timestamp_ms).toBe(model.info.last_updated_timestamp_ms);

    const fetched = await getLoggedModel(model.info.model_id);
    expect(fetched.status, fetched.text).toBe(200);
    expect(fetched.body.model).toEqual(model);
    // The UI's mount answers the same.
    const ajax = await api.request('GET', `/ajax-api/2.0/mlflow/logged-models/${model.info.model_id}`);
    expect(ajax.body).toEqual(fetched.body);
  });

  it('generates a name when none (or an empty one) is given, as MLflow does', async () => {
    const unnamed = await createLoggedModel();
    const empty = await createLoggedModel({ name: '' });
    for (const model of [unnamed, empty]) expect(model.info.name).toMatch(/^[a-z]+-[a-z]+-\d+$/);
    expect(unnamed.info.model_id).not.toBe(empty.info.model_id);
  });

  it('refuses bad names, a missing experiment id, and unknown experiments, writing nothing', async () => {
    for (const name of ['a/b', 'a:b', 'a.b', 'a%b', 'a"b', "a'b", 'x'.repeat(501)]) {
      expectError(
        await send('POST', '', { experiment_id: experimentId, name }),
        400,
        'INVALID_PARAMETER_VALUE',
        'name',
      );
    }
    expectError(await send('POST', '', { name: 'm' }), 400, 'INVALID_PARAMETER_VALUE', 'experiment_id');
    expectError(
      await send('POST', '', { experiment_id: '98765', name: 'm' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    expectError(
      await send('POST', '', { experiment_id: 'abc' }),
      400,
      'INVALID_PARAMETER_VALUE',
      'experiment_id',
    );
    expectError(
      await send('POST', '', {
        experiment_id: experimentId,
        name: 'badtag',
        tags: [{ key: 'ok', value: 'x'.repeat(100_001) }],
      }),
      400,
      'INVALID_PARAMETER_VALUE',
      'tags[0].value',
    );
    expectError(
      await send('POST', '', {
        experiment_id: experimentId,
        name: 'badparam',
        params: [{ key: '../up', value: '1' }],
      }),
      400,
      'INVALID_PARAMETER_VALUE',
      'params[0].key',
    );
    const found = await search({
      experiment_ids: [experimentId],
      filter: "name IN ('badtag', 'badparam')",
    });
    expect(found.body.models).toBeUndefined();
  });

  it('stores a model whose source run does not exist, as MLflow does (registry.test.ts: its versions are unverified)', async () => {
    const created = await send('POST', '', {
      experiment_id: experimentId,
      name: 'orphan',
      source_run_id: 'f'.repeat(32),
    });
    expect(created.status, created.text).toBe(200);
    expect((created.body as { model: { info: object } }).model.info).toMatchObject({
      name: 'orphan',
      source_run_id: 'f'.repeat(32),
    });
    // MLflow's run id form, which the stock client's tests use for runs that were never created
    const named = await send('POST', '', {
      experiment_id: experimentId,
      name: 'x',
      source_run_id: 'run_id_1',
    });
    expect(named.status, named.text).toBe(200);
    expectError(
      await send('POST', '', { experiment_id: experimentId, name: 'bad', source_run_id: '../x' }),
      400,
      'INVALID_PARAMETER_VALUE',
      'run',
    );
  });

  it('refuses a model in a deleted experiment', async () => {
    const doomed = await createExperiment('logged-models-deleted');
    expect((await api.post('experiments/delete', { experiment_id: doomed })).status).toBe(200);
    expectError(
      await send('POST', '', { experiment_id: doomed, name: 'm' }),
      400,
      'INVALID_PARAMETER_VALUE',
      'active',
    );
  });

  it('answers 404 for unknown and malformed ids', async () => {
    expectError(await getLoggedModel(`m-${'0'.repeat(32)}`), 404, 'RESOURCE_DOES_NOT_EXIST', 'not found');
    expectError(await getLoggedModel('not-a-model'), 404, 'RESOURCE_DOES_NOT_EXIST');
  });
});

describe('finalize, tags, params, delete', () => {
  it('finalizes with the status name or number and refuses unknown statuses', async () => {
    const model = await createLoggedModel({ name: 'fin' });
    const id = model.info.model_id;
    // A failed upload (status as its number), then a retried one that ends READY.
    const failed = await send<{ model: LoggedModelJson }>('PATCH', `/${id}`, { status: 3 });
    expect(failed.body.model.info.status).toBe('LOGGED_MODEL_UPLOAD_FAILED');
    expect((await getLoggedModel(id)).body.model.info.status).toBe('LOGGED_MODEL_UPLOAD_FAILED');
    const ready = await send<{ model: LoggedModelJson }>('PATCH', `/${id}`, {
      model_id: id,
      status: 'LOGGED_MODEL_READY',
    });
    expect(ready.status, ready.text).toBe(200);
    expect(ready.body.model.info.status).toBe('LOGGED_MODEL_READY');
    expect(ready.body.model.info.last_updated_timestamp_ms).toBeGreaterThanOrEqual(
      model.info.last_updated_timestamp_ms,
    );
    // READY is final (its files are sealed): no way back, by name or number.
    expectError(await send('PATCH', `/${id}`, { status: 3 }), 409, 'RESOURCE_CONFLICT', 'LOGGED_MODEL_READY');
    expect((await getLoggedModel(id)).body.model.info.status).toBe('LOGGED_MODEL_READY');

    for (const status of ['DONE', 0, 'LOGGED_MODEL_STATUS_UNSPECIFIED', 9]) {
      expectError(await send('PATCH', `/${id}`, { status }), 400, 'INVALID_PARAMETER_VALUE', 'status');
    }
    expectError(await send('PATCH', `/${id}`, {}), 400, 'INVALID_PARAMETER_VALUE', 'status');
    expectError(
      await send('PATCH', `/${id}`, { model_id: `m-${'1'.repeat(32)}`, status: 'LOGGED_MODEL_READY' }),
      400,
      'INVALID_PARAMETER_VALUE',
      'model_id',
    );
    expectError(
      await send('PATCH', `/m-${'2'.repeat(32)}`, { status: 'LOGGED_MODEL_READY' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
  });

  it('sets tags (upsert), deletes one, and answers 404 for a tag that is not set', async () => {
    const model = await createLoggedModel({ name: 'tagged', tags: [{ key: 'a', value: '1' }] });
    const id = model.info.model_id;
    const set = await send<{ model: LoggedModelJson }>('PATCH', `/${id}/tags`, {
      tags: [
        { key: 'a', value: '2' },
        { key: 'mlflow.modelVersions', value: '[{"name": "demo", "version": 1}]' },
      ],
    });
    expect(set.status, set.text).toBe(200);
    expect(set.body.model.info.tags).toEqual([
      { key: 'a', value: '2' },
      { key: 'mlflow.modelVersions', value: '[{"name": "demo", "version": 1}]' },
    ]);
    expect((await send('DELETE', `/${id}/tags/a`)).status).toBe(200);
    expect((await getLoggedModel(id)).body.model.info.tags).toEqual([
      { key: 'mlflow.modelVersions', value: '[{"name": "demo", "version": 1}]' },
    ]);
    expectError(await send('DELETE', `/${id}/tags/a`), 404, 'RESOURCE_DOES_NOT_EXIST', "'a'");
    // A key with a space arrives percent-encoded and is decoded once.
    await send('PATCH', `/${id}/tags`, { tags: [{ key: 'two words', value: 'v' }] });
    expect((await send('DELETE', `/${id}/tags/two%20words`)).status).toBe(200);
    expectError(
      await send('PATCH', `/${id}/tags`, { tags: [{ key: 'k', value: 'x'.repeat(100_001) }] }),
      400,
      'INVALID_PARAMETER_VALUE',
      'tags[0].value',
    );
    expectError(
      await send('PATCH', `/m-${'3'.repeat(32)}/tags`, { tags: [{ key: 'k', value: 'v' }] }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
  });

  it('loses no tag when 20 clients set different tags at once', async () => {
    const id = (await createLoggedModel({ name: 'contended' })).info.model_id;
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        send('PATCH', `/${id}/tags`, { tags: [{ key: `k${n}`, value: String(n) }] }),
      ),
    );
    for (const response of responses) expect(response.status, response.text).toBe(200);
    const tags = (await getLoggedModel(id)).body.model.info.tags ?? [];
    expect(Object.fromEntries(tags.map((tag) => [tag.key, tag.value]))).toEqual(
      Object.fromEntries(Array.from({ length: 20 }, (_, n) => [`k${n}`, String(n)])),
    );
  });

  it('logs params write-once: the same value is a no-op, another value is refused', async () => {
    const model = await createLoggedModel({ name: 'params', params: [{ key: 'lr', value: '0.1' }] });
    const id = model.info.model_id;
    expect((await send('POST', `/${id}/params`, { params: [{ key: 'depth', value: '4' }] })).status).toBe(
      200,
    );
    expect((await send('POST', `/${id}/params`, { params: [{ key: 'lr', value: '0.1' }] })).status).toBe(200);
    expectError(
      await send('POST', `/${id}/params`, {
        params: [
          { key: 'batch', value: '32' },
          { key: 'lr', value: '0.2' },
        ],
      }),
      400,
      'INVALID_PARAMETER_VALUE',
      'lr',
    );
    const after = await getLoggedModel(id);
    // The refused request wrote nothing, not even its valid param.
    expect(after.body.model.data.params).toEqual([
      { key: 'lr', value: '0.1' },
      { key: 'depth', value: '4' },
    ]);
    expectError(
      await send('POST', `/${id}/params`, { params: [{ key: 'p', value: 'x'.repeat(6001) }] }),
      400,
      'INVALID_PARAMETER_VALUE',
      'params[0].value',
    );
  });

  it('deletes softly: hidden from get and search, readable with allow_deleted, delete is idempotent', async () => {
    const model = await createLoggedModel({ name: 'doomed' });
    const id = model.info.model_id;
    expect((await send('DELETE', `/${id}`)).status).toBe(200);
    expectError(await getLoggedModel(id), 404, 'RESOURCE_DOES_NOT_EXIST');
    const deleted = await getLoggedModel(id, '?allow_deleted=true');
    expect(deleted.status, deleted.text).toBe(200);
    expect(deleted.body.model.info.name).toBe('doomed');
    expect((await send('DELETE', `/${id}`)).status).toBe(200);
    expectError(
      await send('PATCH', `/${id}`, { status: 'LOGGED_MODEL_READY' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    expectError(
      await send('PATCH', `/${id}/tags`, { tags: [{ key: 'k', value: 'v' }] }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    const found = await search({ experiment_ids: [experimentId], filter: "name = 'doomed'" });
    expect(found.body.models).toBeUndefined();
    expectError(await send('DELETE', `/m-${'4'.repeat(32)}`), 404, 'RESOURCE_DOES_NOT_EXIST');
  });
});

describe('search', () => {
  let searchExperiment: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    searchExperiment = await createExperiment('logged-models-search');
    for (const [name, type, tag] of [
      ['alpha', 'sklearn', 'prod'],
      ['beta', 'torch', 'dev'],
      ['gamma', 'sklearn', 'dev'],
      ['delta', 'torch', 'prod'],
      ['epsilon', 'sklearn', 'dev'],
    ] as const) {
      const response = await send<{ model: LoggedModelJson }>('POST', '', {
        experiment_id: searchExperiment,
        name,
        model_type: type,
        tags: [{ key: 'env', value: tag }],
        params: [{ key: 'size', value: String(name.length) }],
      });
      ids[name] = response.body.model.info.model_id;
      // Distinct creation times, so that the default order (newest first) is determined.
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    await send('PATCH', `/${ids.beta}`, { status: 'LOGGED_MODEL_READY' });
  });

  const names = (response: ApiResponse<SearchJson>) => (response.body.models ?? []).map((m) => m.info.name);

  it('lists an experiment newest first and pages without gaps or repeats', async () => {
    const all = await search({ experiment_ids: [searchExperiment] });
    expect(all.status, all.text).toBe(200);
    expect(names(all)).toEqual(['epsilon', 'delta', 'gamma', 'beta', 'alpha']);
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await search({ experiment_ids: [searchExperiment], max_results: 2, page_token: token });
      expect(page.status, page.text).toBe(200);
      expect(page.body.models?.length ?? 0).toBeLessThanOrEqual(2);
      seen.push(...names(page));
      token = page.body.next_page_token;
    } while (token);
    expect(seen).toEqual(names(all));
  });

  it('filters on attributes, params and tags with MLflow comparators', async () => {
    const cases: [string, string[]][] = [
      ["name = 'alpha'", ['alpha']],
      ["name LIKE '%ta'", ['delta', 'beta']],
      ["name ILIKE 'ALPHA'", ['alpha']],
      ["model_type = 'sklearn' AND tags.env = 'dev'", ['epsilon', 'gamma']],
      ["tags.env != 'dev'", ['delta', 'alpha']],
      ["params.size = '5'", ['delta', 'gamma', 'alpha']],
      ["name IN ('beta', 'gamma')", ['gamma', 'beta']],
      ["name NOT IN ('beta', 'gamma')", ['epsilon', 'delta', 'alpha']],
      ["status = 'LOGGED_MODEL_READY'", ['beta']],
      ["status = 'READY'", ['beta']],
      [`model_id = '${'x'}'`, []],
      ['creation_timestamp > 0', ['epsilon', 'delta', 'gamma', 'beta', 'alpha']],
      ["tags.missing = 'x'", []],
    ];
    for (const [filter, expected] of cases) {
      const response = await search({ experiment_ids: [searchExperiment], filter });
      expect(response.status, `${filter}: ${response.text}`).toBe(200);
      expect(names(response), filter).toEqual(expected);
    }
    const byId = await search({ experiment_ids: [searchExperiment], filter: `model_id = '${ids.gamma}'` });
    expect(names(byId)).toEqual(['gamma']);
  });

  it('orders by attributes, either way, with the creation time as the tie-breaker', async () => {
    const byName = await search({
      experiment_ids: [searchExperiment],
      order_by: [{ field_name: 'name', ascending: true }],
    });
    expect(names(byName)).toEqual(['alpha', 'beta', 'delta', 'epsilon', 'gamma']);
    const byType = await search({
      experiment_ids: [searchExperiment],
      order_by: [{ field_name: 'model_type', ascending: false }],
    });
    expect(names(byType)).toEqual(['delta', 'beta', 'epsilon', 'gamma', 'alpha']);
    const oldest = await search({
      experiment_ids: [searchExperiment],
      order_by: [{ field_name: 'creation_timestamp' }],
      max_results: 1,
    });
    expect(names(oldest)).toEqual(['alpha']);
  });

  it('searches several experiments at once and ignores unknown ones', async () => {
    const both = await search({
      experiment_ids: [searchExperiment, experimentId, '424242'],
      filter: "name = 'm'",
    });
    expect(names(both).length).toBeGreaterThan(0);
    expect(new Set((both.body.models ?? []).map((m) => m.info.experiment_id))).toEqual(
      new Set([experimentId]),
    );
  });

  it("answers 50 models by default (the proto default) and 100 for max_results 0 (MLflow's `or None`)", async () => {
    const many = await createExperiment('logged-models-many');
    for (let n = 0; n < 55; n++) {
      const response = await send('POST', '', { experiment_id: many, name: `n${n}` });
      expect(response.status, response.text).toBe(200);
    }
    const byDefault = await search({ experiment_ids: [many] });
    expect(byDefault.body.models).toHaveLength(50);
    expect(byDefault.body.next_page_token).toBeDefined();
    const zero = await search({ experiment_ids: [many], max_results: 0 });
    expect(zero.body.models).toHaveLength(55);
    expect(zero.body.next_page_token).toBeUndefined();
  });

  it("ends a page before it passes 5 MB in Lambda's response (the body escaped once more), and pages on", async () => {
    const big = await createExperiment('logged-models-big');
    // Escaping grows these: a control character is 6 bytes in the body and 7 in Lambda's response, a
    // quote 2 and 4. Each model is ~2.3 MB of response.
    const tags = [
      { key: 'control', value: '\u0001'.repeat(90_000) },
      { key: 'control2', value: '\u0001'.repeat(90_000) },
      { key: 'quotes', value: '"'.repeat(90_000) },
      { key: 'quotes2', value: '"'.repeat(90_000) },
    ];
    for (let n = 0; n < 4; n++) {
      const response = await send('POST', '', { experiment_id: big, name: `big${n}`, tags });
      expect(response.status, response.text).toBe(200);
    }
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await search({ experiment_ids: [big], page_token: token });
      expect(page.status).toBe(200);
      // What Lambda returns: the body as a JSON string inside its response document.
      expect(Buffer.byteLength(JSON.stringify(page.text))).toBeLessThan(5.5 * 1024 * 1024);
      seen.push(...names(page));
      token = page.body.next_page_token;
    } while (token);
    expect(seen.sort()).toEqual(['big0', 'big1', 'big2', 'big3']);
  });

  it('refuses bad filters, orders, datasets, sizes and tokens with 400s naming the problem', async () => {
    const bad: [Record<string, unknown>, string][] = [
      [{}, 'experiment_ids'],
      [{ experiment_ids: [searchExperiment], filter: 'name = ' }, 'filter'],
      [{ experiment_ids: [searchExperiment], filter: "name = 'a' OR name = 'b'" }, 'OR'],
      [{ experiment_ids: [searchExperiment], filter: "colour = 'red'" }, 'colour'],
      [{ experiment_ids: [searchExperiment], filter: "name > 'a'" }, '>'],
      [{ experiment_ids: [searchExperiment], filter: "metrics.acc LIKE 'a'" }, 'LIKE'],
      [{ experiment_ids: [searchExperiment], filter: "creation_timestamp = 'yesterday'" }, 'number'],
      [{ experiment_ids: [searchExperiment], order_by: [{ field_name: 'colour' }] }, 'colour'],
      [{ experiment_ids: [searchExperiment], order_by: [{ field_name: 'params.size' }] }, 'Only metrics'],
      [{ experiment_ids: [searchExperiment], datasets: [{ dataset_digest: 'abc' }] }, 'dataset_name'],
      [{ experiment_ids: [searchExperiment], max_results: -1 }, 'max_results'],
      [{ experiment_ids: [searchExperiment], max_results: 1001 }, 'max_results'],
      [{ experiment_ids: [searchExperiment], page_token: 'garbage' }, 'page token'],
      [{ experiment_ids: ['x1'] }, 'experiment_ids[0]'],
    ];
    for (const [body, mention] of bad) {
      expectError(await search(body), 400, 'INVALID_PARAMETER_VALUE', mention);
    }
    const first = await search({ experiment_ids: [searchExperiment], max_results: 1 });
    expectError(
      await search({
        experiment_ids: [searchExperiment],
        max_results: 1,
        filter: "name = 'alpha'",
        page_token: first.body.next_page_token,
      }),
      400,
      'INVALID_PARAMETER_VALUE',
      'different',
    );
  });
});

describe('metrics logged against a model', () => {
  interface MetricJson {
    key: string;
    value: number | string;
    timestamp: number;
    step: number;
    dataset_name?: string;
    dataset_digest?: string;
    model_id: string;
    run_id?: string;
  }
  const metricsOf = async (modelId: string) =>
    ((await getLoggedModel(modelId)).body.model.data as { metrics?: MetricJson[] }).metrics ?? [];

  it('keeps the latest value per metric and dataset on the model, and the full history on the run', async () => {
    const model = await createLoggedModel({ name: 'scored', source_run_id: runId });
    const id = model.info.model_id;
    const log = (body: Record<string, unknown>) => api.post('runs/log-metric', { run_id: runId, ...body });
    expect((await log({ key: 'acc', value: 0.7, timestamp: 10, step: 0, model_id: id })).status).toBe(200);
    expect((await log({ key: 'acc', value: 0.9, timestamp: 20, step: 1, model_id: id })).status).toBe(200);
    expect((await log({ key: 'acc', value: 0.1, timestamp: 5, step: 0, model_id: id })).status).toBe(200);
    const batch = await api.post('runs/log-batch', {
      run_id: runId,
      metrics: [
        {
          key: 'acc',
          value: 0.8,
          timestamp: 30,
          step: 2,
          model_id: id,
          dataset_name: 'eval',
          dataset_digest: 'd1',
        },
        { key: 'loss', value: 'NaN', timestamp: 30, step: 2, model_id: id },
        { key: 'plain', value: 1, timestamp: 30, step: 2 },
      ],
    });
    expect(batch.status, batch.text).toBe(200);

    const metrics = await metricsOf(id);
    const byName = (key: string, dataset?: string) =>
      metrics.find((metric) => metric.key === key && metric.dataset_name === dataset);
    expect(metrics).toHaveLength(3);
    expect(byName('acc')).toMatchObject({ value: 0.9, timestamp: 20, step: 1, model_id: id, run_id: runId });
    expect(byName('acc', 'eval')).toMatchObject({ value: 0.8, dataset_digest: 'd1' });
    expect(byName('loss')).toMatchObject({ value: 'NaN' });
    const history = await api.get<{ metrics: { value: number }[] }>('metrics/get-history', {
      run_id: runId,
      metric_key: 'acc',
    });
    expect(history.body.metrics.map((point) => point.value).sort()).toEqual([0.1, 0.7, 0.8, 0.9]);

    const scored = await search({ experiment_ids: [experimentId], filter: 'metrics.acc >= 0.85' });
    expect((scored.body.models ?? []).map((m) => m.info.model_id)).toEqual([id]);
    const onEval = await search({
      experiment_ids: [experimentId],
      filter: 'metrics.acc > 0.5',
      datasets: [{ dataset_name: 'eval' }],
    });
    expect((onEval.body.models ?? []).map((m) => m.info.model_id)).toEqual([id]);
  });

  it('refuses oversized dataset fields, and metrics a model cannot hold, before writing the run', async () => {
    const id = (await createLoggedModel({ name: 'small' })).info.model_id;
    expectError(
      await api.post('runs/log-metric', {
        run_id: runId,
        key: 'big',
        value: 1,
        timestamp: 1,
        model_id: id,
        dataset_name: 'd'.repeat(501),
      }),
      400,
      'INVALID_PARAMETER_VALUE',
      'dataset_name',
    );
    expectError(
      await api.post('runs/log-batch', {
        run_id: runId,
        metrics: [
          { key: 'big', value: 1, timestamp: 1 },
          { key: 'big', value: 1, timestamp: 1, model_id: id, dataset_digest: 'd'.repeat(37) },
        ],
      }),
      400,
      'INVALID_PARAMETER_VALUE',
      'metrics[1].dataset_digest',
    );
    // 600 distinct (key, dataset) slots of ~750 bytes each: more than one model item can hold.
    const wide = Array.from({ length: 600 }, (_, n) => ({
      key: `wide-${String(n).padStart(3, '0')}-${'k'.repeat(230)}`,
      value: n,
      timestamp: 1,
      model_id: id,
      dataset_name: 'd'.repeat(500),
    }));
    expectError(
      await api.post('runs/log-batch', { run_id: runId, metrics: wide }),
      400,
      'INVALID_PARAMETER_VALUE',
      'storage limit',
    );
    const run = await api.get<{ run: { data: { metrics?: { key: string }[] } } }>('runs/get', {
      run_id: runId,
    });
    const keys = (run.body.run.data.metrics ?? []).map((metric) => metric.key);
    expect(keys.some((key) => key === 'big' || key.startsWith('wide-'))).toBe(false);
    expect(await metricsOf(id)).toEqual([]);
  });

  it('refuses a request naming more than 100 distinct logged models before reading any', async () => {
    const ids = Array.from({ length: 101 }, (_, n) => `m-${n.toString(16).padStart(32, '0')}`);
    expectError(
      await api.post('runs/outputs', {
        run_id: runId,
        models: ids.map((model_id) => ({ model_id, step: 0 })),
      }),
      400,
      'INVALID_PARAMETER_VALUE',
      '100',
    );
    expectError(
      await api.post('runs/log-inputs', { run_id: runId, models: ids.map((model_id) => ({ model_id })) }),
      400,
      'INVALID_PARAMETER_VALUE',
      '100',
    );
  });

  it('refuses a metric for an unknown model before writing anything to the run', async () => {
    const unknown = `m-${'5'.repeat(32)}`;
    expectError(
      await api.post('runs/log-metric', {
        run_id: runId,
        key: 'ghost',
        value: 1,
        timestamp: 1,
        model_id: unknown,
      }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
      unknown,
    );
    expectError(
      await api.post('runs/log-batch', {
        run_id: runId,
        metrics: [
          { key: 'ghost', value: 1, timestamp: 1 },
          { key: 'ghost', value: 2, timestamp: 2, model_id: unknown },
        ],
      }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    expectError(
      await api.post('runs/log-batch', {
        run_id: runId,
        metrics: [{ key: 'ghost', value: 2, timestamp: 2, model_id: 7 }],
      }),
      400,
      'INVALID_PARAMETER_VALUE',
      'metrics[0].model_id',
    );
    const history = await api.get<{ metrics?: unknown[] }>('metrics/get-history', {
      run_id: runId,
      metric_key: 'ghost',
    });
    expect(history.body.metrics).toBeUndefined();
  });
});

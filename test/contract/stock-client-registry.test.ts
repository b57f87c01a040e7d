/**
 * Replays the stock MLflow client's model registry traffic (mlflow-wire-traces.md sections A–C) byte for
 * byte against the local server — paths and queries exactly as recorded, bodies as `requests` serializes
 * them — and checks every response the way the client parses it: protobuf ParseDict into the response
 * message (field names and JSON types), or `RestException(error_code)` for errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STOCK_CLIENT_HEADERS } from '../fixtures/stock-client-experiments.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
/** The run and the logged model the traces register, created first as the stock client does. */
let RUN_ID = '';
let LOGGED_MODEL_ID = '';
let EXPERIMENT_ID = '';

async function postJson<T>(path: string, body: unknown): Promise<T> {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { ...STOCK_CLIENT_HEADERS, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status, `${path}: ${await response.clone().text()}`).toBe(200);
  return (await response.json()) as T;
}

beforeAll(async () => {
  server = await startTestServer();
  ({ experiment_id: EXPERIMENT_ID } = await postJson<{ experiment_id: string }>(
    '/api/2.0/mlflow/experiments/create',
    { name: 'compat-demo' },
  ));
  RUN_ID = (
    await postJson<{ run: { info: { run_id: string } } }>('/api/2.0/mlflow/runs/create', {
      experiment_id: EXPERIMENT_ID,
    })
  ).run.info.run_id;
  LOGGED_MODEL_ID = (
    await postJson<{ model: { info: { model_id: string } } }>('/api/2.0/mlflow/logged-models', {
      experiment_id: EXPERIMENT_ID,
      name: 'm',
      source_run_id: RUN_ID,
    })
  ).model.info.model_id;
});
afterAll(async () => {
  await server?.close();
});

const STAGES = /^(None|Staging|Production|Archived)$/;

type Expected =
  | 'registered_model'
  | 'registered_models'
  | 'model_version'
  | 'model_versions'
  | 'artifact_uri'
  | 'empty';

/** The ModelVersion message as protobuf's JSON parser would accept it. */
function expectModelVersion(value: unknown): void {
  const version = value as Record<string, unknown>;
  expect(version).toMatchObject({
    name: expect.any(String),
    version: expect.stringMatching(/^\d+$/),
    creation_timestamp: expect.any(Number),
    last_updated_timestamp: expect.any(Number),
    current_stage: expect.stringMatching(STAGES),
    source: expect.any(String),
    status: 'READY',
  });
  const allowed = new Set([
    'name',
    'version',
    'creation_timestamp',
    'last_updated_timestamp',
    'user_id',
    'current_stage',
    'description',
    'source',
    'run_id',
    'status',
    'status_message',
    'tags',
    'run_link',
    'aliases',
    'model_id',
  ]);
  expect(Object.keys(version).filter((key) => !allowed.has(key))).toEqual([]);
  if (version.aliases !== undefined) {
    expect(Array.isArray(version.aliases)).toBe(true);
    for (const alias of version.aliases as unknown[]) expect(typeof alias).toBe('string');
  }
}

function expectRegisteredModel(value: unknown): void {
  const model = value as Record<string, unknown>;
  expect(model).toMatchObject({
    name: expect.any(String),
    creation_timestamp: expect.any(Number),
    last_updated_timestamp: expect.any(Number),
  });
  const allowed = new Set([
    'name',
    'creation_timestamp',
    'last_updated_timestamp',
    'user_id',
    'description',
    'latest_versions',
    'tags',
    'aliases',
  ]);
  expect(Object.keys(model).filter((key) => !allowed.has(key))).toEqual([]);
  for (const version of (model.latest_versions as unknown[] | undefined) ?? []) expectModelVersion(version);
  for (const alias of (model.aliases as unknown[] | undefined) ?? []) {
    expect(alias).toEqual({ alias: expect.any(String), version: expect.stringMatching(/^\d+$/) });
  }
}

async function replay(
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body: string | undefined,
  expected: Expected,
): Promise<Record<string, unknown>> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      ...STOCK_CLIENT_HEADERS,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body,
  });
  const text = await response.text();
  expect(response.status, `${method} ${path}: ${text}`).toBe(200);
  expect(response.headers.get('content-type')).toContain('application/json');
  const parsed = JSON.parse(text) as Record<string, unknown>;
  switch (expected) {
    case 'registered_model':
      expect(Object.keys(parsed)).toEqual(['registered_model']);
      expectRegisteredModel(parsed.registered_model);
      break;
    case 'registered_models':
      expect(
        Object.keys(parsed).every((key) => key === 'registered_models' || key === 'next_page_token'),
      ).toBe(true);
      for (const model of (parsed.registered_models as unknown[] | undefined) ?? [])
        expectRegisteredModel(model);
      break;
    case 'model_version':
      expect(Object.keys(parsed)).toEqual(['model_version']);
      expectModelVersion(parsed.model_version);
      break;
    case 'model_versions':
      expect(Object.keys(parsed).every((key) => key === 'model_versions' || key === 'next_page_token')).toBe(
        true,
      );
      for (const version of (parsed.model_versions as unknown[] | undefined) ?? [])
        expectModelVersion(version);
      break;
    case 'artifact_uri':
      expect(parsed).toEqual({ artifact_uri: expect.any(String) });
      break;
    case 'empty':
      expect(parsed).toEqual({});
      break;
  }
  return parsed;
}

describe('the stock client registry traffic', () => {
  it('section A: register a run model, alias it, read it by alias, move it to Staging', async () => {
    const created = await replay(
      'POST',
      '/api/2.0/mlflow/registered-models/create',
      '{"name": "demo-model"}',
      'registered_model',
    );
    expect(created.registered_model).toMatchObject({ name: 'demo-model' });
    const version = await replay(
      'POST',
      '/api/2.0/mlflow/model-versions/create',
      `{"name": "demo-model", "source": "runs:/${RUN_ID}/outdir", "run_id": "${RUN_ID}"}`,
      'model_version',
    );
    expect(version.model_version).toMatchObject({
      name: 'demo-model',
      version: '1',
      source: `runs:/${RUN_ID}/outdir`,
      run_id: RUN_ID,
      current_stage: 'None',
    });
    await replay(
      'GET',
      '/api/2.0/mlflow/registered-models/get?name=demo-model',
      undefined,
      'registered_model',
    );
    await replay(
      'POST',
      '/api/2.0/mlflow/registered-models/alias',
      '{"name": "demo-model", "alias": "champion", "version": "1"}',
      'empty',
    );
    const byAlias = await replay(
      'GET',
      '/api/2.0/mlflow/registered-models/alias?name=demo-model&alias=champion',
      undefined,
      'model_version',
    );
    expect(byAlias.model_version).toMatchObject({ version: '1', aliases: ['champion'] });
    const model = await replay(
      'GET',
      '/api/2.0/mlflow/registered-models/get?name=demo-model',
      undefined,
      'registered_model',
    );
    expect(model.registered_model).toMatchObject({ aliases: [{ alias: 'champion', version: '1' }] });
    const staged = await replay(
      'POST',
      '/api/2.0/mlflow/model-versions/transition-stage',
      '{"name": "demo-model", "version": "1", "stage": "Staging", "archive_existing_versions": false}',
      'model_version',
    );
    expect(staged.model_version).toMatchObject({ current_stage: 'Staging' });
  });

  it('section B: log_model(registered_model_name=...) registers a logged model and loads it by version', async () => {
    await replay(
      'POST',
      '/api/2.0/mlflow/registered-models/create',
      '{"name": "demo-pyfunc"}',
      'registered_model',
    );
    const version = await replay(
      'POST',
      '/api/2.0/mlflow/model-versions/create',
      `{"name": "demo-pyfunc", "source": "models:/${LOGGED_MODEL_ID}", "model_id": "${LOGGED_MODEL_ID}"}`,
      'model_version',
    );
    // The run comes from the logged model's source run: the client sent none.
    expect(version.model_version).toMatchObject({ version: '1', model_id: LOGGED_MODEL_ID, run_id: RUN_ID });
    await replay(
      'GET',
      '/api/2.0/mlflow/registered-models/get?name=demo-pyfunc',
      undefined,
      'registered_model',
    );
    const uri = await replay(
      'GET',
      '/api/2.0/mlflow/model-versions/get-download-uri?name=demo-pyfunc&version=1',
      undefined,
      'artifact_uri',
    );
    // Where the client then lists and downloads the files: the logged model's artifact location.
    expect(uri.artifact_uri).toBe(`mlflow-artifacts:/${EXPERIMENT_ID}/models/${LOGGED_MODEL_ID}/artifacts`);

    // A second log_model with the same name: RESOURCE_ALREADY_EXISTS, which the client treats as "reuse it".
    const again = await fetch(`${server.url}/api/2.0/mlflow/registered-models/create`, {
      method: 'POST',
      headers: { ...STOCK_CLIENT_HEADERS, 'Content-Type': 'application/json' },
      body: '{"name": "demo-pyfunc"}',
    });
    expect(again.status).toBe(400);
    expect(((await again.json()) as { error_code: string }).error_code).toBe('RESOURCE_ALREADY_EXISTS');
  });

  it('section C: search models and versions, latest versions, delete the alias', async () => {
    const models = await replay(
      'GET',
      "/api/2.0/mlflow/registered-models/search?filter=tag.`mlflow.prompt.is_prompt`+!=+'true'&max_results=5",
      undefined,
      'registered_models',
    );
    expect((models.registered_models as { name: string }[]).map((model) => model.name)).toEqual([
      'demo-model',
      'demo-pyfunc',
    ]);
    const versions = await replay(
      'GET',
      "/api/2.0/mlflow/model-versions/search?filter=name='demo-model'&max_results=10000",
      undefined,
      'model_versions',
    );
    expect((versions.model_versions as { version: string }[]).map((version) => version.version)).toEqual([
      '1',
    ]);
    await replay(
      'GET',
      '/api/2.0/mlflow/registered-models/get?name=demo-model',
      undefined,
      'registered_model',
    );
    const latest = await replay(
      'POST',
      '/api/2.0/mlflow/registered-models/get-latest-versions',
      '{"name": "demo-model", "stages": ["Staging"]}',
      'model_versions',
    );
    expect(latest.model_versions).toEqual([
      expect.objectContaining({ version: '1', current_stage: 'Staging' }),
    ]);
    await replay(
      'GET',
      '/api/2.0/mlflow/registered-models/get?name=demo-model',
      undefined,
      'registered_model',
    );
    await replay(
      'DELETE',
      '/api/2.0/mlflow/registered-models/alias',
      '{"name": "demo-model", "alias": "champion"}',
      'empty',
    );
    const after = await replay(
      'GET',
      '/api/2.0/mlflow/registered-models/get?name=demo-model',
      undefined,
      'registered_model',
    );
    expect((after.registered_model as { aliases?: unknown }).aliases).toBeUndefined();
  });
});

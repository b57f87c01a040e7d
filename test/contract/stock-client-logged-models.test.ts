/**
 * Replays MLflow 3's `pyfunc.log_model(name='m', ..., registered_model_name='demo-pyfunc')` followed by
 * `load_model('models:/demo-pyfunc/1')` and `load_model('models:/m-<id>')` (mlflow-wire-traces.md section
 * B) request by request, in the recorded order, with the bodies `requests` sends, and reads each answer
 * the way the client does: the LoggedModel / ModelVersion messages by field name, `artifact_uri` and
 * `root_uri` resolved against the tracking URI, listings walked, files fetched through their 307.
 * Section A's `logged-models/search` (download_artifacts asking whether a path names a model) too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STOCK_CLIENT_HEADERS } from '../fixtures/stock-client-experiments.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

const LOGGED_MODEL_INFO_FIELDS = new Set([
  'model_id',
  'experiment_id',
  'name',
  'creation_timestamp_ms',
  'last_updated_timestamp_ms',
  'artifact_uri',
  'status',
  'creator_id',
  'model_type',
  'source_run_id',
  'status_message',
  'tags',
  'registrations',
]);

interface LoggedModelJson {
  info: Record<string, unknown> & { model_id: string; artifact_uri: string; status: string };
  data: { params?: { key: string; value: string }[] };
}

/** The LoggedModel message as protobuf's ParseDict would accept it (unknown fields would raise). */
function expectLoggedModel(value: unknown): LoggedModelJson {
  const model = value as LoggedModelJson;
  expect(Object.keys(model).sort()).toEqual(['data', 'info']);
  expect(Object.keys(model.info).filter((key) => !LOGGED_MODEL_INFO_FIELDS.has(key))).toEqual([]);
  expect(model.info).toMatchObject({
    model_id: expect.stringMatching(/^m-[0-9a-f]{32}$/),
    experiment_id: expect.stringMatching(/^\d+$/),
    name: expect.any(String),
    creation_timestamp_ms: expect.any(Number),
    last_updated_timestamp_ms: expect.any(Number),
    artifact_uri: expect.any(String),
    status: expect.stringMatching(/^LOGGED_MODEL_(PENDING|READY|UPLOAD_FAILED)$/),
  });
  expect(Object.keys(model.data).filter((key) => key !== 'params' && key !== 'metrics')).toEqual([]);
  return model;
}

async function call(
  method: string,
  path: string,
  body?: string,
  contentType = 'application/json',
): Promise<Record<string, unknown>> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...STOCK_CLIENT_HEADERS, ...(body === undefined ? {} : { 'Content-Type': contentType }) },
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  expect(response.status, `${method} ${path}: ${text}`).toBe(200);
  return JSON.parse(text) as Record<string, unknown>;
}

/** `mlflow-artifacts:/<path>` as the client resolves it: against the tracking URI's artifact service. */
function artifactPath(uri: string): string {
  expect(uri).toMatch(/^mlflow-artifacts:\/[^/]/);
  return uri.slice('mlflow-artifacts:/'.length);
}

async function listArtifacts(path: string): Promise<{ path: string; is_dir: boolean; file_size?: number }[]> {
  const answer = await call('GET', `/api/2.0/mlflow-artifacts/artifacts?path=${path}`);
  return (answer.files ?? []) as { path: string; is_dir: boolean; file_size?: number }[];
}

/** `requests` follows the 307 with the same method and without the Authorization header. */
async function download(path: string): Promise<string> {
  const first = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/${path}`, {
    headers: STOCK_CLIENT_HEADERS,
    redirect: 'manual',
  });
  expect(first.status, path).toBe(307);
  const second = await fetch(first.headers.get('location') as string);
  expect(second.status).toBe(200);
  return second.text();
}

const FILES: Record<string, [string, string]> = {
  'requirements.txt': ['mlflow', 'text/plain'],
  MLmodel: ['artifact_path: m\nflavors:\n  python_function: {}\nmodel_id: MODEL_ID\n', 'text/plain'],
  'python_env.yaml': ['python: 3.11\n', 'text/plain'],
  'python_model.pkl': ['\u0080\u0004pickle', 'application/octet-stream'],
  'conda.yaml': ['name: mlflow-env\n', 'text/plain'],
};

describe('stock client: MLflow 3 log_model + registration + load_model (section B)', () => {
  it('serves every request of the flow, and the model loads by version and by id', async () => {
    const experiment = await call('POST', '/api/2.0/mlflow/experiments/create', '{"name": "compat-demo"}');
    const experimentId = experiment.experiment_id as string;
    await call('GET', '/api/2.0/mlflow/experiments/get-by-name?experiment_name=compat-demo');
    const run = (await call(
      'POST',
      '/api/2.0/mlflow/runs/create',
      `{"experiment_id": "${experimentId}", "user_id": "root", "start_time": 1795702393841, "tags": [{"key": "mlflow.user", "value": "root"}, {"key": "mlflow.source.name", "value": "demo.py"}, {"key": "mlflow.source.type", "value": "LOCAL"}]}`,
    )) as { run: { info: { run_id: string } } };
    const runId = run.run.info.run_id;
    await call('GET', `/api/2.0/mlflow/runs/get?run_uuid=${runId}&run_id=${runId}`);

    // log_model: create the logged model, link it to the run, read it back.
    const created = expectLoggedModel(
      (
        await call(
          'POST',
          '/api/2.0/mlflow/logged-models',
          `{"experiment_id": "${experimentId}", "name": "m", "source_run_id": "${runId}", "tags": [{"key": "mlflow.user", "value": "root"}, {"key": "mlflow.source.name", "value": "demo.py"}, {"key": "mlflow.source.type", "value": "LOCAL"}]}`,
        )
      ).model,
    );
    const modelId = created.info.model_id;
    expect(created.info).toMatchObject({
      experiment_id: experimentId,
      name: 'm',
      source_run_id: runId,
      status: 'LOGGED_MODEL_PENDING',
      artifact_uri: `mlflow-artifacts:/${experimentId}/models/${modelId}/artifacts`,
    });
    expect(
      await call(
        'POST',
        '/api/2.0/mlflow/runs/outputs',
        `{"run_id": "${runId}", "models": [{"model_id": "${modelId}", "step": 0}]}`,
      ),
    ).toEqual({});
    const runWithOutput = (await call(
      'GET',
      `/api/2.0/mlflow/runs/get?run_uuid=${runId}&run_id=${runId}`,
    )) as {
      run: { outputs?: { model_outputs?: unknown[] } };
    };
    expect(runWithOutput.run.outputs?.model_outputs).toEqual([{ model_id: modelId, step: 0 }]);
    const fetched = expectLoggedModel((await call('GET', `/api/2.0/mlflow/logged-models/${modelId}`)).model);

    // The files go under the model's artifact root, which the client resolves from artifact_uri.
    const root = artifactPath(fetched.info.artifact_uri);
    for (const [name, [content, type]] of Object.entries(FILES)) {
      expect(
        await call(
          'PUT',
          `/api/2.0/mlflow-artifacts/artifacts/${root}/${name}`,
          content.replace('MODEL_ID', modelId),
          type,
        ),
      ).toEqual({});
    }
    const ready = expectLoggedModel(
      (
        await call(
          'PATCH',
          `/api/2.0/mlflow/logged-models/${modelId}`,
          `{"model_id": "${modelId}", "status": "LOGGED_MODEL_READY"}`,
        )
      ).model,
    );
    expect(ready.info.status).toBe('LOGGED_MODEL_READY');

    // registered_model_name: create (or reuse) the registered model, register the logged model.
    await call('POST', '/api/2.0/mlflow/registered-models/create', '{"name": "demo-pyfunc"}');
    const version = (await call(
      'POST',
      '/api/2.0/mlflow/model-versions/create',
      `{"name": "demo-pyfunc", "source": "models:/${modelId}", "model_id": "${modelId}"}`,
    )) as { model_version: Record<string, unknown> };
    expect(version.model_version).toMatchObject({
      name: 'demo-pyfunc',
      version: '1',
      source: `models:/${modelId}`,
      model_id: modelId,
      run_id: runId,
      status: 'READY',
    });
    await call('GET', `/api/2.0/mlflow/logged-models/${modelId}`);
    await call('GET', `/api/2.0/mlflow/logged-models/${modelId}`);
    const tagged = expectLoggedModel(
      (
        await call(
          'PATCH',
          `/api/2.0/mlflow/logged-models/${modelId}/tags`,
          '{"tags": [{"key": "mlflow.modelVersions", "value": "[{\\"name\\": \\"demo-pyfunc\\", \\"version\\": 1}]"}]}',
        )
      ).model,
    );
    expect(tagged.info.tags).toContainEqual({
      key: 'mlflow.modelVersions',
      value: '[{"name": "demo-pyfunc", "version": 1}]',
    });
    await call('GET', `/api/2.0/mlflow/runs/get?run_uuid=${runId}&run_id=${runId}`);
    await call(
      'POST',
      '/api/2.0/mlflow/runs/update',
      `{"run_uuid": "${runId}", "status": "FINISHED", "end_time": 1795702395199, "run_id": "${runId}"}`,
    );

    // load_model('models:/demo-pyfunc/1'): the download URI is the logged model's artifact root.
    await call('GET', '/api/2.0/mlflow/registered-models/get?name=demo-pyfunc');
    const uri = await call(
      'GET',
      '/api/2.0/mlflow/model-versions/get-download-uri?name=demo-pyfunc&version=1',
    );
    expect(uri.artifact_uri).toBe(fetched.info.artifact_uri);
    const listed = await listArtifacts(artifactPath(uri.artifact_uri as string));
    expect(listed.map((file) => file.path).sort()).toEqual(Object.keys(FILES).sort());
    for (const file of listed) expect(file.is_dir).toBe(false);
    for (const name of Object.keys(FILES)) {
      expect(await download(`${root}/${name}`)).toBe(
        (FILES[name] as [string, string])[0].replace('MODEL_ID', modelId),
      );
    }

    // load_model('models:/m-<id>'): the logged model, then its artifact root.
    const byId = expectLoggedModel((await call('GET', `/api/2.0/mlflow/logged-models/${modelId}`)).model);
    expect(await listArtifacts(artifactPath(byId.info.artifact_uri))).toEqual(listed);

    // The model's own listing endpoint answers the same files, relative to its root.
    const directories = await call('GET', `/api/2.0/mlflow/logged-models/${modelId}/artifacts/directories`);
    expect(directories.root_uri).toBe(fetched.info.artifact_uri);
    expect((directories.files as { path: string }[]).map((file) => file.path).sort()).toEqual(
      Object.keys(FILES).sort(),
    );
  });
});

describe('stock client: download_artifacts asks whether a path names a logged model (section A)', () => {
  it('answers the search with no models for a run directory name', async () => {
    const experiment = await call('POST', '/api/2.0/mlflow/experiments/create', '{"name": "compat-search"}');
    const answer = await call(
      'POST',
      '/api/2.0/mlflow/logged-models/search',
      `{"experiment_ids": ["${experiment.experiment_id as string}"], "filter": "name = 'outdir'"}`,
    );
    // An empty SearchLoggedModels.Response: protobuf's JSON printer omits the empty list.
    expect(answer).toEqual({});
  });
});

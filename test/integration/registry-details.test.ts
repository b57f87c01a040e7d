/**
 * Registry details MLflow's clients read, over HTTP against the local server: a deleted version moves
 * its model's last_updated_timestamp, a version without a description prints '', and a
 * `models:/<name>/<version>` source (copy_model_version) is stored where the copied version's files are.
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

interface VersionJson {
  version: string;
  source: string;
  description?: string;
  run_id?: string;
}

async function model(name: string): Promise<number> {
  const created = await api.post<{ registered_model: { last_updated_timestamp: number } }>(
    'registered-models/create',
    { name },
  );
  expect(created.status, created.text).toBe(200);
  return created.body.registered_model.last_updated_timestamp;
}

async function version(name: string, source: string, extra: Record<string, unknown> = {}) {
  const created = await api.post<{ model_version: VersionJson }>('model-versions/create', {
    name,
    source,
    ...extra,
  });
  expect(created.status, created.text).toBe(200);
  return created.body.model_version;
}

async function lastUpdated(name: string): Promise<number> {
  return (
    await api.get<{ registered_model: { last_updated_timestamp: number } }>('registered-models/get', { name })
  ).body.registered_model.last_updated_timestamp;
}

describe('registry details as MLflow answers them', () => {
  it("moves the model's last_updated_timestamp when a version is deleted", async () => {
    await model('rd-delete');
    await version('rd-delete', 's3://bucket/model');
    const before = await lastUpdated('rd-delete');
    // The clock must move on for the change to show: wait until it has.
    while (Date.now() <= before) await new Promise((resolve) => setImmediate(resolve));
    const deleted = await api.request('DELETE', '/api/2.0/mlflow/model-versions/delete', {
      json: { name: 'rd-delete', version: '1' },
    });
    expect(deleted.status, deleted.text).toBe(200);
    expect(await lastUpdated('rd-delete')).toBeGreaterThan(before);
  });

  it("prints a version's unset description as '', and a set one as itself", async () => {
    await model('rd-description');
    expect((await version('rd-description', 's3://bucket/model')).description).toBe('');
    const got = await api.get<{ model_version: VersionJson }>('model-versions/get', {
      name: 'rd-description',
      version: '1',
    });
    expect(got.body.model_version.description).toBe('');
    expect((await version('rd-description', 's3://bucket/model', { description: 'd' })).description).toBe(
      'd',
    );
  });

  it("stores a models:/<name>/<version> source where that version's files are", async () => {
    await model('rd-copy');
    await version('rd-copy', 'runs:/run_id/model', { run_id: 'run_id_1', description: 'dummy' });
    const copy = await version('rd-copy', 'models:/rd-copy/1', { run_id: 'run_id_1' });
    expect(copy.version).toBe('2');
    expect(copy.source).toBe('models:/rd-copy/1');
    const uri = await api.get<{ artifact_uri: string }>('model-versions/get-download-uri', {
      name: 'rd-copy',
      version: '2',
    });
    expect(uri.body.artifact_uri).toBe('runs:/run_id/model');
    // A copy of a version that does not exist is stored as given, as other foreign sources are.
    const missing = await version('rd-copy', 'models:/rd-copy/9');
    const missingUri = await api.get<{ artifact_uri: string }>('model-versions/get-download-uri', {
      name: 'rd-copy',
      version: missing.version,
    });
    expect(missingUri.body.artifact_uri).toBe('models:/rd-copy/9');
  });
});

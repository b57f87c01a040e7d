/**
 * Issue 11, item 5: after a guarded promotion a write token replaced model.pkl under the version's source
 * and the alias served it; a finalized logged model's files stayed writable. Here, over HTTP to the real
 * local server: every write path (proxied PUT, DELETE, presigned upload URL, multipart create and
 * complete) into a registered version's source or a READY logged model answers 409 and changes nothing,
 * writes elsewhere in the same run still work, versions registered before seals existed are sealed by
 * their next promotion, and the promotion's audit entry records the files (ETags) that passed it.
 */
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactSealKey, runKey } from '../../shared/store/keys.js';
import { Api, type ApiResponse } from '../helpers/http.js';
import { serverTable, startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let api: Api;
let experimentId: string;
let runId: string;
let root: string;

const ARTIFACTS = '/api/2.0/mlflow-artifacts';
const ORIGINAL = 'the model that passed the policy';

const put = (path: string, body: string) => api.request('PUT', `${ARTIFACTS}/artifacts/${path}`, { body });
const del = (path: string) => api.request('DELETE', `${ARTIFACTS}/artifacts/${path}`);
const mpuCreate = (dir: string, file: string) =>
  api.request<{ upload_id: string; credentials: { url: string }[] }>(
    'POST',
    `${ARTIFACTS}/mpu/create/${dir}`,
    {
      json: { path: `/tmp/local/${file}`, num_parts: 1 },
    },
  );

/** The file's bytes as a client downloads them (307 to a presigned GET), or the status when absent. */
async function download(path: string): Promise<string | number> {
  const answer = await api.request('GET', `${ARTIFACTS}/artifacts/${path}`);
  if (answer.status !== 307) return answer.status;
  return (await fetch(answer.headers.get('location') as string)).text();
}

function expectImmutable(answer: ApiResponse, why: RegExp) {
  expect(answer.status, answer.text).toBe(409);
  expect(answer.body.error_code).toBe('RESOURCE_CONFLICT');
  expect(answer.body.message).toMatch(why);
}

async function newRun(): Promise<{ runId: string; root: string }> {
  const run = await api.post<{ run: { info: { run_id: string } } }>('runs/create', {
    experiment_id: experimentId,
  });
  const id = run.body.run.info.run_id;
  return { runId: id, root: `${experimentId}/${id}/artifacts` };
}

beforeAll(async () => {
  server = await startTestServer();
  api = new Api(server.url);
  const experiment = await api.post<{ experiment_id: string }>('experiments/create', { name: 'immutable' });
  experimentId = experiment.body.experiment_id;
  ({ runId, root } = await newRun());
  for (const [path, body] of [
    ['model/model.pkl', ORIGINAL],
    ['model/MLmodel', 'flavors: {}'],
    ['notes.txt', 'not part of the model'],
  ] as const) {
    expect((await put(`${root}/${path}`, body)).status).toBe(200);
  }
  await api.post('runs/log-metric', { run_id: runId, key: 'accuracy', value: 0.95, timestamp: 1, step: 0 });
  expect((await api.post('registered-models/create', { name: 'fraud' })).status).toBe(200);
});
afterAll(async () => {
  await server?.close();
});

describe("a registered version's source", () => {
  let pendingUpload: { upload_id: string; credentials: { url: string }[] };

  it('accepts writes until the version is registered (the stock client uploads, then registers)', async () => {
    // A multipart upload begun before registration: its completion comes after, and must be refused.
    const created = await mpuCreate(`${root}/model`, 'weights.bin');
    expect(created.status, created.text).toBe(200);
    pendingUpload = created.body;
    const version = await api.post('model-versions/create', {
      name: 'fraud',
      source: `runs:/${runId}/model`,
      run_id: runId,
    });
    expect(version.status, version.text).toBe(200);
    const policy = await api.request('POST', '/api/2.0/cairn/registered-models/policies/set', {
      json: { name: 'fraud', alias: 'champion', condition: 'metrics.accuracy >= 0.9' },
    });
    expect(policy.status, policy.text).toBe(200);
    const promoted = await api.post('registered-models/alias', {
      name: 'fraud',
      alias: 'champion',
      version: '1',
    });
    expect(promoted.status, promoted.text).toBe(200);
  });

  it('refuses to overwrite or add a file under it, through the API or a presigned URL', async () => {
    expectImmutable(await put(`${root}/model/model.pkl`, 'swapped'), /source of a registered model version/);
    expectImmutable(await put(`${root}/model/extra.py`, 'import os'), /'model'/);
    expectImmutable(
      await api.post('artifacts/presigned-upload-url', { run_id: runId, path: 'model/model.pkl' }),
      /cannot be written/,
    );
    expectImmutable(await mpuCreate(`${root}/model`, 'model.pkl'), /cannot be written/);
    expect(await download(`${root}/model/model.pkl`)).toBe(ORIGINAL);
    expect(await download(`${root}/model/extra.py`)).toBe(404);
  });

  it('refuses to complete a multipart upload into it begun before registration', async () => {
    const part = await fetch(pendingUpload.credentials[0]?.url as string, {
      method: 'PUT',
      body: 'x'.repeat(10),
    });
    expect(part.status).toBe(200);
    const completed = await api.request('POST', `${ARTIFACTS}/mpu/complete/${root}/model`, {
      json: {
        path: '/tmp/local/weights.bin',
        upload_id: pendingUpload.upload_id,
        parts: [{ part_number: 1, etag: part.headers.get('etag') }],
      },
    });
    expectImmutable(completed, /cannot be written/);
    expect(await download(`${root}/model/weights.bin`)).toBe(404);
    // Discarding the unfinished upload changes no file, so it is allowed.
    const aborted = await api.request('POST', `${ARTIFACTS}/mpu/abort/${root}/model`, {
      json: { path: '/tmp/local/weights.bin', upload_id: pendingUpload.upload_id },
    });
    expect(aborted.status, aborted.text).toBe(200);
  });

  it('refuses to delete a file of it, it, or a directory holding it', async () => {
    expectImmutable(await del(`${root}/model/model.pkl`), /cannot be deleted/);
    expectImmutable(await del(`${root}/model`), /cannot be deleted/);
    expectImmutable(await del(root), /cannot be deleted/);
    expect(await download(`${root}/model/model.pkl`)).toBe(ORIGINAL);
  });

  it('leaves the rest of the run writable', async () => {
    expect((await put(`${root}/notes.txt`, 'edited')).status).toBe(200);
    expect((await put(`${root}/model-v2/model.pkl`, 'next')).status).toBe(200);
    expect((await put(`${root}/modelx`, 'a sibling sharing the prefix')).status).toBe(200);
    expect((await del(`${root}/model-v2`)).status).toBe(200);
    expect(await download(`${root}/notes.txt`)).toBe('edited');
  });

  it('records the files that passed the policy, with their ETags, in the audit entry', async () => {
    const audit = await api.request<{ promotions: Record<string, unknown>[] }>(
      'GET',
      '/api/2.0/cairn/registered-models/promotions/list?name=fraud',
    );
    expect(audit.status, audit.text).toBe(200);
    const [decision] = audit.body.promotions;
    expect(decision).toMatchObject({ alias: 'champion', outcome: 'ALLOWED' });
    const files = decision?.files as {
      location: string;
      count: number;
      total_bytes: number;
      manifest_sha256: string;
      files: { path: string; etag: string; size: number }[];
    };
    expect(files.location).toBe(`${root}/model/`);
    expect(files.files.map((file) => [file.path, file.size])).toEqual([
      ['MLmodel', 11],
      ['model.pkl', ORIGINAL.length],
    ]);
    expect(files.count).toBe(2);
    expect(files.total_bytes).toBe(11 + ORIGINAL.length);
    expect(files.manifest_sha256).toMatch(/^[0-9a-f]{64}$/);
    // The recorded ETag is the served object's: what passed the policy is what a download gets.
    const served = await api.request('GET', `${ARTIFACTS}/artifacts/${root}/model/model.pkl`);
    const head = await fetch(served.headers.get('location') as string);
    expect(head.headers.get('etag')).toBe(files.files[1]?.etag);
  });
});

describe('an upload URL issued before registration', () => {
  it('can still write (S3 cannot ask), and a guarded promotion then refuses the version and records why', async () => {
    const late = await newRun();
    expect((await put(`${late.root}/clf/model.pkl`, 'registered bytes')).status).toBe(200);
    const url = await api.post<{ presigned_url: string }>('artifacts/presigned-upload-url', {
      run_id: late.runId,
      path: 'clf/model.pkl',
    });
    expect(url.status, url.text).toBe(200);
    await api.post('runs/log-metric', {
      run_id: late.runId,
      key: 'accuracy',
      value: 0.99,
      timestamp: 1,
      step: 0,
    });
    expect((await api.post('registered-models/create', { name: 'late' })).status).toBe(200);
    const version = await api.post('model-versions/create', {
      name: 'late',
      source: `runs:/${late.runId}/clf`,
    });
    expect(version.status, version.text).toBe(200);
    const policy = await api.request('POST', '/api/2.0/cairn/registered-models/policies/set', {
      json: { name: 'late', alias: 'champion', condition: 'metrics.accuracy >= 0.9' },
    });
    expect(policy.status, policy.text).toBe(200);
    // Past the registration's clock slack (S3 stamps writes to the second): then the old URL is used.
    await new Promise((resolve) => setTimeout(resolve, 3200));
    const swapped = await fetch(url.body.presigned_url, { method: 'PUT', body: 'swapped bytes' });
    expect(swapped.status).toBe(200);

    const promoted = await api.post('registered-models/alias', {
      name: 'late',
      alias: 'champion',
      version: '1',
    });
    expect(promoted.status, promoted.text).toBe(400);
    expect(promoted.body.message).toContain(
      "the version's files changed after it was registered ('model.pkl')",
    );
    const audit = await api.request<{ promotions: Record<string, unknown>[] }>(
      'GET',
      '/api/2.0/cairn/registered-models/promotions/list?name=late',
    );
    expect(audit.body.promotions[0]).toMatchObject({
      outcome: 'REFUSED',
      files: { changed_after_registration: ['model.pkl'] },
    });
  });
});

describe('a version registered before seals existed', () => {
  it('is sealed by its next promotion', async () => {
    const older = await newRun();
    expect((await put(`${older.root}/clf/model.pkl`, 'v1')).status).toBe(200);
    expect((await api.post('registered-models/create', { name: 'legacy' })).status).toBe(200);
    const version = await api.post('model-versions/create', {
      name: 'legacy',
      source: `runs:/${older.runId}/clf`,
    });
    expect(version.status, version.text).toBe(200);
    // As an earlier build left it: the version exists, no seal item does.
    const table = serverTable(server);
    try {
      await table.doc.send(
        new DeleteCommand({ TableName: table.tableName, Key: artifactSealKey(runKey(older.runId), 'clf') }),
      );
    } finally {
      table.destroy();
    }
    expect((await put(`${older.root}/clf/model.pkl`, 'v1, fixed')).status).toBe(200);
    const staged = await api.post('model-versions/transition-stage', {
      name: 'legacy',
      version: '1',
      stage: 'Staging',
      archive_existing_versions: false,
    });
    expect(staged.status, staged.text).toBe(200);
    expectImmutable(await put(`${older.root}/clf/model.pkl`, 'v1, swapped'), /registered model version/);
    expect(await download(`${older.root}/clf/model.pkl`)).toBe('v1, fixed');
  });
});

describe('a finalized logged model', () => {
  it('takes files while PENDING and none once READY', async () => {
    const created = await api.request<{ model: { info: { model_id: string } } }>(
      'POST',
      '/api/2.0/mlflow/logged-models',
      { json: { experiment_id: experimentId, name: 'm', source_run_id: runId } },
    );
    expect(created.status, created.text).toBe(200);
    const modelId = created.body.model.info.model_id;
    const modelRoot = `${experimentId}/models/${modelId}/artifacts`;
    expect((await put(`${modelRoot}/MLmodel`, 'pending')).status).toBe(200);
    expect((await put(`${modelRoot}/python_model.pkl`, 'weights')).status).toBe(200);
    const ready = await api.request('PATCH', `/api/2.0/mlflow/logged-models/${modelId}`, {
      json: { model_id: modelId, status: 'LOGGED_MODEL_READY' },
    });
    expect(ready.status, ready.text).toBe(200);

    const finalized = /logged model m-[0-9a-f]{32} is finalized \(LOGGED_MODEL_READY\)/;
    expectImmutable(await put(`${modelRoot}/python_model.pkl`, 'swapped'), finalized);
    expectImmutable(await put(`${modelRoot}/extra.txt`, 'added'), finalized);
    expectImmutable(await del(`${modelRoot}/python_model.pkl`), finalized);
    expectImmutable(await del(modelRoot), finalized);
    expectImmutable(await mpuCreate(modelRoot, 'python_model.pkl'), finalized);
    expect(await download(`${modelRoot}/python_model.pkl`)).toBe('weights');
    // Reading stays as it was.
    const listed = await api.get<{ files: { path: string }[] }>(
      `logged-models/${modelId}/artifacts/directories`,
    );
    expect(listed.body.files.map((file) => file.path).sort()).toEqual(['MLmodel', 'python_model.pkl']);

    // READY is final: moving back to PENDING (or to FAILED) would unseal the files.
    for (const status of ['LOGGED_MODEL_PENDING', 'LOGGED_MODEL_UPLOAD_FAILED']) {
      const back = await api.request<{ error_code: string; message: string }>(
        'PATCH',
        `/api/2.0/mlflow/logged-models/${modelId}`,
        { json: { model_id: modelId, status } },
      );
      expect(back.status, back.text).toBe(409);
      expect(back.body.error_code).toBe('RESOURCE_CONFLICT');
      expect(back.body.message).toContain('LOGGED_MODEL_READY');
    }
    expectImmutable(await put(`${modelRoot}/python_model.pkl`, 'swapped'), finalized);
    expect(await download(`${modelRoot}/python_model.pkl`)).toBe('weights');
    const again = await api.request('PATCH', `/api/2.0/mlflow/logged-models/${modelId}`, {
      json: { model_id: modelId, status: 'LOGGED_MODEL_READY' },
    });
    expect(again.status, again.text).toBe(200);
  });
});

/**
 * MLflow's endpoints beyond the core artifact API, over HTTP against the local server: the root
 * downloads `get-artifact` and `model-versions/get-artifact` (a 307 to a presigned GET that the bucket
 * answers with MLflow's type and as an attachment), the UI's `upload-artifact`, and listings by path.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, rawRequest } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let api: Api;
let experimentId: string;
let runId: string;

const ARTIFACTS = '/api/2.0/mlflow-artifacts/artifacts';
const UPLOAD = '/ajax-api/2.0/mlflow/upload-artifact';

beforeAll(async () => {
  server = await startTestServer();
  api = new Api(server.url);
  experimentId = (await api.post<{ experiment_id: string }>('experiments/create', { name: 'downloads' })).body
    .experiment_id;
  runId = await newRun();
});
afterAll(async () => {
  await server?.close();
});

async function newRun(): Promise<string> {
  const response = await api.post<{ run: { info: { run_id: string } } }>('runs/create', {
    experiment_id: experimentId,
  });
  return response.body.run.info.run_id;
}

const encodePath = (path: string) => path.split('/').map(encodeURIComponent).join('/');

async function put(
  run: string,
  path: string,
  bytes: Uint8Array | string,
  contentType = 'application/octet-stream',
) {
  const response = await fetch(
    `${server.url}${ARTIFACTS}/${experimentId}/${run}/artifacts/${encodePath(path)}`,
    {
      method: 'PUT',
      headers: { 'content-type': contentType },
      body: bytes,
    },
  );
  expect(response.status).toBe(200);
}

/** GETs `path` with `query`, expecting a 307, and follows it as a browser or `requests` would. */
async function followed(path: string, query: Record<string, string>) {
  const first = await api.request('GET', `${path}?${new URLSearchParams(query)}`);
  expect(first.status, first.text).toBe(307);
  expect(first.headers.get('x-content-type-options')).toBe('nosniff');
  expect(first.headers.get('cache-control')).toBe('no-store');
  const second = await fetch(first.headers.get('location') as string);
  return { first, second, bytes: new Uint8Array(await second.arrayBuffer()) };
}

describe('GET /get-artifact', () => {
  it.each([
    ['a.txt', 'text/plain'],
    ['page.html', 'text/html'],
    ['drawing.svg', 'image/svg+xml'],
    ['script.js', 'text/plain'],
    ['plot.png', 'image/png'],
    ['report.pdf', 'application/pdf'],
    ['weights.pkl', 'application/octet-stream'],
    ['MLmodel', 'text/plain'],
    ['nested/dir/data.json', 'text/plain'],
  ])(
    'serves %s byte for byte as %s, an attachment whatever type it was uploaded with',
    async (path, type) => {
      const bytes = new Uint8Array(randomBytes(2048));
      // Uploaded claiming text/html: the download's type is MLflow's for the name, not the uploader's.
      await put(runId, path, bytes);
      const { second, bytes: got } = await followed('/get-artifact', { run_id: runId, path });
      expect(second.status).toBe(200);
      expect(Buffer.from(got).equals(Buffer.from(bytes))).toBe(true);
      expect(second.headers.get('content-type')).toBe(type);
      const name = path.split('/').at(-1);
      expect(second.headers.get('content-disposition')).toBe(`attachment; filename=${name}`);
    },
  );

  it('reads run_uuid as MLflow does, and names files that need quoting or UTF-8', async () => {
    await put(runId, 'dog+step+20 (1).png', 'png bytes');
    const quoted = await followed('/get-artifact', { run_uuid: runId, path: 'dog+step+20 (1).png' });
    expect(quoted.second.headers.get('content-disposition')).toBe(
      'attachment; filename="dog+step+20 (1).png"',
    );
    await put(runId, 'résumé.txt', 'text');
    const unicode = await followed('/get-artifact', { run_id: runId, path: 'résumé.txt' });
    expect(new TextDecoder().decode(unicode.bytes)).toBe('text');
    expect(unicode.second.headers.get('content-disposition')).toBe(
      "attachment; filename=resume.txt; filename*=UTF-8''r%C3%A9sum%C3%A9.txt",
    );
  });

  it('answers 404 for a missing file and an unknown run, 400 for a missing path or run', async () => {
    const missing = await api.request('GET', `/get-artifact?run_id=${runId}&path=nothing.txt`);
    expect(missing.status).toBe(404);
    expect(missing.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    const unknown = await api.request('GET', `/get-artifact?run_id=${'0'.repeat(32)}&path=a.txt`);
    expect(unknown.status).toBe(404);
    const noPath = await api.request('GET', `/get-artifact?run_id=${runId}`);
    expect(noPath.status).toBe(400);
    expect(String(noPath.body.message)).toContain("'path'");
    const noRun = await api.request('GET', '/get-artifact?path=a.txt');
    expect(noRun.status).toBe(400);
    expect(String(noRun.body.message)).toContain("Missing value for required parameter 'run_id'");
  });

  it("refuses traversal with the artifact routes' rule, naming the path", async () => {
    const other = await newRun();
    await put(other, 'secret.txt', 'not yours');
    for (const bad of [
      '..',
      '../x',
      `../../${other}/artifacts/secret.txt`,
      '%2e%2e/x',
      'a%5cb',
      'a%00b',
      './a',
    ]) {
      const response = await rawRequest(
        server.url,
        'GET',
        `/get-artifact?run_id=${runId}&path=${encodeURIComponent(bad)}`,
      );
      expect(response.status, bad).toBe(400);
      expect(response.body.error_code, bad).toBe('INVALID_PARAMETER_VALUE');
      expect(String(response.body.message), bad).toContain('Invalid path');
    }
  });

  it('keeps a run-scoped URL from being bent into another type or disposition', async () => {
    await put(runId, 'kept.txt', 'kept');
    const first = await api.request('GET', `/get-artifact?run_id=${runId}&path=kept.txt`);
    const url = new URL(first.headers.get('location') as string);
    url.searchParams.set('response-content-type', 'text/html');
    expect((await fetch(url)).status).toBe(403);
  });
});

describe('GET /model-versions/get-artifact', () => {
  async function version(name: string, source: string): Promise<string> {
    await api.post('registered-models/create', { name });
    const created = await api.post<{ model_version: { version: string } }>('model-versions/create', {
      name,
      source,
      run_id: runId,
    });
    expect(created.status, created.text).toBe(200);
    return created.body.model_version.version;
  }

  it('serves a file under a runs:/ source and under an artifact-root source', async () => {
    await put(runId, 'model/MLmodel', 'flavors: {}\n');
    await put(runId, 'model/data/w.bin', new Uint8Array([0, 1, 2, 255]));
    const v1 = await version('mv-runs', `runs:/${runId}/model`);
    const mlmodel = await followed('/model-versions/get-artifact', {
      name: 'mv-runs',
      version: v1,
      path: 'MLmodel',
    });
    expect(new TextDecoder().decode(mlmodel.bytes)).toBe('flavors: {}\n');
    expect(mlmodel.second.headers.get('content-type')).toBe('text/plain');
    const v2 = await version('mv-root', `mlflow-artifacts:/${experimentId}/${runId}/artifacts/model`);
    const weights = await followed('/model-versions/get-artifact', {
      name: 'mv-root',
      version: v2,
      path: 'data/w.bin',
    });
    expect([...weights.bytes]).toEqual([0, 1, 2, 255]);
    expect(weights.second.headers.get('content-disposition')).toBe('attachment; filename=w.bin');
  });

  it('answers 404 for unknown models, versions, files and sources outside the store; 400 for bad input', async () => {
    const v1 = await version('mv-errors', `runs:/${runId}/model`);
    const cases: [Record<string, string>, number, string][] = [
      [{ name: 'no-such-model', version: '1', path: 'MLmodel' }, 404, 'RESOURCE_DOES_NOT_EXIST'],
      [{ name: 'mv-errors', version: '99', path: 'MLmodel' }, 404, 'RESOURCE_DOES_NOT_EXIST'],
      [{ name: 'mv-errors', version: v1, path: 'absent' }, 404, 'RESOURCE_DOES_NOT_EXIST'],
      [{ name: 'mv-errors', version: 'one', path: 'MLmodel' }, 400, 'INVALID_PARAMETER_VALUE'],
      [{ name: 'mv-errors', version: v1, path: '../MLmodel' }, 400, 'INVALID_PARAMETER_VALUE'],
      [{ name: 'mv-errors', version: v1 }, 400, 'INVALID_PARAMETER_VALUE'],
    ];
    for (const [query, status, code] of cases) {
      const response = await api.request('GET', `/model-versions/get-artifact?${new URLSearchParams(query)}`);
      expect(response.status, JSON.stringify(query)).toBe(status);
      expect(response.body.error_code, JSON.stringify(query)).toBe(code);
    }
    const foreign = await version('mv-foreign', 's3://elsewhere/model');
    const response = await api.request(
      'GET',
      `/model-versions/get-artifact?name=mv-foreign&version=${foreign}&path=MLmodel`,
    );
    expect(response.status).toBe(404);
  });
});

describe('POST /ajax-api/2.0/mlflow/upload-artifact', () => {
  it("refuses what MLflow's handler refuses, with its words", async () => {
    const cases: [string, string][] = [
      ['', 'Request must specify run_uuid.'],
      [`run_uuid=${runId}`, 'Request must specify path.'],
      [`run_uuid=${runId}&path=`, 'Request must specify path.'],
      [`run_uuid=${runId}&path=..%2Ftest.txt`, 'Invalid path'],
      [`run_uuid=${runId}&path=test.txt`, 'Request must specify data.'],
    ];
    for (const [query, message] of cases) {
      const response = await api.request('POST', `${UPLOAD}?${query}`);
      expect(response.status, query).toBe(400);
      expect(response.body.error_code, query).toBe('INVALID_PARAMETER_VALUE');
      expect(String(response.body.message), query).toContain(message);
    }
    const unknown = await api.request('POST', `${UPLOAD}?run_uuid=${'0'.repeat(32)}&path=a.txt`, {
      body: 'x',
    });
    expect(unknown.status).toBe(404);
  });

  it('answers a file that fits 6 MB but not once base64-encoded with 413 naming both sizes, and no client settings', async () => {
    const run = await newRun();
    const response = await api.request('POST', `${UPLOAD}?run_uuid=${run}&path=big.bin`, {
      body: new Uint8Array(5_000_000),
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(response.status).toBe(413);
    expect(response.body.error_code).toBe('RESOURCE_LIMIT_EXCEEDED');
    const message = String(response.body.message);
    expect(message).toContain('Artifact upload of 5000000 bytes (');
    expect(message).toContain('base64-encoded');
    expect(message).toContain('MLflow client');
    expect(message).not.toContain('MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD');
    const listed = await api.request('GET', `/api/2.0/mlflow/artifacts/list?run_id=${run}`);
    expect(listed.body.files ?? []).toEqual([]);
  });

  it('stores the bytes under the run, where get-artifact and the listing find them', async () => {
    const run = await newRun();
    const bytes = new Uint8Array(randomBytes(100_000));
    const response = await api.request('POST', `${UPLOAD}?run_uuid=${run}&path=uploads/blob.bin`, {
      body: bytes,
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(response.status, response.text).toBe(200);
    const text = await api.request('POST', `${UPLOAD}?run_id=${run}&path=test.txt`, { body: 'hello world' });
    expect(text.status).toBe(200);
    expect(
      new TextDecoder().decode((await followed('/get-artifact', { run_uuid: run, path: 'test.txt' })).bytes),
    ).toBe('hello world');
    const got = await followed('/get-artifact', { run_id: run, path: 'uploads/blob.bin' });
    expect(Buffer.from(got.bytes).equals(Buffer.from(bytes))).toBe(true);
    // On /ajax-api only, as MLflow serves it.
    const api2 = await api.request('POST', `/api/2.0/mlflow/upload-artifact?run_uuid=${run}&path=x.txt`, {
      body: 'x',
    });
    expect(api2.status).toBe(404);
  });

  it('refuses uploads to a deleted run', async () => {
    const run = await newRun();
    await api.post('runs/delete', { run_id: run });
    const response = await api.request('POST', `${UPLOAD}?run_uuid=${run}&path=late.txt`, { body: 'late' });
    expect(response.status).toBe(400);
    expect(String(response.body.message)).toContain("must be in the 'active' state");
  });
});

describe('listings by path, as MLflow lists them', () => {
  it('orders directories among files in artifacts/list and the mlflow-artifacts listing', async () => {
    const run = await newRun();
    for (const path of ['b.txt', 'a.txt', 'c/x.txt', 'a/y.txt', 'dir/b.txt']) await put(run, path, '0');
    const listed = await api.get<{ files: { path: string }[] }>('artifacts/list', { run_id: run });
    expect(listed.body.files.map((file) => file.path)).toEqual(['a', 'a.txt', 'b.txt', 'c', 'dir']);
    const proxied = await api.request<{ files: { path: string; is_dir: boolean }[] }>(
      'GET',
      `${ARTIFACTS}?path=${encodeURIComponent(`${experimentId}/${run}/artifacts`)}`,
    );
    expect(proxied.body.files.map((file) => [file.path, file.is_dir])).toEqual([
      ['a', true],
      ['a.txt', false],
      ['b.txt', false],
      ['c', true],
      ['dir', true],
    ]);
  });
});

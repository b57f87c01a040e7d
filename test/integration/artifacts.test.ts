/**
 * Artifacts end to end: the proxied-artifact protocol over HTTP against the local server, bytes through
 * presigned URLs on s3rver, byte-for-byte round trips, listing, deletion, multipart, and path safety.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, rawRequest } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let api: Api;
let experimentId: string;
let runId: string;
let root: string;

const ARTIFACTS = '/api/2.0/mlflow-artifacts/artifacts';

beforeAll(async () => {
  server = await startTestServer();
  api = new Api(server.url);
  experimentId = (await api.post<{ experiment_id: string }>('experiments/create', { name: 'artifacts' })).body
    .experiment_id;
  runId = await newRun();
  root = `${experimentId}/${runId}/artifacts`;
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
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function upload(path: string, bytes: Uint8Array, contentType = 'application/octet-stream') {
  return fetch(`${server.url}${ARTIFACTS}/${encodePath(path)}`, {
    method: 'PUT',
    headers: { 'content-type': contentType },
    body: bytes,
  });
}

async function download(path: string): Promise<{ status: number; bytes: Uint8Array; redirected: boolean }> {
  const first = await fetch(`${server.url}${ARTIFACTS}/${encodePath(path)}`, { redirect: 'manual' });
  if (first.status !== 307)
    return { status: first.status, bytes: new Uint8Array(await first.arrayBuffer()), redirected: false };
  const location = first.headers.get('location') as string;
  const second = await fetch(location);
  return { status: second.status, bytes: new Uint8Array(await second.arrayBuffer()), redirected: true };
}

async function list(path: string) {
  return api.request<{ files?: { path: string; is_dir: boolean; file_size?: number }[] }>(
    'GET',
    `${ARTIFACTS}?path=${encodeURIComponent(path)}`,
  );
}

describe('upload and download', () => {
  it.each([
    ['empty.bin', 0],
    ['one.bin', 1],
    ['megabyte.bin', 1024 * 1024],
  ])(
    'round-trips %s (%i bytes) byte for byte, downloading through a 307 to a presigned GET',
    async (name, size) => {
      const bytes = new Uint8Array(randomBytes(size));
      const put = await upload(`${root}/${name}`, bytes);
      expect(put.status).toBe(200);
      expect(await put.json()).toEqual({});
      const got = await download(`${root}/${name}`);
      expect(got.redirected).toBe(true);
      expect(got.status).toBe(200);
      expect(sha(got.bytes)).toBe(sha(bytes));
    },
  );

  it('keeps unicode and spaces in names and nested directories', async () => {
    const path = `${root}/päth with spaces/ünïcødé 名前.txt`;
    const bytes = new TextEncoder().encode('grüße');
    expect((await upload(path, bytes, 'text/plain')).status).toBe(200);
    expect(new TextDecoder().decode((await download(path)).bytes)).toBe('grüße');
    expect((await list(`${root}/päth with spaces`)).body.files).toEqual([
      { path: 'ünïcødé 名前.txt', is_dir: false, file_size: bytes.length },
    ]);
  });

  it('keeps a text upload that is not UTF-8 byte for byte (a Latin-1 CSV as text/csv)', async () => {
    const path = `${root}/latin1.csv`;
    const bytes = new Uint8Array(Buffer.from('name;city\nJos\xe9;K\xf6ln\n', 'latin1'));
    expect((await upload(path, bytes, 'text/csv; charset=iso-8859-1')).status).toBe(200);
    expect(sha((await download(path)).bytes)).toBe(sha(bytes));
  });

  it('answers 404 JSON for a missing file', async () => {
    const response = await api.request('GET', `${ARTIFACTS}/${root}/nothing-here.txt`);
    expect(response.status).toBe(404);
    expect(response.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
  });

  it('answers a body over the request limit with 413 naming the multipart settings', async () => {
    const response = await upload(`${root}/too-big.bin`, new Uint8Array(7 * 1024 * 1024));
    expect(response.status).toBe(413);
    const body = (await response.json()) as { error_code: string; message: string };
    expect(body.message).toContain('MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD=true');
    expect(body.message).toContain('MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE');
  });
});

describe('listing and deletion', () => {
  it('lists directories and files the way the client walks trees, and a file as itself', async () => {
    const base = `${root}/tree`;
    await upload(`${base}/a.txt`, new TextEncoder().encode('a'));
    await upload(`${base}/sub/b.txt`, new TextEncoder().encode('bb'));
    // By path, directories among the files, as MLflow lists them.
    expect((await list(base)).body.files).toEqual([
      { path: 'a.txt', is_dir: false, file_size: 1 },
      { path: 'sub', is_dir: true },
    ]);
    expect((await list(`${base}/sub/b.txt`)).body.files).toEqual([
      { path: 'b.txt', is_dir: false, file_size: 2 },
    ]);
    expect((await list(`${base}/missing`)).body).toEqual({});
  });

  it('lists more than 1,000 files, also page by page through artifacts/list', async () => {
    const run = await newRun();
    const base = `${experimentId}/${run}/artifacts/many`;
    const names = Array.from({ length: 1500 }, (_, i) => `f${String(i).padStart(4, '0')}.txt`);
    for (let start = 0; start < names.length; start += 50) {
      await Promise.all(
        names.slice(start, start + 50).map((name) => upload(`${base}/${name}`, new Uint8Array([1]))),
      );
    }
    expect((await list(base)).body.files).toHaveLength(1500);
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await api.get<{ root_uri: string; files?: { path: string }[]; next_page_token?: string }>(
        'artifacts/list',
        { run_id: run, path: 'many', ...(token ? { page_token: token } : {}) },
      );
      expect(page.status, page.text).toBe(200);
      expect(page.body.root_uri).toBe(`mlflow-artifacts:/${experimentId}/${run}/artifacts`);
      seen.push(...(page.body.files ?? []).map((file) => file.path));
      token = page.body.next_page_token;
      pages++;
    } while (token);
    expect(pages).toBe(2);
    expect(seen).toEqual(names.map((name) => `many/${name}`));
  });

  it('deletes a file, then a directory', async () => {
    const base = `${root}/doomed`;
    await upload(`${base}/x.txt`, new Uint8Array([1]));
    await upload(`${base}/deep/y.txt`, new Uint8Array([2]));
    expect((await api.request('DELETE', `${ARTIFACTS}/${base}/x.txt`)).status).toBe(200);
    expect((await download(`${base}/x.txt`)).status).toBe(404);
    expect((await api.request('DELETE', `${ARTIFACTS}/${base}`)).status).toBe(200);
    expect((await list(base)).body).toEqual({});
    expect((await api.request('DELETE', `${ARTIFACTS}/${base}`)).status).toBe(404);
  });
});

describe('multipart and presigned transfers', () => {
  it('uploads 24 MB through presigned part URLs (no bytes through the API) and downloads it by ranges', async () => {
    const bytes = new Uint8Array(randomBytes(24 * 1024 * 1024));
    const partSize = 10 * 1024 * 1024;
    const parts = Math.ceil(bytes.length / partSize);
    const localPath = '/tmp/some/local/dir/weights.bin';
    const created = await api.request<{
      upload_id: string;
      credentials: { url: string; part_number: number; headers: Record<string, string> }[];
    }>('POST', `/api/2.0/mlflow-artifacts/mpu/create/${root}/model`, {
      json: { path: localPath, num_parts: parts },
    });
    expect(created.status, created.text).toBe(200);
    expect(created.body.credentials.map((c) => c.part_number)).toEqual([1, 2, 3]);
    const etags = await Promise.all(
      created.body.credentials.map(async (credential) => {
        const chunk = bytes.subarray(
          (credential.part_number - 1) * partSize,
          credential.part_number * partSize,
        );
        const response = await fetch(credential.url, {
          method: 'PUT',
          headers: credential.headers,
          body: chunk,
        });
        expect(response.status).toBe(200);
        return { part_number: credential.part_number, etag: response.headers.get('etag') as string };
      }),
    );
    const completed = await api.request('POST', `/api/2.0/mlflow-artifacts/mpu/complete/${root}/model`, {
      json: { path: localPath, upload_id: created.body.upload_id, parts: etags },
    });
    expect(completed.status, completed.text).toBe(200);

    const presigned = await api.request<{ url: string; headers: Record<string, string>; file_size: number }>(
      'GET',
      `/api/2.0/mlflow-artifacts/presigned/${root}/model/weights.bin`,
    );
    expect(presigned.body.file_size).toBe(bytes.length);
    const chunks: Uint8Array[] = [];
    for (let start = 0; start < bytes.length; start += partSize) {
      const end = Math.min(bytes.length, start + partSize) - 1;
      const response = await fetch(presigned.body.url, { headers: { range: `bytes=${start}-${end}` } });
      expect(response.status).toBe(206);
      chunks.push(new Uint8Array(await response.arrayBuffer()));
    }
    expect(sha(Buffer.concat(chunks))).toBe(sha(bytes));
    expect(sha((await download(`${root}/model/weights.bin`)).bytes)).toBe(sha(bytes));
  });

  it('round-trips 200 MB through presigned multipart', async () => {
    const bytes = new Uint8Array(randomBytes(200 * 1024 * 1024));
    const partSize = 10 * 1024 * 1024;
    const created = await api.request<{
      upload_id: string;
      credentials: { url: string; part_number: number }[];
    }>('POST', `/api/2.0/mlflow-artifacts/mpu/create/${root}/big`, {
      json: { path: 'huge.bin', num_parts: 20 },
    });
    const parts: { part_number: number; etag: string }[] = [];
    for (const credential of created.body.credentials) {
      const chunk = bytes.subarray(
        (credential.part_number - 1) * partSize,
        credential.part_number * partSize,
      );
      const response = await fetch(credential.url, { method: 'PUT', body: chunk });
      parts.push({ part_number: credential.part_number, etag: response.headers.get('etag') as string });
    }
    const completed = await api.request('POST', `/api/2.0/mlflow-artifacts/mpu/complete/${root}/big`, {
      json: { path: 'huge.bin', upload_id: created.body.upload_id, parts },
    });
    expect(completed.status).toBe(200);
    expect(sha((await download(`${root}/big/huge.bin`)).bytes)).toBe(sha(bytes));
  });

  it('binds a size given to presigned-upload-url into the signature', async () => {
    const response = await api.post<{ presigned_url: string; headers: Record<string, string> }>(
      'artifacts/presigned-upload-url',
      { run_id: runId, path: 'sized.bin', content_length: 3 },
    );
    expect(response.body.headers).toEqual({ 'Content-Length': '3' });
    const signed = new URL(response.body.presigned_url).searchParams.get('X-Amz-SignedHeaders') ?? '';
    expect(signed.split(';')).toContain('content-length');
    expect(
      (await fetch(response.body.presigned_url, { method: 'PUT', body: new Uint8Array([1, 2, 3]) })).status,
    ).toBe(200);
  });

  it('aborts a multipart upload', async () => {
    const created = await api.request<{ upload_id: string }>(
      'POST',
      `/api/2.0/mlflow-artifacts/mpu/create/${root}`,
      {
        json: { path: 'C:\\Users\\me\\abandoned.bin', num_parts: 2 },
      },
    );
    expect(created.status).toBe(200);
    const aborted = await api.request('POST', `/api/2.0/mlflow-artifacts/mpu/abort/${root}`, {
      json: { path: 'C:\\Users\\me\\abandoned.bin', upload_id: created.body.upload_id },
    });
    expect(aborted.status, aborted.text).toBe(200);
    expect((await download(`${root}/abandoned.bin`)).status).toBe(404);
  });

  it("refuses to complete or abort another path's upload, and bad part lists", async () => {
    const other = await newRun();
    const created = await api.request<{ upload_id: string }>(
      'POST',
      `/api/2.0/mlflow-artifacts/mpu/create/${experimentId}/${other}/artifacts`,
      { json: { path: 'theirs.bin', num_parts: 1 } },
    );
    expect(created.status).toBe(200);
    const foreign = await api.request('POST', `/api/2.0/mlflow-artifacts/mpu/complete/${root}`, {
      json: { path: 'theirs.bin', upload_id: created.body.upload_id, parts: [{ part_number: 1, etag: 'x' }] },
    });
    expect(foreign.status).toBe(400);
    expect(String(foreign.body.message)).toContain('upload_id');
    const aborted = await api.request('POST', `/api/2.0/mlflow-artifacts/mpu/abort/${root}`, {
      json: { path: 'theirs.bin', upload_id: created.body.upload_id },
    });
    expect(aborted.status).toBe(400);
    for (const parts of [
      [
        { part_number: 1, etag: 'a' },
        { part_number: 1, etag: 'b' },
      ],
      [{ part_number: 0, etag: 'a' }],
      [{ part_number: 10_001, etag: 'a' }],
    ]) {
      const response = await api.request(
        'POST',
        `/api/2.0/mlflow-artifacts/mpu/complete/${experimentId}/${other}/artifacts`,
        { json: { path: 'theirs.bin', upload_id: created.body.upload_id, parts } },
      );
      expect(response.status, JSON.stringify(parts)).toBe(400);
    }
    const garbage = await api.request('POST', `/api/2.0/mlflow-artifacts/mpu/abort/${root}`, {
      json: { path: 'x.bin', upload_id: '../../etc' },
    });
    expect(garbage.status).toBe(400);
  });

  it('answers a completion naming parts never uploaded with 400, and keeps serving', async () => {
    const created = await api.request<{ upload_id: string }>(
      'POST',
      `/api/2.0/mlflow-artifacts/mpu/create/${root}`,
      {
        json: { path: 'partless.bin', num_parts: 2 },
      },
    );
    const response = await api.request('POST', `/api/2.0/mlflow-artifacts/mpu/complete/${root}`, {
      json: {
        path: 'partless.bin',
        upload_id: created.body.upload_id,
        parts: [{ part_number: 1, etag: '"x"' }],
      },
    });
    expect(response.status).toBe(400);
    expect((await api.request('GET', '/health')).status).toBe(200);
  });

  it('refuses a local file name with % rather than decoding it, and bad run ids and page tokens', async () => {
    const named = await api.request('POST', `/api/2.0/mlflow-artifacts/mpu/create/${root}`, {
      json: { path: '/tmp/acc_99%.bin', num_parts: 1 },
    });
    expect(named.status).toBe(400);
    expect((await api.get('artifacts/list', { run_id: 'r'.repeat(3000) })).status).toBe(400);
    const long = await api.post('artifacts/presigned-upload-url', { run_id: 'r'.repeat(3000), path: 'x' });
    expect(long.status).toBe(400);
    const badToken = await api.get('artifacts/list', { run_id: runId, page_token: '%%%' });
    expect(badToken.status).toBeGreaterThanOrEqual(400);
    expect(badToken.status).toBeLessThan(500);
  });

  it('refuses more than 10,000 parts', async () => {
    const response = await api.request('POST', `/api/2.0/mlflow-artifacts/mpu/create/${root}`, {
      json: { path: 'big.bin', num_parts: 10_001 },
    });
    expect(response.status).toBe(400);
  });

  it('hands out a presigned upload URL any HTTP client can PUT to', async () => {
    const response = await api.post<{ presigned_url: string; headers: Record<string, string> }>(
      'artifacts/presigned-upload-url',
      { run_id: runId, path: 'curl/upload.txt', expiration: 60 },
    );
    expect(response.status, response.text).toBe(200);
    const url = new URL(response.body.presigned_url);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('60');
    expect(decodeURIComponent(url.pathname)).toContain(`/${root}/curl/upload.txt`);
    const bytes = new Uint8Array(randomBytes(5 * 1024 * 1024));
    expect((await fetch(response.body.presigned_url, { method: 'PUT', body: bytes })).status).toBe(200);
    expect(sha((await download(`${root}/curl/upload.txt`)).bytes)).toBe(sha(bytes));
    const tooLong = await api.post('artifacts/presigned-upload-url', {
      run_id: runId,
      path: 'x',
      expiration: 7200,
    });
    expect(tooLong.status).toBe(400);
  });
});

describe('path safety and ownership', () => {
  const traversals = [
    '../escape',
    'a/../../b',
    '%2e%2e/x',
    '%252e%252e/x',
    'a%5cb',
    'a%00b',
    'a%23b',
    'a%3Fb',
    'a;b',
    './a',
  ];

  it('refuses every traversal form on every endpoint, writing nothing', async () => {
    for (const bad of traversals) {
      const path = `${root}/${bad}`;
      const requests: [string, string, Record<string, unknown>?][] = [
        ['PUT', `${ARTIFACTS}/${path}`],
        ['GET', `${ARTIFACTS}/${path}`],
        ['DELETE', `${ARTIFACTS}/${path}`],
        ['GET', `/api/2.0/mlflow-artifacts/presigned/${path}`],
        ['POST', `/api/2.0/mlflow-artifacts/mpu/create/${path}`, { path: 'f.bin', num_parts: 1 }],
        [
          'POST',
          `/api/2.0/mlflow-artifacts/mpu/complete/${path}`,
          { path: 'f.bin', upload_id: 'u', parts: [{ part_number: 1, etag: 'e' }] },
        ],
        ['POST', `/api/2.0/mlflow-artifacts/mpu/abort/${path}`, { path: 'f.bin', upload_id: 'u' }],
        ['GET', `${ARTIFACTS}?path=${encodeURIComponent(path)}`],
        ['GET', `/api/2.0/mlflow/artifacts/list?run_id=${runId}&path=${encodeURIComponent(bad)}`],
        ['POST', '/api/2.0/mlflow/artifacts/presigned-upload-url', { run_id: runId, path: bad }],
      ];
      for (const [method, url, json] of requests) {
        const response = await rawRequest(server.url, method, url, {
          ...(json
            ? { json }
            : method === 'PUT'
              ? { body: 'x', headers: { 'content-type': 'text/plain' } }
              : {}),
        });
        expect(response.status, `${method} ${url}`).toBe(400);
        expect(response.body.error_code, `${method} ${url}`).toBe('INVALID_PARAMETER_VALUE');
      }
    }
    expect((await list(root)).body.files?.map((file) => file.path)).not.toContain('escape');
  });

  it("refuses writes outside a run's own prefix and to deleted runs", async () => {
    const other = await newRun();
    // The run exists, but not in that experiment: its prefix is somewhere else.
    expect((await upload(`0/${other}/artifacts/x.txt`, new Uint8Array([1]))).status).toBe(404);
    // Not a run's artifact root at all.
    expect((await upload(`${experimentId}/${other}/not-artifacts/x.txt`, new Uint8Array([1]))).status).toBe(
      400,
    );
    expect((await upload(`${experimentId}/x.txt`, new Uint8Array([1]))).status).toBe(400);
    expect(
      (await upload(`${experimentId}/${'f'.repeat(32)}/artifacts/x.txt`, new Uint8Array([1]))).status,
    ).toBe(404);
    await api.post('runs/delete', { run_id: other });
    const deleted = await upload(`${experimentId}/${other}/artifacts/x.txt`, new Uint8Array([1]));
    expect(deleted.status).toBe(400);
    // Reading a deleted run's artifacts is still allowed, as in MLflow.
    expect((await list(`${experimentId}/${other}/artifacts`)).status).toBe(200);
  });
});

describe('logged-model artifacts (MLflow 3)', () => {
  interface Page {
    root_uri?: string;
    files?: { path: string; is_dir: boolean; file_size?: number }[];
    next_page_token?: string;
  }
  const DIRECTORIES = (id: string, prefix = '/api') =>
    `${prefix}/2.0/mlflow/logged-models/${id}/artifacts/directories`;
  const FILES = (id: string) => `/ajax-api/2.0/mlflow/logged-models/${id}/artifacts/files`;

  async function newModel(experiment = experimentId): Promise<{ id: string; root: string; uri: string }> {
    const response = await api.post<{ model: { info: { model_id: string; artifact_uri: string } } }>(
      'logged-models',
      { experiment_id: experiment, name: 'm' },
    );
    expect(response.status, response.text).toBe(200);
    const { model_id: id, artifact_uri: uri } = response.body.model.info;
    return { id, root: `${experiment}/models/${id}/artifacts`, uri };
  }

  async function directories(id: string, query: Record<string, string> = {}, prefix = '/api') {
    const qs = new URLSearchParams(query).toString();
    return api.request<Page>('GET', `${DIRECTORIES(id, prefix)}${qs ? `?${qs}` : ''}`);
  }

  it("uploads, lists and downloads a model's files the way log_model and load_model do", async () => {
    const model = await newModel();
    expect(model.uri).toBe(`mlflow-artifacts:/${model.root}`);
    const weights = new Uint8Array(randomBytes(2048));
    expect((await upload(`${model.root}/MLmodel`, new TextEncoder().encode('flavors: {}\n'))).status).toBe(
      200,
    );
    expect((await upload(`${model.root}/data/model.pkl`, weights)).status).toBe(200);

    expect((await list(model.root)).body.files).toEqual([
      { path: 'MLmodel', is_dir: false, file_size: 12 },
      { path: 'data', is_dir: true },
    ]);
    const got = await download(`${model.root}/data/model.pkl`);
    expect(got.redirected).toBe(true);
    expect(sha(got.bytes)).toBe(sha(weights));

    for (const prefix of ['/api', '/ajax-api']) {
      const top = await directories(model.id, {}, prefix);
      expect(top.status, top.text).toBe(200);
      expect(top.body).toEqual({
        root_uri: model.uri,
        files: [
          { path: 'MLmodel', is_dir: false, file_size: 12 },
          { path: 'data', is_dir: true },
        ],
      });
    }
    const nested = await directories(model.id, { artifact_directory_path: 'data' });
    expect(nested.body.files).toEqual([{ path: 'data/model.pkl', is_dir: false, file_size: 2048 }]);
    // An empty directory answers no files at all, as protobuf JSON leaves out empty lists.
    expect((await directories(model.id, { artifact_directory_path: 'nothing' })).body).toEqual({
      root_uri: model.uri,
    });
  });

  it('uploads through multipart and downloads through presigned under a model path', async () => {
    const model = await newModel();
    const created = await api.request<{ upload_id: string; credentials: { url: string }[] }>(
      'POST',
      `/api/2.0/mlflow-artifacts/mpu/create/${model.root}/data`,
      { json: { path: '/tmp/weights.bin', num_parts: 1 } },
    );
    expect(created.status, created.text).toBe(200);
    const bytes = new Uint8Array(randomBytes(1000));
    const part = await fetch(created.body.credentials[0]?.url as string, { method: 'PUT', body: bytes });
    const completed = await api.request('POST', `/api/2.0/mlflow-artifacts/mpu/complete/${model.root}/data`, {
      json: {
        path: '/tmp/weights.bin',
        upload_id: created.body.upload_id,
        parts: [{ part_number: 1, etag: part.headers.get('etag') }],
      },
    });
    expect(completed.status, completed.text).toBe(200);
    const presigned = await api.request<{ url: string; file_size: number }>(
      'GET',
      `/api/2.0/mlflow-artifacts/presigned/${model.root}/data/weights.bin`,
    );
    expect(presigned.body.file_size).toBe(1000);
    expect(sha(new Uint8Array(await (await fetch(presigned.body.url)).arrayBuffer()))).toBe(sha(bytes));
    expect((await api.request('DELETE', `${ARTIFACTS}/${model.root}/data/weights.bin`)).status).toBe(200);
    expect((await download(`${model.root}/data/weights.bin`)).status).toBe(404);
  });

  it('pages a listing of more than 1,000 files', async () => {
    const model = await newModel();
    const names = Array.from({ length: 1001 }, (_, i) => `f${String(i).padStart(4, '0')}.txt`);
    for (let start = 0; start < names.length; start += 50) {
      await Promise.all(
        names
          .slice(start, start + 50)
          .map((name) => upload(`${model.root}/many/${name}`, new Uint8Array([1]))),
      );
    }
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await directories(model.id, {
        artifact_directory_path: 'many',
        ...(token ? { page_token: token } : {}),
      });
      expect(page.status, page.text).toBe(200);
      expect(page.body.root_uri).toBe(model.uri);
      seen.push(...(page.body.files ?? []).map((file) => file.path));
      token = page.body.next_page_token;
      pages++;
    } while (token);
    expect(pages).toBe(2);
    expect(seen).toEqual(names.map((name) => `many/${name}`));
  });

  it('answers 404 for a model under another experiment, writing nothing', async () => {
    const model = await newModel();
    const other = (await api.post<{ experiment_id: string }>('experiments/create', { name: 'elsewhere' }))
      .body.experiment_id;
    const wrong = `${other}/models/${model.id}/artifacts/x.txt`;
    const put = await upload(wrong, new Uint8Array([1]));
    expect(put.status).toBe(404);
    const body = (await put.json()) as { error_code: string; message: string };
    expect(body).toEqual({
      error_code: 'RESOURCE_DOES_NOT_EXIST',
      message: `Logged model with id=${model.id} not found in experiment ${other}`,
    });
    expect((await download(wrong)).status).toBe(404);
    expect((await list(`${other}/models/${model.id}/artifacts`)).status).toBe(404);
    expect((await list(model.root)).body).toEqual({});
  });

  it('answers 404 for unknown and malformed model ids', async () => {
    const unknown = `m-${'0'.repeat(32)}`;
    for (const id of [unknown, 'm-123', 'not-a-model']) {
      const response = await directories(id);
      expect(response.status, id).toBe(404);
      expect(response.body).toEqual({
        error_code: 'RESOURCE_DOES_NOT_EXIST',
        message: `Logged model with id=${id} not found`,
      });
    }
    expect((await upload(`${experimentId}/models/${unknown}/artifacts/x`, new Uint8Array([1]))).status).toBe(
      404,
    );
  });

  it('answers 404 for a deleted model, to reads and writes alike', async () => {
    const model = await newModel();
    await upload(`${model.root}/MLmodel`, new Uint8Array([1]));
    const deleted = await api.request('DELETE', `/api/2.0/mlflow/logged-models/${model.id}`);
    expect(deleted.status, deleted.text).toBe(200);
    const file = `${model.root}/MLmodel`;
    const requests: [string, string, Record<string, unknown>?][] = [
      ['GET', `${ARTIFACTS}/${file}`],
      ['GET', `${ARTIFACTS}?path=${encodeURIComponent(model.root)}`],
      ['GET', `/api/2.0/mlflow-artifacts/presigned/${file}`],
      ['GET', DIRECTORIES(model.id)],
      ['GET', `${FILES(model.id)}?artifact_file_path=MLmodel`],
      ['PUT', `${ARTIFACTS}/${model.root}/new.txt`],
      ['DELETE', `${ARTIFACTS}/${file}`],
      ['POST', `/api/2.0/mlflow-artifacts/mpu/create/${model.root}`, { path: 'f.bin', num_parts: 1 }],
      ['POST', `/api/2.0/mlflow-artifacts/mpu/abort/${model.root}`, { path: 'f.bin', upload_id: 'u' }],
    ];
    for (const [method, url, json] of requests) {
      const response = await rawRequest(server.url, method, url, {
        ...(json
          ? { json }
          : method === 'PUT'
            ? { body: 'x', headers: { 'content-type': 'text/plain' } }
            : {}),
      });
      expect(response.status, `${method} ${url}`).toBe(404);
      expect(response.body.error_code, `${method} ${url}`).toBe('RESOURCE_DOES_NOT_EXIST');
    }
  });

  it('refuses traversal in artifact_directory_path and artifact_file_path with 400 naming the field', async () => {
    const model = await newModel();
    for (const bad of traversalsOf(model.root)) {
      const listing = await rawRequest(
        server.url,
        'GET',
        `${DIRECTORIES(model.id)}?artifact_directory_path=${bad}`,
      );
      expect(listing.status, bad).toBe(400);
      expect(listing.body.error_code, bad).toBe('INVALID_PARAMETER_VALUE');
      expect(String(listing.body.message), bad).toContain("'artifact_directory_path'");
      const file = await rawRequest(server.url, 'GET', `${FILES(model.id)}?artifact_file_path=${bad}`);
      expect(file.status, bad).toBe(400);
      expect(String(file.body.message), bad).toContain("'artifact_file_path'");
    }
  });

  it("serves the UI's file download as a 307 to a presigned GET, on /ajax-api only", async () => {
    const model = await newModel();
    await upload(`${model.root}/data/MLmodel`, new TextEncoder().encode('flavors: {}\n'));
    const redirected = await api.request(
      'GET',
      `${FILES(model.id)}?artifact_file_path=${encodeURIComponent('data/MLmodel')}`,
    );
    expect(redirected.status, redirected.text).toBe(307);
    const location = redirected.headers.get('location') as string;
    expect(await (await fetch(location)).text()).toBe('flavors: {}\n');

    const missing = await api.request('GET', FILES(model.id));
    expect(missing.status).toBe(400);
    expect(missing.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    expect(String(missing.body.message)).toContain("'artifact_file_path'");
    const absent = await api.request('GET', `${FILES(model.id)}?artifact_file_path=nothing`);
    expect(absent.status).toBe(404);
    // MLflow serves this route to its UI only: no /api twin.
    const api2 = await api.request(
      'GET',
      `/api/2.0/mlflow/logged-models/${model.id}/artifacts/files?artifact_file_path=data/MLmodel`,
    );
    expect(api2.status).toBe(404);
    expect(api2.body.error_code).toBe('ENDPOINT_NOT_FOUND');
  });
});

/** Traversal forms as they go into a query string (already percent-encoded where they must be). */
function traversalsOf(root: string): string[] {
  return [
    '..',
    '../x',
    '%2e%2e%2fx',
    '%252e%252e%252fx',
    'a%2f..%2f..%2fb',
    `%2f${encodeURIComponent(root)}`,
    'a%5cb',
    'a%00b',
    'a%23b',
    'a%3Bb',
    '.%2fa',
  ];
}

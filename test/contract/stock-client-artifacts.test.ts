/**
 * Replays the stock client's artifact traffic (mlflow-wire-traces.md sections A, E and F): the PUTs of
 * log_artifact(s)/log_dict, the listings download_artifacts walks, the downloads it follows through a
 * 307, and the proxied multipart flow, each checked the way the client reads it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STOCK_CLIENT_HEADERS } from '../fixtures/stock-client-experiments.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let root: string;

beforeAll(async () => {
  server = await startTestServer();
  const experiment = await post('/api/2.0/mlflow/experiments/create', '{"name": "compat-demo"}');
  const run = await post(
    '/api/2.0/mlflow/runs/create',
    `{"experiment_id": "${experiment.experiment_id}", "user_id": "root", "run_name": "r1", "start_time": 1795702724424}`,
  );
  root = `${experiment.experiment_id}/${(run.run as { info: { run_id: string } }).info.run_id}/artifacts`;
});
afterAll(async () => {
  await server?.close();
});

async function post(path: string, body: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { ...STOCK_CLIENT_HEADERS, 'Content-Type': 'application/json' },
    body,
  });
  expect(response.status, path).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

async function put(path: string, body: Uint8Array | string, contentType: string) {
  const response = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/${path}`, {
    method: 'PUT',
    headers: { ...STOCK_CLIENT_HEADERS, 'Content-Type': contentType, Authorization: 'Bearer secret-token' },
    body,
  });
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({});
}

/**
 * What `requests` does with a 307: the same method to the Location (it keeps the Authorization header on
 * the same host; the presigned route ignores it).
 */
async function getFollowing(path: string): Promise<{ text: string }> {
  const first = await fetch(`${server.url}${path}`, {
    headers: { ...STOCK_CLIENT_HEADERS, Authorization: 'Bearer secret-token' },
    redirect: 'manual',
  });
  expect(first.status).toBe(307);
  const location = first.headers.get('location') as string;
  // A presigned URL on the server's own origin, which checks its signature (the stand-in is unreachable).
  expect(new URL(location).host).toBe(new URL(server.url).host);
  expect(new URL(location).pathname).toMatch(/^\/_cairn\/s3\/cairn-artifacts\//);
  const second = await fetch(location, { headers: { Authorization: 'Bearer secret-token' } });
  expect(second.status).toBe(200);
  return { text: await second.text() };
}

describe('stock client: log_artifact(s), list_artifacts, download_artifacts (section A)', () => {
  it('stores the PUTs and answers the listings and downloads the client makes', async () => {
    await put(`${root}/hello.txt`, 'hello world\n', 'text/plain');
    await put(`${root}/outdir/a.bin`, new Uint8Array(1000).fill(7), 'application/octet-stream');
    await put(`${root}/outdir/sub/b.txt`, 'b', 'text/plain');
    await put(`${root}/cfg/config.json`, '{"lr": 0.01, "layers": [4]}', 'text/plain');

    const list = async (path: string) => {
      const response = await fetch(
        `${server.url}/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(path)}`,
        { headers: STOCK_CLIENT_HEADERS },
      );
      expect(response.status).toBe(200);
      return ((await response.json()) as { files?: { path: string; is_dir: boolean; file_size?: number }[] })
        .files;
    };
    // By path, directories among files, as MLflow's artifact repositories sort their listings.
    expect(await list(root)).toEqual([
      { path: 'cfg', is_dir: true },
      { path: 'hello.txt', is_dir: false, file_size: 12 },
      { path: 'outdir', is_dir: true },
    ]);
    expect(await list(`${root}/outdir`)).toEqual([
      { path: 'a.bin', is_dir: false, file_size: 1000 },
      { path: 'sub', is_dir: true },
    ]);
    expect(await list(`${root}/outdir/sub`)).toEqual([{ path: 'b.txt', is_dir: false, file_size: 1 }]);

    const downloaded = await getFollowing(`/api/2.0/mlflow-artifacts/artifacts/${root}/outdir/sub/b.txt`);
    expect(downloaded.text).toBe('b');
    expect((await getFollowing(`/api/2.0/mlflow-artifacts/artifacts/${root}/hello.txt`)).text).toBe(
      'hello world\n',
    );
  });
});

describe('stock client: log_model and load_model of an MLflow 3 logged model (section B)', () => {
  it("stores the model's PUTs and answers the listing and downloads load_model makes", async () => {
    const experimentId = root.split('/')[0] as string;
    const runId = root.split('/')[1] as string;
    const created = await post(
      '/api/2.0/mlflow/logged-models',
      JSON.stringify({
        experiment_id: experimentId,
        name: 'm',
        source_run_id: runId,
        tags: [{ key: 'mlflow.user', value: 'root' }],
      }),
    );
    const info = (created.model as { info: { model_id: string; artifact_uri: string } }).info;
    const modelRoot = `${experimentId}/models/${info.model_id}/artifacts`;
    expect(info.artifact_uri).toBe(`mlflow-artifacts:/${modelRoot}`);
    const files: [string, string, string][] = [
      ['requirements.txt', 'mlflow', 'text/plain'],
      ['MLmodel', 'artifact_path: m\nflavors: {}\n', 'text/plain'],
      ['python_env.yaml', 'python: 3.11\n', 'text/plain'],
      ['python_model.pkl', '\x80\x04pickle', 'application/octet-stream'],
      ['conda.yaml', 'name: mlflow-env\n', 'text/plain'],
    ];
    for (const [name, body, type] of files) await put(`${modelRoot}/${name}`, body, type);

    // load_model lists the model's root (`?path=<exp>/models/m-<id>/artifacts`), then GETs every file.
    const listing = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts?path=${modelRoot}`, {
      headers: STOCK_CLIENT_HEADERS,
    });
    expect(listing.status).toBe(200);
    const listed = (
      (await listing.json()) as { files: { path: string; is_dir: boolean; file_size: number }[] }
    ).files;
    expect(listed.map((file) => file.path).sort()).toEqual(files.map(([name]) => name).sort());
    expect(listed.every((file) => !file.is_dir && file.file_size > 0)).toBe(true);
    for (const [name, body] of files) {
      expect((await getFollowing(`/api/2.0/mlflow-artifacts/artifacts/${modelRoot}/${name}`)).text).toBe(
        body,
      );
    }
  });
});

describe('stock client: proxied multipart upload and presigned download (section F)', () => {
  it('answers mpu/create, complete and presigned with the shapes the client reads', async () => {
    const bytes = new Uint8Array(2500).map((_, i) => i % 251);
    const created = (await post(
      `/api/2.0/mlflow-artifacts/mpu/create/${root}/sub`,
      '{"path": "/tmp/tmpabc123/big.bin", "num_parts": 3}',
    )) as {
      upload_id: string;
      credentials: { url: string; part_number: number; headers: Record<string, string> }[];
    };
    expect(typeof created.upload_id).toBe('string');
    expect(created.credentials.map((c) => [c.part_number, typeof c.url, c.headers])).toEqual([
      [1, 'string', {}],
      [2, 'string', {}],
      [3, 'string', {}],
    ]);
    // The client PUTs parts with plain requests.put: no MLflow auth, no content type.
    const parts = await Promise.all(
      created.credentials.map(async (credential) => {
        const chunk = bytes.subarray((credential.part_number - 1) * 1000, credential.part_number * 1000);
        const response = await fetch(credential.url, {
          method: 'PUT',
          headers: credential.headers,
          body: chunk,
        });
        expect(response.status).toBe(200);
        return {
          part_number: credential.part_number,
          etag: response.headers.get('etag'),
          url: credential.url,
        };
      }),
    );
    expect(
      await post(
        `/api/2.0/mlflow-artifacts/mpu/complete/${root}/sub`,
        JSON.stringify({ path: '/tmp/tmpabc123/big.bin', upload_id: created.upload_id, parts }),
      ),
    ).toEqual({});

    const presigned = await fetch(`${server.url}/api/2.0/mlflow-artifacts/presigned/${root}/sub/big.bin`, {
      headers: STOCK_CLIENT_HEADERS,
    });
    const body = (await presigned.json()) as {
      url: string;
      headers: Record<string, string>;
      file_size: number;
    };
    expect(body.file_size).toBe(2500);
    expect(body.headers).toEqual({});
    const ranges = await Promise.all(
      [0, 1000, 2000].map(async (start) => {
        const response = await fetch(body.url, {
          headers: { ...body.headers, Range: `bytes=${start}-${Math.min(2499, start + 999)}` },
        });
        return new Uint8Array(await response.arrayBuffer());
      }),
    );
    expect(Buffer.concat(ranges)).toEqual(Buffer.from(bytes));
  });
});

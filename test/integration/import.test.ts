/**
 * `cairn import`: a source Cairn server filled through the API as the stock client fills it (experiments,
 * nested runs, a 1,500-point history with NaN and ±Infinity, an artifact tree with a binary file, dataset
 * inputs, a deleted run, a registered model with versions, an alias and a stage) is copied into a second
 * server's data directory, then compared through the second server's API; a second import changes not one
 * item. A source answering 5xx for one run's artifact listing: that run is reported, skipped and absent.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_BUCKET_NAME } from '../../local/server.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/stand-ins.js';
import { ArtifactWriter, PART_BYTES } from '../../shared/import/target.js';
import { endpointOptions } from '../../shared/store/clients.js';
import { CairnCli, type RunningCairn } from '../helpers/cli.js';
import { Api } from '../helpers/http.js';
import { serverTable, startTestServer, type TestServer } from '../helpers/server.js';

interface RunJson {
  info: { run_id: string; experiment_id: string; artifact_uri: string; lifecycle_stage: string };
  data: { metrics?: { key: string }[] };
}

const cli = new CairnCli();
let source: TestServer;
let src: Api;
let targetDir: string;
let dst: Api;
const runIds: string[] = [];
let loggedModelId = '';
const files: Record<string, Buffer> = {
  'notes.txt': Buffer.from('hello from the source\n'),
  'data/weights.bin': randomBytes(300_000),
  'data/deep/config.json': Buffer.from('{"layers": 3}'),
};

async function startTarget(dataDir: string): Promise<{ running: RunningCairn; url: string }> {
  const running = cli.spawn(['server', '--port', '0', '--data-dir', dataDir]);
  const url = await new Promise<string>((resolve, reject) => {
    running.child.stdout?.on('data', () => {
      const match = /Tracking URI: (http:\/\/\S+)/.exec(running.stdout());
      if (match) resolve(match[1] as string);
    });
    running.child.once('exit', (code) => reject(new Error(`server exited ${code}: ${running.stderr()}`)));
  });
  return { running, url };
}

async function ok<T>(response: Promise<{ status: number; body: T; text: string }>): Promise<T> {
  const answer = await response;
  if (answer.status !== 200) throw new Error(`${answer.status}: ${answer.text}`);
  return answer.body;
}

async function fillSource(): Promise<void> {
  const { experiment_id: experimentId } = await ok(
    src.post<{ experiment_id: string }>('experiments/create', {
      name: 'imported',
      tags: [{ key: 'team', value: 'vision' }],
    }),
  );
  const { experiment_id: otherId } = await ok(
    src.post<{ experiment_id: string }>('experiments/create', { name: 'gone' }),
  );
  const start = 1_700_000_000_000;
  const create = async (name: string, tags: { key: string; value: string }[] = []) => {
    const { run } = await ok(
      src.post<{ run: RunJson }>('runs/create', {
        experiment_id: experimentId,
        run_name: name,
        start_time: start + runIds.length,
        user_id: 'ana',
        tags,
      }),
    );
    runIds.push(run.info.run_id);
    return run;
  };
  const parent = await create('parent');
  const child = await create('child', [{ key: 'mlflow.parentRunId', value: parent.info.run_id }]);
  const loss = Array.from({ length: 1_500 }, (_, step) => ({
    key: 'loss',
    value: step === 7 ? 'NaN' : step === 8 ? 'Infinity' : step === 9 ? '-Infinity' : 1 / (step + 1),
    timestamp: start + step,
    step,
  }));
  for (let at = 0; at < loss.length; at += 1000) {
    await ok(src.post('runs/log-batch', { run_id: child.info.run_id, metrics: loss.slice(at, at + 1000) }));
  }
  await ok(
    src.post('runs/log-batch', {
      run_id: child.info.run_id,
      metrics: [{ key: 'acc', value: 0.9, timestamp: start, step: 3 }],
      params: [
        { key: 'lr', value: '0.01' },
        { key: 'layers', value: '3' },
      ],
      tags: [{ key: 'stage', value: 'train' }],
    }),
  );
  await ok(
    src.post('runs/log-inputs', {
      run_id: child.info.run_id,
      datasets: [
        {
          tags: [{ key: 'mlflow.data.context', value: 'training' }],
          dataset: { name: 'digits', digest: 'abc123', source_type: 'local', source: '{"uri": "/d"}' },
        },
      ],
    }),
  );
  const root = child.info.artifact_uri.replace(/^mlflow-artifacts:\//, '');
  for (const [path, bytes] of Object.entries(files)) {
    const put = await src.request('PUT', `/api/2.0/mlflow-artifacts/artifacts/${root}/${path}`, {
      body: bytes,
    });
    expect(put.status).toBe(200);
  }
  const model = `${root}/model/MLmodel`;
  await src.request('PUT', `/api/2.0/mlflow-artifacts/artifacts/${model}`, { body: 'flavors: {}\n' });
  const { model: logged } = await ok(
    src.post<{ model: { info: { model_id: string; artifact_uri: string } } }>('logged-models', {
      experiment_id: experimentId,
      name: 'forest',
      source_run_id: child.info.run_id,
      params: [{ key: 'trees', value: '100' }],
    }),
  );
  loggedModelId = logged.info.model_id;
  const loggedRoot = logged.info.artifact_uri.replace(/^mlflow-artifacts:\//, '');
  await src.request('PUT', `/api/2.0/mlflow-artifacts/artifacts/${loggedRoot}/model.pkl`, {
    body: files['data/weights.bin'],
  });
  await ok(
    src.request('PATCH', `/api/2.0/mlflow/logged-models/${loggedModelId}`, {
      json: { model_id: loggedModelId, status: 'LOGGED_MODEL_READY' },
    }),
  );
  await ok(
    src.post('runs/update', { run_id: child.info.run_id, status: 'FINISHED', end_time: start + 5_000 }),
  );
  const deleted = await create('deleted-one');
  await ok(
    src.post('runs/log-metric', { run_id: deleted.info.run_id, key: 'x', value: 1, timestamp: start }),
  );
  await ok(src.post('runs/delete', { run_id: deleted.info.run_id }));
  await ok(src.post('experiments/delete', { experiment_id: otherId }));

  await ok(
    src.post('registered-models/create', {
      name: 'digits-model',
      description: 'recognises digits',
      tags: [{ key: 'owner', value: 'ana' }],
    }),
  );
  for (let version = 0; version < 2; version++) {
    await ok(
      src.post('model-versions/create', {
        name: 'digits-model',
        source: `${child.info.artifact_uri}/model`,
        run_id: child.info.run_id,
        description: `v${version + 1}`,
      }),
    );
  }
  await ok(src.post('registered-models/alias', { name: 'digits-model', alias: 'champion', version: '1' }));
  await ok(
    src.post('model-versions/transition-stage', {
      name: 'digits-model',
      version: '2',
      stage: 'Staging',
      archive_existing_versions: false,
    }),
  );
}

async function importInto(from: string, dataDir: string, extra: string[] = []) {
  return cli.run(['import', '--from', from, '--data-dir', dataDir, ...extra]);
}

async function snapshot(dataDir: string): Promise<Record<string, unknown>[]> {
  const table = serverTable({ dataDir } as TestServer);
  try {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await table.doc.send(
        new ScanCommand({ TableName: table.tableName, ConsistentRead: true, ExclusiveStartKey: start }),
      );
      items.push(...((page.Items ?? []) as Record<string, unknown>[]));
      start = page.LastEvaluatedKey;
    } while (start);
    return items.sort((a, b) => `${a.pk}|${a.sk}`.localeCompare(`${b.pk}|${b.sk}`));
  } finally {
    table.destroy();
  }
}

async function history(api: Api, runId: string, key: string) {
  return ok(api.get<{ metrics: unknown[] }>('metrics/get-history', { run_id: runId, metric_key: key }));
}

async function artifactBytes(api: Api, run: RunJson, path: string): Promise<Buffer> {
  const root = run.info.artifact_uri.replace(/^mlflow-artifacts:\//, '');
  const response = await fetch(`${api.baseUrl}/api/2.0/mlflow-artifacts/artifacts/${root}/${path}`);
  expect(response.status).toBe(200);
  return Buffer.from(await response.arrayBuffer());
}

beforeAll(async () => {
  source = await startTestServer();
  src = new Api(source.url);
  await fillSource();
  targetDir = mkdtempSync(join(tmpdir(), 'cairn-import-'));
  const started = await startTarget(targetDir);
  dst = new Api(started.url);
}, 120_000);

afterAll(async () => {
  cli.killAll();
  await source?.close();
  if (targetDir) rmSync(targetDir, { recursive: true, force: true });
});

describe('cairn import from another Cairn', () => {
  let first: Awaited<ReturnType<typeof importInto>>;

  it('copies everything and reports what it copied', async () => {
    first = await importInto(source.url, targetDir);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/Imported 2 experiments, 3 runs \(0 already there/);
    expect(first.stdout).toMatch(/1,?5\d\d metric points/);
    expect(first.stdout).toMatch(/5 artifact files/);
    expect(first.stdout).toMatch(/1 logged models/);
    expect(first.stdout).toMatch(/1 registered models, 2 model versions/);
  }, 120_000);

  it('keeps experiments with their ids, names, tags and lifecycle', async () => {
    for (const view of ['ALL']) {
      const from = await ok(src.post<{ experiments: unknown[] }>('experiments/search', { view_type: view }));
      const to = await ok(dst.post<{ experiments: unknown[] }>('experiments/search', { view_type: view }));
      expect(to.experiments).toEqual(from.experiments);
    }
  });

  it('keeps runs as runs/get answers them, searches included', async () => {
    for (const runId of runIds) {
      const from = await ok(src.get('runs/get', { run_id: runId }));
      const to = await ok(dst.get('runs/get', { run_id: runId }));
      expect(to).toEqual(from);
    }
    for (const run_view_type of ['ACTIVE_ONLY', 'DELETED_ONLY', 'ALL']) {
      const query = { experiment_ids: ['1'], run_view_type, order_by: ['attributes.start_time ASC'] };
      const from = await ok(src.post('runs/search', query));
      const to = await ok(dst.post('runs/search', query));
      expect(to).toEqual(from);
    }
    const filtered = { experiment_ids: ['1'], filter: 'metrics.loss < 0.01 and params.lr = "0.01"' };
    expect(await ok(dst.post('runs/search', filtered))).toEqual(await ok(src.post('runs/search', filtered)));
  });

  it('keeps full metric histories, NaN and ±Infinity included', async () => {
    const child = runIds[1] as string;
    const from = await history(src, child, 'loss');
    const to = await history(dst, child, 'loss');
    expect(to.metrics).toHaveLength(1_500);
    expect(to).toEqual(from);
    expect(JSON.stringify(to)).toContain('"Infinity"');
    expect(await history(dst, child, 'acc')).toEqual(await history(src, child, 'acc'));
  });

  it('copies artifacts byte for byte, tree and listings included', async () => {
    const run = (await ok(dst.get<{ run: RunJson }>('runs/get', { run_id: runIds[1] as string }))).run;
    for (const [path, bytes] of Object.entries(files)) {
      expect((await artifactBytes(dst, run, path)).equals(bytes)).toBe(true);
    }
    for (const path of ['', 'data', 'data/deep', 'model']) {
      const query = { run_id: runIds[1] as string, ...(path ? { path } : {}) };
      expect(await ok(dst.get('artifacts/list', query))).toEqual(await ok(src.get('artifacts/list', query)));
    }
  });

  it('copies the registry: models, versions, sources, aliases, stages, tags, descriptions', async () => {
    const name = { name: 'digits-model' };
    expect(await ok(dst.get('registered-models/get', name))).toEqual(
      await ok(src.get('registered-models/get', name)),
    );
    for (const version of ['1', '2']) {
      const query = { ...name, version };
      expect(await ok(dst.get('model-versions/get', query))).toEqual(
        await ok(src.get('model-versions/get', query)),
      );
    }
    const alias = await ok(
      dst.get<{ model_version: { version: string } }>('registered-models/alias', {
        ...name,
        alias: 'champion',
      }),
    );
    expect(alias.model_version.version).toBe('1');
    // The version's files are the copied ones, reachable through its download URI.
    const uri = await ok(
      dst.get<{ artifact_uri: string }>('model-versions/get-download-uri', { ...name, version: '1' }),
    );
    const root = uri.artifact_uri.replace(/^mlflow-artifacts:\//, '');
    const mlmodel = await fetch(`${dst.baseUrl}/api/2.0/mlflow-artifacts/artifacts/${root}/MLmodel`);
    expect(await mlmodel.text()).toBe('flavors: {}\n');
  });

  it('copies logged models with their ids, params and files', async () => {
    const path = `/api/2.0/mlflow/logged-models/${loggedModelId}`;
    const from = await ok(src.request<{ model: { info: { artifact_uri: string } } }>('GET', path));
    const to = await ok(dst.request<{ model: { info: { artifact_uri: string } } }>('GET', path));
    expect(to).toEqual(from);
    const root = to.model.info.artifact_uri.replace(/^mlflow-artifacts:\//, '');
    const bytes = await fetch(`${dst.baseUrl}/api/2.0/mlflow-artifacts/artifacts/${root}/model.pkl`);
    expect(Buffer.from(await bytes.arrayBuffer()).equals(files['data/weights.bin'] as Buffer)).toBe(true);
  });

  it('changes nothing when run again', async () => {
    const before = await snapshot(targetDir);
    const again = await importInto(source.url, targetDir);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/Imported 0 experiments, 0 runs \(3 already there, left as they are\)/);
    expect(again.stdout).toMatch(/0 registered models, 0 model versions/);
    expect(await snapshot(targetDir)).toEqual(before);
  }, 120_000);
});

describe('cairn import from a failing source', () => {
  let proxy: Server;
  let proxyUrl: string;
  let dataDir: string;

  beforeAll(async () => {
    // Forwards to the source, except that one run's artifact listing answers 500 every time.
    proxy = createServer(async (request, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      if (
        request.url?.startsWith('/api/2.0/mlflow/artifacts/list') &&
        request.url.includes(runIds[1] as string)
      ) {
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end('{"error_code":"INTERNAL_ERROR","message":"boom"}');
        return;
      }
      const forwarded = await fetch(`${source.url}${request.url}`, {
        method: request.method as string,
        headers: { 'content-type': request.headers['content-type'] ?? 'application/json' },
        ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
        redirect: 'manual',
      });
      const headers: Record<string, string> = {};
      for (const key of ['content-type', 'location']) {
        const value = forwarded.headers.get(key);
        if (value) headers[key] = value;
      }
      response.writeHead(forwarded.status, headers);
      response.end(Buffer.from(await forwarded.arrayBuffer()));
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', () => resolve()));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
    dataDir = mkdtempSync(join(tmpdir(), 'cairn-import-fail-'));
  });

  afterAll(async () => {
    await new Promise((resolve) => proxy?.close(resolve));
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('retries, then reports and skips that run; the run is absent, the others whole', async () => {
    const result = await importInto(proxyUrl, dataDir, ['--experiment', 'imported']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/Imported 1 experiments, 2 runs/);
    expect(result.stdout).toContain(`run ${runIds[1]} (child): GET /api/2.0/mlflow/artifacts/list`);
    expect(result.stdout).toMatch(/answered 500 INTERNAL_ERROR \(after 5 attempts\)/);
    // Through a server on that directory: the skipped run is nowhere, the others are there.
    const { running, url } = await startTarget(dataDir);
    try {
      const api = new Api(url);
      const missing = await api.get('runs/get', { run_id: runIds[1] as string });
      expect(missing.status).toBe(404);
      const all = await ok(
        api.post<{ runs: RunJson[] }>('runs/search', { experiment_ids: ['1'], run_view_type: 'ALL' }),
      );
      expect(all.runs.map((run) => run.info.run_id).sort()).toEqual([runIds[0], runIds[2]].sort());
      const items = await snapshot(dataDir);
      expect(items.filter((item) => String(item.pk) === `RUN#${runIds[1]}`)).toEqual([]);

      // What an import cut short would leave: some of the run's items without its RUN item. The next
      // import (the source healthy again) clears them and copies the run whole; the rest stays as it was.
      const table = serverTable({ dataDir } as TestServer);
      try {
        await table.doc.send(
          new PutCommand({
            TableName: table.tableName,
            Item: { pk: `RUN#${runIds[1]}`, sk: 'MX#stale', d: {} },
          }),
        );
      } finally {
        table.destroy();
      }
      const resumed = await importInto(source.url, dataDir, ['--experiment', 'imported']);
      expect(resumed.code).toBe(0);
      expect(resumed.stdout).toMatch(/Imported 0 experiments, 1 runs \(2 already there, left as they are\)/);
      const child = runIds[1] as string;
      expect(await ok(api.get('runs/get', { run_id: child }))).toEqual(
        await ok(src.get('runs/get', { run_id: child })),
      );
      expect(await history(api, child, 'loss')).toEqual(await history(src, child, 'loss'));
      expect((await snapshot(dataDir)).some((item) => item.sk === 'MX#stale')).toBe(false);
    } finally {
      running.child.kill('SIGTERM');
      await new Promise((resolve) => running.child.once('exit', resolve));
    }
  }, 120_000);
});

describe('artifact streaming into the bucket', () => {
  const big = randomBytes(PART_BYTES + 123_457);

  function streamOf(bytes: Buffer, failAfter?: number): ReadableStream<Uint8Array> {
    let at = 0;
    return new ReadableStream({
      pull(controller) {
        if (failAfter !== undefined && at >= failAfter) {
          controller.error(new Error('source connection reset'));
          return;
        }
        const end = Math.min(at + 1_000_000, bytes.length);
        controller.enqueue(new Uint8Array(bytes.subarray(at, end)));
        at = end;
        if (at >= bytes.length) controller.close();
      },
    });
  }

  async function withWriter<T>(work: (writer: ArtifactWriter, run: RunJson) => Promise<T>): Promise<T> {
    const s3 = new S3Client({
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...endpointOptions(undefined, join(targetDir, 's3.sock')),
    });
    const table = serverTable({ dataDir: targetDir } as TestServer);
    try {
      const run = (await ok(dst.get<{ run: RunJson }>('runs/get', { run_id: runIds[1] as string }))).run;
      const writer = new ArtifactWriter({
        doc: table.doc,
        tableName: table.tableName,
        s3,
        bucket: LOCAL_BUCKET_NAME,
        keyPrefix: '',
      });
      return await work(writer, run);
    } finally {
      s3.destroy();
      table.destroy();
    }
  }

  it('streams a file larger than a part through a multipart upload, byte for byte', async () => {
    await withWriter(async (writer, run) => {
      const written = await writer.put(
        { kind: 'run', experimentId: run.info.experiment_id, runId: run.info.run_id },
        'big/blob.bin',
        streamOf(big),
        undefined,
      );
      expect(written).toBe(big.length);
      expect((await artifactBytes(dst, run, 'big/blob.bin')).equals(big)).toBe(true);
    });
  }, 60_000);

  it('leaves no object when the source stream breaks mid-file', async () => {
    await withWriter(async (writer, run) => {
      await expect(
        writer.put(
          { kind: 'run', experimentId: run.info.experiment_id, runId: run.info.run_id },
          'big/broken.bin',
          streamOf(Buffer.concat([big, big]), PART_BYTES + 1),
          undefined,
        ),
      ).rejects.toThrow('source connection reset');
      const listed = await ok(
        dst.get<{ files?: { path: string }[] }>('artifacts/list', { run_id: run.info.run_id, path: 'big' }),
      );
      expect((listed.files ?? []).map((file) => file.path)).toEqual(['big/blob.bin']);
    });
  }, 60_000);
});

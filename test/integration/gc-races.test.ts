/**
 * gc against restores that land while it runs (review 3). A purge marks an experiment or run (`purging`,
 * a conditional update on the item) before it deletes anything of it; restore refuses a marked one, and a
 * restore that lands before the mark makes the purge leave it. Also: a copied model version's files (its
 * storage_location) are kept and served, and an experiment's name stays taken until its item is gone.
 */
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPublishedEndpoint } from '../../local/data-dir-endpoint.js';
import { LOCAL_BUCKET_NAME } from '../../local/server.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/stand-ins.js';
import { endpointOptions } from '../../shared/store/clients.js';
import { keys } from '../../shared/store/keys.js';
import { purgeDeleted } from '../../shared/store/purge/purge.js';
import { Api } from '../helpers/http.js';
import { serverTable, startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let api: Api;
let table: ReturnType<typeof serverTable>;
let s3: S3Client;
const DAY = 86_400_000;

beforeAll(async () => {
  server = await startTestServer();
  api = new Api(server.url);
  table = serverTable(server);
  const published = readPublishedEndpoint(server.dataDir);
  s3 = new S3Client({
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    forcePathStyle: true,
    ...endpointOptions(undefined, published?.s3Socket),
  });
});

afterAll(async () => {
  s3?.destroy();
  table?.destroy();
  await server?.close();
});

describe('gc and an experiment restored during its purge', () => {
  it('refuses to restore an experiment whose purge has begun, and purges it whole', async () => {
    const created = await api.post<{ experiment_id: string }>('experiments/create', { name: 'r3-restore' });
    expect(created.status, created.text).toBe(200);
    const experimentId = created.body.experiment_id;
    const run = await api.post<{ run: { info: { run_id: string } } }>('runs/create', {
      experiment_id: experimentId,
      start_time: 1_000,
    });
    const runId = run.body.run.info.run_id;
    await api.post('runs/log-batch', { run_id: runId, params: [{ key: 'lr', value: '0.1' }] });
    expect((await api.post('experiments/delete', { experiment_id: experimentId })).status).toBe(200);
    await table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: keys.experiment(experimentId),
        UpdateExpression: 'SET last_update_time = last_update_time - :back',
        ExpressionAttributeValues: { ':back': 40 * DAY },
      }),
    );

    // The user restores the experiment just as the purge reaches its first run.
    let restored = false;
    const doc = new Proxy(table.doc, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        return async (command: unknown) => {
          if (!restored && command instanceof GetCommand && command.input.Key?.sk === 'RUN') {
            restored = true;
            const answer = await api.post<{ message: string }>('experiments/restore', {
              experiment_id: experimentId,
            });
            expect(answer.status, answer.text).toBe(400);
            expect(answer.body.message).toContain('being purged');
          }
          return target.send(command as never);
        };
      },
    }) as DynamoDBDocumentClient;
    const report = await purgeDeleted(
      { doc, tableName: table.tableName, s3, bucket: LOCAL_BUCKET_NAME, keyPrefix: '' },
      { olderThanMs: 30 * DAY, experimentIds: [experimentId] },
    );
    expect(restored).toBe(true);
    expect(report.experiments, JSON.stringify(report)).toBe(1);
    // Nothing half restored: the experiment and its run are gone together.
    expect((await api.get(`experiments/get?experiment_id=${experimentId}`)).status).toBe(404);
    expect((await api.get(`runs/get?run_id=${runId}`)).status).toBe(404);
  }, 60_000);

  it('leaves an experiment restored just before its purge marks it, runs and all', async () => {
    const created = await api.post<{ experiment_id: string }>('experiments/create', { name: 'r3-early' });
    const experimentId = created.body.experiment_id;
    const run = await api.post<{ run: { info: { run_id: string } } }>('runs/create', {
      experiment_id: experimentId,
      start_time: 1_000,
    });
    const runId = run.body.run.info.run_id;
    expect((await api.post('experiments/delete', { experiment_id: experimentId })).status).toBe(200);
    await table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: keys.experiment(experimentId),
        UpdateExpression: 'SET last_update_time = last_update_time - :back',
        ExpressionAttributeValues: { ':back': 40 * DAY },
      }),
    );
    // The purge listed the experiment as deleted; the restore lands before its first write.
    let restored = false;
    const doc = new Proxy(table.doc, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        return async (command: unknown) => {
          const input = (command as { input?: { Key?: { sk?: string } } }).input;
          if (!restored && command instanceof UpdateCommand && input?.Key?.sk === 'EXP') {
            restored = true;
            const answer = await api.post('experiments/restore', { experiment_id: experimentId });
            expect(answer.status, answer.text).toBe(200);
          }
          return target.send(command as never);
        };
      },
    }) as DynamoDBDocumentClient;
    const report = await purgeDeleted(
      { doc, tableName: table.tableName, s3, bucket: LOCAL_BUCKET_NAME, keyPrefix: '' },
      { olderThanMs: 30 * DAY, experimentIds: [experimentId] },
    );
    expect(restored).toBe(true);
    expect(report.experiments).toBe(0);
    expect(report.runs).toBe(0);
    const experiment = await api.get<{ experiment: { lifecycle_stage: string } }>(
      `experiments/get?experiment_id=${experimentId}`,
    );
    expect(experiment.body.experiment.lifecycle_stage).toBe('active');
    const got = await api.get<{ run: { info: { lifecycle_stage: string } } }>(`runs/get?run_id=${runId}`);
    expect(got.status, JSON.stringify(report)).toBe(200);
    expect(got.body.run.info.lifecycle_stage).toBe('active');
  }, 60_000);
});

describe('a purge cut short, then the run restored', () => {
  it('refuses to restore a run whose purge stopped half way, and the next purge finishes it', async () => {
    const created = await api.post<{ experiment_id: string }>('experiments/create', { name: 'r3-cut' });
    const experimentId = created.body.experiment_id;
    const run = await api.post<{ run: { info: { run_id: string } } }>('runs/create', {
      experiment_id: experimentId,
      start_time: 1_000,
    });
    const runId = run.body.run.info.run_id;
    await api.post('runs/log-metric', { run_id: runId, key: 'loss', value: 1, timestamp: 1, step: 0 });
    expect((await api.post('runs/delete', { run_id: runId })).status).toBe(200);
    await table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: keys.run(runId),
        UpdateExpression: 'SET deleted_time = deleted_time - :back',
        ExpressionAttributeValues: { ':back': 40 * DAY },
      }),
    );
    // The purge (a gc interrupted with Ctrl-C, or the function killed) got as far as every item but RUN:
    // its RUN item goes last, so the run is still there, deleted, until the next purge (a day later).
    let cut = false;
    const doc = new Proxy(table.doc, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        return async (command: unknown) => {
          const name = (command as { constructor: { name: string } }).constructor.name;
          if (
            name === 'DeleteCommand' &&
            (command as { input: { Key: { sk: string } } }).input.Key.sk === 'RUN'
          ) {
            cut = true;
            throw new Error('killed');
          }
          return target.send(command as never);
        };
      },
    }) as DynamoDBDocumentClient;
    await expect(
      purgeDeleted(
        { doc, tableName: table.tableName, s3, bucket: LOCAL_BUCKET_NAME, keyPrefix: '' },
        { olderThanMs: 30 * DAY, experimentIds: [experimentId] },
      ),
    ).rejects.toThrow('killed');
    expect(cut).toBe(true);
    const restore = await api.post<{ message: string }>('runs/restore', { run_id: runId });
    expect(restore.status, restore.text).toBe(400);
    expect(restore.body.message).toContain('being purged');
    // Still there, deleted, until the next purge, which finishes it whatever its threshold.
    const stillDeleted = await api.get<{ run: { info: { lifecycle_stage: string } } }>(
      `runs/get?run_id=${runId}`,
    );
    expect(stillDeleted.body.run.info.lifecycle_stage).toBe('deleted');
    const next = await purgeDeleted(
      { doc: table.doc, tableName: table.tableName, s3, bucket: LOCAL_BUCKET_NAME, keyPrefix: '' },
      { olderThanMs: 90 * DAY, experimentIds: [experimentId] },
    );
    expect(next.runs).toBe(1);
    expect((await api.get(`runs/get?run_id=${runId}`)).status).toBe(404);
    const logged = await api.post('runs/log-metric', {
      run_id: runId,
      key: 'loss',
      value: 0.5,
      timestamp: 2,
      step: 1,
    });
    expect(logged.status, logged.text).toBeLessThan(500);
  }, 60_000);
});

describe('gc and a copied model version', () => {
  it('keeps the run whose files a copied version (models:/<name>/<version>) is stored at', async () => {
    const created = await api.post<{ experiment_id: string }>('experiments/create', { name: 'r3-copy' });
    const experimentId = created.body.experiment_id;
    const run = await api.post<{ run: { info: { run_id: string } } }>('runs/create', {
      experiment_id: experimentId,
      start_time: 1_000,
    });
    const runId = run.body.run.info.run_id;
    const put = await fetch(
      `${server.url}/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${runId}/artifacts/model/MLmodel`,
      { method: 'PUT', body: 'flavors: {}\n' },
    );
    expect(put.status).toBe(200);
    for (const name of ['r3-dev', 'r3-prod']) {
      expect((await api.post('registered-models/create', { name })).status).toBe(200);
    }
    // Registered from the run's files without a run_id (a REST client, or a model logged elsewhere)...
    const dev = await api.post('model-versions/create', { name: 'r3-dev', source: `runs:/${runId}/model` });
    expect(dev.status, dev.text).toBe(200);
    // ...copied as copy_model_version copies it (run_id: the source version's, here none)...
    const prod = await api.post('model-versions/create', { name: 'r3-prod', source: 'models:/r3-dev/1' });
    expect(prod.status, prod.text).toBe(200);
    // model-versions/get-artifact serves a copy from its storage_location (as MLflow's handler reads it),
    // not from its source (models:/r3-dev/1).
    const before = await api.request(
      'GET',
      '/model-versions/get-artifact?name=r3-prod&version=1&path=MLmodel',
    );
    expect(before.status, before.text).toBe(307);
    // ...then the dev version is cleaned up and the run deleted long ago.
    expect(
      (
        await api.request('DELETE', '/api/2.0/mlflow/model-versions/delete', {
          json: { name: 'r3-dev', version: '1' },
        })
      ).status,
    ).toBe(200);
    const uri = await api.get<{ artifact_uri: string }>(
      'model-versions/get-download-uri?name=r3-prod&version=1',
    );
    expect(uri.status, uri.text).toBe(200);
    expect(uri.body.artifact_uri).toContain(runId);
    expect((await api.post('runs/delete', { run_id: runId })).status).toBe(200);
    await table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: keys.run(runId),
        UpdateExpression: 'SET deleted_time = deleted_time - :back',
        ExpressionAttributeValues: { ':back': 40 * DAY },
      }),
    );
    const report = await purgeDeleted(
      { doc: table.doc, tableName: table.tableName, s3, bucket: LOCAL_BUCKET_NAME, keyPrefix: '' },
      { olderThanMs: 30 * DAY, experimentIds: [experimentId] },
    );
    // Kept: the copy's storage_location names the run.
    expect(report.kept.map((k) => k.id)).toContain(runId);
    const left = await s3.send(
      new ListObjectsV2Command({ Bucket: LOCAL_BUCKET_NAME, Prefix: `${experimentId}/${runId}/` }),
    );
    expect(
      (left.Contents ?? []).map((o) => o.Key),
      JSON.stringify(report),
    ).toEqual([`${experimentId}/${runId}/artifacts/model/MLmodel`]);
  }, 60_000);
});

describe('an experiment purged: its name', () => {
  it('stays taken until its item is gone, and no restore lands in between', async () => {
    const name = 'r3-claim';
    const created = await api.post<{ experiment_id: string }>('experiments/create', { name });
    const experimentId = created.body.experiment_id;
    expect((await api.post('experiments/delete', { experiment_id: experimentId })).status).toBe(200);
    await table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: keys.experiment(experimentId),
        UpdateExpression: 'SET last_update_time = last_update_time - :back',
        ExpressionAttributeValues: { ':back': 40 * DAY },
      }),
    );
    // Just before the purge deletes the experiment item: the name is still taken, restore refuses.
    let restored = false;
    const doc = new Proxy(table.doc, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        return async (command: unknown) => {
          const input = (command as { input?: { Key?: { sk?: string } } }).input;
          if (!restored && command?.constructor?.name === 'DeleteCommand' && input?.Key?.sk === 'EXP') {
            restored = true;
            const answer = await api.post('experiments/restore', { experiment_id: experimentId });
            expect(answer.status, answer.text).toBe(400);
            const twin = await api.post('experiments/create', { name });
            expect(twin.status, twin.text).toBe(400);
          }
          return target.send(command as never);
        };
      },
    }) as DynamoDBDocumentClient;
    const report = await purgeDeleted(
      { doc, tableName: table.tableName, s3, bucket: LOCAL_BUCKET_NAME, keyPrefix: '' },
      { olderThanMs: 30 * DAY, experimentIds: [experimentId, '987654321'] },
    );
    expect(restored).toBe(true);
    expect(report.kept).toEqual([]);
    expect(report.experiments).toBe(1);
    // An id no experiment has is reported (cairn gc says so on stderr and exits 1).
    expect(report.unknownExperiments).toEqual(['987654321']);
    // Gone: its name is free again.
    expect((await api.get(`experiments/get-by-name?experiment_name=${name}`)).status).toBe(404);
    expect((await api.post('experiments/create', { name })).status).toBe(200);
  }, 60_000);
});

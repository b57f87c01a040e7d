/**
 * The daily purge function's work (functions/purge/purge-handler.ts) on a local server's table and bucket:
 * it purges what is past its threshold, and with too little time left it starts nothing and says it is
 * not complete, so the next day's run carries on.
 */
import { randomBytes } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPurgeHandler, STOP_BEFORE_TIMEOUT_MS } from '../../functions/purge/purge-handler.js';
import { readPublishedEndpoint } from '../../local/data-dir-endpoint.js';
import { LOCAL_BUCKET_NAME } from '../../local/server.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/stand-ins.js';
import { endpointOptions } from '../../shared/store/clients.js';
import { keys } from '../../shared/store/keys.js';
import { DAY_MS, type PurgeTarget } from '../../shared/store/purge/purge.js';
import { Api } from '../helpers/http.js';
import { serverTable, startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let api: Api;
let table: ReturnType<typeof serverTable>;
let target: PurgeTarget;

beforeAll(async () => {
  server = await startTestServer();
  api = new Api(server.url);
  table = serverTable(server);
  target = {
    doc: table.doc,
    tableName: table.tableName,
    s3: new S3Client({
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      forcePathStyle: true,
      ...endpointOptions(undefined, readPublishedEndpoint(server.dataDir)?.s3Socket),
    }),
    bucket: LOCAL_BUCKET_NAME,
    keyPrefix: '',
  };
});

afterAll(async () => {
  target?.s3.destroy();
  table?.destroy();
  await server?.close();
});

async function deletedRun(daysAgo: number): Promise<string> {
  const experiment = await api.post<{ experiment_id: string }>('experiments/create', {
    name: `purge-fn-${randomBytes(4).toString('hex')}`,
  });
  const created = await api.post<{ run: { info: { run_id: string } } }>('runs/create', {
    experiment_id: experiment.body.experiment_id,
  });
  const runId = created.body.run.info.run_id;
  await api.post('runs/log-metric', { run_id: runId, key: 'm', value: 1, timestamp: 1, step: 0 });
  await api.post('runs/delete', { run_id: runId });
  await table.doc.send(
    new UpdateCommand({
      TableName: table.tableName,
      Key: keys.run(runId),
      UpdateExpression: 'SET deleted_time = deleted_time - :back',
      ExpressionAttributeValues: { ':back': daysAgo * DAY_MS },
    }),
  );
  return runId;
}

describe('the purge function', () => {
  it('starts nothing when its time is nearly up, and the next run purges what is due', async () => {
    const due = await deletedRun(31);
    const notYet = await deletedRun(29);
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const handler = createPurgeHandler(target, 30);
      const cut = await handler({}, { getRemainingTimeInMillis: () => STOP_BEFORE_TIMEOUT_MS - 1 });
      expect(cut).toMatchObject({ complete: false, runs: 0 });
      expect((await api.get('runs/get', { run_id: due })).status).toBe(200);

      const next = await handler({}, { getRemainingTimeInMillis: () => 15 * 60_000 });
      expect(next).toMatchObject({ complete: true, runs: 1, dryRun: false });
      expect(JSON.parse(String(log.mock.calls.at(-1)?.[0]))).toMatchObject({
        message: 'purge',
        afterDays: 30,
        runs: 1,
        complete: true,
      });
    } finally {
      log.mockRestore();
    }
    expect((await api.get<{ error_code?: string }>('runs/get', { run_id: due })).body.error_code).toBe(
      'RESOURCE_DOES_NOT_EXIST',
    );
    expect((await api.get('runs/get', { run_id: notYet })).status).toBe(200);
  });
});

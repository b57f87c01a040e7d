/**
 * A purge deletes a run's items with its RUN item last: one cut short leaves a RUN item without its
 * LATEST. A metric write to such a run answers as MLflow does for a run that is not there, not with a 500.
 */
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../shared/store/keys.js';
import { Api } from '../helpers/http.js';
import { serverTable, startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let api: Api;
let table: ReturnType<typeof serverTable>;

beforeAll(async () => {
  server = await startTestServer();
  api = new Api(server.url);
  table = serverTable(server);
});
afterAll(async () => {
  table?.destroy();
  await server?.close();
});

describe('a run whose purge was cut short', () => {
  it('refuses a metric write with RESOURCE_DOES_NOT_EXIST naming the run', async () => {
    const experimentId = (await api.post<{ experiment_id: string }>('experiments/create', { name: 'cut' }))
      .body.experiment_id;
    const runId = (
      await api.post<{ run: { info: { run_id: string } } }>('runs/create', { experiment_id: experimentId })
    ).body.run.info.run_id;
    await table.doc.send(new DeleteCommand({ TableName: table.tableName, Key: keys.runLatest(runId) }));
    const logged = await api.post<{ error_code: string; message: string }>('runs/log-metric', {
      run_id: runId,
      key: 'loss',
      value: 1,
      timestamp: 1,
      step: 0,
    });
    expect(logged.status).toBe(404);
    expect(logged.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    expect(logged.body.message).toContain(runId);
  });
});

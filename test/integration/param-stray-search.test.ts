/**
 * what a search answers once a param write that gave up (ConcurrentWritesError, a 503)
 * left its value entry behind on a run that does not hold the param.
 */
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../shared/store/keys.js';
import { DynamoRunRepository } from '../../shared/store/runs/repository.js';
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

describe('a stray param entry and search', () => {
  it('answers searches by param value as a brute-force search would', async () => {
    const experimentId = (await api.post<{ experiment_id: string }>('experiments/create', { name: 'stray' }))
      .body.experiment_id;
    const newRun = async (name: string) =>
      (
        await api.post<{ run: { info: { run_id: string } } }>('runs/create', {
          experiment_id: experimentId,
          run_name: name,
          start_time: 1,
        })
      ).body.run.info.run_id;
    const holder = await newRun('holder');
    expect((await api.post('runs/log-parameter', { run_id: holder, key: 'lr', value: '0.5' })).status).toBe(
      200,
    );
    const phantom = await newRun('phantom');
    // The param write to `phantom` is contended past its attempts (another writer moves RUN before each).
    const doc = new Proxy(table.doc, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        return async (command: unknown) => {
          if (
            command instanceof UpdateCommand &&
            command.input.Key?.pk === keys.run(phantom).pk &&
            command.input.Key?.sk === 'RUN'
          ) {
            await target.send(
              new UpdateCommand({
                TableName: table.tableName,
                Key: keys.run(phantom),
                UpdateExpression: 'SET ver = ver + :one',
                ExpressionAttributeValues: { ':one': 1 },
              }),
            );
          }
          return target.send(command as never);
        };
      },
    }) as DynamoDBDocumentClient;
    await expect(
      new DynamoRunRepository(doc, table.tableName).mutate(phantom, () => ({ params: { lr: '0.1' } })),
    ).rejects.toThrow(/concurrent/i);
    const search = async (body: Record<string, unknown>) => {
      const answer = await api.post<{ runs?: { info: { run_name: string } }[] }>('runs/search', {
        experiment_ids: [experimentId],
        ...body,
      });
      expect(answer.status, answer.text).toBe(200);
      return (answer.body.runs ?? []).map((run) => run.info.run_name);
    };
    const results = {
      equal: await search({ filter: "params.lr = '0.1'" }),
      like: await search({ filter: "params.lr LIKE '0.1%'" }),
      ordered: await search({ order_by: ['params.lr ASC'], max_results: 1 }),
      orderedAll: await search({ order_by: ['params.lr ASC'] }),
    };
    // Brute force: only `holder` has lr; runs without it sort last.
    expect(results).toEqual({ equal: [], like: [], ordered: ['holder'], orderedAll: ['holder', 'phantom'] });
  }, 60_000);
});

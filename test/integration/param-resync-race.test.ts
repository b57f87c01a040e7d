/**
 * resyncEntries deletes the entry of a param the run does not hold, unconditionally,
 * and returns once the RUN item's version held from its read to its verifying read. Another writer's param
 * write puts its entry *before* its RUN update: if that put lands between the resync's read and its delete,
 * and the update lands after the resync's verifying read, the run ends up holding the param with no value
 * entry, so a search by that param's value misses it, for good (params never change; a retried log-param
 * is a no-op).
 */
import { ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planRunListing, searchRuns } from '../../shared/domain/runs/search.js';
import { InvalidParameterValueError } from '../../shared/errors.js';
import { keys } from '../../shared/store/keys.js';
import { DynamoRunRepository } from '../../shared/store/runs/repository.js';
import { Api } from '../helpers/http.js';
import { gate, proxied } from '../helpers/interleave.js';
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

describe('a resync racing another param write', () => {
  it('leaves the value entry of a param the run holds', async () => {
    const experimentId = (await api.post<{ experiment_id: string }>('experiments/create', { name: 'race' }))
      .body.experiment_id;
    const runId = (
      await api.post<{ run: { info: { run_id: string } } }>('runs/create', { experiment_id: experimentId })
    ).body.run.info.run_id;
    const isRunUpdate = (c: unknown) =>
      c instanceof UpdateCommand && c.input.Key?.pk === keys.run(runId).pk && c.input.Key?.sk === 'RUN';
    const isDelete = (c: unknown) => c?.constructor?.name === 'DeleteCommand';

    // Writer 1: its update loses to another write (a tag), and its retry is refused (say the run grew past
    // its size limit meanwhile, or its attempts ran out): it puts its param entries right, deleting lr's.
    const deleteGate = gate();
    let bumped = false;
    const one = new DynamoRunRepository(
      proxied(table.doc, async (command, send) => {
        if (!bumped && isRunUpdate(command)) {
          bumped = true;
          await send(
            new UpdateCommand({
              TableName: table.tableName,
              Key: keys.run(runId),
              UpdateExpression: 'SET ver = ver + :one',
              ExpressionAttributeValues: { ':one': 1 },
            }),
          );
        }
        if (isDelete(command)) {
          deleteGate.reached();
          await deleteGate.opened;
        }
      }),
      table.tableName,
    );
    let calls = 0;
    const writing1 = one.mutate(runId, () => {
      calls++;
      if (calls > 1) throw new InvalidParameterValueError('refused on the fresh read');
      return { params: { lr: '0.1' } };
    });
    await deleteGate.arrived;

    // Writer 2 (another process) logs the same param: entries put, then its RUN update, held a moment.
    const updateGate = gate();
    const two = new DynamoRunRepository(
      proxied(table.doc, async (command) => {
        if (isRunUpdate(command)) {
          updateGate.reached();
          await updateGate.opened;
        }
      }),
      table.tableName,
    );
    const writing2 = two.mutate(runId, () => ({ params: { lr: '0.1' } }));
    await updateGate.arrived;
    deleteGate.open();
    await expect(writing1).rejects.toThrow('refused on the fresh read');
    updateGate.open();
    await writing2;

    const got = await api.get<{ run: { data: { params?: { key: string; value: string }[] } } }>(
      `runs/get?run_id=${runId}`,
    );
    expect(got.body.run.data.params).toEqual([{ key: 'lr', value: '0.1' }]);
    const { Items } = await table.doc.send(
      new ScanCommand({ TableName: table.tableName, ConsistentRead: true }),
    );
    const entries = (Items ?? []).filter(
      (item) => item.pk === keys.run(runId).pk && item.type === 'param-value',
    );
    expect
      .soft(
        entries.map((entry) => entry.value),
        'value entries of lr',
      )
      .toEqual(['0.1']);
    // The search the store answers from value entries in an experiment of many runs (the threshold that
    // leaves small experiments to the full listing set to 0 here), against brute force.
    const query = {
      experimentIds: [experimentId],
      filter: "params.lr = '0.1'",
      orderBy: ['attributes.start_time DESC'],
      viewType: 'ACTIVE_ONLY' as const,
      maxResults: 100,
    };
    const reader = new DynamoRunRepository(table.doc, table.tableName, { minRunsPerPartition: 0 });
    const plan = planRunListing(query);
    if (!plan) throw new Error('no plan');
    const candidates = await reader.listIndexed([experimentId], plan);
    expect(candidates, 'the store answered from its entries').toBeDefined();
    const indexed = searchRuns(candidates ?? [], query).runs.map((run) => run.runId);
    // An unconditional delete in the resync left [] here: the run holds lr = 0.1 and the search missed it.
    expect(indexed).toEqual([runId]);
  }, 60_000);
});

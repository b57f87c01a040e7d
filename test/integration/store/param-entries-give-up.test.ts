/**
 * a param write puts its value entries before its conditional RUN update. When the
 * update never lands and the write gives up (contention past MAX_ATTEMPTS, or an error other than a
 * condition failure), the entries of a param the run does not hold stay behind: a search by that param
 * value finds a run that has no such param, until the run's next write touches that key.
 */
import { type DynamoDBDocumentClient, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromStoredMap } from '../../../shared/store/items.js';
import { keys } from '../../../shared/store/keys.js';
import type { RunItem } from '../../../shared/store/runs/entity.js';
import { DynamoRunRepository } from '../../../shared/store/runs/repository.js';
import { createTestTable, putExperimentItem, type TestTable } from '../../helpers/dynamo.js';
import { testRun } from '../../helpers/runs.js';

let table: TestTable;
let repo: DynamoRunRepository;
let runIds = 0x7000;

beforeAll(async () => {
  table = await createTestTable();
  repo = new DynamoRunRepository(table.doc, table.tableName);
  await putExperimentItem(table, '1');
});
afterAll(async () => {
  await table?.close();
});

const newRunId = () => (++runIds).toString(16).padStart(32, '0');

async function partition(runId: string): Promise<Record<string, unknown>[]> {
  const { Items } = await table.doc.send(
    new ScanCommand({ TableName: table.tableName, ConsistentRead: true }),
  );
  return (Items ?? []).filter((item) => item.pk === keys.run(runId).pk);
}

/** Param entries as `key=value`, and the params the RUN item holds, as `key=value`. */
async function paramsAndEntries(runId: string) {
  const items = await partition(runId);
  const run = items.find((item) => item.sk === 'RUN') as unknown as RunItem;
  const held = Object.entries(fromStoredMap(run.params)).map(([k, v]) => `${k}=${v}`);
  const entries = items
    .filter((item) => item.type === 'param-value')
    .map((item) => `${item.key}=${item.value}`);
  return { held: held.sort(), entries: entries.sort() };
}

const isRunUpdate = (command: unknown, runId: string) =>
  command instanceof UpdateCommand &&
  command.input.Key?.pk === keys.run(runId).pk &&
  command.input.Key?.sk === 'RUN';

function repoWith(onRunUpdate: (command: UpdateCommand) => Promise<void>, runId: string) {
  const doc = new Proxy(table.doc, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return async (command: unknown) => {
        if (isRunUpdate(command, runId)) await onRunUpdate(command as UpdateCommand);
        return target.send(command as never);
      };
    },
  }) as DynamoDBDocumentClient;
  return new DynamoRunRepository(doc, table.tableName);
}

describe('param entries put before an update that never lands', () => {
  it('a param write that gives up under contention leaves no entry of a param the run lacks', async () => {
    const runId = newRunId();
    await repo.create(testRun(runId, { experimentId: '1' }));
    // Another writer moves the RUN item on just before each of this writer's updates (e.g. a busy
    // set-tag loop in other containers): every attempt fails its condition, then the write gives up.
    const contended = repoWith(async () => {
      await table.doc.send(
        new UpdateCommand({
          TableName: table.tableName,
          Key: keys.run(runId),
          UpdateExpression: 'SET ver = ver + :one',
          ExpressionAttributeValues: { ':one': 1 },
        }),
      );
    }, runId);
    await expect(contended.mutate(runId, () => ({ params: { lr: '0.1' } }))).rejects.toThrow(
      /concurrent writes/i,
    );
    const { held, entries } = await paramsAndEntries(runId);
    expect(held).toEqual([]);
    // A write that gave up without its resync left ['lr=0.1']: an entry of a param the run lacks.
    expect(entries).toEqual(held);
  }, 60_000);

  it('a param write whose update fails with a throttle leaves no entry of a param the run lacks', async () => {
    const runId = newRunId();
    await repo.create(testRun(runId, { experimentId: '1' }));
    const throttled = repoWith(async () => {
      const error = new Error('Rate of requests exceeds the allowed throughput.');
      error.name = 'ProvisionedThroughputExceededException';
      throw error;
    }, runId);
    await expect(throttled.mutate(runId, () => ({ params: { lr: '0.1' } }))).rejects.toThrow(/throughput/);
    const { held, entries } = await paramsAndEntries(runId);
    expect(held).toEqual([]);
    // Likewise for an error other than a condition failure.
    expect(entries).toEqual(held);
  });
});

/**
 * random concurrent writes to one run from several repository instances (separate
 * processes, each with its kept RUN and LATEST items warmed), then the table must hold exactly the value
 * entries and ORDER item the RUN and LATEST items say.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunState } from '../../../shared/domain/runs/model.js';
import { keys } from '../../../shared/store/keys.js';
import { type LatestItem, type RunItem, runOrderItem, toRun } from '../../../shared/store/runs/entity.js';
import { DynamoRunRepository } from '../../../shared/store/runs/repository.js';
import { entriesOf } from '../../../shared/store/runs/value-entries.js';
import { createTestTable, putExperimentItem, type TestTable } from '../../helpers/dynamo.js';
import { testRun } from '../../helpers/runs.js';

let table: TestTable;
let ids = 0x9000;
beforeAll(async () => {
  table = await createTestTable();
  await putExperimentItem(table, '1');
});
afterAll(async () => {
  await table?.close();
});

const accept = (state: RunState | undefined): RunState => {
  if (!state) throw new Error('missing run');
  return state;
};

async function check(runId: string) {
  const { Items } = await table.doc.send(
    new ScanCommand({ TableName: table.tableName, ConsistentRead: true }),
  );
  const items = (Items ?? []).filter((item) => item.pk === keys.run(runId).pk);
  const run = items.find((item) => item.sk === 'RUN') as RunItem;
  const latest = items.find((item) => item.sk === 'LATEST') as LatestItem;
  const view = (e: { sk?: unknown; gsi1pk?: unknown; gsi1sk?: unknown; value?: unknown }) =>
    `${e.sk} ${e.gsi1pk} ${e.gsi1sk} ${e.value}`;
  const wanted = entriesOf(run, latest, { metrics: 'all', params: 'all', tags: 'all' }).map(view).sort();
  const have = items
    .filter((item) => String(item.type).endsWith('-value'))
    .map(view)
    .sort();
  expect(have, `entries of ${runId}`).toEqual(wanted);
  const order = items.find((item) => item.sk === 'ORDER') as Record<string, unknown>;
  const expected = runOrderItem(toRun(run, undefined), run.ver) as unknown as Record<string, unknown>;
  const orderView = (o: Record<string, unknown>) =>
    JSON.stringify([
      o.gsi1pk,
      o.gsi1sk,
      o.gsi2pk,
      o.gsi2sk,
      o.gsi3pk,
      o.gsi3sk,
      o.run_name,
      o.end_time,
      o.lifecycle_stage,
    ]);
  expect(orderView(order), `ORDER of ${runId}`).toBe(orderView(expected));
  const open = run.end_time === undefined;
  expect(latest.gsi2pk, `LATEST of ${runId}`).toBe(
    keys.runLatestListing(run.experiment_id, runId, open).gsi2pk,
  );
}

describe('concurrent writers from several processes', () => {
  it('leave entries and ORDER as RUN and LATEST say', async () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let round = 0; round < 80; round++) {
      const runId = (++ids).toString(16).padStart(32, '0');
      const procs = Array.from({ length: 3 }, () => new DynamoRunRepository(table.doc, table.tableName));
      const [a, b, c] = procs as [DynamoRunRepository, DynamoRunRepository, DynamoRunRepository];
      await a.create(testRun(runId, { experimentId: '1', params: { base: '1' } }));
      await a.appendMetrics(runId, [{ key: 'loss', value: 1, step: 0, timestamp: 0 }], accept);
      await b.mutate(runId, () => ({ params: { warm: 'b' } }));
      await c.mutate(runId, () => ({ tags: { warm: 'c' } }));
      const ops = [
        () => a.mutate(runId, () => ({ status: 'FINISHED', endTime: 10 })),
        () =>
          b.mutate(runId, () => ({ runName: `name-${round}`, tags: { 'mlflow.runName': `name-${round}` } })),
        () => c.mutate(runId, () => ({ params: { [`p${round}`]: String(round) } })),
        () => a.appendMetrics(runId, [{ key: 'loss', value: round, step: 1, timestamp: 0 }], accept),
        () => c.appendMetrics(runId, [{ key: 'acc', value: -round, step: 1, timestamp: 0 }], accept),
        () => b.setLifecycle(runId, 'active', 'deleted'),
        () => c.mutate(runId, () => ({ endTime: 20 })),
        () =>
          a.mutate(runId, () => ({
            runName: `again-${round}`,
            tags: { 'mlflow.runName': `again-${round}` },
          })),
        () => b.setLifecycle(runId, 'deleted', 'active'),
        // A tag set and deleted at once by two processes: its entry must follow whichever update landed last.
        () => c.mutate(runId, () => ({ deleteTags: ['warm'] })),
        () => a.mutate(runId, () => ({ tags: { warm: `a-${round}` } })),
      ];
      const chosen = ops.filter(() => random() < (round % 2 ? 0.6 : 0.95));
      const results = await Promise.allSettled(chosen.map((op) => op()));
      const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
      expect(
        failed.map((r) => String(r.reason)),
        `round ${round}`,
      ).toEqual([]);
      await check(runId);
    }
  }, 120_000);
});

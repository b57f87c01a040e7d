/** DynamoDB calls per write of a sweep's run, one process and a second process. */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunState } from '../../../shared/domain/runs/model.js';
import { DynamoRunRepository } from '../../../shared/store/runs/repository.js';
import { createTestTable, putExperimentItem, type TestTable } from '../../helpers/dynamo.js';
import { testRun } from '../../helpers/runs.js';

let table: TestTable;
beforeAll(async () => {
  table = await createTestTable();
  await putExperimentItem(table, '1');
});
afterAll(async () => {
  await table?.close();
});
const accept = (state: RunState | undefined): RunState => {
  if (!state) throw new Error('missing');
  return state;
};

it("a wide run's end after another process wrote writes its entries once", async () => {
  let calls: string[] = [];
  const doc = new Proxy(table.doc, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return (command: { constructor: { name: string } }) => {
        calls.push(command.constructor.name.replace('Command', ''));
        return target.send(command as never);
      };
    },
  }) as DynamoDBDocumentClient;
  const a = new DynamoRunRepository(doc, table.tableName);
  const b = new DynamoRunRepository(doc, table.tableName);
  const runId = 'ab'.repeat(16);
  const out: string[] = [];
  const step = async (label: string, f: () => Promise<unknown>) => {
    calls = [];
    await f();
    out.push(`${label}: ${calls.length} [${calls.join(' ')}]`);
  };
  await step('create', () => a.create(testRun(runId, { experimentId: '1' })));
  await step('metric 1', () =>
    a.appendMetrics(runId, [{ key: 'l', value: 1, step: 0, timestamp: 0 }], accept),
  );
  await step('metric 2', () =>
    a.appendMetrics(runId, [{ key: 'l', value: 2, step: 1, timestamp: 0 }], accept),
  );
  await step('param', () => a.mutate(runId, () => ({ params: { p: '1' } })));
  await step('tag', () => a.mutate(runId, () => ({ tags: { t: '1' } })));
  await step('metric 3', () =>
    a.appendMetrics(runId, [{ key: 'l', value: 3, step: 2, timestamp: 0 }], accept),
  );
  await step('other process metric', () =>
    b.appendMetrics(runId, [{ key: 'm', value: 3, step: 0, timestamp: 0 }], accept),
  );
  await step('other process tag', () => b.mutate(runId, () => ({ tags: { u: '1' } })));
  await step('end', () => a.mutate(runId, () => ({ status: 'FINISHED', endTime: 5 })));
  await step('metric after end', () =>
    a.appendMetrics(runId, [{ key: 'l', value: 4, step: 3, timestamp: 0 }], accept),
  );
  const solo = 'cd'.repeat(16);
  await step('solo create', () => a.create(testRun(solo, { experimentId: '1' })));
  for (let i = 0; i < 3; i++)
    await step('solo metric', () =>
      a.appendMetrics(solo, [{ key: `k${i}`, value: i, step: i, timestamp: 0 }], accept),
    );
  await step('solo end', () => a.mutate(solo, () => ({ status: 'FINISHED', endTime: 5 })));
  const wide = 'ef'.repeat(16);
  await a.create(testRun(wide, { experimentId: '1' }));
  await a.appendMetrics(
    wide,
    Array.from({ length: 200 }, (_, i) => ({ key: `k${i}`, value: i, step: 0, timestamp: 0 })),
    accept,
  );
  await step('wide: other process metric', () =>
    b.appendMetrics(wide, [{ key: 'z', value: 1, step: 0, timestamp: 0 }], accept),
  );
  await step('wide end (200 keys) after another process wrote', () =>
    a.mutate(wide, () => ({ status: 'FINISHED', endTime: 5 })),
  );
  console.log(out.join('\n'));
  // A wide run's end after another process wrote: its 201 entries (200 metrics and the order entry) are
  // written once. Derived from this process's stale LATEST first, they would all be written again after
  // the refused move (22 calls); 14 is what the end cost before it had a fast path.
  const wideEnd = out.find((line) => line.startsWith('wide end')) as string;
  expect(Number(/: (\d+) \[/.exec(wideEnd)?.[1]), wideEnd).toBeLessThanOrEqual(14);
});

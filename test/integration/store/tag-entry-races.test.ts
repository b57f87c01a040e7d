/**
 * Tag entries under races a review found. A verify-after writer of tag entries (setLifecycle's syncEntries with tags 'all', migrate's
 * layOutRun, resyncEntries) derives them from RUN version v and returns once its verifying read still sees
 * v. A tag write that read v puts its entry *before* its RUN update (mutate): if that early entry lands
 * before the verify-after writer's batch, and its update lands after that writer's verifying read, the
 * older value overwrites the newer entry and nothing puts it right: the run holds x = 'new' and its entry
 * says 'old', so `tags.x = 'new'` misses the run for good.
 */
import {
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planRunListing, searchRuns } from '../../../shared/domain/runs/search.js';
import { keys } from '../../../shared/store/keys.js';
import { tagValueEntry } from '../../../shared/store/runs/entity.js';
import { migrateValueIndex } from '../../../shared/store/runs/migrate-index.js';
import { DynamoRunRepository } from '../../../shared/store/runs/repository.js';
import {
  createTestTable,
  putExperimentItem,
  setExperimentMark,
  type TestTable,
} from '../../helpers/dynamo.js';
import { gate, holding, proxied } from '../../helpers/interleave.js';
import { testRun } from '../../helpers/runs.js';

let table: TestTable;
let ids = 0x7700;
beforeAll(async () => {
  table = await createTestTable();
});
afterAll(async () => {
  await table?.close();
});

const isRunUpdate = (runId: string) => (c: unknown) =>
  c instanceof UpdateCommand && c.input.Key?.pk === keys.run(runId).pk && c.input.Key?.sk === 'RUN';
/** A write of x's tag entry: in a BatchWrite, or a Put of its own (conditional on its version). */
const isTagBatch = (runId: string) => (c: unknown) =>
  (c instanceof BatchWriteCommand &&
    JSON.stringify(c.input.RequestItems).includes(`"${keys.runTagValue(runId, 'x').sk}"`)) ||
  (c instanceof PutCommand && c.input.Item?.sk === keys.runTagValue(runId, 'x').sk);

async function tagEntries(runId: string) {
  const { Items } = await table.doc.send(
    new ScanCommand({ TableName: table.tableName, ConsistentRead: true }),
  );
  return (Items ?? [])
    .filter((item) => item.pk === keys.run(runId).pk && item.type === 'tag-value')
    .map((item) => `${item.key}=${item.value}`);
}

async function searchIds(experimentId: string, filter: string) {
  const query = {
    experimentIds: [experimentId],
    filter,
    orderBy: ['attributes.start_time DESC'],
    viewType: 'ACTIVE_ONLY' as const,
    maxResults: 100,
  };
  const reader = new DynamoRunRepository(table.doc, table.tableName, { minRunsPerPartition: 0 });
  const plan = planRunListing(query);
  if (!plan) throw new Error('no plan');
  const candidates = await reader.listIndexed([experimentId], plan);
  expect(candidates, 'the store answered from its entries').toBeDefined();
  return searchRuns(candidates ?? [], query).runs.map((run) => run.runId);
}

/** A run in a new experiment `experimentId` with tag x = 'old'; `base` a repository of its own. */
async function runTaggedOld(experimentId: string) {
  await putExperimentItem(table, experimentId);
  const runId = (++ids).toString(16).padStart(32, '0');
  const base = new DynamoRunRepository(table.doc, table.tableName);
  await base.create(testRun(runId, { experimentId, tags: { x: 'old' } }));
  return { experimentId, runId, base };
}

/** The run holds x = `value`, its only tag entry says so, and a search for it finds the run. */
async function expectTagX(base: DynamoRunRepository, experimentId: string, runId: string, value: string) {
  const run = await base.get(runId);
  expect(run?.tags.x).toBe(value);
  expect.soft(await tagEntries(runId), 'tag entries').toEqual([`x=${value}`]);
  expect(await searchIds(experimentId, `tags.x = '${value}'`)).toEqual([runId]);
}

describe('a verify-after tag entry write racing a tag write', () => {
  it('restore: the set tag keeps its entry', async () => {
    const { experimentId, runId, base } = await runTaggedOld('71');
    await base.setLifecycle(runId, 'active', 'deleted');

    // M restores the run; its entries' BatchWrite is held after its RUN update landed.
    const batchGate = holding(table.doc, isTagBatch(runId));
    const mover = new DynamoRunRepository(batchGate.doc, table.tableName);
    const moving = mover.setLifecycle(runId, 'deleted', 'active');
    await batchGate.held;

    // C (another process) reads the restored run and sets x: entry put first, its RUN update held.
    const updateGate = holding(table.doc, isRunUpdate(runId));
    const setter = new DynamoRunRepository(updateGate.doc, table.tableName);
    const setting = setter.mutate(runId, () => ({ tags: { x: 'new' } }));
    await updateGate.held;

    batchGate.release();
    await moving; // its verify reads RUN at the version it derived from: C's update has not landed
    updateGate.release();
    await setting;

    await expectTagX(base, experimentId, runId, 'new');
  });

  it('migration of an experiment marked 1: the set tag keeps its entry', async () => {
    const { experimentId, runId, base } = await runTaggedOld('72');
    // As a run stored before tag entries, in an experiment marked 1.
    await table.doc.send(
      new DeleteCommand({ TableName: table.tableName, Key: keys.runTagValue(runId, 'x') }),
    );
    // As a build from before tag entries marked it.
    await setExperimentMark(table, experimentId, 'value_index', 1);

    const batchGate = holding(table.doc, isTagBatch(runId));
    const migrating = migrateValueIndex(batchGate.doc, table.tableName);
    await batchGate.held;

    const updateGate = holding(table.doc, isRunUpdate(runId));
    const setter = new DynamoRunRepository(updateGate.doc, table.tableName);
    const setting = setter.mutate(runId, () => ({ tags: { x: 'new' } }));
    await updateGate.held;

    batchGate.release();
    await migrating;
    updateGate.release();
    await setting;

    await expectTagX(base, experimentId, runId, 'new');
  });
});

describe('a tag write whose early entries land but whose RUN update never does', () => {
  it('leaves the entry of the value the run still holds', async () => {
    const { experimentId, runId, base } = await runTaggedOld('73');

    // A throttled BatchWrite (DynamoDB's UnprocessedItems): the put of x's entry is processed, y's never
    // is, so putBatch gives up after its retries; mutate throws before its RUN update (no resync either).
    const y = keys.runTagValue(runId, 'y').sk;
    const throttled = new Proxy(table.doc, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        return async (command: unknown) => {
          if (command instanceof BatchWriteCommand) {
            const requests = Object.values(command.input.RequestItems ?? {})[0] ?? [];
            const isY = (r: (typeof requests)[number]) => JSON.stringify(r).includes(`"${y}"`);
            if (requests.some(isY)) {
              const done = requests.filter((r) => !isY(r));
              if (done.length > 0)
                await target.send(new BatchWriteCommand({ RequestItems: { [table.tableName]: done } }));
              return { UnprocessedItems: { [table.tableName]: requests.filter(isY) } };
            }
          }
          return target.send(command as never);
        };
      },
    }) as DynamoDBDocumentClient;
    const writer = new DynamoRunRepository(throttled, table.tableName);
    await expect(writer.mutate(runId, () => ({ tags: { x: 'new', y: '1' } }))).rejects.toThrow('unprocessed');

    // Whatever x the RUN item holds (the update did not land here; a design writing tag entries after
    // the update may have landed it), its entry must say the same.
    const run = await base.get(runId);
    const x = run?.tags.x as string;
    expect(
      (await tagEntries(runId)).filter((entry) => entry.startsWith('x=')),
      'entry of x',
    ).toEqual([`x=${x}`]);
    expect(await searchIds(experimentId, `tags.x = '${x}'`)).toEqual([runId]);
  }, 30_000);
});

describe('a resync racing another tag write', () => {
  it('leaves the entry of the value the run holds', async () => {
    const { experimentId, runId, base } = await runTaggedOld('74');

    // B: its first update loses to another write, its retry is refused (a log-batch whose param now
    // conflicts, say): resyncEntries rewrites x's entry from the RUN item as it stands; that batch is held.
    const batchGate = gate();
    let bumped = false;
    let tagBatches = 0;
    const b = new DynamoRunRepository(
      proxied(table.doc, async (command) => {
        if (!bumped && isRunUpdate(runId)(command)) {
          bumped = true;
          await table.doc.send(
            new UpdateCommand({
              TableName: table.tableName,
              Key: keys.run(runId),
              UpdateExpression: 'SET ver = ver + :one',
              ExpressionAttributeValues: { ':one': 1 },
            }),
          );
        }
        if (isTagBatch(runId)(command) && ++tagBatches === 2) {
          batchGate.reached();
          await batchGate.opened;
        }
      }),
      table.tableName,
    );
    let calls = 0;
    const writingB = b.mutate(runId, () => {
      calls++;
      if (calls > 1) throw new Error('refused on the fresh read');
      return { tags: { x: 'b' } };
    });
    // (A build without tag resyncs never reaches the gate: B then simply fails.)
    await Promise.race([batchGate.arrived, writingB.catch(() => undefined)]);

    const updateGate = holding(table.doc, isRunUpdate(runId));
    const c = new DynamoRunRepository(updateGate.doc, table.tableName);
    const writingC = c.mutate(runId, () => ({ tags: { x: 'c' } }));
    await updateGate.held;
    batchGate.open();
    await expect(writingB).rejects.toThrow('refused on the fresh read');
    updateGate.release();
    await writingC;

    await expectTagX(base, experimentId, runId, 'c');
  });
});

describe('a tag write whose RUN update is throttled (it never lands)', () => {
  it('puts its own early entry back to the value the run holds', async () => {
    const { experimentId, runId, base } = await runTaggedOld('75');

    // The early entry (x = 'new', stamped ver + 1) lands; the update is refused by a throttle, not a
    // condition: the RUN item stays at its version, and giveUp resyncs from it.
    const writer = new DynamoRunRepository(
      proxied(table.doc, async (command) => {
        if (isRunUpdate(runId)(command)) {
          throw Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), {
            name: 'ProvisionedThroughputExceededException',
          });
        }
      }),
      table.tableName,
    );
    await expect(writer.mutate(runId, () => ({ tags: { x: 'new' } }))).rejects.toThrow('throughput');

    await expectTagX(base, experimentId, runId, 'old');
  });
});

describe('cairn migrate --all after a tag write died between its early entry and its RUN update', () => {
  it('puts the entry back to the value the run holds', async () => {
    const { experimentId, runId } = await runTaggedOld('76');
    // The dead write's early entry: x = 'new', stamped with the version its update would have given.
    const { Item: run } = await table.doc.send(
      new GetCommand({ TableName: table.tableName, Key: keys.run(runId), ConsistentRead: true }),
    );
    const where = { runId, experimentId, lifecycleStage: 'active' };
    await table.doc.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { ...tagValueEntry(where, 'x', 'new', (run?.ver as number) + 1), w: 'dead' },
      }),
    );
    const report = await migrateValueIndex(table.doc, table.tableName, { all: true });
    expect(report.runs, 'the run was found out of the layout').toBeGreaterThan(0);
    expect.soft(await tagEntries(runId), 'tag entries').toEqual(['x=old']);
    expect(await searchIds(experimentId, "tags.x = 'old'")).toEqual([runId]);
  });

  it('leaves a write that may still be in flight alone, and drops the entry of a tag the run lost', async () => {
    const { experimentId, runId, base } = await runTaggedOld('77');
    const { Item: run } = await table.doc.send(
      new GetCommand({ TableName: table.tableName, Key: keys.run(runId), ConsistentRead: true }),
    );
    const ver = run?.ver as number;
    const where = { runId, experimentId, lifecycleStage: 'active' };
    // A write a second ago: its update may land any moment, and its entry must then stand.
    await table.doc.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { ...tagValueEntry(where, 'x', 'new', ver + 1), w: 'live', at: Date.now() - 1_000 },
      }),
    );
    // An entry of a tag the run does not hold, from its current version: a delete raced by a sync.
    await table.doc.send(
      new PutCommand({ TableName: table.tableName, Item: tagValueEntry(where, 'gone', 'v', ver) }),
    );
    await migrateValueIndex(table.doc, table.tableName, { all: true });
    expect(await tagEntries(runId)).toEqual(['x=new']);
    await base.mutate(runId, () => ({ tags: { x: 'new' } }));
    expect(await searchIds(experimentId, "tags.x = 'new'")).toEqual([runId]);
    expect(await searchIds(experimentId, "tags.gone = 'v'")).toEqual([]);
  });
});

describe('a tag write of more than 25 entries whose first early BatchWrite throws', () => {
  it('leaves no early entry of its other BatchWrites landing after its resync', async () => {
    const experimentId = '78';
    await putExperimentItem(table, experimentId);
    const runId = (++ids).toString(16).padStart(32, '0');
    const base = new DynamoRunRepository(table.doc, table.tableName);
    const names = Array.from({ length: 30 }, (_, i) => `k${String(i).padStart(2, '0')}`);
    await base.create(
      testRun(runId, { experimentId, tags: Object.fromEntries(names.map((k) => [k, 'old'])) }),
    );
    const has = (c: unknown, key: string) =>
      c instanceof BatchWriteCommand &&
      JSON.stringify(c.input.RequestItems).includes(`"${keys.runTagValue(runId, key).sk}"`);
    // The batch of k00..k24 fails (a throttle its retries did not outlast); the batch of k25..k29,
    // sent beside it, is slow (its own unprocessed-item retries) and lands after mutate gave up.
    const late = gate();
    let landed!: () => void;
    const lateLanded = new Promise<void>((resolve) => {
      landed = resolve;
    });
    const writer = new DynamoRunRepository(
      new Proxy(table.doc, {
        get(target, property, receiver) {
          if (property !== 'send') return Reflect.get(target, property, receiver);
          return async (command: unknown) => {
            if (
              has(command, 'k00') &&
              (command as BatchWriteCommand).input.RequestItems?.[table.tableName]?.some(
                (r) => r.PutRequest?.Item?.value === 'new',
              )
            ) {
              // Released once giveUp's resync has put its entries and verifies (or, should nothing run
              // beside the held batch, after a while).
              setTimeout(late.open, 500);
              throw Object.assign(new Error('DynamoDB left 3 writes unprocessed after 8 retries'), {});
            }
            if (
              has(command, 'k29') &&
              (command as BatchWriteCommand).input.RequestItems?.[table.tableName]?.some(
                (r) => r.PutRequest?.Item?.value === 'new',
              )
            ) {
              await late.opened;
              const out = await target.send(command as never);
              landed();
              return out;
            }
            if (
              command instanceof GetCommand &&
              command.input.Key?.sk === 'RUN' &&
              command.input.ProjectionExpression === 'ver, lifecycle_stage'
            ) {
              late.open();
            }
            return target.send(command as never);
          };
        },
      }) as DynamoDBDocumentClient,
      table.tableName,
    );
    await expect(
      writer.mutate(runId, () => ({ tags: Object.fromEntries(names.map((k) => [k, 'new'])) })),
    ).rejects.toThrow('unprocessed');
    await lateLanded;

    const run = await base.get(runId);
    expect(run?.tags.k29).toBe('old');
    expect.soft(await tagEntries(runId), 'tag entries').not.toContain('k29=new');
    expect(await searchIds(experimentId, "tags.k29 = 'old'")).toEqual([runId]);
  });
});

/**
 * Value entries (store/runs/value-entries.ts) against a real table: after any sequence of run writes
 * (creates with and without an end time, param and metric writes with NaN, ±Infinity, negative values and
 * ties, ends, retried ends, writes after the end, deletes, restores and renames), the table holds exactly
 * the layout the runs' state says: per param one entry, per latest key of an ended run one entry with its
 * value and stage mark, open runs' LATEST in the open partition and no metric entry for them; and nothing
 * else. Then races whose interleaving is forced by holding one writer's call until another has finished:
 * the write that lands last with stale entries redoes them from a fresh read.
 */
import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatMetricValue } from '../../../shared/domain/runs/metrics.js';
import type { KeyedPoint, Run, RunState } from '../../../shared/domain/runs/model.js';
import { fromStoredMap } from '../../../shared/store/items.js';
import { keys } from '../../../shared/store/keys.js';
import type { LatestItem, RunItem, ValueEntryItem } from '../../../shared/store/runs/entity.js';
import { DynamoRunRepository } from '../../../shared/store/runs/repository.js';
import { createTestTable, putExperimentItem, type TestTable } from '../../helpers/dynamo.js';
import { holding as holdingClient } from '../../helpers/interleave.js';
import { testRun } from '../../helpers/runs.js';

let table: TestTable;
let repo: DynamoRunRepository;
let experiments = 0;
let runIds = 0;

beforeAll(async () => {
  table = await createTestTable();
  repo = new DynamoRunRepository(table.doc, table.tableName);
});
afterAll(async () => {
  await table?.close();
});

async function newExperiment(): Promise<string> {
  const experimentId = String(++experiments);
  await putExperimentItem(table, experimentId);
  return experimentId;
}

function newRunId(): string {
  // Spread over every shard (the last hex digit picks it).
  return (++runIds).toString(16).padStart(32, '0');
}

const accept = (state: RunState | undefined): RunState => {
  if (!state) throw new Error('missing run');
  return state;
};

/** Every item of the table whose pk is one of `runIds`' partitions. */
async function runPartitionItems(runIds: readonly string[]): Promise<Record<string, unknown>[]> {
  const pks = new Set(runIds.map((runId) => keys.run(runId).pk));
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await table.doc.send(
      new ScanCommand({ TableName: table.tableName, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    items.push(...(page.Items ?? []).filter((item) => pks.has(item.pk as string)));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** What a value entry is, for comparing: where it is, how it is indexed, what it holds. */
const entryView = (
  entry: Pick<ValueEntryItem, 'pk' | 'sk' | 'gsi1pk' | 'gsi1sk' | 'type' | 'key' | 'value'>,
) => `${entry.pk} ${entry.sk} ${entry.gsi1pk} ${entry.gsi1sk} ${entry.type} ${entry.key}=${entry.value}`;

/**
 * Asserts the layout of these runs from their RUN and LATEST items as stored (and, where given, from the
 * test's own model of each run's stage, end and params, so that a write the items themselves missed shows).
 */
async function expectLayout(runIds: readonly string[], model?: Map<string, RunModel>): Promise<void> {
  const items = await runPartitionItems(runIds);
  const wanted: string[] = [];
  for (const runId of runIds) {
    const run = items.find((item) => item.pk === keys.run(runId).pk && item.sk === 'RUN') as
      | RunItem
      | undefined;
    const latest = items.find((item) => item.pk === keys.run(runId).pk && item.sk === 'LATEST') as
      | LatestItem
      | undefined;
    if (!run || !latest) throw new Error(`run ${runId} is missing an item`);
    const ended = run.end_time !== undefined;
    const expected = model?.get(runId);
    if (expected) {
      expect(run.lifecycle_stage === 'deleted', `stage of ${runId}`).toBe(expected.deleted);
      expect(ended, `end of ${runId}`).toBe(expected.ended);
      expect(fromStoredMap(run.params)).toEqual(expected.params);
      const tags = fromStoredMap(run.tags);
      expect(
        Object.fromEntries(TAG_KEYS.filter((key) => key in tags).map((key) => [key, tags[key]])),
      ).toEqual(expected.tags);
    }
    expect(latest.gsi2pk, `LATEST partition of ${runId}`).toBe(
      keys.runLatestListing(run.experiment_id, runId, !ended).gsi2pk,
    );
    const where = { runId, experimentId: run.experiment_id, lifecycleStage: run.lifecycle_stage };
    for (const [key, value] of Object.entries(fromStoredMap(run.params))) {
      wanted.push(
        entryView({
          ...keys.runParamValue(runId, key),
          ...keys.runParamValueListing(where, key, value),
          type: 'param-value',
          key,
          value,
        }),
      );
    }
    for (const [key, value] of Object.entries(fromStoredMap(run.tags))) {
      wanted.push(
        entryView({
          ...keys.runTagValue(runId, key),
          ...keys.runTagValueListing(where, key, value),
          type: 'tag-value',
          key,
          // A value the key does not hold whole (400 bytes of it) stays out of the entry.
          ...(Buffer.byteLength(value) < 400 ? { value } : {}),
        }),
      );
    }
    if (ended) {
      for (const [key, [, , value]] of Object.entries(fromStoredMap(latest.m))) {
        wanted.push(
          entryView({
            ...keys.runMetricValue(runId, key),
            ...keys.runMetricValueListing(where, key, Number(value)),
            type: 'metric-value',
            key,
            value,
          }),
        );
      }
    }
  }
  const stored = items
    .filter((item) => ['metric-value', 'param-value', 'tag-value'].includes(item.type as string))
    .map((item) => entryView(item as unknown as ValueEntryItem));
  expect(stored.sort()).toEqual(wanted.sort());
}

const VALUES = [
  0,
  -0,
  1,
  1,
  -2.5,
  1e300,
  -1e-300,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
];
const METRIC_KEYS = ['loss', 'acc', 'a#b', 'val/loss'];
const PARAM_KEYS = ['lr', 'batch', 'x#y'];
const TAG_KEYS = ['team', 'mlflow.parentRunId', 'a.b#c'];

interface RunModel {
  deleted: boolean;
  ended: boolean;
  params: Record<string, string>;
  tags: Record<string, string>;
}

const opArb = fc.oneof(
  fc.record({ op: fc.constant('create' as const), ended: fc.boolean(), params: fc.boolean() }),
  fc.record({
    op: fc.constant('params' as const),
    run: fc.nat(),
    keys: fc.subarray(PARAM_KEYS, { minLength: 1 }),
    value: fc.constantFrom('0.1', '', 'a b', '1e-3'),
  }),
  fc.record({
    op: fc.constant('metrics' as const),
    run: fc.nat(),
    points: fc.array(
      fc.record({
        key: fc.constantFrom(...METRIC_KEYS),
        value: fc.constantFrom(...VALUES),
        step: fc.integer({ min: -2, max: 3 }),
        timestamp: fc.constantFrom(0, 5),
      }),
      { minLength: 1, maxLength: 5 },
    ),
  }),
  fc.record({
    op: fc.constant('tags' as const),
    run: fc.nat(),
    keys: fc.subarray(TAG_KEYS, { minLength: 1 }),
    // Tags change, unlike params; the long one is past what an entry's key holds whole.
    value: fc.constantFrom('x', '', 'y z', 'é'.repeat(250)),
  }),
  fc.record({ op: fc.constant('untag' as const), run: fc.nat(), key: fc.constantFrom(...TAG_KEYS) }),
  fc.record({ op: fc.constant('end' as const), run: fc.nat(), at: fc.constantFrom(10, 20) }),
  fc.record({ op: fc.constant('delete' as const), run: fc.nat() }),
  fc.record({ op: fc.constant('restore' as const), run: fc.nat() }),
  fc.record({ op: fc.constant('rename' as const), run: fc.nat() }),
);

describe('value entries', () => {
  it('are exactly what the runs say after any sequence of writes (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 18 }), async (ops) => {
        const experimentId = await newExperiment();
        const runs: string[] = [];
        const model = new Map<string, RunModel>();
        const pick = (n: number) => runs[n % runs.length] as string;
        for (const op of ops) {
          if (op.op === 'create' || runs.length === 0) {
            const runId = newRunId();
            const ended = op.op === 'create' && op.ended;
            const params: Record<string, string> =
              op.op === 'create' && op.params ? { lr: '0.01', batch: '32' } : {};
            await repo.create(
              testRun(runId, {
                experimentId,
                params,
                ...(ended
                  ? {
                      endTime: 5,
                      status: 'FINISHED',
                      metrics: { loss: { key: 'loss', value: Number.NaN, step: 0, timestamp: 1 } },
                    }
                  : {}),
              }),
            );
            runs.push(runId);
            model.set(runId, { deleted: false, ended, params: { ...params }, tags: {} });
            continue;
          }
          const runId = pick(op.run);
          const state = model.get(runId) as RunModel;
          if (op.op === 'params') {
            // Params are write-once: only the keys not yet set are written.
            const fresh = op.keys.filter((key) => !Object.hasOwn(state.params, key));
            if (fresh.length === 0) continue;
            const params = Object.fromEntries(fresh.map((key) => [key, op.value]));
            await repo.mutate(runId, () => ({ params }));
            Object.assign(state.params, params);
          } else if (op.op === 'tags') {
            const tags = Object.fromEntries(op.keys.map((key) => [key, op.value]));
            await repo.mutate(runId, () => ({ tags }));
            Object.assign(state.tags, tags);
          } else if (op.op === 'untag') {
            await repo.mutate(runId, () => ({ deleteTags: [op.key] }));
            delete state.tags[op.key];
          } else if (op.op === 'metrics') {
            await repo.appendMetrics(runId, op.points as KeyedPoint[], accept);
          } else if (op.op === 'end') {
            await repo.mutate(runId, () => ({ status: 'FINISHED', endTime: op.at }));
            state.ended = true;
          } else if (op.op === 'delete') {
            await repo.setLifecycle(runId, 'active', 'deleted');
            state.deleted = true;
          } else if (op.op === 'restore') {
            await repo.setLifecycle(runId, 'deleted', 'active');
            state.deleted = false;
          } else {
            await repo.mutate(runId, () => ({ runName: `renamed-${op.run}` }));
          }
        }
        await expectLayout(runs, model);
        // The full listing reads open and ended runs' LATEST items alike.
        const listed = await repo.listByExperiment(experimentId);
        expect(listed.map((run) => run.runId).sort()).toEqual([...runs].sort());
        for (const run of listed) {
          const stored = await repo.get(run.runId);
          expect(Object.keys(run.metrics).sort()).toEqual(Object.keys(stored?.metrics ?? {}).sort());
        }
      }),
      { numRuns: 30 },
    );
  }, 120_000);

  it('keep a metric value entry as text, so NaN, ±Infinity and -0 survive', async () => {
    const experimentId = await newExperiment();
    const runId = newRunId();
    await repo.create(testRun(runId, { experimentId }));
    const points: KeyedPoint[] = [
      { key: 'nan', value: Number.NaN, step: 0, timestamp: 0 },
      { key: 'inf', value: Number.POSITIVE_INFINITY, step: 0, timestamp: 0 },
      { key: 'ninf', value: Number.NEGATIVE_INFINITY, step: 0, timestamp: 0 },
      { key: 'nzero', value: -0, step: 0, timestamp: 0 },
    ];
    await repo.appendMetrics(runId, points, accept);
    await repo.mutate(runId, () => ({ endTime: 1 }));
    const entries = (await runPartitionItems([runId])).filter((item) => item.type === 'metric-value');
    expect(Object.fromEntries(entries.map((entry) => [entry.key, entry.value]))).toEqual(
      Object.fromEntries(points.map((point) => [point.key, formatMetricValue(point.value)])),
    );
    const nan = entries.find((entry) => entry.key === 'nan') as Record<string, string>;
    expect(nan.gsi1sk).toBe(`A#X#${runId}`);
  });
});

/**
 * A repository whose calls matching `match` wait until `release` is called; `held` resolves once one is
 * waiting. Only the first matching call is held.
 */
/** A repository (another process) whose first call matching `match` waits until `release()`. */
function holding(match: (command: unknown) => boolean) {
  const hold = holdingClient(table.doc, match);
  return { repo: new DynamoRunRepository(hold.doc, table.tableName), held: hold.held, release: hold.release };
}

/** A BatchWrite putting value entries of `type`. */
const entryBatch = (type: ValueEntryItem['type']) => (command: unknown) =>
  command instanceof BatchWriteCommand &&
  Object.values(command.input.RequestItems ?? {}).some((requests) =>
    requests.some((request) => request.PutRequest?.Item?.type === type),
  );

async function openRun(experimentId: string, overrides: Partial<Run> = {}): Promise<string> {
  const runId = newRunId();
  await repo.create(testRun(runId, { experimentId, ...overrides }));
  return runId;
}

describe('value entries under races', () => {
  it("a tag set whose RUN update lands after another sync's verifying read keeps its value's entry", async () => {
    const experimentId = await newExperiment();
    const runId = await openRun(experimentId, { tags: { team: 'old' } });
    // Held after its entry is put, before its conditional RUN update.
    const writer = holding(
      (command) =>
        command instanceof UpdateCommand && String(command.input.UpdateExpression).includes('tags.'),
    );
    const writing = writer.repo.mutate(runId, () => ({ tags: { team: 'new' } }));
    await writer.held;
    // A refused restore (the run is active) writes every entry again from the RUN item as read, the old
    // value, and verifies against a version the held update has not moved yet.
    expect(await repo.setLifecycle(runId, 'deleted', 'active')).toBe(false);
    writer.release();
    await writing;
    await expectLayout([runId]);
    const entry = (await runPartitionItems([runId])).find((item) => item.type === 'tag-value');
    expect(entry?.value).toBe('new');
  });

  it('a tag deleted while a sync puts its entry back leaves no entry', async () => {
    const experimentId = await newExperiment();
    const runId = await openRun(experimentId, { tags: { team: 'old' } });
    const deleter = holding(
      (command) =>
        command instanceof UpdateCommand && String(command.input.UpdateExpression).includes('REMOVE tags.'),
    );
    const deleting = deleter.repo.mutate(runId, () => ({ deleteTags: ['team'] }));
    await deleter.held;
    expect(await repo.setLifecycle(runId, 'deleted', 'active')).toBe(false);
    deleter.release();
    await deleting;
    expect((await repo.get(runId))?.tags.team).toBeUndefined();
    // The sync put the old value's entry back after the delete removed it; the delete, once its update
    // landed, drops entries older than its version.
    await expectLayout([runId]);
  });

  it('a metric write after the end whose entries land after a delete redoes them as deleted', async () => {
    const experimentId = await newExperiment();
    const runId = await openRun(experimentId);
    await repo.appendMetrics(runId, [{ key: 'loss', value: 1, step: 0, timestamp: 0 }], accept);
    await repo.mutate(runId, () => ({ endTime: 3 }));
    const writer = holding(entryBatch('metric-value'));
    const writing = writer.repo.appendMetrics(
      runId,
      [{ key: 'loss', value: 0.5, step: 1, timestamp: 0 }],
      accept,
    );
    await writer.held;
    await repo.setLifecycle(runId, 'active', 'deleted');
    writer.release();
    await writing;
    await expectLayout([runId]);
    const entry = (await runPartitionItems([runId])).find((item) => item.type === 'metric-value');
    expect(entry).toMatchObject({ value: '0.5', gsi1sk: expect.stringMatching(/^D#V#/) });
  });

  it('an end whose entries land after a later metric write redoes them with the later value', async () => {
    const experimentId = await newExperiment();
    const runId = await openRun(experimentId);
    await repo.appendMetrics(runId, [{ key: 'loss', value: 1, step: 0, timestamp: 0 }], accept);
    const ender = holding(entryBatch('metric-value'));
    const ending = ender.repo.mutate(runId, () => ({ status: 'FINISHED', endTime: 3 }));
    await ender.held;
    // The run is ended and laid out as ended: this write puts its own entry, which the held one would undo.
    await repo.appendMetrics(runId, [{ key: 'loss', value: 2, step: 1, timestamp: 0 }], accept);
    ender.release();
    await ending;
    await expectLayout([runId]);
    const entry = (await runPartitionItems([runId])).find((item) => item.type === 'metric-value');
    expect(entry?.value).toBe('2');
  });

  it('a metric write that read the run open before the end lands ended, with its entries', async () => {
    const experimentId = await newExperiment();
    const runId = await openRun(experimentId);
    // The writer keeps the run's state and the LATEST it put (recentWrites); the end in another process
    // bumps LATEST's version, so the writer's next Put fails and it reads the run again.
    const writer = new DynamoRunRepository(table.doc, table.tableName);
    await writer.appendMetrics(runId, [{ key: 'loss', value: 1, step: 0, timestamp: 0 }], accept);
    await repo.mutate(runId, () => ({ status: 'FINISHED', endTime: 3 }));
    await writer.appendMetrics(runId, [{ key: 'acc', value: 0.9, step: 0, timestamp: 0 }], accept);
    await expectLayout([runId]);
    const values = (await runPartitionItems([runId])).filter((item) => item.type === 'metric-value');
    expect(values.map((item) => item.key).sort()).toEqual(['acc', 'loss']);
  });

  it('concurrent ends, metric writes and a delete of one run end in the layout', async () => {
    const experimentId = await newExperiment();
    const runId = await openRun(experimentId, { params: { lr: '1' } });
    await repo.appendMetrics(runId, [{ key: 'loss', value: 1, step: 0, timestamp: 0 }], accept);
    const others = Array.from({ length: 4 }, () => new DynamoRunRepository(table.doc, table.tableName));
    await Promise.all([
      ...others.map((other, i) =>
        other.appendMetrics(runId, [{ key: `k${i % 2}`, value: i, step: i, timestamp: 0 }], accept),
      ),
      repo.mutate(runId, () => ({ status: 'FINISHED', endTime: 3 })),
      (others[0] as DynamoRunRepository).mutate(runId, () => ({ endTime: 4 })),
      (others[1] as DynamoRunRepository).setLifecycle(runId, 'active', 'deleted'),
      (others[2] as DynamoRunRepository).mutate(runId, () => ({ params: { bs: '8' } })),
    ]);
    await expectLayout([runId]);
  });

  it('a param write whose entries land after a delete redoes them as deleted', async () => {
    const experimentId = await newExperiment();
    const runId = await openRun(experimentId);
    const writer = holding(entryBatch('param-value'));
    const writing = writer.repo.mutate(runId, () => ({ params: { lr: '0.1' } }));
    await writer.held;
    await repo.setLifecycle(runId, 'active', 'deleted');
    writer.release();
    await writing;
    await expectLayout([runId]);
    const entry = (await runPartitionItems([runId])).find((item) => item.type === 'param-value');
    expect(entry).toMatchObject({ value: '0.1', gsi1sk: expect.stringMatching(/^D#/) });
  });

  it('a retried end completes one cut short after the RUN update', async () => {
    const experimentId = await newExperiment();
    const runId = await openRun(experimentId);
    await repo.appendMetrics(runId, [{ key: 'loss', value: 1, step: 0, timestamp: 0 }], accept);
    // The first try's RUN update landed; it stopped before LATEST moved or any entry was written.
    await table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: keys.run(runId),
        UpdateExpression: 'SET end_time = :end, ver = ver + :one',
        ExpressionAttributeValues: { ':end': 3, ':one': 1 },
      }),
    );
    // A metric write (from a process that reads the run) sees it ended and completes the end itself.
    await new DynamoRunRepository(table.doc, table.tableName).appendMetrics(
      runId,
      [{ key: 'acc', value: 1, step: 0, timestamp: 0 }],
      accept,
    );
    await expectLayout([runId]);
    await repo.mutate(runId, () => ({ endTime: 3 }));
    await expectLayout([runId]);
  });
});

/** The run's ORDER item as stored. */
async function orderItem(runId: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await table.doc.send(
    new GetCommand({ TableName: table.tableName, Key: keys.runOrder(runId), ConsistentRead: true }),
  );
  return Item;
}

/** A repository whose DynamoDB calls are recorded by command name. */
function counting(): { repo: DynamoRunRepository; calls: string[] } {
  const calls: string[] = [];
  const doc = new Proxy(table.doc, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return (command: { constructor: { name: string } }) => {
        calls.push(command.constructor.name);
        return target.send(command as never);
      };
    },
  }) as DynamoDBDocumentClient;
  return { repo: new DynamoRunRepository(doc, table.tableName), calls };
}

describe('value entries verified by the write that follows them', () => {
  it("a sweep run's writes from one process: no verifying reads, and the layout holds", async () => {
    const experimentId = await newExperiment();
    const { repo: mine, calls } = counting();
    const runId = newRunId();
    await mine.create(testRun(runId, { experimentId }));
    calls.length = 0;
    await mine.mutate(runId, () => ({ params: { lr: '0.1', batch: '32' }, tags: { t: 'x' } }));
    await mine.appendMetrics(runId, [{ key: 'loss', value: 0.5, step: 0, timestamp: 0 }], accept);
    // The entries with the summary mark, the RUN update that proves them; then LATEST's Put from the item
    // create left.
    expect(calls).toEqual(['BatchWriteCommand', 'UpdateCommand', 'PutCommand']);
    calls.length = 0;
    await mine.mutate(runId, () => ({ status: 'FINISHED', endTime: 9 }));
    // The RUN update; then the order and metric entries in one batch and LATEST's conditional move that
    // proves them, beside the summary mark.
    expect(calls[0]).toBe('UpdateCommand');
    expect(calls.slice(1).sort()).toEqual(['BatchWriteCommand', 'PutCommand', 'UpdateCommand']);
    expect(calls.indexOf('BatchWriteCommand')).toBeLessThan(calls.lastIndexOf('UpdateCommand'));
    await expectLayout([runId]);
    expect(await orderItem(runId)).toMatchObject({ end_time: 9, ver: 2 });
  });

  it('a param write whose entries land after a conflicting one, then refused, leaves the other value', async () => {
    const experimentId = await newExperiment();
    const runId = await openRun(experimentId);
    const writer = holding(entryBatch('param-value'));
    const conflictCheck = (value: string) => (run: Run) => {
      const stored = run.params.lr;
      if (stored !== undefined && stored !== value) throw new Error(`lr is ${stored}`);
      return stored === value ? null : { params: { lr: value } };
    };
    const writing = writer.repo.mutate(runId, conflictCheck('0.1'));
    await writer.held;
    await repo.mutate(runId, conflictCheck('0.2'));
    writer.release();
    await expect(writing).rejects.toThrow('lr is 0.2');
    await expectLayout([runId]);
    const entry = (await runPartitionItems([runId])).find((item) => item.type === 'param-value');
    expect(entry?.value).toBe('0.2');
  });

  it('a param write refused after its entries landed (the run moved meanwhile) leaves no entry', async () => {
    const experimentId = await newExperiment();
    const runId = await openRun(experimentId);
    const writer = holding(entryBatch('param-value'));
    const writing = writer.repo.mutate(runId, (run) => {
      if (run.lifecycleStage !== 'active') throw new Error('run is deleted');
      return { params: { lr: '0.1' } };
    });
    await writer.held;
    await repo.setLifecycle(runId, 'active', 'deleted');
    writer.release();
    await expect(writing).rejects.toThrow('run is deleted');
    await expectLayout([runId]);
    expect((await runPartitionItems([runId])).filter((item) => item.type === 'param-value')).toEqual([]);
  });

  it('an end from a kept LATEST whose entries land after a later metric write redoes them', async () => {
    const experimentId = await newExperiment();
    const runId = await openRun(experimentId);
    const ender = holding(entryBatch('metric-value'));
    // The ender keeps the LATEST it put: its end derives the entries from it, unread.
    await ender.repo.appendMetrics(runId, [{ key: 'loss', value: 1, step: 0, timestamp: 0 }], accept);
    const ending = ender.repo.mutate(runId, () => ({ status: 'FINISHED', endTime: 3 }));
    await ender.held;
    await repo.appendMetrics(runId, [{ key: 'loss', value: 2, step: 1, timestamp: 0 }], accept);
    ender.release();
    await ending;
    await expectLayout([runId]);
    const entry = (await runPartitionItems([runId])).find((item) => item.type === 'metric-value');
    expect(entry?.value).toBe('2');
  });

  it('an end whose order entry lands after a rename puts the renamed one back', async () => {
    const experimentId = await newExperiment();
    const runId = await openRun(experimentId);
    const ender = holding(entryBatch('metric-value'));
    await ender.repo.appendMetrics(runId, [{ key: 'loss', value: 1, step: 0, timestamp: 0 }], accept);
    const ending = ender.repo.mutate(runId, () => ({ status: 'FINISHED', endTime: 3 }));
    await ender.held;
    await repo.mutate(runId, () => ({ runName: 'renamed' }));
    ender.release();
    await ending;
    await expectLayout([runId]);
    expect(await orderItem(runId)).toMatchObject({ run_name: 'renamed', end_time: 3 });
  });

  it('an end whose entries land after a delete redoes them as deleted', async () => {
    const experimentId = await newExperiment();
    const runId = await openRun(experimentId);
    const ender = holding(entryBatch('metric-value'));
    await ender.repo.appendMetrics(runId, [{ key: 'loss', value: 1, step: 0, timestamp: 0 }], accept);
    const ending = ender.repo.mutate(runId, () => ({ status: 'FINISHED', endTime: 3 }));
    await ender.held;
    await repo.setLifecycle(runId, 'active', 'deleted');
    ender.release();
    await ending;
    await expectLayout([runId]);
    const entry = (await runPartitionItems([runId])).find((item) => item.type === 'metric-value');
    expect(entry).toMatchObject({ value: '1', gsi1sk: expect.stringMatching(/^D#V#/) });
    expect(await orderItem(runId)).toMatchObject({ lifecycle_stage: 'deleted', end_time: 3 });
  });
});

/**
 * `cairn migrate`'s value-entry step (store/runs/migrate-index.ts migrateValueIndex) against a real table:
 * runs as earlier builds stored them (RUN, LATEST in `EXPRUNS#…` whether open or ended, ORDER; no value
 * entries, no `value_index` mark) are laid out and their experiment marked; a dry run writes nothing; a
 * second run changes nothing; and experiments already marked are left alone.
 */
import { BatchWriteCommand, GetCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunState } from '../../../shared/domain/runs/model.js';
import { planRunListing, type RunSearch, searchRuns } from '../../../shared/domain/runs/search.js';
import { fromStoredMap } from '../../../shared/store/items.js';
import { keys, VALUE_INDEX_VERSION } from '../../../shared/store/keys.js';
import type { LatestItem, RunItem } from '../../../shared/store/runs/entity.js';
import { migrateValueIndex } from '../../../shared/store/runs/migrate-index.js';
import { DynamoRunRepository } from '../../../shared/store/runs/repository.js';
import {
  createTestTable,
  putExperimentItem,
  setExperimentMark,
  type TestTable,
} from '../../helpers/dynamo.js';
import { testRun } from '../../helpers/runs.js';

let table: TestTable;
let repo: DynamoRunRepository;

beforeAll(async () => {
  table = await createTestTable();
  repo = new DynamoRunRepository(table.doc, table.tableName);
});
afterAll(async () => {
  await table?.close();
});

const accept = (state: RunState | undefined): RunState => {
  if (!state) throw new Error('missing run');
  return state;
};

async function scanAll(): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await table.doc.send(
      new ScanCommand({ TableName: table.tableName, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items.sort((a, b) => `${a.pk} ${a.sk}`.localeCompare(`${b.pk} ${b.sk}`));
}

const isEntry = (item: Record<string, unknown>) =>
  item.type === 'metric-value' || item.type === 'param-value' || item.type === 'tag-value';

/** Runs written by this build, then taken back to the layout earlier builds left. */
async function experimentAsBefore(experimentId: string): Promise<string[]> {
  await putExperimentItem(table, experimentId);
  const runIds: string[] = [];
  for (let i = 0; i < 12; i++) {
    const runId = `${experimentId.padStart(4, '0')}${i.toString(16).padStart(28, '0')}`;
    runIds.push(runId);
    await repo.create(
      testRun(runId, {
        experimentId,
        params: i % 3 === 0 ? { lr: String(i) } : {},
        tags: { team: i % 2 ? 'vision' : 'nlp', ...(i % 5 === 0 ? { note: 'n'.repeat(500) } : {}) },
      }),
    );
    if (i % 3 === 1) await repo.mutate(runId, () => ({ tags: { 'mlflow.parentRunId': `parent-${i % 2}` } }));
    if (i % 4 === 2) await repo.mutate(runId, () => ({ deleteTags: ['team'] }));
    await repo.appendMetrics(
      runId,
      [
        { key: 'loss', value: i % 4 === 0 ? Number.NaN : -i, step: 0, timestamp: 0 },
        { key: 'acc', value: i % 5 === 0 ? Number.POSITIVE_INFINITY : i, step: 0, timestamp: 0 },
      ],
      accept,
    );
    if (i % 2 === 0) await repo.mutate(runId, () => ({ params: { bs: String(i) } }));
    if (i % 3 !== 2) await repo.mutate(runId, () => ({ status: 'FINISHED', endTime: 100 + i }));
    if (i % 4 === 1) await repo.setLifecycle(runId, 'active', 'deleted');
  }
  const entries = (await scanAll()).filter((item) => isEntry(item) && runIds.includes(item.run_id as string));
  for (let i = 0; i < entries.length; i += 25) {
    await table.doc.send(
      new BatchWriteCommand({
        RequestItems: {
          [table.tableName]: entries
            .slice(i, i + 25)
            .map((item) => ({ DeleteRequest: { Key: { pk: item.pk, sk: item.sk } } })),
        },
      }),
    );
  }
  for (const runId of runIds) {
    await table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: keys.runLatest(runId),
        UpdateExpression: 'SET gsi2pk = :all',
        ExpressionAttributeValues: { ':all': keys.runLatestListing(experimentId, runId).gsi2pk },
      }),
    );
  }
  await setExperimentMark(table, experimentId, 'value_index');
  return runIds;
}

/** The layout the runs' RUN and LATEST items say, against what the table holds. */
function expectLaidOut(items: Record<string, unknown>[], runIds: readonly string[]) {
  for (const runId of runIds) {
    const pk = keys.run(runId).pk;
    const run = items.find((item) => item.pk === pk && item.sk === 'RUN') as unknown as RunItem;
    const latest = items.find((item) => item.pk === pk && item.sk === 'LATEST') as unknown as LatestItem;
    const ended = run.end_time !== undefined;
    expect(latest.gsi2pk).toBe(keys.runLatestListing(run.experiment_id, runId, !ended).gsi2pk);
    const where = { runId, experimentId: run.experiment_id, lifecycleStage: run.lifecycle_stage };
    const wanted = [
      ...Object.entries(fromStoredMap(run.params)).map(([key, value]) => ({
        ...keys.runParamValue(runId, key),
        ...keys.runParamValueListing(where, key, value),
        value,
      })),
      ...Object.entries(fromStoredMap(run.tags)).map(([key, value]) => ({
        ...keys.runTagValue(runId, key),
        ...keys.runTagValueListing(where, key, value),
        // A long value stays out of its entry (the key holds its first 400 bytes).
        ...(value.length < 400 ? { value } : {}),
      })),
      ...(ended
        ? Object.entries(fromStoredMap(latest.m)).map(([key, [, , value]]) => ({
            ...keys.runMetricValue(runId, key),
            ...keys.runMetricValueListing(where, key, Number(value)),
            value,
          }))
        : []),
    ];
    const stored = items
      .filter((item) => item.pk === pk && isEntry(item))
      .map(({ pk, sk, gsi1pk, gsi1sk, value }) => ({
        pk,
        sk,
        gsi1pk,
        gsi1sk,
        ...(value === undefined ? {} : { value }),
      }));
    const order = (a: { sk: unknown }, b: { sk: unknown }) => String(a.sk).localeCompare(String(b.sk));
    expect(stored.sort(order)).toEqual(wanted.sort(order));
  }
}

describe('cairn migrate, value entries', () => {
  it('lays out runs stored by earlier builds, idempotently; a dry run writes nothing', async () => {
    const before = await experimentAsBefore('71');
    const marked = '72';
    await putExperimentItem(table, marked);
    const untouched = `0072${'f'.repeat(28)}`;
    await repo.create(testRun(untouched, { experimentId: marked, params: { lr: '1' } }));

    const snapshot = await scanAll();
    const dry = await migrateValueIndex(table.doc, table.tableName, { dryRun: true });
    expect(dry).toEqual({ dryRun: true, experiments: ['71'], runs: 12 });
    expect(await scanAll()).toEqual(snapshot);

    const progress: [string, number][] = [];
    const done = await migrateValueIndex(table.doc, table.tableName, {
      progress: (experimentId, runs) => progress.push([experimentId, runs]),
    });
    expect(done).toEqual({ dryRun: false, experiments: ['71'], runs: 12 });
    expect(progress).toEqual([['71', 12]]);
    const after = await scanAll();
    expectLaidOut(after, before);
    expectLaidOut(after, [untouched]);
    const experiment = await table.doc.send(
      new GetCommand({ TableName: table.tableName, Key: keys.experiment('71'), ConsistentRead: true }),
    );
    expect(experiment.Item?.value_index).toBe(VALUE_INDEX_VERSION);

    const again = await migrateValueIndex(table.doc, table.tableName);
    expect(again).toEqual({ dryRun: false, experiments: [], runs: 0 });
    expect(await scanAll()).toEqual(after);
    // With --all, marked experiments are checked too, and found in the layout.
    const all = await migrateValueIndex(table.doc, table.tableName, { all: true });
    expect(all.runs).toBe(0);
    expect(await scanAll()).toEqual(after);
    // The full listing reads every run's latest metrics from either partition.
    const listed = await repo.listByExperiment('71');
    expect(listed).toHaveLength(12);
    for (const run of listed) expect(Object.keys(run.metrics).sort()).toEqual(['acc', 'loss']);
  });

  it('gives the runs of an experiment marked before tag entries their tag entries, then marks it 2', async () => {
    const experimentId = '73';
    const runIds = await experimentAsBefore(experimentId);
    // As a build with metric and param entries but no tag entries left it: laid out, marked 1.
    await migrateValueIndex(table.doc, table.tableName);
    const tagEntries = (await scanAll()).filter(
      (item) => item.type === 'tag-value' && runIds.includes(item.run_id as string),
    );
    expect(tagEntries.length).toBeGreaterThan(12);
    for (let i = 0; i < tagEntries.length; i += 25) {
      await table.doc.send(
        new BatchWriteCommand({
          RequestItems: {
            [table.tableName]: tagEntries
              .slice(i, i + 25)
              .map((item) => ({ DeleteRequest: { Key: { pk: item.pk, sk: item.sk } } })),
          },
        }),
      );
    }
    // As a build from before tag entries marked it.
    await setExperimentMark(table, experimentId, 'value_index', 1);
    const children = async () => {
      const search: RunSearch = {
        filter: "tags.`mlflow.parentRunId` = 'parent-0' AND params.bs LIKE '%'",
        orderBy: [],
        viewType: 'ALL',
        maxResults: 100,
        scope: [experimentId],
      };
      const plan = planRunListing(search);
      const reader = new DynamoRunRepository(table.doc, table.tableName, { minRunsPerPartition: 0 });
      const candidates = plan ? await reader.listIndexed([experimentId], plan) : undefined;
      const all = await repo.listByExperiment(experimentId);
      const full = await Promise.all(all.map((run) => repo.get(run.runId)));
      return {
        got: searchRuns(candidates ?? [], search).runs.map((run) => run.runId),
        reference: searchRuns(
          full.filter((run) => run !== undefined),
          search,
        ).runs.map((run) => run.runId),
      };
    };
    // Marked 1: the tag clause is checked on the runs read, so the answer is whole without tag entries.
    const before = await children();
    expect(before.reference.length).toBeGreaterThan(0);
    expect(before.got).toEqual(before.reference);

    const done = await migrateValueIndex(table.doc, table.tableName);
    expect(done.experiments).toEqual([experimentId]);
    // Every run that has a tag (two of the twelve have none left).
    expect(done.runs).toBe(new Set(tagEntries.map((item) => item.run_id)).size);
    expect(done.runs).toBe(10);
    const after = await scanAll();
    expectLaidOut(after, runIds);
    const experiment = await table.doc.send(
      new GetCommand({
        TableName: table.tableName,
        Key: keys.experiment(experimentId),
        ConsistentRead: true,
      }),
    );
    expect(experiment.Item?.value_index).toBe(VALUE_INDEX_VERSION);
    expect((await children()).got).toEqual(before.reference);
    expect(await migrateValueIndex(table.doc, table.tableName)).toEqual({
      dryRun: false,
      experiments: [],
      runs: 0,
    });
  });
});

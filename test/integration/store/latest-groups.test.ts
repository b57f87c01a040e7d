/**
 * Wide runs' latest-value groups (store/runs/latest-groups.ts) against a real table: spilling, regrouping
 * as a run keeps widening, and writers in two processes (two repositories, each with its own kept items,
 * as two Lambda instances) on one run, checked against MLflow's latest-value rule over everything logged.
 */
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyedPoint, RunState } from '../../../shared/domain/runs/model.js';
import { keyConditions, keys } from '../../../shared/store/keys.js';
import type { LatestItem } from '../../../shared/store/runs/entity.js';
import { DynamoRunRepository } from '../../../shared/store/runs/repository.js';
import { createTestTable, type TestTable } from '../../helpers/dynamo.js';
import { latestOfLogged, testRun, widePoints } from '../../helpers/runs.js';

let table: TestTable;
let repo: DynamoRunRepository;
let counter = 0;

beforeAll(async () => {
  table = await createTestTable();
  repo = new DynamoRunRepository(table.doc, table.tableName);
});
afterAll(async () => {
  await table?.close();
});

async function newRun(experimentId = '1'): Promise<string> {
  const runId = (++counter).toString(16).padStart(32, '0');
  await repo.create(testRun(runId, { experimentId, startTime: counter }));
  return runId;
}

const active = (run: RunState | undefined): RunState => {
  if (!run) throw new Error('missing run');
  return run;
};

const wide = widePoints;
const latestOf = latestOfLogged;

async function latestItem(runId: string): Promise<LatestItem> {
  const { Item } = await table.doc.send(
    new GetCommand({ TableName: table.tableName, Key: keys.runLatest(runId), ConsistentRead: true }),
  );
  return Item as LatestItem;
}

describe('latest groups', () => {
  it('regroup as a run widens, keeping every key', async () => {
    const runId = await newRun();
    const logged: KeyedPoint[] = [];
    const counts: number[] = [];
    for (let first = 0; first < 6000; first += 1000) {
      const points = wide(first, 1000, 1);
      await repo.appendMetrics(runId, points, active);
      logged.push(...points);
      counts.push((await latestItem(runId)).lg ?? 0);
    }
    // Each regrouping at least doubles the count; the run did regroup after it spilled.
    expect(counts[0]).toBeGreaterThan(1);
    expect(counts.at(-1)).toBeGreaterThan(counts[0] as number);
    for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeGreaterThanOrEqual(counts[i - 1] as number);
    // A single key after that: only LATEST and one group change.
    const single = wide(4321, 1, 2);
    await repo.appendMetrics(runId, single, active);
    logged.push(...single);
    expect((await repo.get(runId))?.metrics).toEqual(latestOf(logged));
    // Group items carry no index keys.
    const { Items } = await table.doc.send(
      new QueryCommand({ TableName: table.tableName, ...keyConditions.prefix(keys.run(runId).pk, 'LG#') }),
    );
    expect(Items?.length).toBeGreaterThan(0);
    for (const item of Items ?? [])
      expect(Object.keys(item).filter((name) => name.startsWith('gsi'))).toEqual([]);
  });

  it('lose nothing to writers in two processes, spilling and regrouping meanwhile', async () => {
    const runId = await newRun();
    const other = new DynamoRunRepository(table.doc, table.tableName);
    const logged: KeyedPoint[] = [];
    const writer = async (repository: DynamoRunRepository, writes: KeyedPoint[][]) => {
      for (const write of writes) {
        await repository.appendMetrics(runId, write, active);
        logged.push(...write);
      }
    };
    // From narrow to wide while both write: shared keys 500..999 get points from both, with timestamps
    // that put each writer's point last on alternate steps.
    await Promise.all([
      writer(repo, [
        ...Array.from({ length: 20 }, (_, step) => wide(step, 1, step)),
        ...Array.from({ length: 4 }, (_, step) => wide(0, 1000, step, 100 + (step % 2))),
        ...Array.from({ length: 4 }, (_, step) => wide(2000 + step * 1000, 1000, step)),
      ]),
      writer(other, [
        ...Array.from({ length: 20 }, (_, step) => wide(700, 3, step, step + 1)),
        ...Array.from({ length: 4 }, (_, step) => wide(500, 1000, step, 101 - (step % 2))),
        ...Array.from({ length: 30 }, (_, step) => wide(step * 50, 1, 10 + step)),
      ]),
    ]);
    const wanted = latestOf(logged);
    expect(Object.keys(wanted).length).toBeGreaterThan(5000);
    expect((await repo.get(runId))?.metrics).toEqual(wanted);
    expect((await other.get(runId))?.metrics).toEqual(wanted);
  });

  it('complete the listings of an experiment with wide runs', async () => {
    const experimentId = 'wide-listing';
    const logged = new Map<string, KeyedPoint[]>();
    for (let i = 0; i < 4; i++) {
      const runId = await newRun(experimentId);
      const points = i % 2 === 0 ? [...wide(0, 1000, 1), ...wide(1000, 500, 1)] : wide(0, 5, 1);
      await repo.appendMetrics(runId, points.slice(0, 1000), active);
      await repo.appendMetrics(runId, points.slice(1000), active);
      logged.set(runId, points);
    }
    const listed = await repo.listByExperiment(experimentId);
    expect(listed.length).toBe(4);
    for (const run of listed) expect(run.metrics).toEqual(latestOf(logged.get(run.runId) ?? []));
  });
});

/**
 * Wide runs' latest-value groups (store/runs/latest-groups.ts) under races whose interleaving is forced by
 * holding one repository's call until another repository (another process, with its own kept items) has
 * finished a write: a write that returned is never lost to the other's kept copies of the groups.
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyedPoint, RunState } from '../../../shared/domain/runs/model.js';
import { keys } from '../../../shared/store/keys.js';
import type { LatestItem } from '../../../shared/store/runs/entity.js';
import { DynamoRunRepository } from '../../../shared/store/runs/repository.js';
import { createTestTable, type TestTable } from '../../helpers/dynamo.js';
import { holding as holdingClient } from '../../helpers/interleave.js';
import { latestOfLogged, testRun, widePoints } from '../../helpers/runs.js';

let table: TestTable;
let counter = 0;

beforeAll(async () => {
  table = await createTestTable();
});
afterAll(async () => {
  await table?.close();
});

const active = (run: RunState | undefined): RunState => {
  if (!run) throw new Error('missing run');
  return run;
};

const wide = widePoints;
const latestOf = latestOfLogged;

/** A repository (another process) whose first call matching `match` after `arm()` waits until `release()`. */
function holding(match: (command: unknown) => boolean) {
  const hold = holdingClient(table.doc, match, { armed: false });
  return { ...hold, repo: new DynamoRunRepository(hold.doc, table.tableName) };
}

/** LATEST's conditional put by a metric write. */
const latestPut = (command: unknown) =>
  command instanceof PutCommand && (command.input.Item as Partial<LatestItem> | undefined)?.sk === 'LATEST';

describe('latest groups under races', () => {
  it("a write landing in a group between another process's group put and its LATEST put survives that process's next regrouping", async () => {
    const runId = (++counter).toString(16).padStart(32, '0');
    const writer = holding(latestPut);
    const other = new DynamoRunRepository(table.doc, table.tableName);
    const logged: KeyedPoint[] = [];
    const log = async (repository: DynamoRunRepository, points: KeyedPoint[]) => {
      await repository.appendMetrics(runId, points, active);
      logged.push(...points);
    };
    await writer.repo.create(testRun(runId, { experimentId: '1', startTime: 1 }));
    // Spilled into groups; the writer keeps LATEST and the groups as it put them.
    await log(writer.repo, wide(0, 1000, 1));
    const { Item } = await table.doc.send(
      new GetCommand({ TableName: table.tableName, Key: keys.runLatest(runId), ConsistentRead: true }),
    );
    expect((Item as LatestItem).lg).toBeGreaterThan(1);
    // The writer updates every key (no group outgrows its limit): its group puts land, its LATEST put is held.
    writer.arm();
    const writing = log(writer.repo, wide(0, 1000, 2));
    await writer.held;
    // Meanwhile the other process writes one key, into a group the writer has just put, and returns.
    const single = wide(5, 1, 3);
    await log(other, single);
    // The writer's LATEST put fails on the other's version; its retry finds its points in the groups it kept.
    writer.release();
    await writing;
    const key = single[0]?.key as string;
    expect((await other.get(runId))?.metrics[key]).toEqual(latestOf(single)[key]);
    // The writer's next write outgrows the groups: the run regroups, from every group of the current count.
    await log(writer.repo, wide(1000, 5000, 1));
    const after = (await writer.repo.get(runId))?.metrics;
    expect(after?.[key]).toEqual(latestOf(single)[key]);
    expect(after).toEqual(latestOf(logged));
  });
});

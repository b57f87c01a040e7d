/**
 * Run counters against a real table (dynalite, or DynamoDB Local in the fidelity lane): a replayed create
 * counts once, concurrent writers spread over the shard items and still sum right, last activity is not
 * moved back by an old run, and a recount sets the items from a listing.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LAST_ACTIVITY_SLACK_MS,
  type RunStatsItem,
  readRunStats,
  recordRunStats,
  recountRunStats,
} from '../../../shared/store/experiments/run-stats.js';
import { keys, RUN_SHARDS } from '../../../shared/store/keys.js';
import { DynamoRunRepository } from '../../../shared/store/runs/repository.js';
import { createTestTable, putExperimentItem, type TestTable } from '../../helpers/dynamo.js';
import { testRun } from '../../helpers/runs.js';

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

const nextRunId = () => (++counter).toString(16).padStart(32, '0');
/** Experiments created by this build are marked counted (`run_index`); these tests' ids get that mark. */
async function markCounted(experimentIds: readonly string[]): Promise<void> {
  for (const experimentId of experimentIds) await putExperimentItem(table, experimentId);
}
const statsOf = async (experimentId: string) => {
  await markCounted([experimentId]);
  return (await readRunStats(table.doc, table.tableName, [experimentId]))[0];
};

describe('run counters', () => {
  it('count a replayed create of the same run id once', async () => {
    const run = testRun(nextRunId(), { experimentId: '101', startTime: 1_700_000_000_000 });
    await repo.create(run);
    await expect(repo.create(run)).rejects.toThrow();
    await expect(repo.create(run)).rejects.toThrow();
    expect(await statsOf('101')).toEqual({
      experimentId: '101',
      activeRuns: 1,
      deletedRuns: 0,
      lastActivity: 1_700_000_000_000,
    });
  });

  it('count a move once however often it is repeated, and not a refused one', async () => {
    const run = testRun(nextRunId(), { experimentId: '102', startTime: 1_700_000_000_000 });
    await repo.create(run);
    expect(await repo.setLifecycle(run.runId, 'active', 'deleted')).toBe(true);
    expect(await repo.setLifecycle(run.runId, 'active', 'deleted')).toBe(false);
    expect(await repo.setLifecycle('f'.repeat(32), 'active', 'deleted')).toBe(false);
    expect(await statsOf('102')).toMatchObject({ activeRuns: 0, deletedRuns: 1 });
  });

  it('spread 20 concurrent creators over the shard items and sum them right', async () => {
    const runs = Array.from({ length: 40 }, (_, i) =>
      testRun(nextRunId(), { experimentId: '103', startTime: 1_700_000_000_000 + i }),
    );
    const queue = [...runs];
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        for (let run = queue.pop(); run; run = queue.pop()) await repo.create(run);
      }),
    );
    const shards = await Promise.all(
      Array.from({ length: RUN_SHARDS }, async (_, shard) => {
        const { Item } = await table.doc.send(
          new GetCommand({ TableName: table.tableName, Key: keys.experimentRunStats('103', shard) }),
        );
        return (Item as RunStatsItem | undefined)?.active ?? 0;
      }),
    );
    // Sequential hex ids end in every digit, so every shard item took part.
    expect(shards.every((count) => count > 0)).toBe(true);
    expect(shards.reduce((sum, count) => sum + count, 0)).toBe(40);
    const stats = await statsOf('103');
    expect(stats).toMatchObject({ experimentId: '103', activeRuns: 40, deletedRuns: 0 });
    // Racing writers land in any order; within the slack, the later-landing one's time stands.
    expect(stats?.lastActivity).toBeGreaterThanOrEqual(1_700_000_000_039 - LAST_ACTIVITY_SLACK_MS);
    expect(stats?.lastActivity).toBeLessThanOrEqual(1_700_000_000_039);
  });

  it('keep the latest activity when a much older one lands later, and still apply its deltas', async () => {
    const runId = nextRunId();
    const change = { experimentId: '104', runId, deleted: 0 };
    const latest = 1_700_000_000_000;
    await recordRunStats(table.doc, table.tableName, { ...change, active: 1, at: latest });
    // An import: a run started long ago.
    await recordRunStats(table.doc, table.tableName, { ...change, active: 1, at: latest - 86_400_000 });
    await recordRunStats(table.doc, table.tableName, { ...change, active: 0, at: latest - 3_600_000 });
    expect(await statsOf('104')).toEqual({
      experimentId: '104',
      activeRuns: 2,
      deletedRuns: 0,
      lastActivity: latest,
    });
    // A racing writer a moment behind is let through, in one write: the slack bounds the error.
    const behind = latest - LAST_ACTIVITY_SLACK_MS / 2;
    await recordRunStats(table.doc, table.tableName, { ...change, active: 1, at: behind });
    expect(await statsOf('104')).toEqual({
      experimentId: '104',
      activeRuns: 3,
      deletedRuns: 0,
      lastActivity: behind,
    });
  });

  it('recount from a listing, replacing what the counters held', async () => {
    const runIds = Array.from({ length: 6 }, nextRunId);
    await recordRunStats(table.doc, table.tableName, {
      experimentId: '105',
      runId: runIds[0] as string,
      active: 7,
      deleted: -3,
      at: 9_999_999_999_999,
    });
    await recountRunStats(
      table.doc,
      table.tableName,
      '105',
      runIds.map((runId, i) => ({
        runId,
        lifecycleStage: i < 2 ? 'deleted' : 'active',
        startTime: 1_000 + i,
        ...(i === 3 ? { endTime: 5_000 } : {}),
      })),
    );
    expect(await statsOf('105')).toEqual({
      experimentId: '105',
      activeRuns: 4,
      deletedRuns: 2,
      lastActivity: 5_000,
    });
  });

  it('read zeros for an experiment without counters, and never a negative count', async () => {
    await recordRunStats(table.doc, table.tableName, {
      experimentId: '106',
      runId: nextRunId(),
      active: -1,
      deleted: 1,
      at: 3_000,
    });
    await markCounted(['106', '107']);
    expect(await readRunStats(table.doc, table.tableName, ['106', '107'])).toEqual([
      { experimentId: '106', activeRuns: 0, deletedRuns: 1, lastActivity: 3_000 },
      { experimentId: '107', activeRuns: 0, deletedRuns: 0 },
    ]);
  });
});

/**
 * get-history-bulk-interval's reads against a real table: a series longer than the read budget is
 * sampled by interval reads whose item count follows the number of intervals, not the series length.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetricPoint, Run } from '../../../shared/domain/runs/model.js';
import { sampleByIntervals, stepIntervals } from '../../../shared/domain/runs/sampling.js';
import { DynamoRunRepository } from '../../../shared/store/runs/repository.js';
import { createTestTable, type TestTable } from '../../helpers/dynamo.js';
import { testRun } from '../../helpers/runs.js';

let table: TestTable;
let repo: DynamoRunRepository;
/** Items DynamoDB returned to Query calls since the last reset. */
let itemsRead = 0;
let counter = 0;

beforeAll(async () => {
  table = await createTestTable();
  table.doc.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === 'QueryCommand') {
        itemsRead += ((result.output as { Items?: unknown[] }).Items ?? []).length;
      }
      return result;
    },
    { step: 'initialize', name: 'countQueryItems' },
  );
  repo = new DynamoRunRepository(table.doc, table.tableName);
});
afterAll(async () => {
  await table?.close();
});

const valueAt = (step: number) => Math.fround(1 / (step + 1));

/** A run whose `loss` has one point per step 0…length − 1, written 100 points (one chunk) at a time. */
async function runWithSeries(length: number): Promise<string> {
  const runId = `${(++counter).toString(16).padStart(30, '0')}aa`;
  const run = testRun(runId, { runName: `r${counter}` });
  await repo.create(run);
  for (let first = 0; first < length; first += 100) {
    const points = Array.from({ length: 100 }, (_, i) => ({
      key: 'loss',
      step: first + i,
      timestamp: 1_000 + first + i,
      value: valueAt(first + i),
    }));
    await repo.appendMetrics(runId, points, (found) => found as Run);
  }
  return runId;
}

/** Phase one with a 4 KB budget, then phase two over `count` intervals; the items both read. */
async function sample(runId: string, length: number, count: number) {
  itemsRead = 0;
  const head = await repo.readHistoryHead(runId, 'loss', 0, undefined, 4096);
  if (!head) throw new Error('missing run');
  const intervals = stepIntervals(0, length - 1, count);
  const points = head.complete
    ? head.points
    : await repo.readHistoryIntervals(runId, 'loss', head, intervals, 0, length - 1);
  return { head, items: itemsRead, picked: sampleByIntervals(points, intervals) };
}

describe('bulk-interval reads of a long series', () => {
  it('read about as many items for 4 times the points, and pick the first step of every interval', async () => {
    const short = await runWithSeries(5_000);
    const long = await runWithSeries(20_000);
    const a = await sample(short, 5_000, 10);
    const b = await sample(long, 20_000, 10);
    expect(a.head.complete).toBe(false);
    expect(b.head.complete).toBe(false);
    // Phase one: one page of 16 chunks (~7 KB, past the budget) and the chunk before the range (none
    // here); phase two: one chunk per interval above the frontier, and the one holding the last step.
    for (const { items } of [a, b]) expect(items).toBeLessThanOrEqual(16 + 10 + 1);
    // Reading the long series whole would have read its 200 chunks.
    expect(b.items).toBeLessThan(200 / 5);
    expect(b.picked.map((point) => point.step)).toEqual([
      0, 2000, 4000, 6000, 8000, 10_000, 12_000, 14_000, 16_000, 18_000, 19_999,
    ]);
    for (const point of [...a.picked, ...b.picked] as MetricPoint[]) {
      expect(point).toEqual({ step: point.step, timestamp: 1_000 + point.step, value: valueAt(point.step) });
    }
  });

  it('reads a series within the budget whole', async () => {
    const runId = await runWithSeries(500);
    const { head } = await sample(runId, 500, 10);
    expect(head.complete).toBe(true);
    expect(head.points.map((point) => point.step)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(head.latestStep).toBe(499);
  });
});

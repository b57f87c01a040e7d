/**
 * The runs repository against a real table (dynalite, or DynamoDB Local in the fidelity lane): chunked
 * history paging against an in-memory model, and the tail's bounds.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sortAndDedupe } from '../../../shared/domain/runs/metric-codec.js';
import { TAIL_MAX_POINTS } from '../../../shared/domain/runs/metrics.js';
import type { HistoryCursor, KeyedPoint, MetricPoint, RunState } from '../../../shared/domain/runs/model.js';
import { keyConditions, keys } from '../../../shared/store/keys.js';
import { DynamoRunRepository } from '../../../shared/store/runs/repository.js';
import { createTestTable, type TestTable } from '../../helpers/dynamo.js';
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

async function newRun(): Promise<string> {
  const runId = (++counter).toString(16).padStart(32, '0');
  const run = testRun(runId, { runName: `r${counter}` });
  await repo.create(run);
  return runId;
}

const active = (run: RunState | undefined): RunState => {
  if (!run) throw new Error('missing run');
  return run;
};

async function allPages(
  runId: string,
  key: string,
  limit: number,
): Promise<{ points: MetricPoint[]; pages: number }> {
  const points: MetricPoint[] = [];
  let cursor: HistoryCursor | undefined;
  let pages = 0;
  do {
    const page = (await repo.readHistoryPage(runId, key, cursor, limit))!;
    expect(page.points.length).toBeLessThanOrEqual(limit);
    points.push(...page.points);
    cursor = page.next;
    pages++;
    if (pages > 10_000) throw new Error('paging does not terminate');
  } while (cursor);
  return { points, pages };
}

const pointArb = fc.record({
  key: fc.constantFrom('a', 'b', 'c'),
  step: fc.integer({ min: -5, max: 60 }),
  timestamp: fc.integer({ min: 0, max: 4 }),
  value: fc.constantFrom(0, 1, -0, 0.5, Number.NaN, Number.POSITIVE_INFINITY),
});

describe('history paging', () => {
  it('serves exactly the sorted, deduplicated history for any write pattern and page size (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        // Writes of various sizes: small groups go to the tail and mixed chunks, large ones to own chunks.
        fc.array(fc.array(pointArb, { minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 30 }),
        async (writes, limit) => {
          const runId = await newRun();
          for (const write of writes) await repo.appendMetrics(runId, write, active);
          for (const key of ['a', 'b', 'c']) {
            const expected = sortAndDedupe(writes.flat().filter((point) => point.key === key));
            const { points } = await allPages(runId, key, limit);
            expect(points).toEqual(expected);
            expect(await repo.readHistory(runId, key)).toEqual(expected);
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it('reads each chunk about once when steps arrive in order', async () => {
    const runId = await newRun();
    for (let start = 0; start < 10_000; start += 1000) {
      const write: KeyedPoint[] = Array.from({ length: 1000 }, (_, i) => ({
        key: 'seq',
        step: start + i,
        timestamp: start + i,
        value: i,
      }));
      await repo.appendMetrics(runId, write, active);
    }
    const { points, pages } = await allPages(runId, 'seq', 2500);
    expect(points).toHaveLength(10_000);
    expect(pages).toBe(4);
  });

  it('serves points sealed into chunks between two pages (the tail moves behind the cursor)', async () => {
    const runId = await newRun();
    // One point per call lands in the tail.
    for (let step = 0; step < 100; step++) {
      await repo.appendMetrics(runId, [{ key: 'batch_loss', step, timestamp: step, value: step }], active);
    }
    // Waits in the tail; the next seal makes a mixed chunk starting at step 5, behind the cursor.
    await repo.appendMetrics(runId, [{ key: 'epoch_loss', step: 5, timestamp: 5, value: 1 }], active);
    const first = (await repo.readHistoryPage(runId, 'batch_loss', undefined, 60))!;
    expect(first.points).toHaveLength(60);
    for (let step = 100; step < 150; step++) {
      await repo.appendMetrics(runId, [{ key: 'batch_loss', step, timestamp: step, value: step }], active);
    }
    const points = [...first.points];
    let cursor = first.next;
    while (cursor) {
      const page = (await repo.readHistoryPage(runId, 'batch_loss', cursor, 60))!;
      points.push(...page.points);
      cursor = page.next;
    }
    expect(points.map((point) => point.step)).toEqual(Array.from({ length: 150 }, (_, step) => step));
  });

  it('refuses resume positions outside the key from a tampered token', async () => {
    const runId = await newRun();
    await repo.appendMetrics(runId, [{ key: 'a', step: 1, timestamp: 1, value: 1 }], active);
    const after = { step: 0, timestamp: 0, value: 0 };
    for (const resume of [
      { own: 'zzz', mixed: 'MX#', ch: '0' },
      { own: 'MC#a#', mixed: 'A', ch: '0' },
      { own: 'MC#', mixed: 'MX#', ch: '0' },
    ]) {
      await expect(repo.readHistoryPage(runId, 'a', { after, resume }, 10)).rejects.toMatchObject({
        errorCode: 'INVALID_PARAMETER_VALUE',
      });
    }
  });

  it('reads each chunk about once for histories logged without steps (all step 0)', async () => {
    let chunkItemsRead = 0;
    const counting = {
      send: async (command: { input: { KeyConditionExpression?: string } }) => {
        const result = (await table.doc.send(command as never)) as { Items?: { sk?: string }[] };
        if (command.input.KeyConditionExpression?.includes('BETWEEN'))
          chunkItemsRead += result.Items?.length ?? 0;
        return result;
      },
    } as unknown as typeof table.doc;
    const counted = new DynamoRunRepository(counting, table.tableName);
    const runId = await newRun();
    for (let start = 0; start < 10_000; start += 1000) {
      const write: KeyedPoint[] = Array.from({ length: 1000 }, (_, i) => ({
        key: 'stepless',
        step: 0,
        timestamp: 1_700_000_000_000 + start + i,
        value: i,
      }));
      await repo.appendMetrics(runId, write, active);
    }
    const points: MetricPoint[] = [];
    let cursor: HistoryCursor | undefined;
    let pages = 0;
    do {
      const page = (await counted.readHistoryPage(runId, 'stepless', cursor, 2500))!;
      points.push(...page.points);
      cursor = page.next;
      pages++;
    } while (cursor);
    expect(points).toHaveLength(10_000);
    expect(
      points.every((point, i) => i === 0 || point.timestamp > (points[i - 1] as MetricPoint).timestamp),
    ).toBe(true);
    expect(pages).toBe(4);
    // 10 chunks, plus the ones straddling page boundaries read again and a little read-ahead.
    expect(chunkItemsRead).toBeLessThanOrEqual(20);
  });

  it('keeps the tail bounded and seals it into mixed chunks', async () => {
    const runId = await newRun();
    for (let step = 0; step < 200; step++) {
      await repo.appendMetrics(runId, [{ key: `k${step % 5}`, step, timestamp: step, value: step }], active);
    }
    const latest = await table.doc.send(
      new QueryCommand({
        TableName: table.tableName,
        ...keyConditions.partition(keys.run(runId).pk),
      }),
    );
    const items = latest.Items ?? [];
    const mixed = items.filter((item) => String(item.sk).startsWith(keys.mixedChunkPrefix));
    expect(mixed.length).toBe(Math.floor(200 / (TAIL_MAX_POINTS + 1)));
    expect(items.filter((item) => String(item.sk).startsWith('MC#'))).toHaveLength(0);
    for (let k = 0; k < 5; k++) expect((await allPages(runId, `k${k}`, 7)).points).toHaveLength(40);
  });
});

describe('metric writes starting from the LATEST item this process wrote', () => {
  /**
   * A repository whose DynamoDB calls are counted by command name: another process on the same table.
   * `failWhen` makes matching calls fail as a timeout would, after they reach the table or before.
   */
  function countingRepository(failWhen?: (command: { input: { Key?: { sk?: string } } }) => boolean): {
    repo: DynamoRunRepository;
    calls: string[];
  } {
    const calls: string[] = [];
    const doc = {
      send: (command: { constructor: { name: string }; input: { Key?: { sk?: string } } }) => {
        calls.push(command.constructor.name);
        if (failWhen?.(command)) return Promise.reject(new Error('socket hang up'));
        return (table.doc.send as (c: unknown) => Promise<unknown>)(command);
      },
    } as unknown as typeof table.doc;
    return { repo: new DynamoRunRepository(doc, table.tableName), calls };
  }
  const point = (step: number): KeyedPoint[] => [{ key: 'loss', step, timestamp: step, value: step }];
  const activeOnly = (run: RunState | undefined): RunState => {
    if (run?.lifecycleStage !== 'active') throw new Error(`run is ${run?.lifecycleStage ?? 'missing'}`);
    return run;
  };

  it('skips the read on the next write to the same run: one conditional Put', async () => {
    const runId = await newRun();
    const { repo: mine, calls } = countingRepository();
    await mine.appendMetrics(runId, point(0), activeOnly);
    expect(calls).toEqual(['BatchGetCommand', 'PutCommand']);
    calls.length = 0;
    await mine.appendMetrics(runId, point(1), activeOnly);
    await mine.appendMetrics(runId, point(2), activeOnly);
    expect(calls).toEqual(['PutCommand', 'PutCommand']);
    expect((await repo.readHistory(runId, 'loss'))?.map((p) => p.step)).toEqual([0, 1, 2]);
  });

  it('loses no point when another process writes in between: its Put fails and it reads again', async () => {
    const runId = await newRun();
    const a = countingRepository();
    const b = countingRepository();
    await a.repo.appendMetrics(runId, point(0), activeOnly);
    await b.repo.appendMetrics(runId, point(1), activeOnly);
    a.calls.length = 0;
    await a.repo.appendMetrics(runId, point(2), activeOnly);
    expect(a.calls).toEqual(['PutCommand', 'BatchGetCommand', 'PutCommand']);
    await b.repo.appendMetrics(runId, point(3), activeOnly);
    await a.repo.appendMetrics(runId, point(4), activeOnly);
    expect((await repo.readHistory(runId, 'loss'))?.map((p) => p.step)).toEqual([0, 1, 2, 3, 4]);
  });

  it('refuses a write to a run another process deleted, and stores nothing', async () => {
    const runId = await newRun();
    const a = countingRepository();
    const b = countingRepository();
    await a.repo.appendMetrics(runId, point(0), activeOnly);
    expect(await b.repo.setLifecycle(runId, 'active', 'deleted')).toBe(true);
    await expect(a.repo.appendMetrics(runId, point(1), activeOnly)).rejects.toThrow('run is deleted');
    expect((await repo.readHistory(runId, 'loss'))?.map((p) => p.step)).toEqual([0]);
    // Restored elsewhere: the next write reads the run again and lands.
    expect(await b.repo.setLifecycle(runId, 'deleted', 'active')).toBe(true);
    await a.repo.appendMetrics(runId, point(1), activeOnly);
    expect((await repo.readHistory(runId, 'loss'))?.map((p) => p.step)).toEqual([0, 1]);
  });

  it('refuses a write to a run it deleted itself', async () => {
    const runId = await newRun();
    const { repo: mine } = countingRepository();
    await mine.appendMetrics(runId, point(0), activeOnly);
    expect(await mine.setLifecycle(runId, 'active', 'deleted')).toBe(true);
    await expect(mine.appendMetrics(runId, point(1), activeOnly)).rejects.toThrow('run is deleted');
  });

  it('completes a move whose LATEST bump failed when the move is retried', async () => {
    const runId = await newRun();
    const a = countingRepository();
    await a.repo.appendMetrics(runId, point(0), activeOnly);
    const failing = countingRepository((command) => command.input.Key?.sk === keys.runLatest(runId).sk);
    await expect(failing.repo.setLifecycle(runId, 'active', 'deleted')).rejects.toThrow('socket hang up');
    // The client retries the delete: the run is already deleted, and the bump is made all the same.
    const retry = countingRepository();
    expect(await retry.repo.setLifecycle(runId, 'active', 'deleted')).toBe(false);
    await expect(a.repo.appendMetrics(runId, point(1), activeOnly)).rejects.toThrow('run is deleted');
    expect((await repo.readHistory(runId, 'loss'))?.map((p) => p.step)).toEqual([0]);
  });

  it('reads before a write that seals a chunk, never sealing from a kept item', async () => {
    const runId = await newRun();
    const { repo: mine, calls } = countingRepository();
    for (let step = 0; step < TAIL_MAX_POINTS; step++)
      await mine.appendMetrics(runId, point(step), activeOnly);
    calls.length = 0;
    await mine.appendMetrics(runId, point(TAIL_MAX_POINTS), activeOnly);
    expect(calls).toEqual(['BatchGetCommand', 'BatchWriteCommand', 'PutCommand']);
    const steps = (await repo.readHistory(runId, 'loss'))?.map((p) => p.step);
    expect(steps).toEqual(Array.from({ length: TAIL_MAX_POINTS + 1 }, (_, i) => i));
  });
});

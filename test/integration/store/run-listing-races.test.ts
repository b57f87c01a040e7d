/**
 * Interleavings of two run writes whose ORDER Puts land out of order (a slow Lambda, a retried request):
 * the entry must end as the later RUN version's, or a listing reading another key range would leave the
 * run out without noticing (the stale-entry check only sees entries it reads). ORDER Puts are conditional
 * on the RUN version they were keyed from. The interleaving is forced by holding one writer's ORDER Put
 * until the other writer has finished; the table is real, only the timing is arranged.
 */
import { type DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Run } from '../../../shared/domain/runs/model.js';
import { planRunListing, type RunSearch, searchRuns } from '../../../shared/domain/runs/search.js';
import { keys } from '../../../shared/store/keys.js';
import { DynamoRunRepository } from '../../../shared/store/runs/repository.js';
import { createTestTable, putExperimentItem, type TestTable } from '../../helpers/dynamo.js';
import { testRun } from '../../helpers/runs.js';

let table: TestTable;
let repo: DynamoRunRepository;
let experiments = 0;
let runIds = 0;

beforeAll(async () => {
  table = await createTestTable();
  repo = new DynamoRunRepository(table.doc, table.tableName, { minRunsPerPartition: 0 });
});
afterAll(async () => {
  await table?.close();
});

async function newExperiment(): Promise<string> {
  const experimentId = String(1000 + ++experiments);
  await putExperimentItem(table, experimentId);
  return experimentId;
}

async function newRun(experimentId: string, runName: string, startTime = 1): Promise<string> {
  const runId = (++runIds).toString(16).padStart(32, '0');
  await repo.create(testRun(runId, { experimentId, runName, startTime }));
  return runId;
}

/**
 * A repository whose ORDER Puts wait until `release` is called: `held` resolves once one is waiting.
 */
function heldOrderPuts() {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let arrived!: () => void;
  const held = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  const doc = new Proxy(table.doc, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return async (command: { input?: { Item?: { sk?: string } } }) => {
        if (command instanceof PutCommand && command.input.Item?.sk === 'ORDER') {
          arrived();
          await gate;
        }
        return target.send(command as never);
      };
    },
  }) as DynamoDBDocumentClient;
  return { repo: new DynamoRunRepository(doc, table.tableName, { minRunsPerPartition: 0 }), held, release };
}

async function bruteForce(query: RunSearch, experimentId: string) {
  return searchRuns(await repo.listByExperiment(experimentId), query);
}

async function indexed(query: RunSearch, experimentId: string) {
  const plan = planRunListing(query);
  if (!plan) throw new Error('not an index-order search');
  const candidates = await repo.listIndexed([experimentId], plan);
  // undefined = the stale check fired and the service falls back to the full listing (correct page).
  return candidates === undefined ? undefined : searchRuns(candidates, query);
}

const ids = (page: { runs: Run[] } | undefined) => page?.runs.map((run) => run.runId);

describe('ORDER entries under concurrent writes', () => {
  it('a rename racing a delete still lists the deleted run in DELETED_ONLY name pages', async () => {
    const experimentId = await newExperiment();
    await newRun(experimentId, 'keep');
    const runId = await newRun(experimentId, 'old');
    const slow = heldOrderPuts();
    // Writer 1 renames: its RUN update lands, its ORDER Put is slow.
    const renaming = slow.repo.mutate(runId, () => ({ runName: 'new' }));
    await slow.held;
    // Writer 2 deletes the run: RUN moves, ORDER is put as (deleted, 'new').
    await repo.setLifecycle(runId, 'active', 'deleted');
    // Writer 1's ORDER Put lands last: (active, 'new') while RUN says deleted.
    slow.release();
    await renaming;

    for (const orderBy of [['attributes.run_name'], ['attributes.end_time DESC']]) {
      const query: RunSearch = { orderBy, viewType: 'DELETED_ONLY', maxResults: 10, scope: [experimentId] };
      const expected = await bruteForce(query, experimentId);
      expect(ids(expected)).toEqual([runId]);
      // The rename's entry (keyed active) lands after the delete's and must not replace it.
      expect(ids(await indexed(query, experimentId)), JSON.stringify(orderBy)).not.toEqual([]);
    }
  });

  it('two concurrent renames leave the run in the name page of the later name', async () => {
    const experimentId = await newExperiment();
    for (let i = 0; i < 40; i++) await newRun(experimentId, `m${String(i).padStart(2, '0')}`);
    const runId = await newRun(experimentId, 'zz-original');
    const slow = heldOrderPuts();
    const first = slow.repo.mutate(runId, () => ({ runName: 'zz-first' }));
    await slow.held;
    await repo.mutate(runId, () => ({ runName: 'a-second' }));
    slow.release();
    await first;

    const query: RunSearch = {
      orderBy: ['attributes.run_name'],
      viewType: 'ACTIVE_ONLY',
      maxResults: 3,
      scope: [experimentId],
    };
    const expected = await bruteForce(query, experimentId);
    expect(expected.runs[0]?.runName).toBe('a-second');
    // The first rename's entry lands last and must not replace the second's.
    const got = await indexed(query, experimentId);
    expect(got === undefined || ids(got)?.[0] === runId, JSON.stringify(ids(got))).toBe(true);
  });

  it("a listing's repair of a stale entry does not overwrite a rename made meanwhile", async () => {
    const experimentId = await newExperiment();
    for (let i = 0; i < 40; i++) await newRun(experimentId, `m${String(i).padStart(2, '0')}`);
    const runId = await newRun(experimentId, 'zz-before');
    // A rename cut short after its RUN update (the case run-index.ts repairs): RUN 'zz-after', ORDER 'zz-before'.
    await table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: keys.run(runId),
        UpdateExpression: 'SET run_name = :name, ver = ver + :one',
        ExpressionAttributeValues: { ':name': 'zz-after', ':one': 1 },
      }),
    );
    const query: RunSearch = {
      orderBy: ['attributes.run_name DESC'],
      viewType: 'ACTIVE_ONLY',
      maxResults: 3,
      scope: [experimentId],
    };
    // A listing reads the stale entry and puts it right from the RUN it read ('zz-after'), slowly.
    const slow = heldOrderPuts();
    const listing = slow.repo.listIndexed([experimentId], planRunListing(query)!);
    await slow.held;
    // Meanwhile the run is renamed again: RUN and ORDER 'a-final'.
    await repo.mutate(runId, () => ({ runName: 'a-final' }));
    slow.release();
    expect(await listing).toBeUndefined();

    const ascending: RunSearch = { ...query, orderBy: ['attributes.run_name'] };
    const expected = await bruteForce(ascending, experimentId);
    expect(expected.runs[0]?.runName).toBe('a-final');
    // The repair's entry (version 1) lands after the rename's (version 2) and must not replace it.
    const got = await indexed(ascending, experimentId);
    expect(got === undefined || ids(got)?.[0] === runId, JSON.stringify(ids(got))).toBe(true);
  });
});

/**
 * Index-order run listings (store/runs/run-index.ts) against a real table: for random experiments,
 * filters, orders, view types and page sizes, every page read through the order keys is the page a
 * brute-force search over every run gives for the same token, also when runs are deleted, restored,
 * renamed or finished between pages; and paging through serves every run once, in order.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Run } from '../../../shared/domain/runs/model.js';
import { planRunListing, type RunSearch, searchRuns } from '../../../shared/domain/runs/search.js';
import type { ViewType } from '../../../shared/domain/search/pipeline.js';
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
  // One item per first Query: ties and groups then straddle batches, as they do at scale.
  repo = new DynamoRunRepository(table.doc, table.tableName, { firstRead: 1, minRunsPerPartition: 0 });
});
afterAll(async () => {
  await table?.close();
});

async function newExperiment(marked = true): Promise<string> {
  const experimentId = String(++experiments);
  await putExperimentItem(table, experimentId, { marked });
  return experimentId;
}

// Names that tie, that are prefixes of each other, that differ only past the key's 400-byte prefix, and
// that hold the key's own separators.
const LONG = 'x'.repeat(420);
const NAMES = ['a', 'a', 'ab', 'a#b', 'b', '', 'é', 'Z', `${LONG}1`, `${LONG}0`, 'a.b'];
// Start times that tie, are negative, zero or large.
const STARTS = [-5, 0, 0, 7, 7, 1_795_000_000_000, 2 ** 53 - 1];

const runArb = fc.record({
  name: fc.constantFrom(...NAMES),
  start: fc.constantFrom(...STARTS),
  end: fc.option(fc.constantFrom(0, 3, 3, 9, 1_795_000_000_100), { nil: undefined }),
  deleted: fc.boolean(),
  param: fc.constantFrom('1', '2'),
  status: fc.constantFrom('RUNNING', 'FINISHED', 'FAILED') as fc.Arbitrary<Run['status']>,
  loss: fc.option(fc.constantFrom(0.1, 0.5, Number.NaN), { nil: undefined }),
  /** Written by the update paths after create, to exercise their key upkeep. */
  later: fc.constantFrom('none', 'finish', 'rename'),
});

const FILTERS = [
  undefined,
  "attributes.status = 'FINISHED'",
  "params.p = '1'",
  "run_name LIKE 'a%'",
  'attributes.start_time > 0',
  'metrics.loss > 0.2',
];
const ORDERS: string[][] = [
  [],
  ['attributes.start_time ASC'],
  ['attributes.start_time DESC'],
  ['attributes.run_name'],
  ['attributes.run_name DESC'],
  ['attributes.end_time'],
  ['attributes.end_time DESC'],
  ['attributes.end_time ASC', 'attributes.start_time ASC'],
  ['attributes.end_time DESC', 'params.p'],
  ['attributes.run_name', 'attributes.end_time DESC'],
  ['metrics.loss DESC'],
];

type RunSpec = typeof runArb extends fc.Arbitrary<infer T> ? T : never;

async function store(experimentId: string, spec: RunSpec): Promise<string> {
  // Shards go by the id's last hex digit: most runs share shard 0, so ties meet within one partition's reads.
  runIds++;
  const runId = (runIds * 4 + (runIds % 5 === 0 ? 1 : 0)).toString(16).padStart(32, '0');
  const run = testRun(runId, {
    experimentId,
    runName: spec.name,
    startTime: spec.start,
    status: spec.status,
    params: { p: spec.param },
    ...(spec.end !== undefined && spec.later !== 'finish' ? { endTime: spec.end } : {}),
    ...(spec.loss !== undefined
      ? { metrics: { loss: { key: 'loss', value: spec.loss, step: 0, timestamp: 0 } } }
      : {}),
  });
  await repo.create(run);
  if (spec.loss !== undefined) {
    await repo.appendMetrics(runId, [{ key: 'loss', value: spec.loss, step: 0, timestamp: 0 }], (state) => {
      if (!state) throw new Error('missing run');
      return state;
    });
  }
  if (spec.later === 'finish')
    await repo.mutate(runId, () => ({ status: 'FINISHED', endTime: spec.end ?? 5 }));
  if (spec.later === 'rename') await repo.mutate(runId, () => ({ runName: `${spec.name}r` }));
  if (spec.deleted) await repo.setLifecycle(runId, 'active', 'deleted');
  return runId;
}

/** The page a search over every run of the experiment gives (the reference). */
async function bruteForce(query: RunSearch, experimentId: string) {
  return searchRuns(await repo.listByExperiment(experimentId), query);
}

/** The page the index path gives, asserting that it did answer (no fallback). */
async function indexed(query: RunSearch, experimentId: string) {
  const plan = planRunListing(query);
  if (!plan) return searchRuns(await repo.listByExperiment(experimentId), query);
  const candidates = await repo.listIndexed([experimentId], plan);
  // Searches on metrics need value entries (value-search.test.ts); these experiments have none.
  if (plan.needsMetrics && !candidates) return searchRuns(await repo.listByExperiment(experimentId), query);
  expect(candidates, 'the order keys answer').toBeDefined();
  return searchRuns(candidates ?? [], query);
}

const ids = (page: { runs: Run[] }) => page.runs.map((run) => run.runId);

describe('index-order run listings', () => {
  it('give the brute-force page for every token, with changes between pages', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(runArb, { maxLength: 24 }),
        fc.constantFrom(...FILTERS),
        fc.constantFrom(...ORDERS),
        fc.constantFrom<ViewType>('ACTIVE_ONLY', 'DELETED_ONLY', 'ALL'),
        fc.integer({ min: 1, max: 7 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        async (specs, filter, orderBy, viewType, maxResults, changes) => {
          const experimentId = await newExperiment();
          const runs: string[] = [];
          for (const spec of specs) runs.push(await store(experimentId, spec));
          const query: RunSearch = {
            ...(filter === undefined ? {} : { filter }),
            orderBy,
            viewType,
            maxResults,
            scope: [experimentId],
          };
          const all = await bruteForce({ ...query, maxResults: 1000 }, experimentId);
          const served: string[] = [];
          let token: string | undefined;
          let pages = 0;
          let changed = false;
          do {
            const page = { ...query, ...(token === undefined ? {} : { pageToken: token }) };
            const got = await indexed(page, experimentId);
            expect(ids(got)).toEqual(ids(await bruteForce(page, experimentId)));
            expect(got.nextPageToken === undefined).toBe(
              (await bruteForce(page, experimentId)).nextPageToken === undefined,
            );
            served.push(...ids(got));
            token = got.nextPageToken;
            // Between pages: delete, restore, rename or finish a run.
            const change = changes[pages];
            if (change !== undefined && runs.length > 0) {
              changed = true;
              const runId = runs[change % runs.length] as string;
              const kind = change % 4;
              if (kind === 0) await repo.setLifecycle(runId, 'active', 'deleted');
              if (kind === 1) await repo.setLifecycle(runId, 'deleted', 'active');
              if (kind === 2) await repo.mutate(runId, () => ({ runName: `renamed-${change}` }));
              if (kind === 3) await repo.mutate(runId, () => ({ endTime: change }));
            }
            pages++;
          } while (token && pages < 60);
          expect(token).toBeUndefined();
          if (!changed) expect(served).toEqual(ids(all));
        },
      ),
      { numRuns: 40 },
    );
    // 40 experiments of up to 24 runs, each run's writes keeping its value entries: ~25 s on a loaded machine.
  }, 90_000);

  it('read a tie group whole when it straddles reads, in every order', async () => {
    const experimentId = await newExperiment();
    const tied: RunSpec = {
      name: 'same',
      start: 7,
      end: 9,
      deleted: false,
      param: '1',
      status: 'FINISHED',
      loss: undefined,
      later: 'none',
    };
    for (let i = 0; i < 6; i++) await store(experimentId, tied);
    for (const orderBy of [
      [],
      ['attributes.start_time ASC'],
      ['attributes.run_name DESC'],
      ['attributes.end_time DESC'],
    ]) {
      const query: RunSearch = { orderBy, viewType: 'ACTIVE_ONLY', maxResults: 1, scope: [experimentId] };
      const expected = await bruteForce(query, experimentId);
      expect(ids(await indexed(query, experimentId)), JSON.stringify(orderBy)).toEqual(ids(expected));
    }
  });

  it('leave experiments whose runs predate the keys to the full listing', async () => {
    const experimentId = await newExperiment(false);
    const runId = await store(experimentId, {
      name: 'old',
      start: 1,
      end: undefined,
      deleted: false,
      param: '1',
      status: 'RUNNING',
      loss: undefined,
      later: 'none',
    });
    // As an earlier build stored it: gsi1sk the bare run id (no ORDER item either, not needed here).
    await table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: keys.run(runId),
        UpdateExpression: 'SET gsi1sk = :id',
        ExpressionAttributeValues: { ':id': runId },
      }),
    );
    const plan = planRunListing({ orderBy: [], viewType: 'ACTIVE_ONLY', maxResults: 10 });
    expect(plan).toBeDefined();
    expect(await repo.listIndexed([experimentId], plan!)).toBeUndefined();
  });

  it('puts right an order entry left stale and answers that search by the full listing', async () => {
    const experimentId = await newExperiment();
    const runId = await store(experimentId, {
      name: 'before',
      start: 1,
      end: undefined,
      deleted: false,
      param: '1',
      status: 'RUNNING',
      loss: undefined,
      later: 'none',
    });
    // A rename whose second write never happened: RUN renamed, ORDER still the old name.
    await table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: keys.run(runId),
        UpdateExpression: 'SET run_name = :name, ver = ver + :one',
        ExpressionAttributeValues: { ':name': 'after', ':one': 1 },
      }),
    );
    const plan = planRunListing({
      orderBy: ['attributes.run_name'],
      viewType: 'ACTIVE_ONLY',
      maxResults: 10,
    });
    expect(await repo.listIndexed([experimentId], plan!)).toBeUndefined();
    const again = await repo.listIndexed([experimentId], plan!);
    expect(again?.map((run) => run.runName)).toEqual(['after']);
  });
});

/**
 * Run summaries (store/runs/run-summaries.ts) against a real table: for random experiments, filters no entry
 * answers (`!=`, IS NULL, LIKE with a leading wildcard, attribute filters) and orders no index keeps (a param,
 * a tag, status), every page is the page a brute-force search over every run gives for the same token, also
 * when runs are renamed, finished, tagged, deleted or restored between pages and when marks are folded at any
 * point; a search reads the summaries instead of the experiment's runs; a mark is never cleared for a write
 * that has not landed; `cairn migrate` summarizes an experiment from before summaries.
 */
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Run } from '../../../shared/domain/runs/model.js';
import { planRunListing, type RunSearch, searchRuns } from '../../../shared/domain/runs/search.js';
import type { ViewType } from '../../../shared/domain/search/pipeline.js';
import { RunWriter, type TargetStore } from '../../../shared/import/target.js';
import { putBatch, queryAll } from '../../../shared/store/doc-commands.js';
import { keyConditions, keys } from '../../../shared/store/keys.js';
import { migrateRunSummaries } from '../../../shared/store/runs/migrate-index.js';
import { DynamoRunRepository } from '../../../shared/store/runs/repository.js';
import {
  compactAll,
  PURGE_MARK,
  putSummaryMark,
  summaryMark,
} from '../../../shared/store/runs/run-summaries.js';
import {
  createTestTable,
  putExperimentItem,
  setExperimentMark,
  type TestTable,
} from '../../helpers/dynamo.js';
import { proxied } from '../../helpers/interleave.js';
import { bruteForcePage, testRun } from '../../helpers/runs.js';

let table: TestTable;
let repo: DynamoRunRepository;
let experiments = 0;
let runIds = 0;

beforeAll(async () => {
  table = await createTestTable();
  repo = new DynamoRunRepository(table.doc, table.tableName, { firstRead: 1, minRunsPerPartition: 0 });
});
afterAll(async () => {
  await table?.close();
});

async function newExperiment(summarized = true): Promise<string> {
  const experimentId = String(++experiments);
  await putExperimentItem(table, experimentId);
  if (!summarized) {
    // As an experiment from before summaries, until `cairn migrate` summarizes it.
    await setExperimentMark(table, experimentId, 'run_summaries');
  }
  return experimentId;
}

/** A reader that counts the items DynamoDB hands back and whether it read a summary segment. */
function counted() {
  let items = 0;
  let summaries = 0;
  const doc = new Proxy(table.doc, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return async (command: { input?: { ExpressionAttributeValues?: Record<string, unknown> } }) => {
        const values = Object.values(command.input?.ExpressionAttributeValues ?? {});
        if (values.some((value) => typeof value === 'string' && value.startsWith('EXPSUM#'))) summaries++;
        const out = (await target.send(command as never)) as {
          Items?: unknown[];
          Responses?: Record<string, unknown[]>;
        };
        items += (out.Items?.length ?? 0) + Object.values(out.Responses ?? {}).flat().length;
        return out;
      };
    },
  }) as typeof table.doc;
  const reader = new DynamoRunRepository(doc, table.tableName, { firstRead: 1, minRunsPerPartition: 0 });
  return { reader, items: () => items, summaries: () => summaries };
}

const LONG = 'v'.repeat(210);

const runArb = fc.record({
  name: fc.constantFrom('alpha', 'beta', 'alpine', 'gamma'),
  start: fc.constantFrom(0, 5, 5, 9),
  end: fc.option(fc.constantFrom(3, 8), { nil: undefined }),
  status: fc.constantFrom('RUNNING', 'FINISHED', 'FAILED') as fc.Arbitrary<Run['status']>,
  deleted: fc.boolean(),
  p: fc.option(fc.constantFrom('1', '2', '10', `${LONG}x`), { nil: undefined }),
  t: fc.option(fc.constantFrom('a', 'ab', 'B', `${LONG}y`), { nil: undefined }),
  ds: fc.option(fc.constantFrom('train', 'eval'), { nil: undefined }),
});
type RunSpec = typeof runArb extends fc.Arbitrary<infer T> ? T : never;

const FILTERS = [
  "attributes.run_name LIKE '%lp%'",
  "attributes.run_name ILIKE '%A%'",
  "attributes.status != 'FINISHED'",
  "attributes.status = 'FAILED'",
  'attributes.end_time > 4',
  "params.p != '1'",
  'params.p IS NULL',
  "params.p LIKE '%0'",
  `params.p = '${LONG}x'`,
  "tags.t != 'a'",
  'tags.t IS NOT NULL',
  "tags.t ILIKE '%b'",
  "tags.t LIKE '%y' AND attributes.status != 'RUNNING'",
  "datasets.name = 'train'",
  "datasets.context = 'evaluation' AND params.p != '2'",
];
const ORDERS: string[][] = [
  [],
  ['attributes.run_name'],
  ['params.p DESC'],
  ['tags.t'],
  ['attributes.status', 'attributes.end_time DESC'],
];

async function store(experimentId: string, spec: RunSpec): Promise<string> {
  runIds++;
  const runId = (runIds * 4 + (runIds % 3)).toString(16).padStart(32, '0');
  await repo.create(
    testRun(runId, {
      experimentId,
      runName: spec.name,
      startTime: spec.start,
      status: spec.status,
      params: spec.p === undefined ? {} : { p: spec.p },
      tags: spec.t === undefined ? {} : { t: spec.t },
      ...(spec.end === undefined ? {} : { endTime: spec.end }),
      datasets:
        spec.ds === undefined
          ? []
          : [
              {
                name: spec.ds,
                digest: 'd1',
                sourceType: 'local',
                source: 'data.csv',
                tags: spec.ds === 'eval' ? { 'mlflow.data.context': 'evaluation' } : {},
              },
            ],
    }),
  );
  if (spec.deleted) await repo.setLifecycle(runId, 'active', 'deleted');
  return runId;
}

/** The page a search over every run of the experiment gives (the reference), each run read by key. */
const bruteForce = (query: RunSearch, experimentId: string) => bruteForcePage(repo, query, experimentId);

async function searched(reader: DynamoRunRepository, query: RunSearch, experimentId: string) {
  const plan = planRunListing(query);
  const candidates = plan ? await reader.listIndexed([experimentId], plan) : undefined;
  return candidates ? searchRuns(candidates, query) : bruteForce(query, experimentId);
}

const PLAIN: RunSpec = {
  name: 'alpha',
  start: 5,
  end: 8,
  status: 'FINISHED',
  deleted: false,
  p: '1',
  t: 'a',
  ds: undefined,
};

const ids = (page: { runs: Run[] }) => page.runs.map((run) => run.runId);

const marksOf = (experimentId: string) =>
  Promise.all(
    keys.runSummaryMarkPartitions(experimentId).map((partition) =>
      queryAll(table.doc, {
        TableName: table.tableName,
        ...keyConditions.partition(partition),
        ConsistentRead: true,
      }),
    ),
  ).then((pages) => pages.flat());

describe('run summaries', () => {
  it('give the brute-force page for every token, with changes and folds between pages', async () => {
    const { reader, summaries } = counted();
    await fc.assert(
      fc.asyncProperty(
        fc.array(runArb, { minLength: 1, maxLength: 14 }),
        fc.boolean(),
        fc.constantFrom(...FILTERS),
        fc.constantFrom(...ORDERS),
        fc.constantFrom<ViewType>('ACTIVE_ONLY', 'DELETED_ONLY', 'ALL'),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        async (specs, foldFirst, filter, orderBy, viewType, maxResults, changes) => {
          const experimentId = await newExperiment();
          const runs: string[] = [];
          for (const spec of specs) runs.push(await store(experimentId, spec));
          if (foldFirst) await compactAll(table, experimentId);
          const query: RunSearch = { filter, orderBy, viewType, maxResults, scope: [experimentId] };
          let token: string | undefined;
          let pages = 0;
          do {
            const page = { ...query, ...(token === undefined ? {} : { pageToken: token }) };
            const got = await searched(reader, page, experimentId);
            const expected = await bruteForce(page, experimentId);
            expect(ids(got)).toEqual(ids(expected));
            expect(got.nextPageToken === undefined).toBe(expected.nextPageToken === undefined);
            token = got.nextPageToken;
            const change = changes[pages];
            if (change !== undefined) {
              const runId = runs[change % runs.length] as string;
              const kind = change % 7;
              if (kind === 0) await repo.setLifecycle(runId, 'active', 'deleted');
              if (kind === 1) await repo.setLifecycle(runId, 'deleted', 'active');
              if (kind === 2) await repo.mutate(runId, () => ({ endTime: change, status: 'FAILED' }));
              if (kind === 3) await repo.mutate(runId, () => ({ runName: change % 2 ? 'alps' : 'zeta' }));
              if (kind === 4) await repo.mutate(runId, () => ({ tags: { t: change % 2 ? 'ab' : LONG } }));
              if (kind === 5) await repo.mutate(runId, () => ({ deleteTags: ['t'] }));
              if (kind === 6) await compactAll(table, experimentId);
            }
            pages++;
          } while (token && pages < 40);
          expect(token).toBeUndefined();
        },
      ),
      { numRuns: 50 },
    );
    expect(summaries()).toBeGreaterThan(0);
  }, 300_000);

  it("read the summaries, not the experiment's runs, for a filter no entry answers", async () => {
    const summarized = await newExperiment();
    const before = await newExperiment(false);
    for (const experimentId of [summarized, before]) {
      for (let i = 0; i < 200; i++) {
        // Start times apart, as a sweep's are (ties in the order index are read whole).
        await store(experimentId, { ...PLAIN, start: i as RunSpec['start'] });
      }
    }
    await compactAll(table, summarized);
    const query = (experimentId: string): RunSearch => ({
      // The web UI's run-name search box, finding nothing.
      filter: "attributes.run_name ILIKE '%nothing%'",
      orderBy: [],
      viewType: 'ACTIVE_ONLY',
      maxResults: 10,
      scope: [experimentId],
    });
    const read: Record<string, number> = {};
    for (const experimentId of [summarized, before]) {
      const { reader, items } = counted();
      const got = await searched(reader, query(experimentId), experimentId);
      expect(got.runs).toEqual([]);
      read[experimentId] = items();
    }
    // Four segments, the experiment item and the order index's first runs, against every RUN item.
    expect(read[summarized]).toBeLessThan((read[before] ?? 0) / 3);
  }, 120_000);

  it('fold marks once many have piled up, and keep those of writes not yet landed', async () => {
    const experimentId = await newExperiment();
    const runs: string[] = [];
    for (let i = 0; i < 70; i++) {
      runs.push(
        await store(experimentId, { name: 'alpha', start: i, status: 'FINISHED', deleted: false } as RunSpec),
      );
    }
    expect((await marksOf(experimentId)).length).toBe(70);
    const { reader } = counted();
    const query: RunSearch = {
      // Matching none: the order index gives up after a few runs and the summaries answer.
      filter: "attributes.run_name LIKE '%zz%'",
      orderBy: [],
      viewType: 'ACTIVE_ONLY',
      maxResults: 5,
      scope: [experimentId],
    };
    await searched(reader, query, experimentId);
    // The search folded them: no mark is left, and the rows answer.
    expect(await marksOf(experimentId)).toEqual([]);
    expect(ids(await searched(reader, query, experimentId))).toEqual(
      ids(await bruteForce(query, experimentId)),
    );

    // A write in flight: its mark is put (version 1 above the run's), its RUN update has not landed.
    const runId = runs[0] as string;
    const { Item } = await table.doc.send(
      new GetCommand({ TableName: table.tableName, Key: keys.run(runId), ConsistentRead: true }),
    );
    const mark = summaryMark(experimentId, runId, (Item?.ver as number) + 1);
    await table.doc.send(new PutCommand({ TableName: table.tableName, Item: mark }));
    await compactAll(table, experimentId);
    expect((await marksOf(experimentId)).map((item) => item.run_id)).toEqual([runId]);
    // The update lands (as mutate's would, after its mark): the search sees the new name.
    await table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: keys.run(runId),
        UpdateExpression: 'SET run_name = :name, ver = ver + :one',
        ExpressionAttributeValues: { ':name': 'renamed-zz', ':one': 1 },
      }),
    );
    const renamed = query;
    expect(ids(await searched(reader, renamed, experimentId))).toEqual([runId]);
    await compactAll(table, experimentId);
    expect(await marksOf(experimentId)).toEqual([]);
    expect(ids(await searched(reader, renamed, experimentId))).toEqual([runId]);

    // A stale writer's (or a migration's) mark of an earlier version replaces no later write's: each write
    // has its own, and only the one its run has reached is folded away.
    await putSummaryMark(table, experimentId, runId, 50);
    await putSummaryMark(table, experimentId, runId, 1);
    // A create's mark whose RUN Put has not landed yet: kept (a purge's mark, of no RUN either, is not).
    const creating = 'f'.repeat(32);
    await putSummaryMark(table, experimentId, creating, 0);
    await compactAll(table, experimentId);
    const left = await marksOf(experimentId);
    expect(left.map((item) => [item.run_id, item.ver]).sort()).toEqual(
      [
        [runId, 50],
        [creating, 0],
      ].sort(),
    );
    await putSummaryMark(table, experimentId, creating, PURGE_MARK);
    for (const mark of left) {
      if (mark.run_id === runId) {
        await table.doc.send(
          new DeleteCommand({ TableName: table.tableName, Key: { pk: mark.pk, sk: mark.sk } as never }),
        );
      }
    }

    // A mark of a write that died before its update, older than any write can be in flight: dropped.
    const dead = { ...summaryMark(experimentId, runId, 99), at: Date.now() - 16 * 60_000 };
    await table.doc.send(new PutCommand({ TableName: table.tableName, Item: dead }));
    await compactAll(table, experimentId);
    expect(await marksOf(experimentId)).toEqual([]);
  }, 120_000);

  it('answer another way while too many marks wait, folding some on each search', async () => {
    const experimentId = await newExperiment();
    const runId = await store(experimentId, PLAIN);
    await compactAll(table, experimentId);
    // A bulk writer's marks (of runs whose writes died long ago, so that folding drops them).
    const marks = Array.from({ length: 1001 }, (_, n) => ({
      ...summaryMark(experimentId, n.toString(16).padStart(32, '0'), 0),
      at: Date.now() - 16 * 60_000,
    }));
    for (let i = 0; i < marks.length; i += 25)
      await putBatch(table.doc, table.tableName, marks.slice(i, i + 25));
    const { reader, summaries } = counted();
    const query: RunSearch = {
      filter: "attributes.status != 'RUNNING'",
      orderBy: ['attributes.status'],
      viewType: 'ACTIVE_ONLY',
      maxResults: 5,
      scope: [experimentId],
    };
    expect(ids(await searched(reader, query, experimentId))).toEqual([runId]);
    // 1,000 folded (their segments read to fold them); the next search answers from the summaries.
    expect(await marksOf(experimentId)).toHaveLength(1);
    const folding = summaries();
    expect(ids(await searched(reader, query, experimentId))).toEqual([runId]);
    expect(summaries()).toBeGreaterThan(folding);
  }, 120_000);

  it('find runs `cairn import` wrote, before and after a fold', async () => {
    const experimentId = await newExperiment();
    // The import's run writer needs no artifact store to write runs.
    const writer = new RunWriter({ doc: table.doc, tableName: table.tableName } as TargetStore);
    const imported: string[] = [];
    for (let n = 0; n < 3; n++) {
      const runId = `${'e'.repeat(31)}${n}`;
      await writer.write(testRun(runId, { experimentId, runName: `imported-${n}`, status: 'FINISHED' }), []);
      imported.push(runId);
    }
    const { reader, summaries } = counted();
    const query: RunSearch = {
      filter: "attributes.run_name LIKE '%ported%'",
      orderBy: ['attributes.status', 'attributes.run_name'],
      viewType: 'ALL',
      maxResults: 10,
      scope: [experimentId],
    };
    expect(ids(await searched(reader, query, experimentId))).toEqual(imported);
    await compactAll(table, experimentId);
    expect(ids(await searched(reader, query, experimentId))).toEqual(imported);
    expect(summaries()).toBeGreaterThan(0);
  }, 120_000);

  it('mark a status change whose update landed though its call failed', async () => {
    const experimentId = await newExperiment();
    const runId = await store(experimentId, { ...PLAIN, status: 'RUNNING', end: undefined });
    await compactAll(table, experimentId);
    let failed = false;
    const doc = proxied(table.doc, async (command, send) => {
      const input = (command as { input?: { Key?: { sk?: string }; UpdateExpression?: string } }).input;
      if (
        !failed &&
        command instanceof UpdateCommand &&
        input?.Key?.sk === 'RUN' &&
        input.UpdateExpression?.includes('#status')
      ) {
        failed = true;
        // The update lands; its caller hears a timeout.
        await send(command);
        throw Object.assign(new Error('socket timed out'), { name: 'TimeoutError' });
      }
    });
    const writer = new DynamoRunRepository(doc, table.tableName);
    await expect(writer.mutate(runId, () => ({ status: 'FAILED' }))).rejects.toThrow('socket timed out');
    await compactAll(table, experimentId);
    const query: RunSearch = {
      filter: "attributes.status = 'FAILED'",
      orderBy: ['attributes.status'],
      viewType: 'ACTIVE_ONLY',
      maxResults: 5,
      scope: [experimentId],
    };
    expect(ids(await searched(repo, query, experimentId))).toEqual([runId]);
  }, 120_000);

  it('find a run by the dataset inputs it logged after its row was folded', async () => {
    const experimentId = await newExperiment();
    const runId = await store(experimentId, PLAIN);
    await compactAll(table, experimentId);
    const train = { name: 'train', digest: 'd1', sourceType: 'local', source: 'data.csv', tags: {} };
    await repo.mutate(runId, () => ({ datasets: [train] }));
    const query: RunSearch = {
      filter: "datasets.name = 'train'",
      orderBy: ['attributes.status'],
      viewType: 'ACTIVE_ONLY',
      maxResults: 5,
      scope: [experimentId],
    };
    expect(ids(await searched(repo, query, experimentId))).toEqual([runId]);
    await compactAll(table, experimentId);
    expect(ids(await searched(repo, query, experimentId))).toEqual([runId]);
  }, 120_000);

  it('keep the mark of a run imported again after a purge whose mark is not folded yet', async () => {
    const experimentId = await newExperiment();
    const runId = await store(experimentId, PLAIN);
    await compactAll(table, experimentId);
    // Purged a minute ago (its mark before the RUN item went), and now imported again: its mark is put, its
    // RUN item not yet.
    await table.doc.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { ...summaryMark(experimentId, runId, PURGE_MARK), at: Date.now() - 60_000 },
      }),
    );
    await table.doc.send(new DeleteCommand({ TableName: table.tableName, Key: keys.run(runId) }));
    await putSummaryMark(table, experimentId, runId, 0);
    await compactAll(table, experimentId);
    expect((await marksOf(experimentId)).map((mark) => mark.ver)).toEqual([0]);
  }, 120_000);

  it('summarize an experiment from before summaries with `cairn migrate`', async () => {
    const experimentId = await newExperiment(false);
    const specs = fc.sample(runArb, { numRuns: 40, seed: 7 });
    for (const spec of specs) await store(experimentId, spec);
    // As a build from before summaries wrote them: no marks.
    for (const mark of await marksOf(experimentId)) {
      await table.doc.send(
        new DeleteCommand({ TableName: table.tableName, Key: { pk: mark.pk, sk: mark.sk } as never }),
      );
    }
    const report = await migrateRunSummaries(table.doc, table.tableName);
    expect(report.experiments).toContain(experimentId);
    const { Item } = await table.doc.send(
      new GetCommand({ TableName: table.tableName, Key: keys.experiment(experimentId) }),
    );
    expect(Item?.run_summaries).toBe(1);
    expect(await marksOf(experimentId)).toEqual([]);
    const { reader, summaries } = counted();
    for (const filter of FILTERS) {
      // An order no index keeps: the summaries answer whatever the filter matches.
      const query: RunSearch = {
        filter,
        orderBy: ['attributes.status'],
        viewType: 'ALL',
        maxResults: 100,
        scope: [experimentId],
      };
      expect(ids(await searched(reader, query, experimentId)), filter).toEqual(
        ids(await bruteForce(query, experimentId)),
      );
    }
    expect(summaries()).toBeGreaterThan(0);
    // Again: idempotent, nothing left to do.
    expect((await migrateRunSummaries(table.doc, table.tableName)).experiments).not.toContain(experimentId);
  }, 120_000);
});

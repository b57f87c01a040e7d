/**
 * Searches on metrics and params from value entries (store/runs/value-search.ts) against a real table:
 * for random experiments (marked `value_index` or not), metric and param filters, metric orders, view
 * types and page sizes, every page is the page a brute-force search over every run gives for the same
 * token, also when runs are deleted, restored, finished or log metrics between pages; paging through
 * serves every run once, in order. NaN, ±Infinity, -0 and ties are among the values.
 *
 * The entries are the repository's own writes (value-entries.ts): metric entries for ended runs, param
 * entries for every run, open runs' LATEST items in `EXPOPEN#…`.
 */
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Run } from '../../../shared/domain/runs/model.js';
import { planRunListing, type RunSearch, searchRuns } from '../../../shared/domain/runs/search.js';
import type { ViewType } from '../../../shared/domain/search/pipeline.js';
import { keys } from '../../../shared/store/keys.js';
import { DynamoRunRepository } from '../../../shared/store/runs/repository.js';
import type { ListingReads } from '../../../shared/store/runs/run-index.js';
import {
  createTestTable,
  putExperimentItem,
  setExperimentMark,
  type TestTable,
} from '../../helpers/dynamo.js';
import { bruteForcePage, testRun } from '../../helpers/runs.js';

let table: TestTable;
let repo: DynamoRunRepository;
let experiments = 0;
let runIds = 0;
const marked = new Set<string>();
/** Experiments marked 1: from before tag entries (their runs have none until `cairn migrate`). */
const beforeTags = new Set<string>();

beforeAll(async () => {
  table = await createTestTable();
  repo = new DynamoRunRepository(table.doc, table.tableName, { firstRead: 1, minRunsPerPartition: 0 });
});
afterAll(async () => {
  await table?.close();
});

async function newExperiment(valueIndex: boolean | 1): Promise<string> {
  const experimentId = String(++experiments);
  await putExperimentItem(table, experimentId);
  if (valueIndex === 1) {
    beforeTags.add(experimentId);
    marked.add(experimentId);
    // As a build from before tag entries marked it.
    await setExperimentMark(table, experimentId, 'value_index', 1);
  } else if (valueIndex) marked.add(experimentId);
  else {
    // As an experiment from before value entries, until `cairn migrate` lays it out.
    await setExperimentMark(table, experimentId, 'value_index');
  }
  return experimentId;
}

const LONG = 'v'.repeat(410);
const LOSSES = [0.1, 0.5, 0.5, 0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -3];

const runArb = fc.record({
  name: fc.constantFrom('a', 'a', 'b', 'c'),
  start: fc.constantFrom(0, 5, 5, 9),
  end: fc.option(fc.constantFrom(3, 3, 8), { nil: undefined }),
  deleted: fc.boolean(),
  p: fc.constantFrom('1', '1', '2', '10'),
  q: fc.option(fc.constantFrom('a', 'ab', 'b', 'A', `${LONG}x`, `${LONG}y`), { nil: undefined }),
  t: fc.option(fc.constantFrom('a', 'ab', 'b', 'A', `${LONG}x`, `${LONG}y`), { nil: undefined }),
  loss: fc.option(fc.constantFrom(...LOSSES), { nil: undefined }),
  acc: fc.option(fc.constantFrom(0, 1, 1, Number.NaN), { nil: undefined }),
  status: fc.constantFrom('RUNNING', 'FINISHED') as fc.Arbitrary<Run['status']>,
});
type RunSpec = typeof runArb extends fc.Arbitrary<infer T> ? T : never;

const FILTERS = [
  undefined,
  'metrics.loss > 0.2',
  'metrics.loss <= 0.5',
  'metrics.loss = 0',
  'metrics.loss < 0',
  'metrics.loss >= -1e999',
  'metrics.acc >= 1',
  'metrics.loss != 0.5',
  "params.p = '1'",
  "params.p = 'none'",
  "params.q LIKE 'a%'",
  "params.q ILIKE 'A%'",
  `params.q = '${LONG}x'`,
  `params.q LIKE '${LONG}%'`,
  "params.p = '1' AND metrics.loss > 0.2",
  'metrics.acc = 1 AND metrics.loss >= 0.1',
  "metrics.loss < 1 AND attributes.status = 'FINISHED'",
  "tags.t = 'a'",
  "tags.t LIKE 'a%'",
  "tags.t ILIKE 'A%'",
  `tags.t = '${LONG}x'`,
  `tags.t LIKE '${LONG}%'`,
  "tags.t = 'ab' AND params.p = '1'",
  "tags.t LIKE 'a%' AND metrics.loss > 0.2",
];
const ORDERS: string[][] = [
  [],
  ['metrics.loss DESC'],
  ['metrics.loss'],
  ['metrics.acc DESC', 'attributes.run_name'],
  ['metrics.loss', 'metrics.acc DESC'],
  ['attributes.start_time ASC'],
  ['attributes.end_time DESC'],
  ['attributes.run_name'],
  ['params.p'],
];

const point = (key: string, value: number, step: number) => ({ key, value, step, timestamp: 0 });
const anyState = (state: Parameters<Parameters<DynamoRunRepository['appendMetrics']>[2]>[0]) => {
  if (!state) throw new Error('missing run');
  return state;
};

async function store(experimentId: string, spec: RunSpec): Promise<string> {
  // Shards go by the id's last hex digit: most runs share shard 0, so ties meet within one partition.
  runIds++;
  const runId = (runIds * 4 + (runIds % 5 === 0 ? 1 : 0)).toString(16).padStart(32, '0');
  await repo.create(
    testRun(runId, {
      experimentId,
      runName: spec.name,
      startTime: spec.start,
      status: spec.status,
      params: { p: spec.p, ...(spec.q === undefined ? {} : { q: spec.q }) },
      tags: spec.t === undefined ? {} : { t: spec.t },
      ...(spec.end === undefined ? {} : { endTime: spec.end }),
    }),
  );
  const points = [
    ...(spec.loss === undefined ? [] : [point('loss', spec.loss, 0)]),
    ...(spec.acc === undefined ? [] : [point('acc', spec.acc, 0)]),
  ];
  if (points.length > 0) await repo.appendMetrics(runId, points, anyState);
  if (spec.deleted) await repo.setLifecycle(runId, 'active', 'deleted');
  if (beforeTags.has(experimentId)) {
    // Stored by a build from before tag entries.
    await table.doc.send(
      new DeleteCommand({ TableName: table.tableName, Key: keys.runTagValue(runId, 't') }),
    );
  }
  return runId;
}

/** The page a search over every run of the experiment gives (the reference), each run read by key. */
const bruteForce = (query: RunSearch, experimentId: string) => bruteForcePage(repo, query, experimentId);

/** Three ended runs with `p = '1'` and a loss each, in a marked experiment, paged 2 at a time. */
function pathExample(filter: string | undefined, orderBy: string[]) {
  const specs: RunSpec[] = ([0, 5, 9] as const).map((start, i) => ({
    name: (['a', 'b', 'c'] as const)[i] ?? 'a',
    start,
    end: 8,
    deleted: false,
    p: '1',
    q: undefined,
    t: 'a',
    loss: [0.1, 0.5, Number.POSITIVE_INFINITY][i],
    acc: undefined,
    status: 'FINISHED',
  }));
  const options: { clauseCap: 1 | 2 | undefined; byKeyAtMost: 0 | 1000 | undefined } = {
    clauseCap: undefined,
    byKeyAtMost: undefined,
  };
  const example: [
    RunSpec[],
    boolean,
    string | undefined,
    string[],
    ViewType,
    number,
    number[],
    typeof options,
  ] = [specs, true, filter, orderBy, 'ALL', 2, [], options];
  return example;
}

const answered = { metric: 0, other: 0, index: 0, fallback: 0 };

/** The page the value path gives; a declined page (undefined candidates) is the full listing's. */
async function searched(reader: DynamoRunRepository, query: RunSearch, experimentId: string) {
  const plan = planRunListing(query);
  if (!plan) return bruteForce(query, experimentId);
  const candidates = await reader.listIndexed([experimentId], plan);
  if (!candidates && plan.order === 'metric' && marked.has(experimentId)) {
    // A metric order declines only a page that reaches past its key's values (and NaN) to runs without it.
    const rest = await bruteForce({ ...query, maxResults: 1000 }, experimentId);
    const key = plan.metricKey as string;
    const valued = rest.runs.filter((run) => Object.hasOwn(run.metrics, key)).length;
    expect(valued, `declined ${JSON.stringify(query)}`).toBeLessThan(plan.wanted);
  }
  if (!candidates) {
    // Index orders on a marked experiment always answer: only a metric order past its key's entries
    // without a filter set, or an order no index keeps with a broad filter, may decline.
    if (marked.has(experimentId) && plan.order !== 'metric' && plan.order !== 'other') {
      expect.fail(`declined ${JSON.stringify(query)}`);
    }
    answered.fallback++;
    return bruteForce(query, experimentId);
  }
  answered[plan.order === 'metric' || plan.order === 'other' ? plan.order : 'index']++;
  return searchRuns(candidates, query);
}

const ids = (page: { runs: Run[] }) => page.runs.map((run) => run.runId);

/** An ended run with one param and nothing else. */
const FINISHED: RunSpec = {
  name: 'a',
  start: 5,
  end: 3,
  deleted: false,
  p: '1',
  q: undefined,
  t: undefined,
  loss: undefined,
  acc: undefined,
  status: 'FINISHED',
};

describe('value-entry run searches', () => {
  it('page a metric order through values, NaN and open runs from entries, then the runs without it', async () => {
    const experimentId = await newExperiment(true);
    const base = FINISHED;
    for (const loss of [0.5, Number.NaN, 0.5, Number.NEGATIVE_INFINITY, -0, Number.NaN, undefined]) {
      await store(experimentId, { ...base, loss });
      await store(experimentId, { ...base, loss, end: undefined, status: 'RUNNING' });
    }
    for (const orderBy of [['metrics.loss DESC'], ['metrics.loss', 'attributes.run_name']]) {
      for (const filter of [undefined, 'metrics.loss <= 0.5', "params.p = '1'"]) {
        const reader = new DynamoRunRepository(table.doc, table.tableName, {
          firstRead: 1,
          minRunsPerPartition: 0,
          byKeyAtMost: 0,
        });
        const query: RunSearch = {
          ...(filter === undefined ? {} : { filter }),
          orderBy,
          viewType: 'ACTIVE_ONLY',
          maxResults: 2,
          scope: [experimentId],
        };
        const served: string[] = [];
        let token: string | undefined;
        do {
          const page = { ...query, ...(token === undefined ? {} : { pageToken: token }) };
          const got = await searched(reader, page, experimentId);
          expect(ids(got)).toEqual(ids(await bruteForce(page, experimentId)));
          served.push(...ids(got));
          token = got.nextPageToken;
        } while (token);
        expect(served).toEqual(ids(await bruteForce({ ...query, maxResults: 1000 }, experimentId)));
      }
    }
  }, 120_000);

  it("read a tag filter's entries, not the experiment's runs, once the experiment has tag entries", async () => {
    /** A reader that counts the items DynamoDB hands back to it. */
    const counted = () => {
      let items = 0;
      const doc = new Proxy(table.doc, {
        get(target, property, receiver) {
          if (property !== 'send') return Reflect.get(target, property, receiver);
          return async (command: never) => {
            const out = (await target.send(command)) as {
              Items?: unknown[];
              Responses?: Record<string, unknown[]>;
            };
            items += (out.Items?.length ?? 0) + Object.values(out.Responses ?? {}).flat().length;
            return out;
          };
        },
      }) as typeof table.doc;
      const reader = new DynamoRunRepository(doc, table.tableName, { minRunsPerPartition: 0 });
      return { reader, read: () => items };
    };
    const sweep = async (experimentId: string) => {
      for (let i = 0; i < 120; i++) {
        const runId = await store(experimentId, FINISHED);
        const parent = i === 7 ? 'p2' : i % 2 ? 'p1' : undefined;
        if (parent) await repo.mutate(runId, () => ({ tags: { 'mlflow.parentRunId': parent } }));
      }
    };
    const query = (experimentId: string): RunSearch => ({
      filter: "tags.`mlflow.parentRunId` = 'p2'",
      orderBy: [],
      viewType: 'ACTIVE_ONLY',
      maxResults: 10,
      scope: [experimentId],
    });
    const withEntries = await newExperiment(true);
    const before = await newExperiment(1);
    await sweep(withEntries);
    await sweep(before);
    const answers: Record<string, { runs: string[]; items: number }> = {};
    for (const experimentId of [withEntries, before]) {
      const { reader, read } = counted();
      const plan = planRunListing(query(experimentId));
      const candidates = plan ? await reader.listIndexed([experimentId], plan) : undefined;
      const got = searchRuns(candidates ?? [], query(experimentId));
      expect(ids(got)).toEqual(ids(await bruteForce(query(experimentId), experimentId)));
      answers[experimentId] = { runs: got.runs.map((run) => run.runName), items: read() };
    }
    expect(answers[withEntries]?.runs).toEqual(['a']);
    // The entry of the one matching run and that run by key, against every RUN item in start-time order.
    expect(answers[withEntries]?.items).toBeLessThan((answers[before]?.items ?? 0) / 10);
  }, 120_000);

  it('give the brute-force page for every token, with changes between pages', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(runArb, { maxLength: 20 }),
        fc.boolean(),
        fc.constantFrom(...FILTERS),
        fc.constantFrom(...ORDERS),
        fc.constantFrom<ViewType>('ACTIVE_ONLY', 'DELETED_ONLY', 'ALL'),
        fc.integer({ min: 1, max: 7 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        // Capped clauses (1–2 entries) and the choice between reading a set by key and streaming.
        fc.record({
          clauseCap: fc.constantFrom(undefined, 1, 2),
          byKeyAtMost: fc.constantFrom(undefined, 0, 1000),
        }),
        async (specs, valueIndex, filter, orderBy, viewType, maxResults, changes, options) => {
          const experimentId = await newExperiment(
            specs.length % 5 === 1 ? 1 : valueIndex || specs.length % 4 !== 0,
          );
          const reads: ListingReads = { firstRead: 1, minRunsPerPartition: 0 };
          if (options.clauseCap !== undefined) reads.clauseCap = options.clauseCap;
          if (options.byKeyAtMost !== undefined) reads.byKeyAtMost = options.byKeyAtMost;
          const reader = new DynamoRunRepository(table.doc, table.tableName, reads);
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
            const got = await searched(reader, page, experimentId);
            const expected = await bruteForce(page, experimentId);
            expect(ids(got)).toEqual(ids(expected));
            expect(got.nextPageToken === undefined).toBe(expected.nextPageToken === undefined);
            served.push(...ids(got));
            token = got.nextPageToken;
            // Between pages: delete, restore, finish a run, log a new latest value, set or delete its tag.
            const change = changes[pages];
            if (change !== undefined && runs.length > 0) {
              changed = true;
              const runId = runs[change % runs.length] as string;
              const kind = change % 6;
              if (kind === 0) await repo.setLifecycle(runId, 'active', 'deleted');
              if (kind === 1) await repo.setLifecycle(runId, 'deleted', 'active');
              if (kind === 2) await repo.mutate(runId, () => ({ endTime: change, status: 'FINISHED' }));
              if (kind === 3) {
                const value = LOSSES[change % LOSSES.length] as number;
                await repo.appendMetrics(runId, [point('loss', value, 1 + pages)], anyState);
              }
              if (kind === 4) await repo.mutate(runId, () => ({ tags: { t: change % 2 ? 'ab' : 'b' } }));
              if (kind === 5) await repo.mutate(runId, () => ({ deleteTags: ['t'] }));
            }
            pages++;
          } while (token && pages < 60);
          expect(token).toBeUndefined();
          if (!changed) expect(served).toEqual(ids(all));
        },
      ),
      {
        numRuns: 60,
        // One case per path first, so that each path answers pages whatever the random cases pick (the
        // 'other' path alone, a param order under a value filter, is about one random case in eleven).
        examples: [
          pathExample(undefined, ['attributes.run_name']),
          pathExample('metrics.loss > 0', ['metrics.loss DESC']),
          pathExample("params.p = '1'", ['params.p']),
          pathExample("tags.t = 'a'", ['params.p']),
        ],
      },
    );
    // Each path answered some pages (the examples above make sure of it; the random cases add more).
    expect(answered.metric).toBeGreaterThan(0);
    expect(answered.other).toBeGreaterThan(0);
    expect(answered.index).toBeGreaterThan(0);
  }, 300_000);
});

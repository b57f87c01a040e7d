/**
 * `npm run bench -- search` (issue 13): runs/search over experiments of 1,000 / 10,000 / 100,000 runs,
 * through the service (`RunService.search`, as the function calls it), on DynamoDB Local (read units and
 * calls from ReturnConsumedCapacity) and on dynalite (what `npm start` runs; its units count the base
 * table only, so only its time is reported).
 *
 * Runs are built in memory and written with BatchWrite as the items `create` writes (`itemsOfNewRun`):
 * creating 100,000 runs through the API would take longer than the searches being measured. ~2 % are
 * then deleted through the repository, so that their index keys move as a real delete moves them.
 *
 * BENCH_SEARCH_RUNS=<n,n,…> sets the sizes (default 1000,10000,100000); BENCH_SEARCH_STORES=local,dynalite
 * the stores; BENCH_SEARCH_REPEATS the samples per query (median reported, default 3);
 * BENCH_SEARCH_SEED_LANES the BatchWrites in flight per store while seeding (default 16). 100,000 runs are
 * ~1.75 million items, ~18 min per store on a quiet machine (docs/benchmarks.md): give node room with
 * NODE_OPTIONS=--max-old-space-size=8192 when dynalite (in this process) holds them.
 */

import { startDynalite } from '../../local/stand-ins.js';
import { newRunId } from '../../shared/domain/ids.js';
import type { Run, RunStatus } from '../../shared/domain/runs/model.js';
import type { ViewType } from '../../shared/domain/search/pipeline.js';
import { putBatch } from '../../shared/store/doc-commands.js';
import { recountRunStats } from '../../shared/store/experiments/run-stats.js';
import { allItemsOfNewRun } from '../../shared/store/runs/entity.js';
import { compactAll, markRuns } from '../../shared/store/runs/run-summaries.js';
import { startDynamoDbLocal } from '../helpers/dynamodb-local.js';
import { type Services, services } from './stores.js';

const SIZES = (process.env.BENCH_SEARCH_RUNS ?? '1000,10000,100000').split(',').map(Number);
const STORES = (process.env.BENCH_SEARCH_STORES ?? 'local,dynalite').split(',');
const REPEATS = Number(process.env.BENCH_SEARCH_REPEATS ?? 3);
const BATCH_ITEMS = 25;
/** BatchWrites in flight per store while seeding (BENCH_SEARCH_SEED_LANES). */
const SEED_LANES = Number(process.env.BENCH_SEARCH_SEED_LANES ?? 16);
/** Every DELETE_EVERY-th run is deleted: 2 %. */
const DELETE_EVERY = 50;
const PARAMS = 10;
const METRICS = 5;
const BASE_TIME = 1_795_000_000_000;

/** mulberry32: the same runs on every store and every run of the benchmark. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/**
 * A sweep's runs as the store would hold them after create + log-batch + update: `run-<i>`, started a
 * minute apart with jitter, 80 % FINISHED, 10 % RUNNING, 10 % FAILED (the two ended ones with an end
 * time), 10 params, 4 tags besides the run name (one a parent run's id, 13 parents), 5 metrics with a latest
 * value in [0, 1).
 */
export function sweepRuns(experimentId: string, artifactLocation: string, count: number): Run[] {
  const next = random(count);
  return Array.from({ length: count }, (_, i): Run => {
    const roll = next();
    const status: RunStatus = roll < 0.8 ? 'FINISHED' : roll < 0.9 ? 'RUNNING' : 'FAILED';
    const startTime = BASE_TIME + i * 60_000 + Math.floor(next() * 30_000);
    const endTime = status === 'RUNNING' ? undefined : startTime + 60_000 + Math.floor(next() * 3_600_000);
    const runId = newRunId();
    const runName = `run-${i}`;
    return {
      runId,
      experimentId,
      runName,
      userId: 'bench',
      status,
      startTime,
      ...(endTime === undefined ? {} : { endTime }),
      artifactUri: `${artifactLocation}/${runId}/artifacts`,
      lifecycleStage: 'active',
      params: Object.fromEntries(
        Array.from({ length: PARAMS }, (_, p) => [`param_${p}`, String(Math.floor(next() * 13))]),
      ),
      tags: {
        'mlflow.runName': runName,
        'mlflow.user': 'bench',
        'mlflow.source.name': 'train.py',
        'mlflow.source.type': 'LOCAL',
        // A sweep's children name their parent run: 13 parents, so a parent's children are 1 run in 13.
        'mlflow.parentRunId': `parent-${Math.floor(next() * 13)}`,
      },
      metrics: Object.fromEntries(
        Array.from({ length: METRICS }, (_, m) => [
          `m${m}`,
          { key: `m${m}`, step: 100, timestamp: endTime ?? startTime + 60_000, value: next() },
        ]),
      ),
      datasets: [],
      modelOutputs: [],
      modelInputs: [],
    };
  });
}

/** Runs `work` over `inputs` with at most `limit` in flight. */
async function eachLimited<T>(inputs: readonly T[], limit: number, work: (input: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < inputs.length) await work(inputs[next++] as T);
    }),
  );
}

/**
 * The runs' items (allItemsOfNewRun, as create writes them) in BatchWrite-sized groups, built as the lanes
 * take them: 100,000 runs are ~1.75 million items, too many to hold at once beside the stores.
 */
function* batchesOf(runs: readonly Run[]): Generator<Record<string, unknown>[]> {
  let batch: Record<string, unknown>[] = [];
  for (const run of runs) {
    for (const item of allItemsOfNewRun(run)) {
      batch.push(item);
      if (batch.length === BATCH_ITEMS) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length > 0) yield batch;
}

/** Writes every batch with SEED_LANES BatchWrites in flight; the generator is shared, so no lane idles. */
async function batchWrite(
  s: Services,
  batches: Iterator<Record<string, unknown>[]>,
  progress: (items: number) => void,
): Promise<number> {
  let written = 0;
  await Promise.all(
    Array.from({ length: SEED_LANES }, async () => {
      for (let next = batches.next(); !next.done; next = batches.next()) {
        await putBatch(s.doc, s.tableName, next.value);
        written += next.value.length;
        progress(written);
      }
    }),
  );
  return written;
}

interface Seeded {
  store: string;
  runs: number;
  experimentId: string;
  deleted: number;
  items: number;
  seconds: number;
}

/** A new experiment (through the service, so it gets what new experiments get) holding `count` runs. */
async function seed(store: string, s: Services, count: number): Promise<Seeded> {
  const t0 = performance.now();
  const experimentId = await s.experiments.create({ name: `bench-search-${count}-${Date.now()}`, tags: [] });
  const experiment = await s.experiments.get(experimentId);
  const runs = sweepRuns(experimentId, experiment.artifactLocation, count);
  let reported = 0;
  // Every item create would write (itemsOfNewRun), value entries included.
  const items = await batchWrite(s, batchesOf(runs), (written) => {
    if (written - reported < 250_000) return;
    reported = written;
    const seconds = (performance.now() - t0) / 1000;
    console.log(
      `  ${store}: ${count} runs, ${written} items written in ${seconds.toFixed(0)} s (${Math.round(written / seconds)}/s)`,
    );
  });
  const deleted = runs.filter((_, i) => i % DELETE_EVERY === DELETE_EVERY - 1);
  await eachLimited(deleted, SEED_LANES, async (run) => {
    await s.runRepository.setLifecycle(run.runId, 'active', 'deleted');
  });
  // Bulk items carry no summary marks: every run summarized as `cairn migrate` would (the marks a real
  // sweep's writes leave are folded by the searches that follow them).
  const summarizing = performance.now();
  await markRuns(
    s,
    experimentId,
    runs.map((run) => ({ run_id: run.runId, ver: 0 })),
  );
  await compactAll(s, experimentId);
  console.log(
    `  ${store}: ${count} runs summarized in ${((performance.now() - summarizing) / 1000).toFixed(1)} s`,
  );
  // Bulk items carry no counter updates: set the counters as `cairn migrate` would (the listing reads
  // them to choose its path).
  const gone = new Set(deleted.map((run) => run.runId));
  await recountRunStats(
    s.doc,
    s.tableName,
    experimentId,
    runs.map((run) => (gone.has(run.runId) ? { ...run, lifecycleStage: 'deleted' as const } : run)),
  );
  return {
    store,
    runs: count,
    experimentId,
    deleted: deleted.length,
    items,
    seconds: (performance.now() - t0) / 1000,
  };
}

interface SearchCase {
  label: string;
  filter?: string;
  orderBy: string[];
  maxResults: number;
  /** Measure the second page (the first page's token), not the first. */
  secondPage?: boolean;
}

const CASES: SearchCase[] = [
  { label: 'default listing, first page', orderBy: [], maxResults: 100 },
  { label: 'default listing, first page', orderBy: [], maxResults: 1000 },
  { label: 'default listing, second page', orderBy: [], maxResults: 100, secondPage: true },
  { label: 'default listing, second page', orderBy: [], maxResults: 1000, secondPage: true },
  { label: 'status filter', filter: "attributes.status = 'FINISHED'", orderBy: [], maxResults: 100 },
  // Attribute filters have no entries: one matching few runs reads the order's index until it has a page.
  {
    label: 'status filter (1 run in 10)',
    filter: "attributes.status = 'FAILED'",
    orderBy: [],
    maxResults: 100,
  },
  // ... and one matching none reads the whole view: the web UI's run-name search box, finding nothing.
  {
    label: 'run-name search matching nothing',
    filter: "attributes.run_name ILIKE '%nothing%'",
    orderBy: [],
    maxResults: 100,
  },
  { label: 'param filter', filter: "params.param_3 = '7'", orderBy: [], maxResults: 100 },
  { label: 'param filter matching nothing', filter: "params.param_3 = 'none'", orderBy: [], maxResults: 100 },
  { label: 'rare metric filter', filter: 'metrics.m0 > 0.999', orderBy: [], maxResults: 100 },
  { label: 'metric order', orderBy: ['metrics.m1 DESC'], maxResults: 100 },
  {
    label: 'metric filter, metric order',
    filter: 'metrics.m0 > 0.9',
    orderBy: ['metrics.m1 DESC'],
    maxResults: 100,
  },
  { label: 'order by name', orderBy: ['attributes.run_name ASC'], maxResults: 100 },
  { label: 'order by end time', orderBy: ['attributes.end_time DESC'], maxResults: 100 },
  // A parent run's children (what MLflow's UI asks to expand a parent): the tag's value entries.
  {
    label: 'tag filter (1 run in 13)',
    filter: "tags.`mlflow.parentRunId` = 'parent-7'",
    orderBy: [],
    maxResults: 100,
  },
  {
    label: 'tag filter matching nothing',
    filter: "tags.`mlflow.user` = 'nobody'",
    orderBy: [],
    maxResults: 100,
  },
  // No entry or index keeps a param order: the summaries, then the page's runs by key.
  { label: 'param order', orderBy: ['params.param_1 ASC'], maxResults: 100 },
  // Filters no entry answers (the summaries when few runs match; the order's index when many do).
  {
    label: 'status != (2 runs in 10)',
    filter: "attributes.status != 'FINISHED'",
    orderBy: [],
    maxResults: 100,
  },
  { label: 'param != (12 runs in 13)', filter: "params.param_3 != '7'", orderBy: [], maxResults: 100 },
  {
    label: 'tag LIKE %…% matching nothing',
    filter: "tags.`mlflow.source.name` LIKE '%nothing%'",
    orderBy: [],
    maxResults: 100,
  },
  { label: 'param IS NULL (none)', filter: 'params.param_99 IS NULL', orderBy: [], maxResults: 100 },
];

async function measure(store: string, s: Services, experimentId: string, runs: number, c: SearchCase) {
  const query = {
    experimentIds: [experimentId],
    ...(c.filter === undefined ? {} : { filter: c.filter }),
    orderBy: c.orderBy,
    viewType: 'ACTIVE_ONLY' as ViewType,
    maxResults: c.maxResults,
  };
  const pageToken = c.secondPage ? (await s.runs.search(query)).nextPageToken : undefined;
  if (c.secondPage && !pageToken) throw new Error(`${c.label}: the first page has no next_page_token`);
  const timings: number[] = [];
  let units = { calls: 0, readUnits: 0, itemsRead: 0 };
  let returned = 0;
  for (let i = 0; i < REPEATS; i++) {
    s.meter.reset();
    const t0 = performance.now();
    const page = await s.runs.search(pageToken ? { ...query, pageToken } : query);
    timings.push(performance.now() - t0);
    units = s.meter.snapshot();
    returned = page.runs.length;
  }
  timings.sort((a, b) => a - b);
  const what = [c.filter, c.orderBy.join(', ')].filter(Boolean).join(' / ');
  return {
    store,
    runs,
    query: `${c.label}${what ? `: ${what}` : ''}`,
    max_results: c.maxResults,
    returned,
    'read units': store === 'dynalite' ? '—' : units.readUnits.toFixed(1),
    'DynamoDB calls': units.calls,
    'items read': units.itemsRead,
    [`ms (median of ${REPEATS})`]: Math.round(timings[Math.floor(REPEATS / 2)] ?? Number.NaN),
  };
}

interface Store {
  name: string;
  services: Services;
  stop(): Promise<void> | void;
}

async function startStore(name: string): Promise<Store> {
  if (name === 'local') {
    const local = await startDynamoDbLocal();
    return { name: 'DynamoDB Local', services: await services(local.endpoint, 'bench'), stop: local.stop };
  }
  if (name === 'dynalite') {
    const lite = await startDynalite(undefined);
    return { name: 'dynalite', services: await services(lite.endpoint, 'bench'), stop: lite.close };
  }
  throw new Error(`BENCH_SEARCH_STORES: unknown store ${name} (local, dynalite)`);
}

/**
 * Each size is seeded on every store side by side (seeding is most of the section's time: ~1.75 million items
 * at 100,000 runs), then searched, one store and one query at a time, so that no seeding shares the machine
 * with a timed search, and the smaller sizes' rows are out before the largest is seeded. A store's smaller
 * experiments stay in its table while the larger ones are measured; a search reads its own experiment's
 * partitions only.
 */
export async function searchBenchmarks() {
  const stores: Store[] = [];
  const rows: object[] = [];
  const seeded: Seeded[] = [];
  try {
    for (const name of STORES) stores.push(await startStore(name));
    for (const size of SIZES) {
      const ones = await Promise.all(
        stores.map(async (store) => {
          const one = await seed(store.name, store.services, size);
          console.log(
            `  ${store.name}: seeded ${size} runs (${one.items} items, ${one.deleted} deleted) in ${one.seconds.toFixed(1)} s`,
          );
          return one;
        }),
      );
      seeded.push(...ones);
      for (const [index, store] of stores.entries()) {
        const one = ones[index] as Seeded;
        for (const c of CASES) {
          if (c.secondPage && size <= c.maxResults) continue; // no second page to read
          const row = await measure(store.name, store.services, one.experimentId, size, c);
          rows.push(row);
          // Each row as it comes: at 100,000 runs the whole section takes long enough to be cut short.
          console.log(`  ${Object.values(row).join(' | ')}`);
        }
      }
    }
    const seeding = seeded.map((one) => ({
      store: one.store,
      runs: one.runs,
      items: one.items,
      deleted: one.deleted,
      'seeding s': one.seconds.toFixed(1),
      'items/s': Math.round(one.items / one.seconds),
    }));
    return { seeding, rows };
  } finally {
    for (const store of stores) await store.stop();
  }
}

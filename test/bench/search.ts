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
 * the stores; BENCH_SEARCH_REPEATS the samples per query (median reported, default 3).
 */

import { startDynalite } from '../../local/stand-ins.js';
import { newRunId } from '../../shared/domain/ids.js';
import type { Run, RunStatus } from '../../shared/domain/runs/model.js';
import type { ViewType } from '../../shared/domain/search/pipeline.js';
import { putBatch } from '../../shared/store/doc-commands.js';
import { recountRunStats } from '../../shared/store/experiments/run-stats.js';
import { allItemsOfNewRun } from '../../shared/store/runs/entity.js';
import { startDynamoDbLocal } from '../helpers/dynamodb-local.js';
import { type Services, services } from './stores.js';

const SIZES = (process.env.BENCH_SEARCH_RUNS ?? '1000,10000,100000').split(',').map(Number);
const STORES = (process.env.BENCH_SEARCH_STORES ?? 'local,dynalite').split(',');
const REPEATS = Number(process.env.BENCH_SEARCH_REPEATS ?? 3);
const BATCH_ITEMS = 25;
const IN_FLIGHT = 16;
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
 * time), 10 params, 3 tags besides the run name, 5 metrics with a latest value in [0, 1).
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

async function batchWrite(s: Services, items: readonly Record<string, unknown>[]): Promise<void> {
  const batches: Record<string, unknown>[][] = [];
  for (let start = 0; start < items.length; start += BATCH_ITEMS)
    batches.push(items.slice(start, start + BATCH_ITEMS));
  await eachLimited(batches, IN_FLIGHT, async (batch) => {
    await putBatch(s.doc, s.tableName, batch);
  });
}

/** A new experiment (through the service, so it gets what new experiments get) holding `count` runs. */
async function seed(s: Services, count: number) {
  const t0 = performance.now();
  const experimentId = await s.experiments.create({ name: `bench-search-${count}-${Date.now()}`, tags: [] });
  const experiment = await s.experiments.get(experimentId);
  const runs = sweepRuns(experimentId, experiment.artifactLocation, count);
  // Every item create would write (itemsOfNewRun), value entries included.
  await batchWrite(
    s,
    runs.flatMap((run) => allItemsOfNewRun(run)),
  );
  const deleted = runs.filter((_, i) => i % DELETE_EVERY === DELETE_EVERY - 1);
  await eachLimited(deleted, IN_FLIGHT, async (run) => {
    await s.runRepository.setLifecycle(run.runId, 'active', 'deleted');
  });
  // Bulk items carry no counter updates: set the counters as `cairn migrate` would (the listing reads
  // them to choose its path).
  const gone = new Set(deleted.map((run) => run.runId));
  await recountRunStats(
    s.doc,
    s.tableName,
    experimentId,
    runs.map((run) => (gone.has(run.runId) ? { ...run, lifecycleStage: 'deleted' as const } : run)),
  );
  return { experimentId, seconds: (performance.now() - t0) / 1000, deleted: deleted.length };
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

async function onStore(store: string, endpoint: string, seeding: object[], rows: object[]) {
  const s = await services(endpoint, 'bench');
  for (const size of SIZES) {
    const seeded = await seed(s, size);
    seeding.push({ store, runs: size, deleted: seeded.deleted, 'seeding s': seeded.seconds.toFixed(1) });
    console.log(
      `  ${store}: seeded ${size} runs (${seeded.deleted} deleted) in ${seeded.seconds.toFixed(1)} s`,
    );
    for (const c of CASES) {
      if (c.secondPage && size <= c.maxResults) continue; // no second page to read
      const row = await measure(store, s, seeded.experimentId, size, c);
      rows.push(row);
      // Each row as it comes: at 100,000 runs the whole section takes long enough to be cut short.
      console.log(`  ${Object.values(row).join(' | ')}`);
    }
  }
}

export async function searchBenchmarks() {
  const seeding: object[] = [];
  const rows: object[] = [];
  if (STORES.includes('local')) {
    const local = await startDynamoDbLocal();
    try {
      await onStore('DynamoDB Local', local.endpoint, seeding, rows);
    } finally {
      local.stop();
    }
  }
  if (STORES.includes('dynalite')) {
    const lite = await startDynalite(undefined);
    try {
      await onStore('dynalite', lite.endpoint, seeding, rows);
    } finally {
      await lite.close();
    }
  }
  return { seeding, rows };
}
